"""Bootstrap intervals over sequences, checked against cases worked out by hand."""

from __future__ import annotations

import math

import pytest

from siamfc.errors import SettingError
from siamfc.evaluation.metrics import bootstrap_mean, paired_difference


def test_two_values_interval_by_hand() -> None:
    # resampling [0, 1] twice gives means 0 (p 1/4), 0.5 (p 1/2), 1 (p 1/4): the 2.5% and 97.5%
    # quantiles are 0 and 1, and 0.5 is the mean
    interval = bootstrap_mean([0.0, 1.0])
    assert (interval.mean, interval.low, interval.high, interval.n) == (0.5, 0.0, 1.0, 2)
    assert not interval.excludes_zero()


def test_three_values_share_of_resamples_by_hand() -> None:
    # [0, 0, 1]: a resample's mean is 1 only if all three draws are the 1: p = 1/27 = 3.7% > 2.5%,
    # and it is 0 with p = 8/27 = 29.6% > 2.5%: the 95% interval is [0, 1]. At 90% (5% each side) the
    # high end is 2/3: P(mean <= 1/3) = 20/27 = 74% < 95% <= P(mean <= 2/3) = 26/27 = 96%.
    assert (bootstrap_mean([0.0, 0.0, 1.0]).low, bootstrap_mean([0.0, 0.0, 1.0]).high) == (0.0, 1.0)
    assert bootstrap_mean([0.0, 0.0, 1.0], level=0.90).high == pytest.approx(2 / 3)


def test_constant_values_have_no_spread_and_nan_is_left_out() -> None:
    interval = bootstrap_mean([0.4, 0.4, math.nan, 0.4])
    assert interval.n == 3
    assert interval.low == pytest.approx(0.4) and interval.high == pytest.approx(0.4)
    assert math.isnan(bootstrap_mean([]).mean)


def test_paired_difference_removes_the_sequences_difficulty() -> None:
    # one tracker is 0.05 better on every sequence, though the sequences differ widely: paired, the
    # interval is exactly [0.05, 0.05] and excludes 0; unpaired means would overlap
    theirs = {"a": 0.2, "b": 0.5, "c": 0.8, "d": 0.35}
    ours = {k: v + 0.05 for k, v in theirs.items()}
    diff = paired_difference(ours, theirs)
    assert diff.mean == pytest.approx(0.05) and diff.low == pytest.approx(0.05) and diff.high == pytest.approx(0.05)
    assert diff.excludes_zero()
    assert bootstrap_mean(list(ours.values())).low < bootstrap_mean(list(theirs.values())).high
    # only the sequences both have count
    assert paired_difference({"a": 1.0, "x": 0.0}, {"a": 0.5}).n == 1


def test_level_is_checked() -> None:
    with pytest.raises(SettingError) as info:
        bootstrap_mean([0.1, 0.2], level=95)
    assert info.value.key == "level"
