"""The lost state's options: confirmation before a target counts as found, the re-detection's
scale, the template update, and tracker options in ``siamfc eval --tracker siamfc@...``."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_lost import FakePipeline, FakeSearch, flat_map, peak_map, plain

from siamfc.errors import SettingError, SiamFCError
from siamfc.evaluation.specs import parse_tracker
from siamfc.evaluation.trackers import check_params
from siamfc.tracking.confidence import DEFAULT_CALIBRATION
from siamfc.tracking.config import LostSettings
from siamfc.tracking.lost import LostMonitor
from siamfc.tracking.template import TemplateUpdater, mix

IMAGE = np.zeros((200, 300, 3), np.uint8)


class SizeSearch(FakeSearch):
    """FakeSearch that also records the search side of every tile search."""

    def __init__(self) -> None:
        super().__init__()
        self.x_sizes: list[float] = []

    def search(self, image, kernel, centers, x_size, color, pick):
        self.x_sizes.append(x_size)
        return super().search(image, kernel, centers, x_size, color, pick)


def _lost_monitor(**options) -> tuple[LostMonitor, FakePipeline, SizeSearch]:
    """A monitor (3 low frames to be lost, re-detection at once, box held) whose target is lost."""
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


@pytest.mark.parametrize("scale, expected", [("last", [30.0] * 4), ("first", [60.0] * 4),
                                              ("both", [60.0, 30.0, 60.0, 30.0])])
def test_redetection_scale(scale, expected):
    """The target was added with a search side of 60 px and shrank to 30 px before it was lost;
    each lost frame sweeps the whole grid (many tiles a frame), so each frame is a new sweep."""
    pipeline, search = FakePipeline(), SizeSearch()
    monitor = LostMonitor(pipeline, plain(redetect_tiles=1000, redetect_scale=scale),
                          DEFAULT_CALIBRATION, search)
    monitor.add(IMAGE)
    search.maps = lambda image, kernel, centers, x_size, color: np.stack([search.tile_map] * len(centers))
    pipeline.size, pipeline.x_size = pipeline.size / 2, 30.0
    monitor.after_step(IMAGE, peak_map()[None])  # confident at the new size
    for _ in range(3):
        monitor.after_step(IMAGE, flat_map()[None])
    assert monitor.watches[0].lost and not search.x_sizes
    for _ in range(4):
        monitor.after_step(IMAGE, flat_map()[None])
    assert search.x_sizes[0::2] == expected  # the tiles' side; then the same for the check of the best peak
    assert search.x_sizes[1::2] == expected
    with pytest.raises(SettingError) as info:
        LostSettings(redetect_scale="middle")
    assert info.value.key == "redetect_scale"


# ------------------------------------------------------------------------------- template update


def test_mix_is_part_by_part():
    first = (torch.tensor([1.0, 2.0]), torch.tensor([10.0]))
    recent = (torch.tensor([3.0, 6.0]), torch.tensor([20.0]))
    kernel, offset = mix(first, recent, 0.25)
    assert torch.allclose(kernel, torch.tensor([1.5, 3.0])) and torch.allclose(offset, torch.tensor([12.5]))
    assert mix((np.array([2.0]), None), (np.array([4.0]), None), 0.5)[1] is None


class KernelPipeline(FakePipeline):
    def __init__(self) -> None:
        super().__init__()
        self.kernels = [np.array([1.0, 1.0])]

    def set_kernel(self, index, kernel) -> None:
        self.kernels[index] = kernel


class ConstantEngine:
    """Every exemplar crop gives the kernel (3, 5)."""

    input_format = "uint8_nhwc"

    def exemplar(self, z):
        assert z.shape == (1, 127, 127, 3)
        return np.array([3.0, 5.0])


def test_template_update_mixes_on_confident_frames_and_resets_when_lost():
    pipeline = KernelPipeline()
    settings = LostSettings(template_update=True, template_weight=0.25, template_threshold=0.9, template_interval=3)
    updater = TemplateUpdater(pipeline, ConstantEngine(), settings, 127, 0.5, torch.device("cpu"))
    updater.add()
    image = np.zeros((120, 160, 3), np.uint8)
    for score in (0.95, 0.95):  # not yet: 3 frames between updates
        updater.after_step(image, 0, score, False)
    assert np.array_equal(pipeline.kernels[0], [1.0, 1.0])
    updater.after_step(image, 0, 0.5, False)  # the 3rd frame, but not confident enough
    assert np.array_equal(pipeline.kernels[0], [1.0, 1.0])
    updater.after_step(image, 0, 0.95, False)
    assert np.allclose(pipeline.kernels[0], [0.75 * 1 + 0.25 * 3, 0.75 * 1 + 0.25 * 5])  # (1.5, 2.0)
    updater.after_step(image, 0, 0.1, True)  # lost: back to the first kernel
    assert np.array_equal(pipeline.kernels[0], [1.0, 1.0])
    with pytest.raises(SettingError) as info:
        LostSettings(template_update=True, template_weight=1.5)
    assert info.value.key == "template_weight"


@pytest.mark.parametrize("backend, crop_backend", [("onnxruntime", None), ("torch", None), ("torch", "torch")])
def test_tracker_with_template_update_follows_a_moving_target(backend, crop_backend):
    """Every engine's kernel is mixed, on the host and the device pipeline (here on the CPU)."""
    from test_lost import _synthetic_frames

    from siamfc.geometry import iou
    from siamfc.tracking.tracker import SiamFCTracker

    if backend == "onnxruntime":
        pytest.importorskip("onnxruntime")
    frames, boxes = _synthetic_frames()
    tracker = SiamFCTracker(backend=backend, crop_backend=crop_backend, template_update=True, template_interval=1,
                            template_threshold=0.5, model="siamfc_mobile_lite")
    tracker.init(frames[0], boxes[0])
    for frame, box in zip(frames[1:4], boxes[1:4], strict=True):
        assert iou(tracker.update(frame), box)[0] > 0.7
    kernel, first = tracker.tracker.pipeline.kernels[0], tracker.tracker.monitor.templates.first[0]
    assert not np.array_equal(np.asarray(kernel[0]), np.asarray(first[0]))  # a mixed kernel is in use


# ------------------------------------------------------------------------------ eval's options


def test_eval_tracker_options():
    spec = parse_tracker("siamfc@redetect=false,redetect_scale=first,redetect_confirm=3")
    assert spec.params == (("redetect", False), ("redetect_scale", "first"), ("redetect_confirm", 3))
    assert spec.name == "SiamFC@redetect=False,redetect_scale=first,redetect_confirm=3"
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


def test_template_update_with_targets_added_and_removed():
    from test_lost import _synthetic_frames

    from siamfc.geometry import iou
    from siamfc.tracking.tracker import MultiTracker

    frames, boxes = _synthetic_frames()
    multi = MultiTracker(backend="torch", template_update=True, template_interval=1, template_threshold=0.5,
                         model="siamfc_mobile_lite")
    other = multi.add(frames[0], np.array([300.0, 200.0, 40.0, 40.0]))
    target = multi.add(frames[0], boxes[0])
    multi.update(frames[1])
    multi.remove(other)
    templates = multi.monitor.templates
    assert len(templates.first) == len(multi.monitor.watches) == 1
    for frame, box in zip(frames[2:4], boxes[2:4], strict=True):
        assert iou(multi.update(frame)[target], box)[0] > 0.7
