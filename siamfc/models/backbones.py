"""Backbones that embed exemplar and search crops, behind a registry of named builders.

Every builder returns an ``nn.Module`` with an ``out_channels`` attribute and a ``stride``
attribute; with no padding, a 127 input gives a 6x6 map and a 255 input a 22x22 map. A backbone
may offer ``split_last() -> (trunk, last_layer)``: inference composes a linear last convolution
with the exemplar kernel (:mod:`siamfc.tracking.engines`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

from .mobilenetv3 import NanoTrackTrunk

BackboneBuilder = Callable[..., nn.Module]
_BACKBONES: dict[str, BackboneBuilder] = {}

ALEXNET_CHANNELS = (96, 256, 384, 384, 256)


def register_backbone(name: str) -> Callable[[BackboneBuilder], BackboneBuilder]:
    """Decorator adding a builder to the registry under ``name``."""

    def add(builder: BackboneBuilder) -> BackboneBuilder:
        if name in _BACKBONES:
            raise ValueError(f"backbone {name!r} is registered twice")
        _BACKBONES[name] = builder
        return builder

    return add


def list_backbones() -> list[str]:
    return sorted(_BACKBONES)


def build_backbone(name: str, **kwargs) -> nn.Module:
    try:
        builder = _BACKBONES[name]
    except KeyError:
        raise ValueError(f"unknown backbone {name!r}; known: {', '.join(list_backbones())}") from None
    return builder(**kwargs)


def scaled_channels(width: float) -> tuple[int, ...]:
    """AlexNet channels scaled by ``width``, rounded down to even numbers (two conv groups)."""
    if width <= 0:
        raise ValueError(f"width must be positive, got {width}")
    return tuple(max(2, int(c * width) // 2 * 2) for c in ALEXNET_CHANNELS)


def _conv_bn_relu(cin: int, cout: int, k: int, stride: int, groups: int, eps: float) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, stride, groups=groups),
        nn.BatchNorm2d(cout, eps=eps),
        nn.ReLU(inplace=True),
    )


def _init_weights(module: nn.Module) -> None:
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


class AlexNet(nn.Module):
    """The SiamFC AlexNet: conv 11/2, pool, conv 5 (2 groups), pool, conv 3, conv 3 (2 groups),
    conv 3 (2 groups); BatchNorm after all but the last conv; no padding; total stride 8.

    Module names (``conv1.0`` conv, ``conv1.1`` BatchNorm, ...) follow the widely used PyTorch
    port, so its state dicts load without renaming.
    """

    stride = 8

    def __init__(self, channels: Sequence[int] = ALEXNET_CHANNELS, bn_eps: float = 1e-6) -> None:
        super().__init__()
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
        x = self.conv1(x)
        x = self.conv2(x)
        x = self.conv3(x)
        x = self.conv4(x)
        return self.conv5(x)

    def split_last(self) -> tuple[nn.Module, nn.Module]:
        """(everything but the last layer, the last layer): ``last(trunk(x)) == self(x)``."""
        return _AlexNetTrunk(self), self.conv5[0] if len(self.conv5) == 1 else self.conv5


class _AlexNetTrunk(nn.Module):
    """AlexNet without its last convolution (shares the modules)."""

    def __init__(self, net: AlexNet) -> None:
        super().__init__()
        self.conv1, self.conv2, self.conv3, self.conv4 = net.conv1, net.conv2, net.conv3, net.conv4

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv4(self.conv3(self.conv2(self.conv1(x))))


@register_backbone("alexnet")
def alexnet(width: float = 1.0, channels: Sequence[int] | None = None, bn_eps: float = 1e-6) -> AlexNet:
    """The paper's AlexNet; ``width`` scales every layer, ``channels`` sets them outright."""
    return AlexNet(channels if channels is not None else scaled_channels(width), bn_eps)


@register_backbone("alexnet_w50")
def alexnet_w50(bn_eps: float = 1e-6, **_: object) -> AlexNet:
    """Half-width AlexNet (48, 128, 192, 192, 128)."""
    return AlexNet(scaled_channels(0.5), bn_eps)


@register_backbone("alexnet_w30")
def alexnet_w30(bn_eps: float = 1e-6, **_: object) -> AlexNet:
    """30%-width AlexNet (28, 76, 114, 114, 76): the light, CPU real-time model."""
    return AlexNet(scaled_channels(0.3), bn_eps)


MOBILE_CHANNELS = (16, 32, 64, 128, 192, 192)


def _separable(cin: int, cout: int, eps: float, last: bool = False) -> list[nn.Module]:
    """Depthwise 3x3 conv + BN + ReLU, then pointwise conv (+ BN + ReLU unless ``last``)."""
    layers = [*_conv_bn_relu(cin, cin, 3, 1, cin, eps), nn.Conv2d(cin, cout, 1)]
    return layers if last else [*layers, nn.BatchNorm2d(cout, eps=eps), nn.ReLU(inplace=True)]


class MobileNet(nn.Module):
    """A depthwise-separable backbone for CPU speed, with AlexNet's geometry (no padding, stride 8,
    receptive field 87: 127 -> 6x6, 255 -> 22x22): conv 3/2, separable, pool 3/2, separable,
    pool 2/2, four separable blocks, the last one linear. ~20% of the 30%-width AlexNet's
    multiply-adds, and a plain ``nn.Sequential`` (``features``), which ONNX Runtime runs well.
    """

    stride = 8

    def __init__(self, channels: Sequence[int] = MOBILE_CHANNELS, bn_eps: float = 1e-5) -> None:
        super().__init__()
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
        """(everything but the last layer, the last layer): ``last(trunk(x)) == self(x)``."""
        return self.features[:-1], self.features[-1]


@register_backbone("mobile")
def mobile(width: float = 1.0, channels: Sequence[int] | None = None, bn_eps: float = 1e-5) -> MobileNet:
    """The depthwise-separable CPU backbone; ``width`` scales every layer (to multiples of 8)."""
    if channels is None:
        if width <= 0:
            raise ValueError(f"width must be positive, got {width}")
        channels = tuple(max(8, round(c * width / 8) * 8) for c in MOBILE_CHANNELS)
    return MobileNet(channels, bn_eps)


def _nanotrack(name: str, stride: int, channels: Sequence[int] | None, bn_eps: float) -> NanoTrackTrunk:
    if channels is not None and len(channels) != 1:
        raise ValueError(f"{name} takes channels [neck] (one number), got {list(channels)}")
    return NanoTrackTrunk(int(channels[0]) if channels else 0, bn_eps, stride=stride)


@register_backbone("nanotrack_v2")
def nanotrack_v2(channels: Sequence[int] | None = None, bn_eps: float = 1e-5, **_: object) -> NanoTrackTrunk:
    """NanoTrack v2's MobileNetV3 trunk (stride 16, padded: 127 -> 8x8, 255 -> 16x16, 48 channels),
    started from its pretrained weights by the training config's ``pretrained`` (a local ONNX file).
    ``channels``: ``[n]`` adds a 1x1 conv + BatchNorm neck to ``n`` channels; None keeps the 48."""
    return _nanotrack("nanotrack_v2", 16, channels, bn_eps)


@register_backbone("nanotrack_v2_s8")
def nanotrack_v2_s8(channels: Sequence[int] | None = None, bn_eps: float = 1e-5, **_: object) -> NanoTrackTrunk:
    """``nanotrack_v2`` at stride 8 (last downsampling removed, later depthwise convs dilated: the same
    pretrained weights): 127 -> 16x16, 255 -> 32x32, so the response is 17x17 as with AlexNet."""
    return _nanotrack("nanotrack_v2_s8", 8, channels, bn_eps)
