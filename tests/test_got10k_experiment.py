"""The got10k toolkit's own GOT-10k experiment (run + report) drives our tracker through the
evaluation adapter; the tracker itself does not depend on the toolkit."""

from __future__ import annotations

import ast
import json
import os
from pathlib import Path

import numpy as np
import pytest

from siamfc import SiamFCTracker, geometry
from siamfc.evaluation.trackers import ToolkitTracker

SEQUENCES = ("Crossing", "bag")
FRAMES = 30
LABELS = ("groundtruth.txt", "absence.label", "cover.label", "cut_by_image.label")


def make_short_root(source: Path, dest: Path, names=SEQUENCES, frames: int = FRAMES) -> Path:
    """A GOT-10k-layout root whose val subset holds the first ``frames`` frames of ``names``
    (frames are symlinks into ``source``; label files are cut to the same length)."""
    val = dest / "val"
    for name in names:
        src, dst = source / "val" / name, val / name
        dst.mkdir(parents=True)
        for jpg in sorted(src.glob("*.jpg"))[:frames]:
            (dst / jpg.name).symlink_to(jpg)
        for label in LABELS:
            lines = (src / label).read_text().splitlines()[:frames]
            (dst / label).write_text("\n".join(lines) + "\n")
        (dst / "meta_info.ini").write_text((src / "meta_info.ini").read_text())
    (val / "list.txt").write_text("\n".join(names) + "\n")
    return dest


def clipped(boxes: np.ndarray, width: float, height: float) -> np.ndarray:
    """Boxes cut to the image (GOT-10k's evaluation does the same)."""
    x1 = np.clip(boxes[:, 0], 0, width)
    y1 = np.clip(boxes[:, 1], 0, height)
    x2 = np.clip(boxes[:, 0] + boxes[:, 2], 0, width)
    y2 = np.clip(boxes[:, 1] + boxes[:, 3], 0, height)
    return np.stack([x1, y1, x2 - x1, y2 - y1], axis=1)


def test_experiment_got10k_run_and_report(got10k_root: Path, fdsiamfc_weights: Path, tmp_path: Path,
                                          capsys: pytest.CaptureFixture) -> None:
    import matplotlib

    matplotlib.use("Agg")  # the report draws a success plot
    from got10k.experiments import ExperimentGOT10k

    root = make_short_root(got10k_root, tmp_path / "GOT-10k")
    results, reports = tmp_path / "results", tmp_path / "reports"
    experiment = ExperimentGOT10k(os.fspath(root), subset="val", result_dir=os.fspath(results),
                                  report_dir=os.fspath(reports))
    tracker = ToolkitTracker(SiamFCTracker(fdsiamfc_weights), name="SiamFC_test")
    experiment.run(tracker)
    performance = experiment.report([tracker.name])

    report_file = reports / "GOT-10k" / tracker.name / "performance.json"
    assert json.loads(report_file.read_text()) == json.loads(json.dumps(performance))
    assert (reports / "GOT-10k" / tracker.name / "success_plot.png").stat().st_size > 0

    all_ious = []
    for name in SEQUENCES:
        seq_dir = results / "GOT-10k" / tracker.name / name
        boxes = np.loadtxt(seq_dir / f"{name}_001.txt", delimiter=",")
        times = np.loadtxt(seq_dir / f"{name}_time.txt", delimiter=",")
        assert boxes.shape == (FRAMES, 4) and times.shape == (FRAMES,)
        assert np.all(times[1:] > 0)
        assert not list(seq_dir.glob(f"{name}_002.txt"))  # deterministic: one repetition
        gt = np.loadtxt(root / "val" / name / "groundtruth.txt", delimiter=",")
        np.testing.assert_allclose(boxes[0], gt[0], atol=1e-3)
        meta = (root / "val" / name / "meta_info.ini").read_text()
        width, height = ast.literal_eval(meta.split("resolution:")[1].strip().splitlines()[0])
        ious = geometry.iou(clipped(boxes[1:], width, height), clipped(gt[1:], width, height))
        all_ious.append(ious)
        seq = performance[tracker.name]["seq_wise"][name]
        assert seq["length"] == FRAMES - 1
        assert seq["ao"] == pytest.approx(ious.mean(), abs=2e-3)
        assert seq["sr"] == pytest.approx(np.mean(ious > 0.5), abs=1e-9)
        assert seq["speed_fps"] > 0
    overall = performance[tracker.name]["overall"]
    with capsys.disabled():
        print(f"\nGOT-10k report on {len(SEQUENCES)} x {FRAMES} frames: AO {overall['ao']:.3f}, "
              f"SR {overall['sr']:.3f}, {overall['speed_fps']:.1f} fps")
    assert overall["ao"] == pytest.approx(np.concatenate(all_ious).mean(), abs=2e-3)
    assert overall["ao"] > 0.5
    assert len(overall["succ_curve"]) == 101

    # A second run finds the results and tracks nothing again.
    capsys.readouterr()
    experiment.run(tracker)
    assert capsys.readouterr().out.count("Found results, skipping") == len(SEQUENCES)


def test_public_tracker_does_not_inherit_from_the_toolkit() -> None:
    from siamfc.evaluation.trackers import OpenCVTracker

    for cls in (SiamFCTracker, OpenCVTracker):
        assert all(not base.__module__.startswith("got10k") for base in cls.__mro__), cls


def test_toolkit_tracker_decodes_then_times_the_wrapped_tracker(tmp_path: Path) -> None:
    import cv2

    class Still:  # reports the first box on every frame
        def init(self, image: np.ndarray, box: np.ndarray) -> None:
            assert isinstance(image, np.ndarray) and image.shape == (8, 10, 3)
            self.box = np.asarray(box, dtype=float)

        def update(self, image: np.ndarray) -> np.ndarray:
            return self.box

    files = []
    for i in range(3):
        files.append(os.fspath(tmp_path / f"{i:08d}.jpg"))
        cv2.imwrite(files[-1], np.full((8, 10, 3), 40 * i, np.uint8))
    adapter = ToolkitTracker(Still(), name="still", is_deterministic=False)
    boxes, times = adapter.track(files, np.array([1.0, 2.0, 3.0, 4.0]))
    assert adapter.name == "still" and not adapter.is_deterministic
    assert np.array_equal(boxes, np.tile([1.0, 2.0, 3.0, 4.0], (3, 1))) and times.shape == (3,)
