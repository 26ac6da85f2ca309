"""NanoTrack v2's MobileNetV3-style trunk (Apache-2.0; stride 16, padded, 48 channels), layer for layer as
``nanotrack_backbone_sim.onnx`` (BatchNorm folded), so that its weights load from that file."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
from torch import nn

from ..errors import CheckpointError, first_line


@dataclass(frozen=True)
class BlockSpec:
    expand: int | None  # hidden channels of the 1x1 expansion; None: no expansion (depthwise on the input)
    kernel: int
    stride: int
    out: int
    se: int  # squeeze channels; 0: no squeeze-excite
    hswish: bool  # hard-swish, else ReLU
    se_after_act: bool = False  # block 1 applies its activation before the squeeze-excite


NANOTRACK_V2_BLOCKS = (
    BlockSpec(None, 3, 2, 16, 8, False, se_after_act=True),
    BlockSpec(72, 3, 2, 24, 0, False),
    BlockSpec(88, 3, 1, 24, 0, False),
    BlockSpec(96, 5, 2, 40, 24, True),
    BlockSpec(240, 5, 1, 40, 64, True),
    BlockSpec(240, 5, 1, 40, 64, True),
    BlockSpec(120, 5, 1, 48, 32, True),
    BlockSpec(144, 5, 1, 48, 40, True),
)


class SqueezeExcite(nn.Module):
    def __init__(self, channels: int, squeeze: int) -> None:
        super().__init__()
        self.fc = nn.Sequential(nn.Linear(channels, squeeze), nn.ReLU(inplace=True), nn.Linear(squeeze, channels),
                                nn.Hardsigmoid())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.fc(x.mean(dim=(2, 3))).unsqueeze(-1).unsqueeze(-1)


class InvertedResidual(nn.Module):
    def __init__(self, cin: int, spec: BlockSpec) -> None:
        super().__init__()
        hidden = spec.expand or cin
        act = nn.Hardswish if spec.hswish else nn.ReLU
        self.expand = nn.Sequential(nn.Conv2d(cin, hidden, 1), act()) if spec.expand else nn.Identity()
        self.depthwise = nn.Conv2d(hidden, hidden, spec.kernel, spec.stride, spec.kernel // 2, groups=hidden)
        se = SqueezeExcite(hidden, spec.se) if spec.se else nn.Identity()
        self.middle = nn.Sequential(act(), se) if spec.se_after_act else nn.Sequential(se, act())
        self.project = nn.Conv2d(hidden, spec.out, 1)
        self.residual = spec.stride == 1 and cin == spec.out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.project(self.middle(self.depthwise(self.expand(x))))
        return x + y if self.residual else y


class NanoTrackTrunk(nn.Module):
    """NanoTrack v2's backbone, then an optional 1x1 ``neck`` (conv + BatchNorm) to ``neck_channels``.
    ``stride`` 8 drops block 4's downsampling and dilates the later depthwise convolutions by 2 (the same
    weights see the same neighbourhoods, as SiamRPN++ does with ResNet)."""

    def __init__(self, neck_channels: int = 0, bn_eps: float = 1e-5, stride: int = 16) -> None:
        super().__init__()
        self.stride = stride
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, 2, 1), nn.Hardswish())
        blocks, cin = [], 16
        for spec in NANOTRACK_V2_BLOCKS:
            blocks.append(InvertedResidual(cin, spec))
            cin = spec.out
        if stride == 8:
            blocks[3].depthwise.stride = (1, 1)
            for block in blocks[4:]:
                k = block.depthwise.kernel_size[0]
                block.depthwise.dilation, block.depthwise.padding = (2, 2), (k - 1, k - 1)
        self.blocks = nn.Sequential(*blocks)
        self.neck = (nn.Sequential(nn.Conv2d(cin, neck_channels, 1), nn.BatchNorm2d(neck_channels, eps=bn_eps))
                     if neck_channels else nn.Identity())
        self.out_channels = neck_channels or cin
        self.channels = (16,) + tuple(s.out for s in NANOTRACK_V2_BLOCKS) + ((neck_channels,) if neck_channels else ())

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
