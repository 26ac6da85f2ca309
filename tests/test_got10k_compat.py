"""Each patch of the got10k toolkit (:mod:`siamfc.evaluation.got10k_compat`) does what it says,
and only where it is called: importing siamfc changes nothing in NumPy or the toolkit."""

from __future__ import annotations

import importlib
import math
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from siamfc.errors import SiamFCError
from siamfc.evaluation.got10k_compat import (
    float_ious,
    got10k_experiment,
    import_got10k,
    numpy_nan_alias,
    otb_experiment,
    otb_versions,
    sequence_experiment,
    vot_experiment,
    vot_rects,
)

NUMPY2 = int(np.__version__.split(".")[0]) >= 2


class Still:
    """Reports the first box on every frame."""

    def init(self, image: np.ndarray, box: np.ndarray) -> None:
        self.box = np.asarray(box, dtype=float)

    def update(self, image: np.ndarray) -> np.ndarray:
        return self.box


def write_clip(folder: Path, frames: int = 3, gt_lines: int | None = None) -> None:
    folder.mkdir(parents=True)
    for i in range(frames):
        cv2.imwrite(str(folder / f"{i + 1:08d}.jpg"), np.full((40, 50, 3), 30 * i, np.uint8))
    (folder / "groundtruth.txt").write_text("5,6,10,12\n" * (frames if gt_lines is None else gt_lines))


def test_importing_siamfc_patches_nothing() -> None:
    from got10k.experiments import ExperimentVOT

    for name in ("siamfc", "siamfc.evaluation", "siamfc.evaluation.compare", "siamfc.evaluation.benchmarks",
                 "siamfc.evaluation.got10k_compat", "siamfc.cli.evaluate"):
        importlib.import_module(name)
    if NUMPY2:
        assert "NaN" not in np.__dict__
    assert ExperimentVOT._calc_iou.__module__.startswith("got10k.")


def test_numpy_nan_alias_is_scoped() -> None:
    had = "NaN" in np.__dict__
    with numpy_nan_alias():
        assert np.isnan(np.NaN)
    assert ("NaN" in np.__dict__) == had


def test_import_got10k_names_the_missing_six(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [m for m in sys.modules if m == "got10k" or m.startswith("got10k.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "six", None)
    with pytest.raises(SiamFCError) as info:
        import_got10k()
    assert info.value.key == "six" and isinstance(info.value.__cause__, ModuleNotFoundError)


def test_float_ious_by_hand() -> None:
    # records: 1 = initialised, 2 = failure, else a box; every ground-truth box is 0,0,10,10
    boxes = [[1.0], [0, 0, 10, 10], [5, 0, 10, 10], [2.0], [0, 0, 10, 10]]
    anno = np.tile([0.0, 0.0, 10.0, 10.0], (5, 1))
    ious = float_ious(boxes, anno, (100, 100))
    np.testing.assert_allclose(ious, [np.nan, 1.0, 50 / 150, np.nan, 1.0], atol=1e-6)
    # burn-in: the 2 frames from each initialisation count as skipped
    np.testing.assert_allclose(float_ious(boxes, anno, (100, 100), burnin=2),
                               [np.nan, np.nan, 50 / 150, np.nan, 1.0], atol=1e-6)


@pytest.mark.skipif(not NUMPY2, reason="the toolkit's own _calc_iou works before NumPy 1.24")
def test_the_toolkits_calc_iou_is_what_needs_the_patch() -> None:
    from got10k.experiments import ExperimentVOT

    experiment = ExperimentVOT.__new__(ExperimentVOT)
    with numpy_nan_alias(), pytest.raises(ValueError):
        experiment._calc_iou([[1.0], [0, 0, 10, 10]], np.tile([0.0, 0.0, 10.0, 10.0], (2, 1)), (100, 100))


def test_vot_rects_by_hand(tmp_path: Path) -> None:
    from got10k.datasets import VOT

    dataset = VOT.__new__(VOT)
    square = np.array([[0.0, 0.0, 10.0, 0.0, 10.0, 10.0, 0.0, 10.0]])  # an axis-aligned 10 x 10 polygon
    # the toolkit's box: same centre (5, 5), area scaled to the polygon's, +1 pixel
    np.testing.assert_allclose(vot_rects(dataset, square), [[-0.5, -0.5, 11.0, 11.0]])
    boxes = np.array([[1.0, 2.0, 3.0, 4.0]])
    assert vot_rects(dataset, boxes) is boxes


def test_otb_versions_are_the_toolkits_lists() -> None:
    versions = otb_versions()
    assert len(versions[2015]) == 98 and len(versions[2013]) == 50  # folders (Jogging holds 2 targets)
    assert set(versions[2013]) <= set(versions[2015]) and "Crossing" in versions[2015]


def test_otb_and_vot_experiments_never_download(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import got10k.datasets.otb
    import got10k.datasets.vot

    def no_download(*args, **kwargs):
        raise AssertionError("the toolkit tried to download")

    monkeypatch.setattr(got10k.datasets.otb, "download", no_download)
    monkeypatch.setattr(got10k.datasets.vot, "download", no_download)
    otb = tmp_path / "otb"
    write_clip(otb / "Crossing" / "img")
    (otb / "Crossing" / "img" / "groundtruth.txt").rename(otb / "Crossing" / "groundtruth_rect.txt")
    experiment = otb_experiment(str(otb), 2015, str(tmp_path / "out"), str(tmp_path / "reports"))
    assert experiment.dataset.seq_names == ["Crossing"]
    with pytest.raises(Exception) as info:  # an empty folder: no download either
        (tmp_path / "empty").mkdir()
        otb_experiment(str(tmp_path / "empty"), 2015, str(tmp_path / "out"), str(tmp_path / "reports"))
    assert not isinstance(info.value, AssertionError)
    vot = tmp_path / "vot"
    write_clip(vot / "a")
    with pytest.raises(SiamFCError) as info:
        vot_experiment(str(vot), 2018, str(tmp_path / "out"), str(tmp_path / "reports"))
    assert info.value.key == str(vot / "list.txt")
    (vot / "list.txt").write_text("a\nghost\n")
    with pytest.raises(SiamFCError) as info:
        vot_experiment(str(vot), 2018, str(tmp_path / "out"), str(tmp_path / "reports"))
    assert info.value.key == str(vot / "ghost")
    (vot / "list.txt").write_text("a\n")
    experiment = vot_experiment(str(vot), 2018, str(tmp_path / "out"), str(tmp_path / "reports"))
    assert experiment.dataset.seq_names == ["a"]


def test_got10k_test_subset_runs_without_the_notice_and_sleep(tmp_path: Path) -> None:
    from siamfc.evaluation.trackers import ToolkitTracker

    write_clip(tmp_path / "GOT" / "test" / "clip", gt_lines=1)
    (tmp_path / "GOT" / "test" / "list.txt").write_text("clip\n")
    experiment = got10k_experiment(str(tmp_path / "GOT"), "test", str(tmp_path / "out"), str(tmp_path / "rep"))
    start = time.perf_counter()
    experiment.run(ToolkitTracker(Still(), "still"))
    assert time.perf_counter() - start < 1.5  # the toolkit sleeps 2 s on its test subset
    assert experiment.subset == "test"
    boxes = np.loadtxt(tmp_path / "out" / "GOT-10k" / "still" / "clip" / "clip_001.txt", delimiter=",")
    np.testing.assert_allclose(boxes, np.tile([5.0, 6.0, 10.0, 12.0], (3, 1)))


def test_sequence_experiment_runs_the_toolkits_loop_over_our_sequences(tmp_path: Path) -> None:
    from siamfc.data.registry import folder_sequences
    from siamfc.evaluation.got10k_compat import SequenceDataset
    from siamfc.evaluation.trackers import ToolkitTracker

    write_clip(tmp_path / "seqs" / "clip", frames=4)
    dataset = SequenceDataset(folder_sequences(tmp_path / "seqs"))
    experiment = sequence_experiment(dataset, str(tmp_path / "out"), "mine", repetitions=1)
    experiment.run(ToolkitTracker(Still(), "still"))
    folder = tmp_path / "out" / "mine" / "still" / "clip"
    assert np.loadtxt(folder / "clip_001.txt", delimiter=",").shape == (4, 4)
    times = np.loadtxt(folder / "clip_time.txt")
    assert times.shape == (4,) and not any(math.isnan(t) for t in times)


def test_our_iou_and_centre_error_are_the_toolkits() -> None:
    """metrics.clipped_iou / center_error replace the toolkit's rect_iou / center_error bit for bit,
    so the figures did not change when evaluation stopped importing them."""
    from got10k.utils.metrics import center_error as toolkit_center_error
    from got10k.utils.metrics import rect_iou

    from siamfc.evaluation.metrics import center_error, clipped_iou

    rng = np.random.default_rng(0)
    boxes = np.column_stack([rng.uniform(-30, 120, (500, 2)), rng.uniform(0, 80, (500, 2))])
    anno = np.column_stack([rng.uniform(-10, 100, (500, 2)), rng.uniform(1, 60, (500, 2))])
    anno[::50] = np.nan  # absent frames
    bound = (100, 80)
    np.testing.assert_array_equal(clipped_iou(boxes, anno, bound), rect_iou(boxes.copy(), anno.copy(), bound=bound))
    np.testing.assert_array_equal(center_error(boxes, anno), toolkit_center_error(boxes, anno))
    assert clipped_iou(np.array([[0.0, 0, 10, 10]]), np.array([[5.0, 0, 10, 10]]), bound)[0] == pytest.approx(1 / 3)
