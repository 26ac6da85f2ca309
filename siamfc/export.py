"""Export a SiamFC network to ONNX: three graphs and a manifest.

- ``exemplar.onnx``: exemplar crop ``z`` (1, 3, 127, 127) -> ``kernel`` (1, C, 6, 6)
- ``search.onnx``: search crops ``x`` (B, 3, 255, 255), B free -> ``features`` (B, C, 22, 22)
- ``head.onnx``: ``kernel`` (1, C, 6, 6) and ``features`` (B, C, 22, 22) of the same target ->
  ``responses`` (B, 1, 17, 17) (the cross-correlation, its 0.001 scale and optional bias)
- ``siamfc_onnx.json``: what the files are, the model config, stride and crop sizes

Inputs are raw 0-255 RGB floats, as for the PyTorch model. BatchNorm is folded into the
convolutions before export.
"""

from __future__ import annotations

import io
import json
import os
import warnings
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from .heads import XCorrHead
from .inference import fuse_conv_bn
from .model import SiamFCNet

MANIFEST = "siamfc_onnx.json"
FORMAT = "siamfc-onnx"
FILES = {"exemplar": "exemplar.onnx", "search": "search.onnx", "head": "head.onnx"}


class _Branch(nn.Module):
    def __init__(self, backbone: nn.Module) -> None:
        super().__init__()
        self.backbone = backbone

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.backbone(x)


class _Head(nn.Module):
    """One target's kernel correlated with B feature maps: a plain convolution, whose weight is
    an input (so the graph has no fixed number of targets or groups)."""

    def __init__(self, head: XCorrHead) -> None:
        super().__init__()
        self.out_scale = float(head.out_scale)
        self.bias = None if head.bias is None else head.bias.detach().clone()

    def forward(self, kernel: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
        out = F.conv2d(features, kernel) * self.out_scale
        if self.bias is not None:
            out = out + self.bias
        return out


def _export(module: nn.Module, args: tuple, f: str | os.PathLike | io.BytesIO, names: tuple[list, list],
            dynamic_axes: dict, opset: int) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
        torch.onnx.export(module, args, f, input_names=names[0], output_names=names[1],
                          dynamic_axes=dynamic_axes, opset_version=opset, dynamo=False)


def export_graphs(net: SiamFCNet, exemplar_size: int = 127, search_size: int = 255,
                  opset: int = 17) -> dict[str, bytes]:
    """The three ONNX graphs of ``net`` as bytes (keys as in ``FILES``)."""
    if not isinstance(net.head, XCorrHead) or type(net).correlate is not SiamFCNet.correlate:
        raise ValueError(f"cannot export a model whose head is {type(net.head).__name__}: only XCorrHead")
    net = net.to("cpu").eval()
    exemplar = _Branch(fuse_conv_bn(net.backbone))
    search = _Branch(fuse_conv_bn(net.search_backbone or net.backbone))
    head = _Head(net.head)
    z = torch.rand(1, 3, exemplar_size, exemplar_size) * 255
    x = torch.rand(2, 3, search_size, search_size) * 255
    with torch.no_grad():
        kernel, features = exemplar(z), search(x)
    out: dict[str, bytes] = {}
    for key, module, args, names, dyn in (
        ("exemplar", exemplar, (z,), (["z"], ["kernel"]), {}),
        ("search", search, (x,), (["x"], ["features"]), {"x": {0: "batch"}, "features": {0: "batch"}}),
        ("head", head, (kernel, features), (["kernel", "features"], ["responses"]),
         {"features": {0: "batch"}, "responses": {0: "batch"}}),
    ):
        buffer = io.BytesIO()
        _export(module, args, buffer, names, dyn, opset)
        out[key] = buffer.getvalue()
    return out


def manifest(net: SiamFCNet, exemplar_size: int, search_size: int, opset: int) -> dict:
    return {
        "format": FORMAT, "version": 1, "files": FILES, "model": net.config.to_dict(),
        "stride": int(net.stride), "exemplar_size": exemplar_size, "search_size": search_size, "opset": opset,
    }


def export_onnx(net: SiamFCNet, out_dir: str | os.PathLike, exemplar_size: int = 127, search_size: int = 255,
                opset: int = 17) -> list[Path]:
    """Write the three graphs and the manifest into ``out_dir``; returns the paths written."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    graphs = export_graphs(net, exemplar_size, search_size, opset)
    written = []
    for key, data in graphs.items():
        path = out_dir / FILES[key]
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)
        written.append(path)
    path = out_dir / MANIFEST
    path.write_text(json.dumps(manifest(net, exemplar_size, search_size, opset), indent=2) + "\n")
    written.append(path)
    return written
