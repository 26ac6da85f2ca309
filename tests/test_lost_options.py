"""The lost state's options: confirmation before a target counts as found, the size re-detection
searches at, and tracker options in ``siamfc eval --tracker siamfc@...``."""

from __future__ import annotations

import numpy as np
import pytest
from test_lost import FakePipeline, FakeSearch, flat_map, peak_map, plain

from siamfc.errors import SettingError, SiamFCError
from siamfc.evaluation.specs import parse_tracker
from siamfc.tracking.confidence import DEFAULT_CALIBRATION
from siamfc.tracking.config import TrackerConfig
from siamfc.tracking.lost import LostMonitor

IMAGE = np.zeros((200, 300, 3), np.uint8)


def check_params(spec) -> None:
    """A siamfc tracker's options are TrackerConfig fields with valid values, as building the tracker checks them."""
    TrackerConfig.from_kwargs(**dict(spec.params))


class SizeSearch(FakeSearch):
    """FakeSearch that also records the search side of every tile search."""

    def __init__(self) -> None:
        super().__init__()
        self.x_sizes: list[float] = []

    def search(self, image, kernel, centers, x_size, color, pick):
        self.x_sizes.append(x_size)
        return super().search(image, kernel, centers, x_size, color, pick)


def _lost_monitor(**options) -> tuple[LostMonitor, FakePipeline, SizeSearch]:
    """A monitor (3 low frames to be lost, re-detection at once) whose target is lost."""
    pipeline, search = FakePipeline(), SizeSearch()
    monitor = LostMonitor(pipeline, plain(**options), DEFAULT_CALIBRATION, search)
    monitor.add(IMAGE)
    search.maps = lambda image, kernel, centers, x_size, color: np.stack([search.tile_map] * len(centers))
    for step in range(4):
        pipeline.step()
        monitor.after_step(IMAGE, peak_map()[None] if step == 0 else flat_map()[None])
    assert monitor.watches[0].lost
    return monitor, pipeline, search


def test_a_redetection_must_be_confirmed():
    monitor, pipeline, search = _lost_monitor(redetect_confirm=2)
    search.tile_map = peak_map(cy=3, cx=12)  # a look-alike, for one frame
    monitor.after_step(IMAGE, flat_map()[None])
    watch = monitor.watches[0]
    assert watch.lost and watch.confirmed == 1 and watch.score > 0.9  # moved there, not yet found
    search.tile_map = flat_map()
    calls = len(search.calls)
    monitor.after_step(IMAGE, flat_map()[None])  # the step does not confirm it: the sweep goes on
    assert watch.lost and watch.confirmed == 0 and len(search.calls) == calls + 2
    search.tile_map = peak_map(cy=3, cx=12)
    monitor.after_step(IMAGE, flat_map()[None])
    assert watch.lost and watch.confirmed == 1
    calls = len(search.calls)
    monitor.after_step(IMAGE, peak_map()[None])  # the step on the candidate is confident: found
    assert not watch.lost and len(search.calls) == calls  # no search on a confirming frame


def test_one_confident_frame_is_enough_by_default():
    monitor, _, search = _lost_monitor()
    search.tile_map = peak_map(cy=3, cx=12)
    monitor.after_step(IMAGE, flat_map()[None])
    assert not monitor.watches[0].lost


def test_redetection_searches_at_the_first_frames_size():
    """The target was added with a search side of 60 px and shrank to 30 px before it was lost;
    each lost frame sweeps the whole grid (many tiles a frame), always at the first frame's size."""
    pipeline, search = FakePipeline(), SizeSearch()
    monitor = LostMonitor(pipeline, plain(redetect_tiles=1000), DEFAULT_CALIBRATION, search)
    monitor.add(IMAGE)
    search.maps = lambda image, kernel, centers, x_size, color: np.stack([search.tile_map] * len(centers))
    pipeline.size, pipeline.x_size = pipeline.size / 2, 30.0
    monitor.after_step(IMAGE, peak_map()[None])  # confident at the new size
    for _ in range(3):
        monitor.after_step(IMAGE, flat_map()[None])
    assert monitor.watches[0].lost and not search.x_sizes
    for _ in range(4):
        monitor.after_step(IMAGE, flat_map()[None])
    assert search.x_sizes == [60.0] * 8  # the tiles' side, then the same for the check of the best peak
    search.tile_map = peak_map(cy=3, cx=12)
    monitor.after_step(IMAGE, flat_map()[None])
    assert not monitor.watches[0].lost
    assert (pipeline.x_size, pipeline.size.tolist()) == (60.0, [20.0, 20.0])  # found at the first frame's size


# ------------------------------------------------------------------------------ eval's options


def test_eval_tracker_options():
    spec = parse_tracker("siamfc@redetect=false,redetect_tiles=4,redetect_confirm=3")
    assert spec.params == (("redetect", False), ("redetect_tiles", 4), ("redetect_confirm", 3))
    assert spec.name == "SiamFC@redetect=False,redetect_tiles=4,redetect_confirm=3"
    check_params(spec)
    with pytest.raises(SiamFCError):
        parse_tracker("siamfc@redetect")
    with pytest.raises(SiamFCError):
        parse_tracker("kcf@redetect=false")  # takes no options
    for spec, key in (("redetekt=false", "redetekt"), ("redetect_confirm=0", "redetect_confirm"),
                      ("search_size=100", "search_size")):
        with pytest.raises(SettingError) as info:
            check_params(parse_tracker(f"siamfc@{spec}"))
        assert info.value.key == key


def test_eval_compares_tracker_variants_in_one_run(tmp_path):
    import json

    from test_lost import write_synthetic_sequence

    from siamfc.cli.main import main

    seq, _, _ = write_synthetic_sequence(tmp_path)
    out = tmp_path / "results"
    assert main(["eval", "--dataset", "folder", "--root", str(seq.parent), "--out", str(out), "--quiet",
                 "--tracker", "siamfc", "--tracker", "siamfc@redetect=false",
                 "--baseline", "SiamFC-siamfc_mobile_lite@redetect=False", "--model", "siamfc_mobile_lite"]) == 0
    (report,) = out.glob("*/comparison.json")
    overall = json.loads(report.read_text())["overall"]
    on = overall["SiamFC-siamfc_mobile_lite"]["longterm"]
    off = overall["SiamFC-siamfc_mobile_lite@redetect=False"]["longterm"]
    assert off["recall"] < on["recall"] - 0.2  # the variant without re-detection never finds it again
    assert main(["eval", "--dataset", "folder", "--root", str(seq.parent), "--out", str(out), "--quiet",
                 "--tracker", "siamfc@redetect_confirm=0"]) == 2  # a bad option: one line, no run
