"""The box-head model family: its step's arithmetic against hand computations, the tracker loop on
it (both engines, several targets, the lost state), its checkpoints, and the port of NanoTrack v2
against OpenCV's TrackerNano (with ../shared)."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from siamfc.errors import CheckpointError
from siamfc.models.boxnet import BoxTrackNet, load_nanotrack_v2
from siamfc.models.checkpoint import load_box_checkpoint, save_checkpoint
from siamfc.tracking.step import BoxGrid, decide, move
from siamfc.tracking.tracker import MultiTracker, SiamFCTracker, TrackerConfig

SHARED = Path(os.environ.get("SIAMFC_SHARED", Path(__file__).resolve().parents[2] / "shared"))
NANO = SHARED / "weights" / "nanotrack_v2"
VAL = SHARED / "data" / "GOT-10k-mini" / "val"
needs_nano = pytest.mark.skipif(not (NANO / "nanotrack_head_sim.onnx").is_file(),
                                reason=f"NanoTrack v2 not found in {NANO} (../shared absent)")
DEMO = Path(__file__).resolve().parents[1] / "siamfc" / "assets" / "demo_clip.mp4"


def logits_for(probability: float) -> tuple[float, float]:
    """Background and foreground logits whose softmax gives ``probability`` to the foreground."""
    return 0.0, math.log(probability / (1 - probability))


def test_grid_cells_follow_nanotrack_layout() -> None:
    grid = BoxGrid.create(16, 16, 255)
    assert grid.cells[8] == 127 and grid.cells[0] == -1 and grid.cells[15] == 239
    assert grid.window.shape == (16, 16) and grid.window.max() < 1


def test_decide_picks_the_best_cell_and_decodes_its_box_by_hand() -> None:
    grid = BoxGrid(np.array([10.0, 30.0, 50.0]), np.zeros((3, 3)))
    cls = np.zeros((1, 2, 3, 3))
    cls[0, :, 1, 2] = logits_for(0.8)  # row 1 (y = 30), column 2 (x = 50)
    box = np.full((1, 4, 3, 3), 5.0)
    box[0, :, 1, 2] = [10.0, 4.0, 30.0, 16.0]  # l, t, r, b
    d = decide(cls, box, grid, np.array([[20.0, 40.0]]), penalty_k=0.0, window_influence=0.0, lr=0.5)
    assert d.cell[0] == 1 * 3 + 2
    # x1 = 50 - 10 = 40, x2 = 50 + 30 = 80 -> cx 60, w 40; y1 = 26, y2 = 46 -> cy 36, h 20
    np.testing.assert_allclose(d.center[0], [36.0, 60.0])
    np.testing.assert_allclose(d.size[0], [20.0, 40.0])
    assert d.score[0] == pytest.approx(0.8)
    assert d.rate[0] == pytest.approx(0.8 * 0.5)


def test_change_penalty_matches_a_hand_computation() -> None:
    grid = BoxGrid(np.array([100.0]), np.zeros((1, 1)))
    cls = np.array(logits_for(0.9)).reshape(1, 2, 1, 1)
    box = np.full((1, 4, 1, 1), 20.0)  # a 40 x 40 box
    k = 0.1
    d = decide(cls, box, grid, np.array([[20.0, 40.0]]), penalty_k=k, window_influence=0.0, lr=1.0)
    # size: sqrt((40+40)(40+40)) = 80 against sqrt((40+30)(20+30)) = sqrt(3500); aspect (40/20)/(40/40) = 2
    penalty = math.exp(-(2 * (80 / math.sqrt(3500)) - 1) * k)
    assert d.rate[0] == pytest.approx(penalty * 0.9)


def test_window_can_outvote_a_stronger_cell_away_from_the_centre() -> None:
    grid = BoxGrid(np.array([0.0, 16.0]), np.array([[0.0, 0.0], [0.0, 1.0]]))
    cls = np.zeros((1, 2, 2, 2))
    cls[0, :, 0, 0] = logits_for(0.9)
    cls[0, :, 1, 1] = logits_for(0.6)
    box = np.full((1, 4, 2, 2), 8.0)
    kwargs = {"penalty_k": 0.0, "lr": 0.3}
    assert decide(cls, box, grid, np.array([[16.0, 16.0]]), window_influence=0.0, **kwargs).cell[0] == 0
    assert decide(cls, box, grid, np.array([[16.0, 16.0]]), window_influence=0.5, **kwargs).cell[0] == 3


def test_move_damps_size_and_keeps_the_box_in_the_image() -> None:
    grid = BoxGrid(np.array([127.0]), np.zeros((1, 1)))
    cls = np.array(logits_for(0.5)).reshape(1, 2, 1, 1)
    box = np.array([30.0, 10.0, 30.0, 10.0]).reshape(1, 4, 1, 1)  # 60 x 20 at the crop's centre
    d = decide(cls, box, grid, np.array([[20.0, 20.0]]), penalty_k=0.0, window_influence=0.0, lr=1.0)
    centers, sizes = move(np.array([[50.0, 60.0]]), np.array([[10.0, 10.0]]), d, np.array([2.0]), 255, (100, 100))
    np.testing.assert_allclose(centers[0], [50.0, 60.0])  # the chosen box is centred on the crop
    # rate 0.5: h = 10 * 0.5 + 20 * 2 * 0.5 = 25; w = 10 * 0.5 + 60 * 2 * 0.5 = 65
    np.testing.assert_allclose(sizes[0], [25.0, 65.0])
    far = move(np.array([[99.0, 99.0]]), np.array([[500.0, 1.0]]), d, np.array([100.0]), 255, (100, 100))
    assert far[1][0, 0] == 100.0 and far[1][0, 1] >= 10.0


def test_boxnet_shapes() -> None:
    net = BoxTrackNet().eval()
    with torch.no_grad():
        cls, box = net(torch.rand(2, 3, 127, 127) * 255, torch.rand(2, 3, 255, 255) * 255)
    assert cls.shape == (2, 2, 16, 16) and box.shape == (2, 4, 16, 16) and bool((box > 0).all())


def random_boxnet() -> BoxTrackNet:
    torch.manual_seed(0)
    return BoxTrackNet().eval()


def demo_frames(count: int) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(DEMO))
    frames = []
    while len(frames) < count:
        ok, frame = capture.read()
        assert ok
        frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
    return frames


def test_onnx_export_gives_the_torch_models_maps() -> None:
    from siamfc.tracking.engines.onnx_engines import BoxOnnxEngine
    from siamfc.tracking.engines.torch_engines import BoxTorchEngine

    net = random_boxnet()
    rng = np.random.default_rng(1)
    z = rng.integers(0, 256, (2, 127, 127, 3), dtype=np.uint8)
    x = rng.integers(0, 256, (2, 255, 255, 3), dtype=np.uint8)
    onnx, eager = BoxOnnxEngine.from_model(net), BoxTorchEngine(net, torch.device("cpu"))
    as_float = [torch.from_numpy(a).permute(0, 3, 1, 2).float() for a in (z, x)]
    with torch.no_grad():
        kernels = eager.stack([eager.exemplar(as_float[0][i:i + 1]) for i in range(2)], 1)
        expected = eager.heads(as_float[1], kernels)
    found = onnx.heads(x, onnx.stack([onnx.exemplar(z[i:i + 1]) for i in range(2)], 1))
    for a, b in zip(found, expected, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("backend", ["onnxruntime", "torch"])
def test_tracker_loop_on_two_targets(backend: str) -> None:
    frames = demo_frames(6)
    tracker = MultiTracker(model=random_boxnet(), backend=backend)
    ids = [tracker.add(frames[0], [283, 152, 79, 65]), tracker.add(frames[0], [40, 40, 60, 50])]
    for frame in frames[1:]:
        boxes = tracker.update(frame)
        assert set(boxes) == set(ids) and all(np.isfinite(b).all() and (b[2:] >= 10).all() for b in boxes.values())
    assert all(0 <= s <= 1 for s in tracker.scores.values())
    tracker.remove(ids[0])
    assert set(tracker.update(frames[-1])) == {ids[1]}


def test_box_checkpoint_round_trip_and_foreign_file(tmp_path: Path) -> None:
    net = random_boxnet()
    path = tmp_path / "box.pth"
    save_checkpoint(path, net)
    loaded = load_box_checkpoint(path)
    for a, b in zip(net.state_dict().values(), loaded.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    frames = demo_frames(3)
    tracker = SiamFCTracker(weights=path)
    tracker.init(frames[0], [283, 152, 79, 65])
    assert np.isfinite(tracker.update(frames[1])).all()
    foreign = tmp_path / "foreign.pth"
    torch.save({"model": {"family": "boxnet"}, "state_dict": {"x": torch.zeros(1)}}, foreign)
    with pytest.raises(CheckpointError):
        load_box_checkpoint(foreign)


@needs_nano
def test_port_network_equals_the_onnx_graphs() -> None:
    import onnxruntime as ort

    net = load_nanotrack_v2(NANO)
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (1, 3, 255, 255)).astype(np.float32)
    z = rng.uniform(0, 255, (1, 3, 127, 127)).astype(np.float32)
    backbone = ort.InferenceSession(str(NANO / "nanotrack_backbone_sim.onnx"), providers=["CPUExecutionProvider"])
    head = ort.InferenceSession(str(NANO / "nanotrack_head_sim.onnx"), providers=["CPUExecutionProvider"])
    xf = backbone.run(None, {"input": x})[0]
    with torch.no_grad():
        zf = net.embed_exemplar(torch.from_numpy(z)).numpy()
        np.testing.assert_allclose(net.embed_search(torch.from_numpy(x)).numpy(), xf, atol=1e-3)
        cls, box = net.heads(torch.from_numpy(zf), torch.from_numpy(xf))
    ref_cls, ref_box = head.run(None, {"input1": zf, "input2": xf})
    np.testing.assert_allclose(cls.numpy(), ref_cls, atol=1e-3)
    np.testing.assert_allclose(box.numpy(), ref_box, rtol=1e-4, atol=1e-3)


def iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    x1, y1 = np.maximum(a[:, 0], b[:, 0]), np.maximum(a[:, 1], b[:, 1])
    x2, y2 = np.minimum(a[:, 0] + a[:, 2], b[:, 0] + b[:, 2]), np.minimum(a[:, 1] + a[:, 3], b[:, 1] + b[:, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    return inter / (a[:, 2] * a[:, 3] + b[:, 2] * b[:, 3] - inter)


@needs_nano
@pytest.mark.skipif(not (VAL / "bag").is_dir(), reason=f"{VAL / 'bag'} not found (../shared absent)")
def test_port_tracks_as_opencv_tracker_nano() -> None:
    """OpenCV's boxes are ours cut to whole pixels; overlap with the ground truth is real."""
    frames = sorted((VAL / "bag").glob("*.jpg"))[:80]
    truth = np.loadtxt(VAL / "bag" / "groundtruth.txt", delimiter=",")[:80]
    x, y, w, h = truth[0]
    x0, y0 = round(x), round(y)
    rect = (x0, y0, round(x + w) - x0, round(y + h) - y0)  # OpenCV takes whole pixels
    params = cv2.TrackerNano_Params()
    params.backbone, params.neckhead = str(NANO / "nanotrack_backbone_sim.onnx"), str(NANO / "nanotrack_head_sim.onnx")
    opencv = cv2.TrackerNano_create(params)
    ours = SiamFCTracker(NANO, config=TrackerConfig.preset("opencv-nano", lost_threshold=0))  # no lost state
    theirs, mine = [], []
    for i, path in enumerate(frames):
        bgr = cv2.imread(str(path))
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        if i == 0:
            opencv.init(bgr, rect)
            ours.init(rgb, np.array(rect, float))
            continue
        theirs.append(opencv.update(bgr)[1])
        mine.append(ours.update(rgb))
    theirs, mine = np.array(theirs, float), np.array(mine)
    assert (np.trunc(mine) == theirs).all(axis=1).mean() >= 0.95
    assert iou(mine, theirs).mean() >= 0.95
    assert iou(mine, truth[1:]).mean() >= 0.7
    eager = SiamFCTracker(NANO, config=TrackerConfig.preset("opencv-nano", lost_threshold=0), backend="torch")
    eager.init(cv2.cvtColor(cv2.imread(str(frames[0])), cv2.COLOR_BGR2RGB), np.array(rect, float))
    eager_boxes = np.array([eager.update(cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB)) for p in frames[1:]])
    assert iou(eager_boxes, mine).min() >= 0.98  # the ONNX export and PyTorch: the same boxes


@needs_nano
def test_track_cli_runs_a_nanotrack_folder(tmp_path: Path) -> None:
    out = tmp_path / "boxes.txt"
    run = subprocess.run([sys.executable, "-m", "siamfc.cli.main", "track", str(DEMO), "--init-box", "283,152,79,65",
                          "--weights", str(NANO), "--boxes", str(out), "--max-frames", "30"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    boxes = np.loadtxt(out, delimiter=",")
    truth = np.loadtxt(DEMO.with_name("demo_groundtruth.txt"), delimiter=",")[:len(boxes)]
    assert len(boxes) == 30 and iou(boxes[1:], truth[1:]).mean() >= 0.6


def test_shipped_box_model_tracks_the_demo_and_its_export_is_its_checkpoint() -> None:
    """``siamfc_box`` (no ../shared needed): real overlap with the demo's ground truth, and the ONNX
    export shipped beside it gives the checkpoint's boxes (PyTorch)."""
    frames = demo_frames(40)
    truth = np.loadtxt(DEMO.with_name("demo_groundtruth.txt"), delimiter=",")[:40]
    runs = {}
    for backend in ("auto", "torch"):
        tracker = SiamFCTracker(model="siamfc_box", backend=backend)
        tracker.init(frames[0], truth[0])
        runs[backend] = np.array([tracker.update(frame) for frame in frames[1:]])
    assert iou(runs["auto"], truth[1:]).mean() >= 0.7
    assert iou(runs["auto"], runs["torch"]).min() >= 0.98
