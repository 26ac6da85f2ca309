"""The relative loss-of-confidence test (siamfc.tracking.occlusion) on scripted values and maps:
a sharp drop holds the box, a steady level (high or low) does not, recovery releases it."""

from __future__ import annotations

import numpy as np
import pytest
from test_lost import FakePipeline, FakeSearch, flat_map, peak_map, plain

from siamfc.errors import SettingError
from siamfc.tracking.confidence import DEFAULT_CALIBRATION
from siamfc.tracking.config import LostSettings
from siamfc.tracking.lost import LostMonitor
from siamfc.tracking.occlusion import DropWatch

IMAGE = np.zeros((200, 300, 3), np.uint8)


def drop(**settings) -> LostSettings:
    """The drop test's settings (``ratio`` for ``drop_ratio``, ...; no coasting unless asked)."""
    return LostSettings(**{f"drop_{name}": value for name, value in {"coast": False, **settings}.items()})


def _holds(values: list[float], **settings) -> list[bool]:
    watch = DropWatch(drop(**{"ratio": 0.5, "memory": 4, "warmup": 2, "max_hold": 3, **settings}))
    return [watch.judge(v) for v in values]


def test_running_mean_by_hand():
    watch = DropWatch(drop(ratio=0.5, memory=2, warmup=1))
    watch.judge(0.8)
    assert watch.mean == pytest.approx(0.8)
    watch.judge(0.6)  # a plain mean of the first `memory` frames
    assert watch.mean == pytest.approx(0.7)
    watch.judge(0.5)  # then an exponential one, rate 1 / memory
    assert watch.mean == pytest.approx(0.6)
    assert watch.judge(0.29) and watch.mean == pytest.approx(0.6)  # 0.29 < 0.5 * 0.6: held, mean kept
    assert not watch.judge(0.31)  # 0.31 >= 0.3: released, and counted
    assert watch.mean == pytest.approx(0.455)


def test_sharp_drop_holds_and_recovery_releases():
    assert _holds([0.8, 0.8, 0.8, 0.3, 0.3, 0.8, 0.8]) == [False] * 3 + [True] * 2 + [False] * 2


def test_steady_levels_never_hold():
    assert not any(_holds([0.8] * 20))
    assert not any(_holds([0.2, 0.25, 0.15, 0.2, 0.22, 0.18] * 3))  # low but steady: a small target


def test_no_drop_judged_before_warmup():
    assert _holds([0.8, 0.3, 0.3, 0.3], warmup=3) == [False, False, False, False]


def test_a_drop_that_lasts_becomes_the_new_level():
    # held for max_hold frames, then the low level is the mean: released, and not held again
    assert _holds([0.8] * 3 + [0.2] * 8) == [False] * 3 + [True] * 3 + [False] * 5


@pytest.mark.parametrize(("settings", "key"), [({"ratio": 1.5}, "drop_ratio"), ({"signal": "apce"}, "drop_signal"),
                                             ({"max_hold": 0}, "drop_max_hold")])
def test_bad_settings(settings: dict, key: str):
    with pytest.raises(SettingError) as info:
        drop(**settings)
    assert info.value.key == key


def _monitor(**options) -> tuple[LostMonitor, FakePipeline]:
    """No lost state (threshold 0), so only the relative test moves the box back."""
    pipeline, search = FakePipeline(), FakeSearch()
    options = {"ratio": 0.5, "memory": 10, "warmup": 2, "coast": False, **options}
    settings = plain(lost_threshold=0.0, redetect=False, lost_hold=False,
                     **{f"drop_{name}": value for name, value in options.items()})
    monitor = LostMonitor(pipeline, settings, DEFAULT_CALIBRATION, search)
    monitor.add(IMAGE)
    return monitor, pipeline


@pytest.mark.parametrize("signal", ["height", "confidence"])
def test_monitor_holds_the_box_through_a_drop(signal):
    monitor, pipeline = _monitor(signal=signal)
    xs = []
    for kind in ["peak"] * 4 + ["flat"] * 3 + ["peak"] * 2:
        pipeline.step()  # the step moves the box 5 px right every frame
        pipeline.size = pipeline.size * (0.9 if kind == "flat" else 1.0)  # and shrinks it on background
        monitor.after_step(IMAGE, (peak_map() if kind == "peak" else flat_map())[None])
        xs.append((pipeline.center[1], pipeline.size[0]))
    before = xs[3]
    assert all(x == before for x in xs[4:7])  # held: neither moved nor rescaled
    assert xs[7] == (before[0] + 5, before[1]) and xs[8][0] == before[0] + 10  # released on recovery


def test_monitor_follows_a_weak_but_steady_peak():
    monitor, pipeline = _monitor()
    for _ in range(8):
        pipeline.step()
        monitor.after_step(IMAGE, (0.3 * peak_map() + 0.3)[None])  # a third of the first frame's height
    assert pipeline.center[1] == 50 + 8 * 5


def test_coast_moves_the_held_box_at_the_recent_velocity():
    monitor, pipeline = _monitor(coast=True)
    xs = []
    for kind in ["peak"] * 12 + ["flat"] * 2:
        pipeline.step()
        monitor.after_step(IMAGE, (peak_map() if kind == "peak" else flat_map())[None])
        xs.append(pipeline.center[1])
    velocity = monitor.watches[0].drop.velocity[1]
    assert velocity == pytest.approx(5 * (1 - 0.8 ** 11))  # exponential mean of 11 steps of 5 px from 0
    assert xs[12] == pytest.approx(xs[11] + velocity) and xs[13] == pytest.approx(xs[11] + 2 * velocity)


def test_tracker_defaults_and_eval_options():
    from siamfc.evaluation.specs import parse_tracker
    from siamfc.evaluation.trackers import check_params
    from siamfc.tracking.config import TrackerConfig

    assert TrackerConfig().drop_ratio == 0  # off by default (docs: the val figures)
    cfg = TrackerConfig(drop_ratio=0.4)
    assert (cfg.drop_ratio, cfg.drop_signal, cfg.drop_coast) == (0.4, "height", True)
    check_params(parse_tracker("siamfc@drop_ratio=0.5,drop_coast=false"))
    for spec, key in (("drop_ratio=1.5", "drop_ratio"), ("drop_signal=apce", "drop_signal")):
        with pytest.raises(SettingError) as info:
            check_params(parse_tracker(f"siamfc@{spec}"))
        assert info.value.key == key


def test_coasting_on_tensors_stays_a_tensor_inside_the_image():
    torch = pytest.importorskip("torch")
    watch = DropWatch(drop(ratio=0.5, warmup=1, coast=True))
    for x in (10.0, 20.0, 30.0):  # the device path's centres: tensors, never moved to the host
        watch.judge(1.0)
        watch.follow(torch.tensor([50.0, x], dtype=torch.float64))
    assert watch.judge(0.1) and watch.judge(0.1)  # held 2 frames
    moved = watch.coasted(torch.tensor([50.0, 95.0], dtype=torch.float64), (100, 100))
    assert isinstance(moved, torch.Tensor)
    assert moved.tolist() == pytest.approx([50.0, 99.0])  # 95 + 2 * 3.6, clipped to the last column
