"""Registered backbones: modules with ``out_channels`` and ``stride``, and optionally ``split_last() ->
(trunk, last_layer)`` (inference folds a linear last convolution into the exemplar kernel): the SiamFC
AlexNet, a depthwise-separable MobileNet, and NanoTrack v2's MobileNetV3-style trunk (Apache-2.0), layer for
layer as ``nanotrack_backbone_sim.onnx`` (BatchNorm folded), so that its weights load from that file."""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import partial

import torch
from torch import nn

from ..errors import CheckpointError, SettingError, first_line
from ..registry import build, names, register

ALEXNET_CHANNELS = (96, 256, 384, 384, 256)
register_backbone = partial(register, "backbone")


def list_backbones() -> list[str]:
    return names("backbone")


def build_backbone(name: str, **kwargs: object) -> nn.Module:
    return build("backbone", name, key="backbone", **kwargs)


def scaled_channels(width: float) -> tuple[int, ...]:
    """AlexNet channels scaled by ``width``, rounded down to even numbers (two conv groups)."""
    return tuple(max(2, int(c * width) // 2 * 2) for c in ALEXNET_CHANNELS)


def _conv_bn_relu(cin: int, cout: int, k: int, stride: int, groups: int, eps: float) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride, groups=groups), nn.BatchNorm2d(cout, eps=eps),
                         nn.ReLU(inplace=True))


def _init_weights(module: nn.Module) -> None:
    """Kaiming-normal convolution weights, zero biases (BatchNorm keeps PyTorch's initial 1 and 0)."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            nn.init.zeros_(m.bias)


@register_backbone("alexnet")
class AlexNet(nn.Module):
    """The SiamFC AlexNet (no padding, stride 8; ``width`` scales every layer, ``channels`` sets them outright);
    module names follow the PyTorch port's state dicts."""

    stride = 8

    def __init__(self, width: float = 1.0, channels: Sequence[int] | None = None, bn_eps: float = 1e-6) -> None:
        super().__init__()
        channels = scaled_channels(width) if channels is None else channels
        c1, c2, c3, c4, c5 = channels
        self.conv1 = nn.Sequential(*_conv_bn_relu(3, c1, 11, 2, 1, bn_eps), nn.MaxPool2d(3, 2))
        self.conv2 = nn.Sequential(*_conv_bn_relu(c1, c2, 5, 1, 2, bn_eps), nn.MaxPool2d(3, 2))
        self.conv3 = _conv_bn_relu(c2, c3, 3, 1, 1, bn_eps)
        self.conv4 = _conv_bn_relu(c3, c4, 3, 1, 2, bn_eps)
        self.conv5 = nn.Sequential(nn.Conv2d(c4, c5, 3, 1, groups=2))
        self.channels = tuple(channels)
        self.out_channels = c5
        _init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv5(self.conv4(self.conv3(self.conv2(self.conv1(x)))))

    def split_last(self) -> tuple[nn.Module, nn.Module]:
        return nn.Sequential(self.conv1, self.conv2, self.conv3, self.conv4), self.conv5[0]


for _percent in (50, 30):  # alexnet_w50, alexnet_w30: fixed widths, whatever the config's width says
    register_backbone(f"alexnet_w{_percent}")(partial(AlexNet, 1.0, scaled_channels(_percent / 100)))


MOBILE_CHANNELS = (16, 32, 64, 128, 192, 192)


def _separable(cin: int, cout: int, eps: float, last: bool = False) -> list[nn.Module]:
    """Depthwise 3x3 conv + BN + ReLU, then pointwise conv (+ BN + ReLU unless ``last``)."""
    layers = [*_conv_bn_relu(cin, cin, 3, 1, cin, eps), nn.Conv2d(cin, cout, 1)]
    return layers if last else [*layers, nn.BatchNorm2d(cout, eps=eps), nn.ReLU(inplace=True)]


@register_backbone("mobile")
class MobileNet(nn.Module):
    """Depthwise-separable, with AlexNet's geometry (no padding, stride 8, receptive field 87); the last
    block linear. ``width`` scales every layer (to multiples of 8)."""

    stride = 8

    def __init__(self, width: float = 1.0, channels: Sequence[int] | None = None, bn_eps: float = 1e-5) -> None:
        super().__init__()
        if channels is None:
            channels = tuple(max(8, round(c * width / 8) * 8) for c in MOBILE_CHANNELS)
        c1, c2, c3, c4, c5, c6 = channels
        self.features = nn.Sequential(
            *_conv_bn_relu(3, c1, 3, 2, 1, bn_eps), *_separable(c1, c2, bn_eps), nn.MaxPool2d(3, 2),
            *_separable(c2, c3, bn_eps), nn.MaxPool2d(2, 2),
            *_separable(c3, c4, bn_eps), *_separable(c4, c5, bn_eps), *_separable(c5, c6, bn_eps),
            *_separable(c6, c6, bn_eps, last=True),
        )
        self.channels = tuple(channels)
        self.out_channels = c6
        _init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)

    def split_last(self) -> tuple[nn.Module, nn.Module]:
        return self.features[:-1], self.features[-1]


#: NanoTrack v2's blocks: (hidden channels of the 1x1 expansion, None: depthwise on the input; kernel; stride;
#: out channels; squeeze-excite channels, 0: none; hard-swish, else ReLU). Block 1, the one without expansion,
#: applies its activation before the squeeze-excite.
NANOTRACK_V2_BLOCKS = ((None, 3, 2, 16, 8, False), (72, 3, 2, 24, 0, False), (88, 3, 1, 24, 0, False),
                       (96, 5, 2, 40, 24, True), (240, 5, 1, 40, 64, True), (240, 5, 1, 40, 64, True),
                       (120, 5, 1, 48, 32, True), (144, 5, 1, 48, 40, True))


class SqueezeExcite(nn.Module):
    def __init__(self, channels: int, squeeze: int) -> None:
        super().__init__()
        self.fc = nn.Sequential(nn.Linear(channels, squeeze), nn.ReLU(inplace=True), nn.Linear(squeeze, channels),
                                nn.Hardsigmoid())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.fc(x.mean(dim=(2, 3))).unsqueeze(-1).unsqueeze(-1)


class InvertedResidual(nn.Module):
    def __init__(self, cin: int, expand: int | None, kernel: int, stride: int, out: int, squeeze: int,
                 hswish: bool) -> None:
        super().__init__()
        hidden = expand or cin
        act = nn.Hardswish if hswish else nn.ReLU
        self.expand = nn.Sequential(nn.Conv2d(cin, hidden, 1), act()) if expand else nn.Identity()
        self.depthwise = nn.Conv2d(hidden, hidden, kernel, stride, kernel // 2, groups=hidden)
        se = SqueezeExcite(hidden, squeeze) if squeeze else nn.Identity()
        self.middle = nn.Sequential(se, act()) if expand else nn.Sequential(act(), se)
        self.project = nn.Conv2d(hidden, out, 1)
        self.residual = stride == 1 and cin == out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.project(self.middle(self.depthwise(self.expand(x))))
        return x + y if self.residual else y


class NanoTrackTrunk(nn.Module):
    """NanoTrack v2's backbone (registered ``nanotrack_v2``; stride 16, padded), then with ``channels`` ``[n]`` a
    1x1 ``neck`` (conv + BatchNorm) to ``n`` channels. ``stride`` 8 (``nanotrack_v2_s8``, a 17x17 response as
    AlexNet's) drops block 4's downsampling and dilates the later depthwise convolutions by 2 (the same weights
    see the same neighbourhoods, as SiamRPN++ does with ResNet)."""

    def __init__(self, channels: Sequence[int] | None = None, bn_eps: float = 1e-5, stride: int = 16) -> None:
        super().__init__()
        if channels is not None and len(channels) != 1:
            name = "nanotrack_v2" if stride == 16 else "nanotrack_v2_s8"
            raise SettingError(f"channels = {list(channels)}: {name} takes [neck] (one number)", "channels")
        neck = int(channels[0]) if channels else 0
        self.stride = stride
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, 2, 1), nn.Hardswish())
        blocks, cin = [], 16
        for spec in NANOTRACK_V2_BLOCKS:
            blocks.append(InvertedResidual(cin, *spec))
            cin = spec[3]
        if stride == 8:
            blocks[3].depthwise.stride = (1, 1)
            for block in blocks[4:]:
                k = block.depthwise.kernel_size[0]
                block.depthwise.dilation, block.depthwise.padding = (2, 2), (k - 1, k - 1)
        self.blocks = nn.Sequential(*blocks)
        self.neck = nn.Sequential(nn.Conv2d(cin, neck, 1), nn.BatchNorm2d(neck, eps=bn_eps)) if neck else nn.Identity()
        self.out_channels = neck or cin

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.neck(self.blocks(self.stem(x)))

    def trunk_parameters(self) -> list[nn.Parameter]:
        """The pretrained part (everything but the neck)."""
        return [p for name, p in self.named_parameters() if not name.startswith("neck.")]


def copy_onnx_weights(path: str | os.PathLike, targets: list[torch.Tensor], what: str, swap_rb: bool = False) -> None:
    """Copy the Conv and Gemm weights of graph ``path`` into ``targets`` (in node order), every shape checked
    (another graph is a CheckpointError, never half a model); ``swap_rb`` flips the first layer's input
    channels (RGB crops into a network trained on BGR)."""
    import onnx
    from onnx import numpy_helper

    try:
        graph = onnx.load(os.fspath(path)).graph
    except Exception as exc:  # noqa: BLE001 - onnx raises several unrelated types for a bad file
        raise CheckpointError(f"{path}: not a readable ONNX model ({first_line(exc, 100)})", str(path)) from exc
    init = {t.name: t for t in graph.initializer}
    arrays = [numpy_helper.to_array(init[name]) for node in graph.node if node.op_type in ("Conv", "Gemm")
              for name in node.input[1:] if name in init]
    if len(arrays) != len(targets) or any(a.shape != tuple(t.shape) for a, t in zip(arrays, targets, strict=False)):
        raise CheckpointError(f"{path}: not {what} ({len(arrays)} weight tensors, expected {len(targets)})", str(path))
    if swap_rb:
        arrays[0] = arrays[0][:, ::-1]
    with torch.no_grad():
        for array, target in zip(arrays, targets, strict=True):
            target.copy_(torch.from_numpy(array.copy()))


def load_nanotrack_onnx(net: NanoTrackTrunk, path: str | os.PathLike, swap_rb: bool = True) -> None:
    """NanoTrack v2's backbone weights from ``nanotrack_backbone_sim.onnx`` into ``net``'s trunk; ``swap_rb``
    False keeps the graph's channel order (OpenCV's ``TrackerNano`` feeds it RGB)."""
    copy_onnx_weights(path, net.trunk_parameters(), "NanoTrack v2's backbone", swap_rb)


register_backbone("nanotrack_v2")(partial(NanoTrackTrunk, stride=16))
register_backbone("nanotrack_v2_s8")(partial(NanoTrackTrunk, stride=8))
