"""ONNX export (``siamfc export --format onnx``) and the ONNX Runtime backend: the graphs compute
what the PyTorch model computes, and the tracker gives the same boxes."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import cv2
import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from siamfc import CheckpointError, SiamFCTracker, geometry
from siamfc.errors import SettingError, SiamFCError
from siamfc.models.checkpoint import load_model
from siamfc.tracking.export import FILES, MANIFEST


@pytest.fixture(scope="module")
def exported(fdsiamfc_weights: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``siamfc export --format onnx`` in-process (a subprocess would spend seconds importing torch)."""
    from siamfc.cli.main import main

    out = tmp_path_factory.mktemp("onnx") / "fdsiamfc_30"
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        code = main(["export", "--format", "onnx", "--weights", str(fdsiamfc_weights), "--out", str(out)])
    assert code == 0
    assert stdout.getvalue().count("wrote") == 5, stdout.getvalue()  # four graphs and the manifest
    return out


def test_export_writes_three_valid_graphs(exported: Path) -> None:
    info = json.loads((exported / MANIFEST).read_text())
    assert info["format"] == "siamfc-onnx" and info["stride"] == 8 and info["files"] == FILES
    assert info["model"]["channels"] == [28, 76, 114, 114, 76]
    for name in FILES.values():
        onnx.checker.check_model(str(exported / name))


def test_graphs_match_torch(exported: Path, fdsiamfc_weights: Path) -> None:
    net = load_model(fdsiamfc_weights)
    cpu = ["CPUExecutionProvider"]
    sessions = {k: ort.InferenceSession(str(exported / v), providers=cpu) for k, v in FILES.items()}
    torch.manual_seed(0)
    # The graphs take uint8 crops, channels last, as OpenCV cuts them.
    z = torch.randint(0, 256, (1, 127, 127, 3), dtype=torch.uint8)
    x = torch.randint(0, 256, (3, 255, 255, 3), dtype=torch.uint8)
    with torch.no_grad():
        responses = net.correlate(net.embed_exemplar(z.permute(0, 3, 1, 2).float()),
                                  net.embed_search(x.permute(0, 3, 1, 2).float()))
    kernel, offset = sessions["exemplar"].run(None, {"z": z.numpy()})
    features = sessions["search"].run(None, {"x": x.numpy()})[0]  # a batch of 3: the batch axis is free
    # AlexNet's last conv (76 <- 114 channels, 3x3) is composed into the kernel: 8x8 on the 24x24 trunk,
    # whose features come channels last.
    assert json.loads((exported / MANIFEST).read_text())["composed"] is True
    assert kernel.shape == (1, 114, 8, 8) and features.shape == (3, 24, 24, 114) and offset.shape == (1,)
    got = sessions["head"].run(None, {"kernel": kernel, "offset": offset, "features": features})[0]
    np.testing.assert_allclose(got, responses.numpy(), rtol=1e-3, atol=1e-3 * float(responses.abs().max()))


def test_engine_from_a_model_gives_the_eager_responses() -> None:
    """The in-memory export of the MobileNet model (last pointwise conv composed into the kernel,
    head bias folded into the offset) computes the plain PyTorch responses."""
    from siamfc.models.network import build_model
    from siamfc.tracking.engines.onnx_engines import OnnxEngine
    from siamfc.tracking.engines.torch_engines import TorchEngine

    torch.manual_seed(0)
    net = build_model(backbone="mobile", width=0.5, head_bias=True).eval()
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-1, 1)
            m.running_var.uniform_(0.5, 2)
    net.head.bias.data.fill_(0.3)
    plain = TorchEngine(net, torch.device("cpu"), optimize=False)
    engine = OnnxEngine.from_model(net)
    z = [torch.randint(0, 256, (1, 127, 127, 3), dtype=torch.uint8) for _ in range(2)]
    x = torch.randint(0, 256, (6, 255, 255, 3), dtype=torch.uint8)  # 2 targets x 3 scales

    def as_float(crops: torch.Tensor) -> torch.Tensor:
        return crops.permute(0, 3, 1, 2).float()

    assert plain.input_format == "float_nchw" and engine.input_format == "uint8_nhwc"
    ref = plain.responses(as_float(x), plain.stack([plain.exemplar(as_float(zi)) for zi in z], 3))
    out = torch.from_numpy(engine.responses(x.numpy(), engine.stack([engine.exemplar(zi.numpy()) for zi in z], 3)))
    assert out.shape == ref.shape == (6, 17, 17)
    torch.testing.assert_close(out, ref, rtol=1e-3, atol=1e-3 * ref.abs().max().item())


def track(tracker: SiamFCTracker, frames: list[np.ndarray], box: np.ndarray) -> np.ndarray:
    tracker.init(frames[0], box)
    return np.array([tracker.update(f) for f in frames[1:]])


def test_onnxruntime_tracker_gives_torch_boxes(exported: Path, fdsiamfc_weights: Path, got10k_sequence) -> None:
    seq = got10k_sequence("val", "bag", max_frames=30)
    box = seq.groundtruth[0]
    reference = track(SiamFCTracker(fdsiamfc_weights, optimize=False), seq.frames, box)
    from_folder = track(SiamFCTracker(exported, backend="onnxruntime"), seq.frames, box)
    # the default backend ("auto") runs an export folder with ONNX Runtime too
    np.testing.assert_allclose(track(SiamFCTracker(exported), seq.frames[:10], box), from_folder[:9], atol=1e-6)
    agreement = float(geometry.iou(from_folder, reference).mean())
    print(f"bag, 29 frames: mean IoU onnxruntime vs torch eager {agreement:.4f}")
    assert agreement >= 0.99
    # A checkpoint is exported in memory when given directly.
    from_checkpoint = track(SiamFCTracker(fdsiamfc_weights, backend="onnxruntime"), seq.frames[:10], box)
    np.testing.assert_allclose(from_checkpoint, from_folder[:9], atol=1e-3)


def test_onnxruntime_multitarget(exported: Path, fdsiamfc_weights: Path, got10k_sequence) -> None:
    from siamfc import MultiTracker

    seq = got10k_sequence("val", "Crossing", max_frames=6)
    boxes = [seq.groundtruth[0], seq.groundtruth[0] + [30, 0, 0, 0]]
    multi = MultiTracker(exported, backend="onnxruntime")
    ids = [multi.add(seq.frames[0], b) for b in boxes]
    outs = [multi.update(f) for f in seq.frames[1:]]
    for target_id, box in zip(ids, boxes, strict=True):
        alone = track(SiamFCTracker(exported, backend="onnxruntime"), seq.frames, box)
        np.testing.assert_allclose(np.array([o[target_id] for o in outs]), alone, atol=1e-3)


def test_an_export_with_the_torch_backend_is_refused(exported: Path, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture) -> None:
    """Not silently run with ONNX Runtime when PyTorch was asked for."""
    from siamfc.cli.main import main

    with pytest.raises(SiamFCError) as info:
        SiamFCTracker(exported, backend="torch")
    assert info.value.key == "backend"
    cv2.imwrite(str(tmp_path / "frame.png"), np.full((64, 64, 3), 128, np.uint8))
    code = main(["track", str(tmp_path / "frame.png"), "--init-box", "10,10,20,20", "--weights", str(exported),
                 "--backend", "torch", "-q"])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and "not backend='torch'" in err, err


def test_incomplete_export_is_refused(exported: Path, tmp_path: Path) -> None:
    older = {**json.loads((exported / MANIFEST).read_text()), "version": 1}
    for manifest in ((exported / MANIFEST).read_text(), json.dumps(older), '{"format": "something"}'):
        (tmp_path / MANIFEST).write_text(manifest)  # incomplete, an older version, a foreign file
        with pytest.raises(CheckpointError) as info:
            SiamFCTracker(tmp_path, backend="onnxruntime")
        assert info.value.key == str(tmp_path / MANIFEST)
    with pytest.raises(CheckpointError) as info:
        SiamFCTracker(tmp_path / "elsewhere", backend="onnxruntime")
    assert info.value.key == str(tmp_path / "elsewhere")
    with pytest.raises(SettingError) as info:
        SiamFCTracker(exported, device="cuda", backend="onnxruntime")  # the CPU only
    assert info.value.key == "backend"


@pytest.mark.parametrize(("args", "message"), [
    (["--format", "tflite"], "invalid choice"),
    (["--weights", "/nonexistent.pth"], "no such checkpoint file"),
    (["--opset", "3"], "--opset"),
])
def test_export_bad_input_is_one_line(args: list[str], message: str, tmp_path: Path,
                                      capsys: pytest.CaptureFixture) -> None:
    from siamfc.cli.main import main

    try:
        code = main(["export", "--out", str(tmp_path / "out"), *args])
    except SystemExit as exc:  # argparse's own errors (one line too: see siamfc.cli.main._one_line_parser)
        code = exc.code
    assert code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines[-1].startswith("siamfc export: error: ") and message in lines[-1], lines
    assert len(lines) == 1, lines
    assert not (tmp_path / "out").exists()  # a refused export leaves no empty folder behind


def test_sum_taps_is_a_correlation() -> None:
    """Tap products (features times each kernel tap) summed along the shifts equal conv2d, also for
    a kernel that is not square."""
    from siamfc.tracking.engines.onnx_engines import sum_taps

    rng = np.random.default_rng(0)
    features = rng.standard_normal((2, 5, 9, 11)).astype(np.float32)  # (M, C, H, W)
    kernel = rng.standard_normal((1, 5, 3, 4)).astype(np.float32)
    taps = np.einsum("mchw,ct->mthw", features, kernel[0].reshape(5, 12))
    expected = torch.nn.functional.conv2d(torch.from_numpy(features), torch.from_numpy(kernel))[:, 0]
    np.testing.assert_allclose(sum_taps(taps, 3, 4), expected.numpy(), rtol=1e-4, atol=1e-4)


def test_interleaved_stem_reads_channels_last_crops() -> None:
    """The first convolution over the (B, 1, H, W*C) view of channels-last crops is the original
    convolution; one that pads cannot be rewritten this way."""
    from siamfc.tracking.export import interleaved_stem

    torch.manual_seed(0)
    conv = torch.nn.Conv2d(3, 8, (3, 5), stride=(2, 3))
    crops = torch.randint(0, 256, (2, 31, 40, 3), dtype=torch.uint8)
    stem = interleaved_stem(conv)
    with torch.no_grad():
        expected = conv(crops.permute(0, 3, 1, 2).float())
        got = stem(crops.flatten(2).unsqueeze(1).float())
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-3)
    assert interleaved_stem(torch.nn.Conv2d(3, 8, 3, padding=1)) is None
