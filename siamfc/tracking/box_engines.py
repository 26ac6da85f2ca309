"""The ONNX export of box-head models (:class:`siamfc.models.boxnet.BoxTrackNet`) and their PyTorch
engine (GPU, or the reference); the ONNX Runtime engine, which needs no PyTorch, is
:mod:`siamfc.tracking.box_onnx`.

Both take crops as the host pipeline cuts them and give NumPy arrays: ``exemplar`` (a target's
kernel), ``stack`` (kernels of all targets), ``heads`` (classification logits (M, 2, G, G) and box
distances (M, 4, G, G)) and, for the lost state and the re-detection, which only need a score map,
``responses`` ((M, G, G) foreground-minus-background logits).
"""

from __future__ import annotations

import io

import numpy as np
import torch
from torch import nn

from ..models.boxnet import BoxTrackNet
from .box_onnx import foreground_logits


def _as_float_nchw(crops: torch.Tensor) -> torch.Tensor:
    return crops.permute(0, 3, 1, 2).float()


class _ExemplarGraph(nn.Module):
    def __init__(self, net: BoxTrackNet) -> None:
        super().__init__()
        self.backbone = net.backbone

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.backbone(_as_float_nchw(z))


class _SearchGraph(nn.Module):
    def __init__(self, net: BoxTrackNet) -> None:
        super().__init__()
        self.backbone, self.head = net.backbone, net.head

    def forward(self, x: torch.Tensor, kernel: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.head(kernel, self.backbone(_as_float_nchw(x)))


def export_box_graphs(net: BoxTrackNet, exemplar_size: int = 127, search_size: int = 255,
                      opset: int = 17) -> dict[str, bytes]:
    """The exemplar graph (uint8 NHWC crops -> kernels) and the search graph (uint8 NHWC crops and
    kernels -> logits, distances), batch dimension dynamic."""
    from .export import _export

    net = net.cpu().eval()
    graphs = {}
    with torch.no_grad():
        z = torch.zeros(1, exemplar_size, exemplar_size, 3, dtype=torch.uint8)
        kernel = net.backbone(_as_float_nchw(z))
        x = torch.zeros(2, search_size, search_size, 3, dtype=torch.uint8)
        for name, module, args, names, dyn in (
            ("exemplar", _ExemplarGraph(net), (z,), (["z"], ["kernel"]), {"z": {0: "n"}, "kernel": {0: "n"}}),
            ("search", _SearchGraph(net), (x, kernel.expand(2, -1, -1, -1).contiguous()),
             (["x", "kernel"], ["cls", "box"]),
             {"x": {0: "n"}, "kernel": {0: "n"}, "cls": {0: "n"}, "box": {0: "n"}}),
        ):
            buffer = io.BytesIO()
            _export(module, args, buffer, names, dyn, opset)
            graphs[name] = buffer.getvalue()
    return graphs


class BoxTorchEngine:
    """The model in PyTorch (eval mode, no gradients) on ``device``."""

    input_format = "float_nchw"

    def __init__(self, net: BoxTrackNet, device: torch.device) -> None:
        self.net = net.to(device).eval()
        self.device = device
        self.stride = net.stride
        self.memory_format = torch.contiguous_format

    def exemplar(self, z: torch.Tensor) -> torch.Tensor:
        return self.net.embed_exemplar(z)

    def stack(self, kernels: list[torch.Tensor], scale_num: int) -> torch.Tensor | None:
        if not kernels:
            return None
        return torch.cat(kernels).repeat_interleave(scale_num, dim=0)

    def heads(self, x: torch.Tensor, stacked: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        if len(stacked) != len(x):
            stacked = stacked[:1].expand(len(x), -1, -1, -1)
        cls, box = self.net.heads(stacked, self.net.embed_search(x))
        return cls.float().cpu().numpy(), box.float().cpu().numpy()

    def responses(self, x: torch.Tensor, stacked: torch.Tensor) -> np.ndarray:
        return foreground_logits(self.heads(x, stacked)[0])
