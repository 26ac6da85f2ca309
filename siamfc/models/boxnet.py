"""The box-head family (anchor-free, as NanoTrack, SiamFC++, Ocean): a shared backbone, then pixel-wise
correlations and towers giving classification logits (2, 16, 16; channel 1 the target) and the distances
from each cell to the box's left, top, right and bottom sides (4, 16, 16, search-crop pixels)."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn

from ..errors import CheckpointError
from ..registry import build, register
from ..settings import check, setting
from .backbones import copy_onnx_weights, load_nanotrack_onnx


class PixelwiseCorrelation(nn.Module):
    """(N, C, h, w) x (N, C, H, W) -> (N, h*w, H, W): each search position with each exemplar cell (both
    projected 1x1 first), reweighted by a squeeze-excite channel attention."""

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


@register("head", "box")
class BoxHead(nn.Module):
    """Classification and box branches, each its own correlation and tower (registered head ``box``)."""

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


@dataclass
class BoxNetConfig:
    """What rebuilds a :class:`BoxTrackNet`; ``channel_order`` the order its first layer reads ("rgb": crops
    as they are, as OpenCV's TrackerNano feeds NanoTrack; "bgr": flipped, as NanoTrack was trained)."""

    family: str = "boxnet"
    backbone: str = "nanotrack_v2"
    channel_order: str = setting("rgb", choices=("rgb", "bgr"))
    exemplar_size: int = 127
    search_size: int = 255

    def __post_init__(self) -> None:
        check(self)

    def to_dict(self) -> dict:
        return asdict(self)


class BoxTrackNet(nn.Module):
    """Backbone + box head: the tracker calls ``heads(embed_exemplar(z), embed_search(x))``, training ``forward``."""

    stride = 16

    def __init__(self, config: BoxNetConfig | None = None) -> None:
        super().__init__()
        self.config = config or BoxNetConfig()
        self.backbone = build("backbone", self.config.backbone, key="backbone")
        self.head = build("head", "box", channels=self.backbone.out_channels)

    def embed_exemplar(self, z: torch.Tensor) -> torch.Tensor:
        return self.backbone(z)

    embed_search = embed_exemplar  # one backbone for both crops

    def heads(self, kernel: torch.Tensor, search_features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.head(kernel, search_features)

    def forward(self, z: torch.Tensor, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.heads(self.embed_exemplar(z), self.embed_search(x))


def load_nanotrack_v2(folder: str | os.PathLike, channel_order: str = "rgb") -> BoxTrackNet:
    """NanoTrack v2 (Apache-2.0, OpenCV's ``TrackerNano`` model) from the two ONNX files in ``folder``."""
    folder = Path(folder)
    backbone_file, head_file = folder / "nanotrack_backbone_sim.onnx", folder / "nanotrack_head_sim.onnx"
    missing = [path.name for path in (backbone_file, head_file) if not path.is_file()]
    if missing:
        raise CheckpointError(f"{folder}: no {' or '.join(missing)} in it (NanoTrack v2's two ONNX files)",
                              str(folder))
    net = BoxTrackNet(BoxNetConfig(channel_order=channel_order))
    load_nanotrack_onnx(net.backbone, backbone_file, swap_rb=channel_order == "bgr")
    head = net.head  # its convolutions in the order of NanoTrack v2's head graph (box correlation first)
    parts = (head.corr_box, head.corr_cls, head.cls_tower, head.cls_pred, head.box_tower, head.box_pred)
    targets = [p for part in parts for m in part.modules() if isinstance(m, nn.Conv2d) for p in (m.weight, m.bias)
               if p is not None]
    copy_onnx_weights(head_file, targets, "NanoTrack v2's head")
    return net.eval()
