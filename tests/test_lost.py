"""Confidence, the lost state, re-detection, their outputs and the long-term measures."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from siamfc.errors import SiamFCError
from siamfc.evaluation.metrics import f_score, sequence_curves
from siamfc.geometry import iou
from siamfc.tracking.confidence import DEFAULT_CALIBRATION, Calibration, confidence, load_calibration, sidecar_path
from siamfc.tracking.config import LostSettings
from siamfc.tracking.lost import LostMonitor, TileSearch, grid, radius_for_frame

R = 17


def peak_map(cy: int = 8, cx: int = 8, sigma: float = 1.2, noise: float = 0.02, seed: int = 0) -> np.ndarray:
    y, x = np.mgrid[:R, :R]
    rng = np.random.default_rng(seed)
    return np.exp(-((y - cy) ** 2 + (x - cx) ** 2) / (2 * sigma ** 2)) + noise * rng.standard_normal((R, R))


def flat_map(seed: int = 1) -> np.ndarray:
    return 0.3 + 0.02 * np.random.default_rng(seed).standard_normal((R, R))


# ------------------------------------------------------------------------------------ confidence


def test_confidence_clear_peak_vs_flat_map():
    reference = peak_map().max() - peak_map().mean()
    clear, flat = confidence(np.stack([peak_map(), flat_map()]), reference)
    assert clear > 0.9 and flat < 0.1
    # a weaker copy of the same peak (half the first frame's height) is less sure
    half = confidence(0.5 * peak_map()[None], reference)[0]
    assert flat < half < clear
    # unchanged by the map's scale and offset (the same for any model's head scale and bias)
    assert confidence((1e-3 * peak_map() + 7.0)[None], 1e-3 * reference)[0] == pytest.approx(clear, abs=1e-6)


def test_calibration_sidecar(tmp_path):
    weights = tmp_path / "model.pth"
    weights.write_bytes(b"")
    assert load_calibration(weights) is DEFAULT_CALIBRATION
    sidecar_path(weights).write_text(Calibration(-1.0, 0.5, 2.0).to_json())
    cal = load_calibration(weights)
    assert (cal.bias, cal.w_psr, cal.w_rel) == (-1.0, 0.5, 2.0)
    for text in ("{not json", '{"bias": NaN, "w_psr": 1, "w_rel": 1}', '{"bias": 1}', "[1, 2, 3]"):
        sidecar_path(weights).write_text(text)
        with pytest.raises(SiamFCError) as info:
            load_calibration(weights)
        assert info.value.key == str(sidecar_path(weights)) and "\n" not in str(info.value)


# ------------------------------------------------------------------------------------ lost state


class FakePipeline:
    """One target that moves 5 px right every step (as a tracker drifting on background would)."""

    def __init__(self) -> None:
        self.center, self.size, self.x_size = np.array([50.0, 50.0]), np.array([20.0, 20.0]), 60.0
        self.kernels = [None]

    def step(self) -> None:
        self.center = self.center + [0.0, 5.0]

    def target(self, index: int):
        return self.center.copy(), self.size.copy(), self.x_size

    snapshot = target

    @staticmethod
    def to_host(state):
        return state

    def set_target(self, index, center, size, x_size) -> None:
        self.center, self.size, self.x_size = np.array(center, float), np.array(size, float), x_size

    def target_color(self, index: int):
        return (0.0, 0.0, 0.0)


class FakeSearch:
    """Tile search whose every tile shows ``tile_map``; records the tiles searched."""

    search_size, response_size, stride = 255, R, 8

    def __init__(self) -> None:
        self.tile_map = flat_map()
        self.calls: list[np.ndarray] = []

    def maps(self, image, kernel, centers, x_size, color):
        return np.stack([peak_map()] * len(centers))  # the first frame: the reference

    def search(self, image, kernel, centers, x_size, color, pick):
        self.calls.append(centers)
        return TileSearch.search.__get__(self)(image, kernel, centers, x_size, color, pick)


def plain(**options) -> LostSettings:
    """A plain monitor's settings: lost after 3 low frames, re-detection at once, found on the first
    confident frame."""
    return LostSettings(**{"lost_threshold": 0.5, "lost_patience": 3, "redetect_threshold": 0.5,
                           "redetect_delay": 0, "redetect_confirm": 1, **options})


def _monitor(redetect: bool) -> tuple[LostMonitor, FakePipeline, FakeSearch]:
    pipeline, search = FakePipeline(), FakeSearch()
    monitor = LostMonitor(pipeline, plain(redetect=redetect), DEFAULT_CALIBRATION, search)
    monitor.add(np.zeros((200, 300, 3), np.uint8))
    search.maps = lambda image, kernel, centers, x_size, color: np.stack([search.tile_map] * len(centers))
    return monitor, pipeline, search


def test_lost_state_entered_and_left_while_the_box_follows():
    monitor, pipeline, _ = _monitor(redetect=False)
    image = np.zeros((200, 300, 3), np.uint8)
    states = []
    for kind in ["peak"] * 3 + ["flat"] * 6 + ["peak"] * 2:
        pipeline.step()
        monitor.after_step(image, (peak_map() if kind == "peak" else flat_map())[None])
        watch = monitor.watches[0]
        states.append((watch.lost, pipeline.center[1], watch.score))
    lost = [s[0] for s in states]
    # confident for 3 frames, then 2 low frames still reported present, lost from the 3rd low one
    assert lost == [False] * 5 + [True] * 4 + [False] * 2
    assert all(score < 0.1 for _, _, score in states[3:9]) and states[9][2] > 0.9
    # reported absent, but the box keeps following the step's peak (never moved by the monitor)
    assert np.all(np.diff([x for _, x, _ in states]) == 5)
    assert monitor.watches[0].good[0][1] == states[-1][1]  # confident again: the last good state is the box


def test_redetection_grows_and_recovers_on_scripted_tiles():
    monitor, pipeline, search = _monitor(redetect=True)
    image = np.zeros((200, 300, 3), np.uint8)
    for step in range(4):
        pipeline.step()
        monitor.after_step(image, peak_map()[None] if step == 0 else flat_map()[None])
    assert monitor.watches[0].lost and not search.calls  # lost from this frame on
    good = monitor.watches[0].good[0]  # where it was last confident: the grid's centre
    for _ in range(3):
        pipeline.step()
        monitor.after_step(image, flat_map()[None])
    # each lost frame: the tiles, then a crop centred on the best tile's peak
    assert monitor.watches[0].lost and [len(c) for c in search.calls][1::2] == [1, 1, 1]
    reach = [np.abs(c - good).max() for c in search.calls[::2]]
    assert reach[2] > reach[0]  # the region grows (swept nearest first, 9 tiles a frame)
    search.tile_map = peak_map(cy=3, cx=12)
    pipeline.step()
    monitor.after_step(image, flat_map()[None])
    assert not monitor.watches[0].lost and monitor.watches[0].score > 0.9


def test_grid_covers_the_frame():
    center, step = np.array([20.0, 30.0]), 40.0
    r = radius_for_frame(center, step, (200, 300))
    centers = grid(center, step, r, (200, 300))
    ys, xs = np.mgrid[0:200:10, 0:300:10]
    distance = np.abs(np.stack([ys.ravel(), xs.ravel()], 1)[:, None, :] - centers[None]).max(axis=2).min(axis=1)
    assert distance.max() <= step / 2 + 1e-9
    assert np.allclose(centers[0], center)  # nearest first


# --------------------------------------------------------------------------- re-detection (model)


def _synthetic_frames(back: int = 7) -> tuple[list[np.ndarray], list[np.ndarray | None]]:
    """A patterned square on noisy grey: moves a little, disappears for 3 frames, then reappears
    far away (the opposite corner) for ``back`` frames."""
    rng = np.random.default_rng(0)
    background = rng.normal(120, 6, (360, 640, 3)).clip(0, 255).astype(np.uint8)
    target = np.zeros((48, 48, 3), np.uint8)
    target[:24, :24] = target[24:, 24:] = (230, 30, 30)
    target[:24, 24:], target[24:, :24] = (20, 20, 200), (250, 230, 40)
    positions = [(60, 60), (62, 60), (64, 60), (66, 60), None, None, None] + [(520, 280)] * back
    frames, boxes = [], []
    for pos in positions:
        frame = background.copy()
        if pos is not None:
            frame[pos[1]:pos[1] + 48, pos[0]:pos[0] + 48] = target
        frames.append(frame)
        boxes.append(None if pos is None else np.array([pos[0], pos[1], 48, 48], float))
    return frames, boxes


def write_synthetic_sequence(tmp_path: Path) -> tuple[Path, list[np.ndarray], list[np.ndarray | None]]:
    """:func:`_synthetic_frames` (29 frames back) as a sequence folder under ``tmp_path/data``: JPEG
    frames and a groundtruth.txt with ``nan`` rows where the target is away."""
    frames, boxes = _synthetic_frames(back=29)
    seq = tmp_path / "data" / "synthetic"
    seq.mkdir(parents=True)
    for i, frame in enumerate(frames):
        cv2.imwrite(str(seq / f"{i + 1:08d}.jpg"), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    rows = ["nan,nan,nan,nan" if b is None else ",".join(f"{v:g}" for v in b) for b in boxes]
    (seq / "groundtruth.txt").write_text("\n".join(rows) + "\n")
    return seq, frames, boxes


@pytest.mark.parametrize("backend, crop_backend", [("onnxruntime", None), ("torch", None), ("torch", "torch")])
def test_redetection_finds_target_far_from_last_box(backend, crop_backend):
    """ONNX Runtime, PyTorch, and the device pipeline (crops and states as tensors; here on the CPU)."""
    from siamfc.tracking.tracker import SiamFCTracker

    if backend == "onnxruntime":
        pytest.importorskip("onnxruntime")
    frames, boxes = _synthetic_frames()
    results = {}
    for redetect in (True, False):  # lost after 3 low frames, re-detection from the first lost frame on
        tracker = SiamFCTracker(backend=backend, crop_backend=crop_backend, redetect=redetect, lost_patience=3,
                                redetect_delay=0, model="siamfc_mobile_lite")
        tracker.init(frames[0], boxes[0])
        trace = []
        for frame in frames[1:]:
            box = tracker.update(frame)
            trace.append((box, tracker.present, tracker.score))
        results[redetect] = trace
    on, off = results[True], results[False]
    assert all(p for _, p, _ in on[:3]) and on[2][2] > 0.5  # tracked while visible
    assert not on[6][1]  # reported lost while away
    assert on[6][0][0] < 200  # not moved far: it follows the background near where the target was
    # re-detected at the far position, and tracked there
    assert on[-1][1] and iou(on[-1][0], boxes[-1])[0] > 0.5 and on[-1][2] > 0.5
    # without re-detection the tracker never finds it there
    assert not off[-1][1] and iou(off[-1][0], boxes[-1])[0] == 0


# ------------------------------------------------------------------------------- outputs (CLI)


def test_track_json_has_scores_and_present(tmp_path):
    from siamfc.cli.main import main

    frames, boxes = _synthetic_frames(back=29)  # long enough for the default patience and delay
    folder = tmp_path / "frames"
    folder.mkdir()
    for i, frame in enumerate(frames):
        cv2.imwrite(str(folder / f"{i + 1:04d}.png"), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    out, scores = tmp_path / "out.json", tmp_path / "scores.txt"
    box = ",".join(f"{v:g}" for v in boxes[0])
    assert main(["track", str(folder), "--init-box", box, "--boxes", str(out), "--scores", str(scores),
                 "--quiet", "--model", "siamfc_mobile_lite"]) == 0
    data = json.loads(out.read_text())
    assert len(data["frames"]) == len(frames)
    for entry in data["frames"]:
        assert len(entry["scores"]) == len(entry["present"]) == 1
        assert 0.0 <= entry["scores"][0] <= 1.0 and isinstance(entry["present"][0], bool)
    present = [e["present"][0] for e in data["frames"]]
    assert present[:4] == [True] * 4 and not present[9] and present[-1]  # lost after 5 low frames
    lines = scores.read_text().split()
    assert len(lines) == len(frames)
    assert [float(v) for v in lines] == pytest.approx([e["scores"][0] for e in data["frames"]], abs=1e-4)
    assert iou(np.array(data["frames"][-1]["boxes"][0]), boxes[-1])[0] > 0.5
    # --no-redetect: the same fields, and the far target is not found
    assert main(["track", str(folder), "--init-box", box, "--boxes", str(out), "--no-redetect", "--quiet",
                 "--model", "siamfc_mobile_lite"]) == 0
    assert not json.loads(out.read_text())["frames"][-1]["present"][0]


def test_bad_lost_threshold_is_one_line(tmp_path, capsys):
    from siamfc.cli.main import main

    try:  # refused by the option's parser (argparse exits) or by the command
        code = main(["track", str(tmp_path), "--init-box", "1,1,5,5", "--lost-threshold", "1.5"])
    except SystemExit as exc:
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--lost-threshold" in err[0] and "Traceback" not in err[0]


# -------------------------------------------------------------------------------- F-score (hand)


def test_f_score_matches_a_hand_computation():
    # sequence A: 4 frames, target absent in the 3rd
    ious_a = np.array([0.8, 0.6, 0.0, 0.4])
    present_a = np.array([True, True, False, True])
    scores_a = np.array([0.9, 0.7, 0.2, 0.4])
    # sequence B: 2 frames, both present
    ious_b, present_b, scores_b = np.array([0.5, 0.0]), np.array([True, True]), np.array([0.6, 0.1])
    thresholds = np.array([0.0, 0.5, 0.8, 0.95])
    a = sequence_curves(ious_a, present_a, scores_a, thresholds)
    b = sequence_curves(ious_b, present_b, scores_b, thresholds)
    # tau = 0: A reports all 4 (Pr (0.8+0.6+0+0.4)/4 = 0.45, Re 1.8/3 = 0.6); B: Pr 0.25, Re 0.25
    # tau = 0.5: A reports frames 1, 2 (Pr 0.7, Re 1.4/3); B reports frame 1 (Pr 0.5, Re 0.25)
    # tau = 0.8: A reports frame 1 (Pr 0.8, Re 0.8/3); B nothing (no precision, Re 0)
    # tau = 0.95: nothing reported anywhere
    assert np.allclose(a.precision[:3], [0.45, 0.7, 0.8]) and np.isnan(a.precision[3])
    assert np.allclose(a.recall, [0.6, 1.4 / 3, 0.8 / 3, 0.0])
    assert np.allclose(b.precision[:2], [0.25, 0.5]) and np.isnan(b.precision[2])
    pr = np.array([0.35, 0.6, 0.8])
    re = np.array([(0.6 + 0.25) / 2, (1.4 / 3 + 0.25) / 2, (0.8 / 3) / 2])
    f = 2 * pr * re / (pr + re)
    result = f_score([a, b], thresholds)
    best = int(np.argmax(f))
    assert best == 1
    assert result["f_score"] == pytest.approx(f[best])
    assert result["precision"] == pytest.approx(0.6) and result["threshold"] == 0.5


def test_shipped_calibration_file_path():
    # the sidecar of a checkpoint sits beside it; an export folder holds its own
    assert sidecar_path(Path("a/b/model.pth")) == Path("a/b/model.pth.confidence.json")


def test_eval_reports_longterm_measures(tmp_path):
    from siamfc.cli.main import main
    from siamfc.evaluation.metrics import f_score as lt_f_score
    from siamfc.evaluation.metrics import truth_curves

    seq, frames, boxes = write_synthetic_sequence(tmp_path)
    out = tmp_path / "results"
    assert main(["eval", "--dataset", "folder", "--root", str(seq.parent), "--out", str(out), "--quiet",
                 "--model", "siamfc_mobile_lite"]) == 0
    (report,) = out.glob("*/comparison.json")
    lt = json.loads(report.read_text())["overall"]["SiamFC-siamfc_mobile_lite"]["longterm"]
    scores = np.loadtxt(next(out.glob("*/SiamFC-siamfc_mobile_lite/_confidence/synthetic.txt")))
    assert len(scores) == len(frames) and scores[1] > 0.5 and scores[5] < 0.5
    # the same figure from the result files, and the re-detected target counts
    result = np.loadtxt(next(out.glob("*/SiamFC-siamfc_mobile_lite/synthetic/synthetic_001.txt")), delimiter=",")
    anno = np.array([b if b is not None else [np.nan] * 4 for b in boxes])
    visible = np.all(np.isfinite(anno), axis=1)
    expected = lt_f_score([truth_curves(result, anno, visible, (640, 360), scores)])
    assert lt["f_score"] == pytest.approx(expected["f_score"])
    assert 0.5 < lt["f_score"] <= 1.0
    # --no-redetect: a tracker of its own name, which never finds the target again
    assert main(["eval", "--dataset", "folder", "--root", str(seq.parent), "--out", str(out), "--quiet",
                 "--no-redetect", "--model", "siamfc_mobile_lite"]) == 0
    off = json.loads(report.read_text())["overall"]["SiamFC-siamfc_mobile_lite-noredetect"]["longterm"]
    assert off["recall"] < lt["recall"] - 0.2 and off["f_score"] < lt["f_score"]
