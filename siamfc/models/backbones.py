"""Registered backbones: modules with ``out_channels`` and ``stride``, and optionally ``split_last() ->
(trunk, last_layer)`` (inference folds a linear last convolution into the exemplar kernel)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

import torch
from torch import nn

from ..errors import SettingError
from ..registry import build, names, register
from .mobilenetv3 import NanoTrackTrunk

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


class AlexNet(nn.Module):
    """The SiamFC AlexNet (no padding, stride 8); module names follow the PyTorch port's state dicts."""

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
        return self.conv5(self.conv4(self.conv3(self.conv2(self.conv1(x)))))

    def split_last(self) -> tuple[nn.Module, nn.Module]:
        return nn.Sequential(self.conv1, self.conv2, self.conv3, self.conv4), self.conv5[0]


@register_backbone("alexnet")
def alexnet(width: float = 1.0, channels: Sequence[int] | None = None, bn_eps: float = 1e-6) -> AlexNet:
    """``width`` scales every layer, ``channels`` sets them outright."""
    return AlexNet(channels if channels is not None else scaled_channels(width), bn_eps)


for _percent in (50, 30):  # alexnet_w50, alexnet_w30: fixed widths, whatever the config's width says
    register_backbone(f"alexnet_w{_percent}")(partial(AlexNet, scaled_channels(_percent / 100)))


MOBILE_CHANNELS = (16, 32, 64, 128, 192, 192)


def _separable(cin: int, cout: int, eps: float, last: bool = False) -> list[nn.Module]:
    """Depthwise 3x3 conv + BN + ReLU, then pointwise conv (+ BN + ReLU unless ``last``)."""
    layers = [*_conv_bn_relu(cin, cin, 3, 1, cin, eps), nn.Conv2d(cin, cout, 1)]
    return layers if last else [*layers, nn.BatchNorm2d(cout, eps=eps), nn.ReLU(inplace=True)]


class MobileNet(nn.Module):
    """Depthwise-separable, with AlexNet's geometry (no padding, stride 8, receptive field 87); the last
    block linear."""

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
        return self.features[:-1], self.features[-1]


@register_backbone("mobile")
def mobile(width: float = 1.0, channels: Sequence[int] | None = None, bn_eps: float = 1e-5) -> MobileNet:
    """``width`` scales every layer (to multiples of 8)."""
    if channels is None:
        channels = tuple(max(8, round(c * width / 8) * 8) for c in MOBILE_CHANNELS)
    return MobileNet(channels, bn_eps)


def _nanotrack(stride: int, channels: Sequence[int] | None = None, bn_eps: float = 1e-5) -> NanoTrackTrunk:
    """NanoTrack v2's trunk (stride 16, padded; ``_s8``: the same weights, dilated, a 17x17 response as
    AlexNet's); ``channels`` ``[n]`` adds a 1x1 neck to ``n`` channels."""
    if channels is not None and len(channels) != 1:
        name = "nanotrack_v2" if stride == 16 else "nanotrack_v2_s8"
        raise SettingError(f"channels = {list(channels)}: {name} takes [neck] (one number)", "channels")
    return NanoTrackTrunk(int(channels[0]) if channels else 0, bn_eps, stride=stride)


register_backbone("nanotrack_v2")(partial(_nanotrack, 16))
register_backbone("nanotrack_v2_s8")(partial(_nanotrack, 8))
