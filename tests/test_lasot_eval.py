"""``siamfc eval --dataset lasot`` on a tiny synthetic LaSOT tree: the figures are checked against
values worked out by hand from the ground truth, and frames flagged fully occluded or out of
view are left out."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from siamfc.cli.main import main

FRAMES = 8
SIZE = (160, 120)  # width, height
HIDDEN = {"cat-1": ("full_occlusion.txt", 4), "dog-2": ("out_of_view.txt", 6)}  # frame index (0-based) flagged


def gt_boxes(k: int) -> np.ndarray:
    return np.array([[30.0 + 3 * i + 10 * k, 40.0 + 2 * i, 24, 24] for i in range(FRAMES)])


def lasot_tree(root: Path) -> dict[str, np.ndarray]:
    """``root/<class>/<class>-N/{img/00000001.jpg.., groundtruth.txt, full_occlusion.txt,
    out_of_view.txt}``: a textured square moving over noise; one flagged frame per sequence."""
    rng = np.random.default_rng(0)
    truth = {}
    for k, name in enumerate(HIDDEN):
        folder = root / name.split("-")[0] / name
        (folder / "img").mkdir(parents=True)
        boxes = gt_boxes(k)
        patch = rng.integers(0, 256, (24, 24, 3), dtype=np.uint8)
        for i, (x, y, w, h) in enumerate(boxes.astype(int)):
            frame = rng.integers(90, 130, (SIZE[1], SIZE[0], 3), dtype=np.uint8)
            frame[y:y + h, x:x + w] = patch
            cv2.imwrite(str(folder / "img" / f"{i + 1:08d}.jpg"), frame)
        (folder / "groundtruth.txt").write_text("".join(",".join(f"{v:g}" for v in b) + "\n" for b in boxes))
        for flags in ("full_occlusion.txt", "out_of_view.txt"):
            values = ["1" if (flags, i) == HIDDEN[name] else "0" for i in range(FRAMES)]
            (folder / flags).write_text(",".join(values) + "\n")  # LaSOT: one comma-separated line
        truth[name] = boxes
    return truth


def write_result(out: Path, tracker: str, name: str, boxes: np.ndarray) -> None:
    """A siamfc result as an evaluation writes it: the toolkit's boxes and per-frame times, and the
    tracker's per-frame confidence (part of a complete siamfc result)."""
    folder = out / "LaSOT" / tracker / name
    folder.mkdir(parents=True)
    (folder / f"{name}_001.txt").write_text("".join(",".join(f"{v:.4f}" for v in b) + "\n" for b in boxes))
    (folder / f"{name}_time.txt").write_text("0.01\n" * len(boxes))
    (out / "LaSOT" / tracker / "_confidence").mkdir(exist_ok=True)
    (out / "LaSOT" / tracker / "_confidence" / f"{name}.txt").write_text("0.90000\n" * len(boxes))


def test_figures_from_ground_truth_and_shifted_boxes(tmp_path: Path) -> None:
    truth = lasot_tree(tmp_path / "LaSOT")
    out = tmp_path / "out"
    for name, boxes in truth.items():
        exact = boxes.copy()
        exact[HIDDEN[name][1]] = [0, 0, 5, 5]  # wrong where the target is hidden: must not count
        write_result(out, "SiamFC", name, exact)
        shifted = boxes + [6, 0, 0, 0]  # IoU (24-6)*24 / (2*24*24 - 18*24) = 0.6 everywhere
        shifted[0] = boxes[0]
        write_result(out, "SiamFC-siamfc_mobile", name, shifted)
    weights = Path(__file__).resolve().parents[1] / "siamfc" / "weights" / "siamfc_mobile.pth"
    # --resume: the results above are complete, so nothing is tracked; the figures are computed
    assert main(["eval", "--dataset", "lasot", "--root", str(tmp_path / "LaSOT"), "--subset", "all",
                 "--tracker", "siamfc", "--tracker", f"siamfc:{weights}", "--baseline", "SiamFC",
                 "--out", str(out), "--resume", "--quiet"]) == 0
    report = json.loads((out / "LaSOT" / "comparison.json").read_text())
    assert report["sequences"] == ["cat-1", "dog-2"]
    ours, shifted = report["overall"]["SiamFC"], report["overall"]["SiamFC-siamfc_mobile"]
    for name in truth:  # frame 1 and the hidden frame left out
        assert report["per_sequence"]["SiamFC"][name]["evaluated_frames"] == FRAMES - 2
    assert ours["ao"] == pytest.approx(1.0) and ours["sr75"] == 1.0
    # AUC: share of IoUs above 0, 0.05, ..., 1; an IoU of 1 passes every threshold but 1 itself
    assert ours["auc"] == pytest.approx(20 / 21)
    assert shifted["ao"] == pytest.approx(0.6) and shifted["sr50"] == 1.0 and shifted["sr75"] == 0.0
    assert shifted["auc"] == pytest.approx(12 / 21)  # thresholds 0 .. 0.55
    assert shifted["precision20"] == 1.0  # centres 6 px apart
    assert report["differences"]["SiamFC-siamfc_mobile"]["mean"] == pytest.approx(-8 / 21)


def test_tracking_a_lasot_test_set(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    lasot_tree(tmp_path / "LaSOT")
    root, out = tmp_path / "LaSOT", tmp_path / "out"
    assert main(["eval", "--dataset", "lasot", "--root", str(root), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "subset 'test'" in err, err
    (root / "testing_set.txt").write_text("dog-2\n")  # LaSOT's list of test sequences; the default subset
    assert main(["eval", "--dataset", "lasot", "--root", str(root), "--out", str(out), "--quiet"]) == 0
    stdout = capsys.readouterr().out
    assert "LaSOT test: 1 sequence(s)" in stdout
    report = json.loads((out / "LaSOT" / "comparison.json").read_text())
    assert list(report["per_sequence"]["SiamFC"]) == ["dog-2"]
    boxes = np.loadtxt(out / "LaSOT" / "SiamFC" / "dog-2" / "dog-2_001.txt", delimiter=",")
    assert boxes.shape == (FRAMES, 4)
    assert report["overall"]["SiamFC"]["ao"] > 0.6  # the square is followed
