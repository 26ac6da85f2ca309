"""The box-head model family: a shared backbone, a pixel-wise correlation and two towers that give a
classification map and a box map (per cell, the distances from the cell to the box's four sides),
as in NanoTrack, SiamFC++ and Ocean (anchor-free). One search scale: the box map gives size and
aspect directly, where a SiamFC score map needs a scale pyramid.

Shapes for the NanoTrack v2 layout (stride 16): exemplar 127 -> (48, 8, 8), search 255 -> (48, 16, 16),
heads -> classification logits (2, 16, 16) (channel 1: the target) and distances (4, 16, 16) in
search-crop pixels (left, top, right, bottom; positive by the final ``exp``).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn

from .mobilenetv3 import NanoTrackTrunk


class PixelwiseCorrelation(nn.Module):
    """Correlates each search position with each exemplar cell (a 1x1 projection of both first):
    (N, C, h, w) x (N, C, H, W) -> (N, h*w, H, W), reweighted by a channel attention (squeeze-excite
    with a sigmoid) over those h*w channels."""

    def __init__(self, channels: int, kernel_cells: int) -> None:
        super().__init__()
        self.project_kernel = nn.Conv2d(channels, channels, 1)
        self.project_search = nn.Conv2d(channels, channels, 1)
        self.attention = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(kernel_cells, kernel_cells, 1),
                                       nn.ReLU(inplace=True), nn.Conv2d(kernel_cells, kernel_cells, 1), nn.Sigmoid())

    def forward(self, kernel: torch.Tensor, search: torch.Tensor) -> torch.Tensor:
        k = self.project_kernel(kernel).flatten(2)  # (N, C, h*w)
        x = self.project_search(search)
        n, c, h, w = x.shape
        corr = torch.bmm(k.transpose(1, 2), x.flatten(2)).view(n, -1, h, w)
        return corr * self.attention(corr)


def tower(cin: int, channels: int, depth: int) -> nn.Sequential:
    """``depth`` depthwise-separable 3x3 blocks (depthwise without bias, pointwise with, ReLU6)."""
    layers: list[nn.Module] = []
    for i in range(depth):
        c = cin if i == 0 else channels
        layers += [nn.Conv2d(c, c, 3, 1, 1, groups=c, bias=False), nn.Conv2d(c, channels, 1), nn.ReLU6(inplace=True)]
    return nn.Sequential(*layers)


class BoxHead(nn.Module):
    """Classification and box branches, each its own correlation and tower."""

    def __init__(self, channels: int = 48, kernel_cells: int = 64, tower_channels: int = 96, depth: int = 6) -> None:
        super().__init__()
        self.corr_box = PixelwiseCorrelation(channels, kernel_cells)
        self.corr_cls = PixelwiseCorrelation(channels, kernel_cells)
        self.cls_tower = tower(kernel_cells, tower_channels, depth)
        self.cls_pred = nn.Conv2d(tower_channels, 2, 1)
        self.box_tower = tower(kernel_cells, tower_channels, depth)
        self.box_pred = nn.Conv2d(tower_channels, 4, 1)

    def forward(self, kernel: torch.Tensor, search: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        cls = self.cls_pred(self.cls_tower(self.corr_cls(kernel, search)))
        box = torch.exp(self.box_pred(self.box_tower(self.corr_box(kernel, search))))
        return cls, box

    def onnx_order(self) -> list[nn.Conv2d]:
        """The convolutions in the order of NanoTrack v2's head graph (box correlation first)."""
        def convs(module: nn.Module) -> list[nn.Conv2d]:
            return [m for m in module.modules() if isinstance(m, nn.Conv2d)]

        return [*convs(self.corr_box), *convs(self.corr_cls), *convs(self.cls_tower), self.cls_pred,
                *convs(self.box_tower), self.box_pred]


@dataclass
class BoxNetConfig:
    """What rebuilds a :class:`BoxTrackNet`; ``channel_order`` is the order its first layer reads
    ("rgb": siamfc's crops as they are, the way OpenCV's TrackerNano feeds NanoTrack; "bgr": flipped,
    the order NanoTrack was trained in by pysot's OpenCV readers)."""

    family: str = "boxnet"
    backbone: str = "nanotrack_v2"
    channel_order: str = "rgb"
    exemplar_size: int = 127
    search_size: int = 255

    def to_dict(self) -> dict:
        return asdict(self)


class BoxTrackNet(nn.Module):
    """Backbone + :class:`BoxHead`. The tracker embeds the exemplar once (``embed_exemplar``) and
    calls ``heads(kernel, embed_search(x))`` each frame; training calls ``forward(z, x)``."""

    stride = 16

    def __init__(self, config: BoxNetConfig | None = None) -> None:
        super().__init__()
        self.config = config or BoxNetConfig()
        self.backbone = NanoTrackTrunk(stride=16)
        self.head = BoxHead(self.backbone.out_channels)

    def embed_exemplar(self, z: torch.Tensor) -> torch.Tensor:
        return self.backbone(z)

    def embed_search(self, x: torch.Tensor) -> torch.Tensor:
        return self.backbone(x)

    def heads(self, kernel: torch.Tensor, search_features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.head(kernel, search_features)

    def forward(self, z: torch.Tensor, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.heads(self.embed_exemplar(z), self.embed_search(x))


NANOTRACK_BACKBONE, NANOTRACK_HEAD = "nanotrack_backbone_sim.onnx", "nanotrack_head_sim.onnx"


def load_nanotrack_v2(folder: str | os.PathLike, channel_order: str = "rgb") -> BoxTrackNet:
    """NanoTrack v2 (Apache-2.0, the model of OpenCV's ``TrackerNano``) as a :class:`BoxTrackNet`, its
    weights read from the two ONNX files in ``folder`` (every shape checked: another graph is a
    one-line ValueError, never half a model)."""
    from .mobilenetv3 import load_nanotrack_onnx, read_conv_weights

    folder = Path(folder)
    missing = [name for name in (NANOTRACK_BACKBONE, NANOTRACK_HEAD) if not (folder / name).is_file()]
    if missing:
        raise ValueError(f"{folder}: no {' or '.join(missing)} in it (NanoTrack v2's two ONNX files)")
    if channel_order not in ("rgb", "bgr"):
        raise ValueError(f"channel_order must be 'rgb' or 'bgr', got {channel_order!r}")
    net = BoxTrackNet(BoxNetConfig(channel_order=channel_order))
    load_nanotrack_onnx(net.backbone, folder / NANOTRACK_BACKBONE, swap_rb=channel_order == "bgr")
    arrays = read_conv_weights(folder / NANOTRACK_HEAD)
    targets = [p for conv in net.head.onnx_order() for p in (conv.weight, conv.bias) if p is not None]
    if len(arrays) != len(targets) or any(a.shape != tuple(t.shape) for a, t in zip(arrays, targets, strict=False)):
        raise ValueError(f"{folder / NANOTRACK_HEAD}: not NanoTrack v2's head ({len(arrays)} weight tensors, "
                         f"expected {len(targets)})")
    with torch.no_grad():
        for array, target in zip(arrays, targets, strict=True):
            target.copy_(torch.from_numpy(array.copy()))
    return net.eval()
