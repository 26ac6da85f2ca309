"""Percentile-bootstrap intervals over sequences: of a mean, and of a paired difference (a tracker
is better only when that interval excludes 0)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from ..errors import SettingError


@dataclass(frozen=True)
class Interval:
    mean: float
    low: float
    high: float
    n: int

    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0

    def to_dict(self) -> dict:
        return asdict(self)


def bootstrap_mean(values: Sequence[float], level: float = 0.95, resamples: int = 10000, seed: int = 0) -> Interval:
    """The mean of ``values`` and its percentile-bootstrap interval (NaN values are left out)."""
    data = np.asarray([v for v in values if not math.isnan(v)], dtype=np.float64)
    if not 0 < level < 1:
        raise SettingError(f"level must be in (0, 1), got {level}", "level")
    if data.size == 0:
        return Interval(math.nan, math.nan, math.nan, 0)
    rng = np.random.default_rng(seed)
    means = data[rng.integers(0, data.size, size=(resamples, data.size))].mean(axis=1)
    low, high = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    return Interval(float(data.mean()), float(low), float(high), int(data.size))


def paired_difference(ours: Mapping[str, float], theirs: Mapping[str, float], level: float = 0.95,
                      resamples: int = 10000, seed: int = 0) -> Interval:
    """Mean over the sequences both have of ``ours[s] - theirs[s]``, with its bootstrap interval."""
    common = [s for s in ours if s in theirs]
    return bootstrap_mean([ours[s] - theirs[s] for s in common], level, resamples, seed)
