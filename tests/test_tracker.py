"""Tracker tests: the inference geometry with a scripted response map (hand-computed moves,
scale damping, clamping), the multi-target bookkeeping, and real tracking against ground truth."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from siamfc import CheckpointError, ModelConfig, MultiTracker, SiamFCNet, SiamFCTracker, TrackerConfig, geometry
from siamfc.errors import SettingError, SiamFCError
from siamfc.models.shipped import default_weights_path

RESPONSE = 17  # (255 - 127) / 8 + 1
UP = 16 * RESPONSE  # 272: the response upsampled x16; its centre is 135.5


class ScriptedHead(nn.Module):
    """Ignores the features and returns a bump at ``peak`` (row, col of the 17x17 map) in the
    response of scale ``scale_id``; the other scales get a ten times weaker bump."""

    def __init__(self) -> None:
        super().__init__()
        self.peak = (8, 8)
        self.scale_id = 1

    def forward(self, kernels: torch.Tensor, search: torch.Tensor) -> torch.Tensor:
        nk, k = search.shape[0], search.shape[0] // kernels.shape[0]
        ys, xs = torch.meshgrid(torch.arange(RESPONSE), torch.arange(RESPONSE), indexing="ij")
        bump = torch.exp(-((ys - self.peak[0]) ** 2 + (xs - self.peak[1]) ** 2) / 2.0)
        out = torch.stack([bump * (1.0 if i % k == self.scale_id else 0.1) for i in range(nk)])
        return out[:, None].to(search.dtype)


class ScriptedNet(SiamFCNet):
    """A tiny real backbone (so crops and embedding run) with a scripted head."""

    def __init__(self) -> None:
        super().__init__(ModelConfig(width=0.1))
        self.head = ScriptedHead()

    def correlate(self, kernels: torch.Tensor, search_features: torch.Tensor) -> torch.Tensor:
        return self.head(kernels, search_features)


def scripted_tracker(**params) -> tuple[MultiTracker, ScriptedHead]:
    net = ScriptedNet()
    return MultiTracker(model=net, **params), net.head


def blank(h: int = 300, w: int = 400) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, size=(h, w, 3), dtype=np.uint8)


def center_of(box: np.ndarray) -> np.ndarray:
    """(cy, cx) of an ``x, y, w, h`` box in 0-based pixels."""
    return np.array([box[1] + (box[3] - 1) / 2, box[0] + (box[2] - 1) / 2])


# --- configuration ---------------------------------------------------------------------------

def test_config_defaults_and_presets() -> None:
    cfg = TrackerConfig()
    assert (cfg.exemplar_size, cfg.search_size, cfg.context) == (127, 255, 0.5)
    assert (cfg.scale_num, cfg.scale_step, cfg.scale_penalty, cfg.scale_lr) == (3, 1.0375, 0.995, 0.59)
    assert TrackerConfig.preset("paper").scale_penalty == 0.9745  # the paper's, exactly
    assert (cfg.window_influence, cfg.response_up, cfg.min_scale, cfg.max_scale) == (0.176, 16, 0.2, 5.0)
    assert TrackerConfig.preset("3s") == cfg
    five = TrackerConfig.preset("5s")
    assert (five.scale_num, five.scale_step, five.scale_penalty) == (5, 1.025, 0.962)
    assert TrackerConfig.preset("5s", scale_lr=0.3).scale_lr == 0.3
    with pytest.raises(SettingError) as info:
        TrackerConfig.preset("7s")
    assert info.value.key == "preset"


def test_unknown_parameter_is_refused() -> None:
    for make in (TrackerConfig.from_kwargs, lambda **kw: MultiTracker(model=ScriptedNet(), **kw)):
        with pytest.raises(SettingError) as info:
            make(scale_stpe=1.1)
        assert info.value.key == "scale_stpe"
    assert MultiTracker(model=ScriptedNet(), scale_num=5).cfg.scale_num == 5


@pytest.mark.parametrize("params", [
    {"scale_penalty": "abc"},
    {"redetect": "no"},  # a non-empty string would mean True
    {"redetect": 1},
    {"redetect_tiles": 2.5},
    {"window_influence": True},
    {"redetect_delay": "ten"},
    {"scale_num": None},
])
def test_a_value_of_the_wrong_kind_is_refused(params: dict) -> None:
    for make in (TrackerConfig.from_kwargs, lambda **kw: MultiTracker(model=ScriptedNet(), **kw)):
        with pytest.raises(SettingError) as info:
            make(**params)
        assert info.value.key == next(iter(params))


def test_numbers_of_any_numeric_type_are_taken() -> None:
    cfg = TrackerConfig.from_kwargs(scale_penalty=1, scale_num=np.int64(5), window_influence=np.float32(0.25))
    assert (cfg.scale_penalty, cfg.scale_num, cfg.window_influence) == (1.0, 5, 0.25)
    assert type(cfg.scale_penalty) is float and type(cfg.scale_num) is int


@pytest.mark.parametrize(("params", "key"), [
    ({"search_size": 100}, "search_size"),  # smaller than the exemplar
    ({"scale_num": 0}, "scale_num"),
    ({"scale_step": 0.0}, "scale_step"),
    ({"scale_penalty": float("nan")}, "scale_penalty"),
    ({"window_influence": 1.5}, "window_influence"),
    ({"min_scale": 2.0, "max_scale": 1.0}, "max_scale"),
])
def test_impossible_settings_are_one_line(params: dict, key: str) -> None:
    """A search region smaller than the exemplar used to fail inside the convolution (a traceback)."""
    with pytest.raises(SettingError) as info:
        MultiTracker(model=ScriptedNet(), **params)
    assert info.value.key == key and "\n" not in str(info.value)


def test_default_weights() -> None:
    if default_weights_path().is_file():
        from siamfc.models.boxnet import BoxTrackNet

        assert isinstance(SiamFCTracker().net, BoxTrackNet)  # the default, siamfc_box, is of the box-head family
    else:
        with pytest.raises(CheckpointError):
            SiamFCTracker()


@pytest.mark.parametrize(("name", "min_iou"), [("bag", 0.65), ("Crossing", 0.7)])
def test_shipped_model_tracks_real_sequences(name: str, min_iou: float, got10k_sequence) -> None:
    """The default model shipped in the package (siamfc_box), through the default path (its ONNX
    export in ONNX Runtime), against ground truth."""
    if not default_weights_path().is_file():
        pytest.skip("the package ships no trained model")
    from siamfc.tracking.engines.onnx_engines import BoxOnnxEngine

    seq = got10k_sequence("val", name, max_frames=120)
    tracker = SiamFCTracker()
    assert tracker.net.config.backbone == "nanotrack_v2" and isinstance(tracker.tracker.engine, BoxOnnxEngine)
    tracker.init(seq.frames[0], seq.groundtruth[0])
    boxes = np.array([tracker.update(frame) for frame in seq.frames[1:]])
    mean_iou = float(geometry.iou(boxes, seq.groundtruth[1:]).mean())
    print(f"{name}, {len(boxes)} frames: mean IoU {mean_iou:.3f}")
    assert mean_iou >= min_iou


# --- geometry of one update, with a scripted response ----------------------------------------

def test_centre_peak_keeps_the_box() -> None:
    tracker, _ = scripted_tracker()
    box = np.array([100.0, 80.0, 40.0, 30.0])
    tid = tracker.add(blank(), box)
    for _ in range(3):
        out = tracker.update(blank())[tid]
    # The bump at the centre of the map upsamples to 135.5 (between two pixels): at most half an
    # upsampled pixel = 0.25 search pixel off per frame.
    x_size = geometry.exemplar_size(np.array([30.0, 40.0]), 0.5) * 255 / 127
    np.testing.assert_allclose(out[2:], box[2:], rtol=1e-9)
    np.testing.assert_allclose(center_of(out), center_of(box), atol=3 * 0.25 * x_size / 255 + 1e-9)


def test_displacement_hand_computed() -> None:
    tracker, head = scripted_tracker(window_influence=0.0)
    box = np.array([100.0, 80.0, 40.0, 40.0])
    # exemplar side sqrt(80 * 80) = 80, search side 80 * 255 / 127 at scale 1
    x_size = 80 * 255 / 127
    tid = tracker.add(blank(), box)
    head.peak = (8, 12)  # 4 response pixels right of centre
    out = tracker.update(blank())[tid]
    # Map column 12 upsamples to 16 * 12 + 7.5 = 199.5: 64 upsampled px = 32 search px right.
    expected = center_of(box) + np.array([0.0, 32 * x_size / 255])
    np.testing.assert_allclose(center_of(out), expected, atol=0.25 * x_size / 255 + 1e-9)
    np.testing.assert_allclose(out[2:], box[2:])
    head.peak = (2, 8)  # 6 above centre: 48 search px up
    out2 = tracker.update(blank())[tid]
    np.testing.assert_allclose(center_of(out2), expected + [-48 * x_size / 255, 0.0], atol=0.5 * x_size / 255)


@pytest.mark.parametrize(("preset", "scale_id", "factor"), [
    ("3s", 2, 1.0375), ("3s", 0, 1.0375 ** -1), ("5s", 4, 1.025 ** 2), ("5s", 1, 1.025 ** -1),
])
def test_scale_update_is_damped(preset: str, scale_id: int, factor: float) -> None:
    cfg = TrackerConfig.preset(preset)
    tracker, head = scripted_tracker(**{k: getattr(cfg, k) for k in ("scale_num", "scale_step", "scale_penalty")})
    head.scale_id = scale_id
    box = np.array([150.0, 120.0, 50.0, 20.0])
    tid = tracker.add(blank(), box)
    damped = (1 - 0.59) + 0.59 * factor  # the paper's damping: scale_lr 0.59
    x_size = geometry.exemplar_size(np.array([20.0, 50.0]), 0.5) * 255 / 127
    for frame in range(1, 4):
        out = tracker.update(blank())[tid]
        np.testing.assert_allclose(out[2:], box[2:] * damped ** frame, rtol=1e-9)
        # The peak stays at the centre: the centre moves by at most half an upsampled pixel a frame.
        np.testing.assert_allclose(center_of(out), center_of(box), atol=frame * 0.3 * x_size * 1.1 / 255)


@pytest.mark.parametrize(("scale_id", "sizes"), [(2, [40, 80, 100, 100]), (0, [10, 5, 4, 4])])
def test_size_is_clamped_to_its_limits(scale_id: int, sizes: list[float]) -> None:
    # Scale step 2 and no damping: the size doubles (or halves) every frame until 5x (0.2x) of 20.
    tracker, head = scripted_tracker(scale_step=2.0, scale_lr=1.0)
    head.scale_id = scale_id
    tid = tracker.add(blank(), np.array([190.0, 140.0, 20.0, 20.0]))
    got = [tracker.update(blank())[tid][2] for _ in sizes]
    np.testing.assert_allclose(got, sizes, rtol=1e-9)


@pytest.mark.parametrize("peak", [(16, 16), (0, 0), (0, 16), (16, 8)])
def test_centre_is_clamped_to_the_image(peak: tuple[int, int]) -> None:
    h, w = 120, 160
    tracker, head = scripted_tracker()
    box = np.array([70.0, 50.0, 20.0, 20.0])
    tid = tracker.add(blank(h, w), box)
    head.peak = peak  # the target runs towards a border by ~20 px a frame and out of the frame
    for _ in range(8):
        out = tracker.update(blank(h, w))[tid]
        c = center_of(out)
        assert 0 <= c[0] <= h - 1 and 0 <= c[1] <= w - 1
        np.testing.assert_allclose(out[2:], box[2:])
    for axis, (p, size) in enumerate(zip(peak, (h, w), strict=True)):
        if p == 8:  # no motion along this axis
            assert c[axis] == pytest.approx(center_of(box)[axis], abs=1.0)
        else:
            assert c[axis] == (0.0 if p == 0 else size - 1.0)


# --- multi-target bookkeeping ----------------------------------------------------------------

def test_multitracker_add_remove() -> None:
    tracker, _ = scripted_tracker()
    assert len(tracker) == 0 and tracker.update(blank()) == {}
    a = tracker.add(blank(), np.array([10.0, 10.0, 30.0, 30.0]))
    b = tracker.add(blank(), np.array([200.0, 100.0, 40.0, 60.0]))
    assert a != b and len(tracker) == 2
    out = tracker.update(blank())
    assert set(out) == {a, b}
    np.testing.assert_allclose(out[b][2:], [40, 60])
    tracker.remove(a)
    assert set(tracker.update(blank())) == {b}
    with pytest.raises(KeyError):
        tracker.remove(a)
    c = tracker.add(blank(), np.array([50.0, 50.0, 10.0, 10.0]))
    assert c not in (a, b)  # ids are never reused
    assert set(tracker.update(blank())) == {b, c}
    tracker.remove(b)
    tracker.remove(c)
    assert tracker.update(blank()) == {}


def test_bad_input_is_refused() -> None:
    tracker = SiamFCTracker(model=ScriptedNet())
    with pytest.raises(RuntimeError):
        tracker.update(blank())
    for box in ([1, 2, 0, 5], [1, 2, 3], [np.nan, 0, 5, 5], [0, 0, -3, 4]):
        with pytest.raises(SiamFCError) as info:
            tracker.init(blank(), np.array(box, dtype=float))
        assert info.value.key == "box"
    for image in (np.zeros((50, 60), np.uint8), np.zeros((50, 60, 3), np.float32)):
        with pytest.raises(SiamFCError) as info:
            tracker.init(image, np.array([1.0, 1.0, 5.0, 5.0]))
        assert info.value.key == "image"


# --- real tracking with a trained model ------------------------------------------------------

def track(tracker, frames, box) -> np.ndarray:
    tracker.init(frames[0], box)
    return np.array([box] + [tracker.update(f) for f in frames[1:]])


def mean_iou(boxes: np.ndarray, gt: np.ndarray) -> float:
    """Frame 1 and frames where the target is absent (NaN) excluded."""
    keep = np.all(np.isfinite(gt), axis=1)
    keep[0] = False
    return float(geometry.iou(boxes[keep], gt[keep]).mean())


@pytest.mark.parametrize(("name", "minimum"), [("Crossing", 0.77), ("bag", 0.68)])
def test_tracks_real_sequences(got10k_sequence, fdsiamfc_weights: Path, name: str, minimum: float) -> None:
    # The PyTorch port's own pipeline with these weights: 0.80 (Crossing), 0.71 (bag).
    seq = got10k_sequence("val", name)
    tracker = SiamFCTracker(fdsiamfc_weights)
    boxes = track(tracker, seq.frames, seq.groundtruth[0])
    score = mean_iou(boxes, seq.groundtruth)
    print(f"{name}: mean IoU {score:.3f} over {len(boxes) - 1} frames")
    assert score >= minimum, f"{name}: mean IoU {score:.3f} < {minimum}"


def test_pil_input_gives_the_same_boxes(got10k_sequence, fdsiamfc_weights: Path) -> None:
    seq = got10k_sequence("val", "Crossing", max_frames=12)
    tracker = SiamFCTracker(fdsiamfc_weights)
    from_numpy = track(tracker, seq.frames, seq.groundtruth[0])
    from_pil = track(tracker, [Image.open(p) for p in seq.frame_paths], seq.groundtruth[0])
    np.testing.assert_allclose(from_pil, from_numpy, atol=1e-6)
    assert mean_iou(from_pil, seq.groundtruth) > 0.6
