"""Backbone registry and AlexNet geometry, against hand-computed sizes."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from siamfc import ModelConfig, build_backbone, list_backbones, register_backbone
from siamfc.errors import SettingError
from siamfc.models.backbones import AlexNet, scaled_channels

# 127: conv1 11/2 -> 59, pool 3/2 -> 29, conv2 5 -> 25, pool -> 12, conv3 -> 10, conv4 -> 8, conv5 -> 6.
# 255: 123 -> 61 -> 57 -> 28 -> 26 -> 24 -> 22.
EXPECTED_CHANNELS = {
    "alexnet": (96, 256, 384, 384, 256),
    "alexnet_w50": (48, 128, 192, 192, 128),
    "alexnet_w30": (28, 76, 114, 114, 76),
}


def test_expected_backbones_are_registered() -> None:
    assert set(EXPECTED_CHANNELS) <= set(list_backbones())


@pytest.mark.parametrize("name", list_backbones())
@torch.no_grad()
def test_output_shapes(name: str) -> None:
    net = build_backbone(name).eval()
    # unpadded stride-8 nets: 127 -> 6, 255 -> 22; the padded NanoTrack trunk: 127 -> 8, 255 -> 16 at
    # stride 16, 127 -> 16, 255 -> 32 at stride 8
    stride, z_size, x_size = {"nanotrack_v2": (16, 8, 16), "nanotrack_v2_s8": (8, 16, 32)}.get(name, (8, 6, 22))
    assert net.stride == stride
    z = net(torch.rand(2, 3, 127, 127) * 255)
    x = net(torch.rand(3, 3, 255, 255) * 255)
    assert tuple(z.shape) == (2, net.out_channels, z_size, z_size)
    assert tuple(x.shape) == (3, net.out_channels, x_size, x_size)
    # the response of a 255 search to a 127 exemplar is 17x17 at stride 8, 9x9 at stride 16
    assert x_size - z_size + 1 == (255 - 127) // stride + 1
    if name in EXPECTED_CHANNELS:
        assert net.out_channels == EXPECTED_CHANNELS[name][-1]


@pytest.mark.parametrize("name", sorted(EXPECTED_CHANNELS))
def test_alexnet_layers(name: str) -> None:
    net = build_backbone(name)
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    bns = [m for m in net.modules() if isinstance(m, nn.BatchNorm2d)]
    assert [c.out_channels for c in convs] == list(EXPECTED_CHANNELS[name])
    assert [c.kernel_size for c in convs] == [(11, 11), (5, 5), (3, 3), (3, 3), (3, 3)]
    assert [c.stride for c in convs] == [(2, 2), (1, 1), (1, 1), (1, 1), (1, 1)]
    assert [c.groups for c in convs] == [1, 2, 1, 2, 2]
    assert all(c.padding == (0, 0) for c in convs)
    assert len(bns) == 4 and all(b.eps == 1e-6 for b in bns)
    # Module names follow the PyTorch port, so its state dicts load unchanged.
    assert "conv5.0.weight" in net.state_dict() and "conv4.1.running_var" in net.state_dict()


def test_width_option_gives_the_light_variants() -> None:
    assert scaled_channels(1.0) == EXPECTED_CHANNELS["alexnet"]
    assert scaled_channels(0.5) == EXPECTED_CHANNELS["alexnet_w50"]
    assert scaled_channels(0.3) == EXPECTED_CHANNELS["alexnet_w30"]
    assert build_backbone("alexnet", width=0.3).channels == EXPECTED_CHANNELS["alexnet_w30"]
    assert build_backbone("alexnet", channels=(8, 16, 24, 24, 16)).out_channels == 16
    assert all(c % 2 == 0 for c in scaled_channels(0.37))  # two conv groups need even widths
    with pytest.raises(SettingError) as info:
        ModelConfig(width=0)
    assert info.value.key == "width"


def test_registry_errors() -> None:
    with pytest.raises(SettingError) as info:
        build_backbone("nope")
    assert info.value.key == "backbone"
    with pytest.raises(ValueError):
        register_backbone("alexnet")(lambda **_: AlexNet())
    assert build_backbone("alexnet").channels == EXPECTED_CHANNELS["alexnet"]  # untouched


def test_mobile_backbone_layers() -> None:
    net = build_backbone("mobile")
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    assert net.channels == (16, 32, 64, 128, 192, 192) and net.out_channels == 192
    assert all(c.padding == (0, 0) for c in convs)
    depthwise = [c for c in convs if c.groups > 1]
    assert len(depthwise) == 6 and all(c.groups == c.in_channels == c.out_channels for c in depthwise)
    # Receptive field 87 at stride 8, as AlexNet's: 127 + 8k inputs give 6 + k outputs.
    for k in (0, 1, 16):
        size = 127 + 8 * k
        assert net.eval()(torch.rand(1, 3, size, size)).shape[-1] == 6 + k
    assert build_backbone("mobile", width=0.5).channels == (8, 16, 32, 64, 96, 96)
    trunk, last = net.split_last()
    x = torch.rand(1, 3, 127, 127) * 255
    with torch.no_grad():
        torch.testing.assert_close(last(trunk(x)), net(x))


def test_nanotrack_trunk_neck_and_its_checks() -> None:
    net = build_backbone("nanotrack_v2", channels=[64])
    assert net.out_channels == 64 and net.stride == 16
    assert build_backbone("nanotrack_v2").out_channels == 48
    with pytest.raises(SettingError) as info:
        build_backbone("nanotrack_v2", channels=[32, 64])
    assert info.value.key == "channels"
    # stride 8 keeps every weight's shape (the same pretrained tensors load) and dilates the late 5x5s
    s8 = build_backbone("nanotrack_v2_s8", channels=[64])
    assert [p.shape for p in s8.parameters()] == [p.shape for p in net.parameters()]
    assert s8.stride == 8 and s8.blocks[3].depthwise.stride == (1, 1)
    assert all(b.depthwise.dilation == (2, 2) for b in s8.blocks[4:])


def test_nanotrack_trunk_equals_the_onnx_backbone(tmp_path) -> None:
    """Our PyTorch trunk with the weights read from NanoTrack's ONNX file gives the ONNX graph's output
    (the graph reads BGR, the trunk RGB)."""
    from conftest import shared_path

    from siamfc.models.backbones import load_nanotrack_onnx

    path = shared_path() / "weights" / "nanotrack_v2" / "nanotrack_backbone_sim.onnx"
    if not path.is_file():
        pytest.skip(f"NanoTrack's backbone not found at {path} (set SIAMFC_SHARED to the shared data folder)")
    import onnxruntime as ort

    net = build_backbone("nanotrack_v2").eval()
    load_nanotrack_onnx(net, path)
    rgb = torch.rand(1, 3, 255, 255) * 255
    expected = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(
        None, {"input": rgb.flip(1).numpy()})[0]
    with torch.no_grad():
        torch.testing.assert_close(net(rgb), torch.from_numpy(expected), atol=1e-3, rtol=1e-4)
    other = tmp_path / "other.onnx"
    other.write_bytes(b"not onnx")
    with pytest.raises(ValueError):
        load_nanotrack_onnx(net, other)
