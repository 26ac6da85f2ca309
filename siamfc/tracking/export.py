"""Export a SiamFC network to ONNX: three graphs and a manifest.

- ``exemplar.onnx``: exemplar crop ``z`` (1, 127, 127, 3) uint8 -> ``kernel`` (1, C, h, w) and
  ``offset`` (1,)
- ``search.onnx``: search crops ``x`` (B, 255, 255, 3) uint8, B free -> ``features`` (B, H, W, C)
- ``head.onnx``: ``kernel``, ``offset`` and ``features`` of the same target -> ``responses``
  (B, 1, 17, 17) = ``conv2d(features, kernel) + offset``
- ``search_taps.onnx``: the search graph extended to correlate (what ONNX Runtime runs, see
  :func:`siamfc.tracking.onnx_engine.with_tap_products`), so that tracking from the folder needs
  neither PyTorch nor the ``onnx`` package
- ``siamfc_onnx.json``: what the files are, the model config, stride and crop sizes, and the
  SHA-256 of the checkpoint exported (when exported from a file)

This is the split of the optimized PyTorch path (:mod:`siamfc.tracking.engines`): when the backbone's
last layer is a plain convolution, ``search.onnx`` stops before it and the exemplar graph
composes it into the kernel (``composed`` in the manifest; C, h, w are then those of the
penultimate features); the head's 0.001 scale and bias are folded into kernel and offset.
:mod:`siamfc.tracking.onnx_engine` runs the first two, the search graph extended with the correlation's
matrix product (:func:`siamfc.tracking.onnx_engine.with_tap_products`).
Inputs are RGB crops as OpenCV cuts them (uint8, channels last): the graphs convert them, and
give the search features channels last, which is how ONNX Runtime's blocked layout converts
most cheaply and how the matrix-product correlation reads them (no copy on either side).
BatchNorm is folded into the convolutions before export.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import warnings
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ..models.heads import XCorrHead
from ..models.network import SiamFCNet
from .engines import compose_last_conv, fuse_conv_bn, split_last_conv
from .onnx_format import CHECKPOINT_HASH, FILES, FORMAT, GRAPH_HASHES, MANIFEST, VERSION, file_sha256

__all__ = ["FILES", "FORMAT", "MANIFEST", "VERSION", "export_graphs", "export_onnx", "exportable", "manifest"]


def _as_float_nchw(crops: torch.Tensor) -> torch.Tensor:
    return crops.permute(0, 3, 1, 2).float()


def interleaved_stem(conv: nn.Conv2d) -> nn.Conv2d | None:
    """``conv`` as a convolution over channels-last input seen as one channel: a (B, H, W, C)
    image viewed (no copy) as (B, 1, H, W * C), kernel (kh, kw * C), stride (sh, sw * C).

    It saves ONNX Runtime the transpose of the crops to channels-first (its share of the search
    graph: docs/speed.md). None when ``conv`` pads, dilates or groups (the view would not match).
    """
    if conv.padding != (0, 0) or conv.dilation != (1, 1) or conv.groups != 1 or conv.padding_mode != "zeros":
        return None
    out, c, kh, kw = conv.weight.shape
    stem = nn.Conv2d(1, out, (kh, kw * c), (conv.stride[0], conv.stride[1] * c), bias=conv.bias is not None)
    with torch.no_grad():
        stem.weight.copy_(conv.weight.permute(0, 2, 3, 1).reshape(out, 1, kh, kw * c))
        if conv.bias is not None:
            stem.bias.copy_(conv.bias)
    return stem


class _Search(nn.Module):
    """uint8 (B, S, S, 3) crops -> float (B, H, W, C) features. When the backbone is an
    ``nn.Sequential`` that starts with a plain convolution, that one reads the crops channels last
    (:func:`interleaved_stem`)."""

    def __init__(self, backbone: nn.Module) -> None:
        super().__init__()
        first = backbone[0] if isinstance(backbone, nn.Sequential) and len(backbone) else None
        self.stem = interleaved_stem(first) if isinstance(first, nn.Conv2d) else None
        self.backbone = backbone[1:] if self.stem is not None else backbone

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stem is not None:
            return self.backbone(self.stem(x.flatten(2).unsqueeze(1).float())).permute(0, 2, 3, 1)
        return self.backbone(_as_float_nchw(x)).permute(0, 2, 3, 1)


class _Exemplar(nn.Module):
    """Exemplar crop -> the kernel the head correlates (scaled; composed with the search
    branch's last conv when there is one) and the constant the head adds."""

    def __init__(self, backbone: nn.Module, head: XCorrHead, last_conv: nn.Conv2d | None) -> None:
        super().__init__()
        self.backbone = backbone
        self.last_conv = last_conv
        self.out_scale = float(head.out_scale)
        self.bias = torch.zeros(()) if head.bias is None else head.bias.detach().clone().sum()

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        kernel = self.backbone(_as_float_nchw(z))
        offset = torch.zeros((), dtype=kernel.dtype)
        if self.last_conv is not None:
            kernel, offset = compose_last_conv(kernel, self.last_conv)
        return kernel * self.out_scale, (offset * self.out_scale + self.bias).reshape(1)


class _Head(nn.Module):
    """One target's kernel correlated with B feature maps: a plain convolution, whose weight is
    an input (so the graph has no fixed number of targets or groups)."""

    def forward(self, kernel: torch.Tensor, offset: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
        return F.conv2d(features.permute(0, 3, 1, 2), kernel) + offset


def _export(module: nn.Module, args: tuple, f: str | os.PathLike | io.BytesIO, names: tuple[list, list],
            dynamic_axes: dict, opset: int) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
        torch.onnx.export(module, args, f, input_names=names[0], output_names=names[1],
                          dynamic_axes=dynamic_axes, opset_version=opset, dynamo=False)


def exportable(net: SiamFCNet) -> bool:
    """True when :func:`export_graphs` can export ``net`` (the plain cross-correlation head)."""
    return isinstance(net.head, XCorrHead) and type(net).correlate is SiamFCNet.correlate


def export_graphs(net: SiamFCNet, exemplar_size: int = 127, search_size: int = 255,
                  opset: int = 17) -> dict[str, bytes]:
    """The ONNX graphs of ``net`` as bytes (keys as in ``FILES``)."""
    from .onnx_engine import with_tap_products

    if not exportable(net):
        raise ValueError(f"cannot export a model whose head is {type(net.head).__name__}: only XCorrHead")
    net = net.to("cpu").eval()
    search_backbone = fuse_conv_bn(net.search_backbone or net.backbone)
    split = split_last_conv(search_backbone)
    exemplar = _Exemplar(fuse_conv_bn(net.backbone), net.head, split[1] if split else None)
    search = _Search(split[0] if split else search_backbone)
    head = _Head()
    z = torch.randint(0, 256, (1, exemplar_size, exemplar_size, 3), dtype=torch.uint8)
    x = torch.randint(0, 256, (2, search_size, search_size, 3), dtype=torch.uint8)
    with torch.no_grad():
        (kernel, offset), features = exemplar(z), search(x)
    out: dict[str, bytes] = {}
    for key, module, args, names, dyn in (
        ("exemplar", exemplar, (z,), (["z"], ["kernel", "offset"]), {}),
        ("search", search, (x,), (["x"], ["features"]), {"x": {0: "batch"}, "features": {0: "batch"}}),
        ("head", head, (kernel, offset, features), (["kernel", "offset", "features"], ["responses"]),
         {"features": {0: "batch"}, "responses": {0: "batch"}}),
    ):
        buffer = io.BytesIO()
        _export(module, args, buffer, names, dyn, opset)
        out[key] = buffer.getvalue()
    out["search_taps"] = with_tap_products(out["search"])
    return out


def manifest(net: SiamFCNet, exemplar_size: int, search_size: int, opset: int,
             checkpoint: str | os.PathLike | None = None, graphs: dict[str, bytes] | None = None) -> dict:
    """The manifest; with ``checkpoint`` (the file ``net`` was loaded from) its SHA-256, and with
    ``graphs`` (as :func:`export_graphs` gives them) each one's SHA-256: by these a tracker tells
    whether an export beside a checkpoint is still that checkpoint's export, graphs included
    (:func:`siamfc.tracking.onnx_format.fresh_export`)."""
    info = {
        "format": FORMAT, "version": VERSION, "files": FILES, "model": net.config.to_dict(),
        "composed": split_last_conv(net.search_backbone or net.backbone) is not None,
        "stride": int(net.stride), "exemplar_size": exemplar_size, "search_size": search_size, "opset": opset,
    }
    if checkpoint is not None:
        info[CHECKPOINT_HASH] = file_sha256(checkpoint)
    if graphs is not None:
        info[GRAPH_HASHES] = {key: hashlib.sha256(graphs[key]).hexdigest() for key in FILES}
    return info


def export_onnx(net: SiamFCNet, out_dir: str | os.PathLike, exemplar_size: int = 127, search_size: int = 255,
                opset: int = 17, checkpoint: str | os.PathLike | None = None) -> list[Path]:
    """Write the graphs and the manifest into ``out_dir``; returns the paths written. ``checkpoint``:
    the file ``net`` was loaded from (its hash goes into the manifest)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    graphs = export_graphs(net, exemplar_size, search_size, opset)
    contents = {out_dir / FILES[key]: data for key, data in graphs.items()}
    info = manifest(net, exemplar_size, search_size, opset, checkpoint, graphs)
    contents[out_dir / MANIFEST] = (json.dumps(info, indent=2) + "\n").encode()
    _write_all_or_nothing(contents)
    return list(contents)


def _write_all_or_nothing(contents: dict[Path, bytes]) -> None:
    """Every file written under a temporary name first; only when all are written are they renamed
    into place (the manifest, last, last). A failure (a full disk) leaves the folder as it was."""
    temps = {path: path.with_name(path.name + ".tmp") for path in contents}
    try:
        for path, data in contents.items():
            temps[path].write_bytes(data)
    except BaseException:
        for tmp in temps.values():
            tmp.unlink(missing_ok=True)
        raise
    for path, tmp in temps.items():
        os.replace(tmp, path)
