"""Export to ONNX graphs that take uint8 NHWC crops: a SiamFC model split as the optimized PyTorch engine
runs it (:func:`export_graphs`; BatchNorm folded, a last conv composed into the kernel, the head's scale
and bias in kernel and offset), a box-head model (:func:`export_box_graphs`)."""

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

from ..errors import SiamFCError
from ..models.boxnet import BoxTrackNet
from ..models.network import SiamFCNet, XCorrHead
from . import onnx_format as fmt
from .engines.torch_engines import exportable, fold_head, fuse_conv_bn, split_last_conv
from .onnx_format import FILES, MANIFEST


def interleaved_stem(conv: nn.Conv2d) -> nn.Conv2d | None:
    """``conv`` over (B, H, W, C) crops viewed as (B, 1, H, W * C): no transpose (docs/speed.md); None when
    ``conv`` pads, dilates or groups."""
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
    """uint8 (B, S, S, 3) crops -> float (B, H, W, C) features."""

    def __init__(self, backbone: nn.Module) -> None:
        super().__init__()
        first = backbone[0] if isinstance(backbone, nn.Sequential) and len(backbone) else None
        self.stem = interleaved_stem(first) if isinstance(first, nn.Conv2d) else None
        self.backbone = backbone[1:] if self.stem is not None else backbone

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x.flatten(2).unsqueeze(1).float()) if self.stem is not None else x.permute(0, 3, 1, 2).float()
        return self.backbone(x).permute(0, 2, 3, 1)


class _Exemplar(nn.Module):
    """Exemplar crop -> the head's kernel (scaled, composed with a last conv) and the constant it adds."""

    def __init__(self, backbone: nn.Module, head: XCorrHead, last_conv: nn.Conv2d | None) -> None:
        super().__init__()
        self.backbone, self.head, self.last_conv = backbone, head, last_conv

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return fold_head(self.backbone(z.permute(0, 3, 1, 2).float()), self.last_conv, self.head)


class _Head(nn.Module):
    """One target's kernel (an input) correlated with B feature maps."""

    def forward(self, kernel: torch.Tensor, offset: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
        return F.conv2d(features.permute(0, 3, 1, 2), kernel) + offset


def _export(graphs: tuple, opset: int) -> dict[str, bytes]:
    """Each (name, module, args, (inputs, outputs), dynamic axes) as ONNX bytes."""
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
        for name, module, args, names, dynamic_axes in graphs:
            buffer = io.BytesIO()
            torch.onnx.export(module, args, buffer, input_names=names[0], output_names=names[1],
                              dynamic_axes=dynamic_axes, opset_version=opset, dynamo=False)
            out[name] = buffer.getvalue()
    return out


def export_graphs(net: SiamFCNet, exemplar_size: int = 127, search_size: int = 255,
                  opset: int = 17) -> dict[str, bytes]:
    """The ONNX graphs of ``net`` as bytes (keys as in ``FILES``)."""
    if not exportable(net):
        raise SiamFCError(f"cannot export a model whose head is {type(net.head).__name__}: only XCorrHead", "head")
    net = net.to("cpu").eval()
    search_backbone = fuse_conv_bn(net.search_backbone or net.backbone)
    trunk, last_conv = split_last_conv(search_backbone) or (search_backbone, None)
    exemplar, search = _Exemplar(fuse_conv_bn(net.backbone), net.head, last_conv), _Search(trunk)
    z = torch.randint(0, 256, (1, exemplar_size, exemplar_size, 3), dtype=torch.uint8)
    x = torch.randint(0, 256, (2, search_size, search_size, 3), dtype=torch.uint8)
    with torch.no_grad():
        (kernel, offset), features = exemplar(z), search(x)
    out = _export((
        ("exemplar", exemplar, (z,), (["z"], ["kernel", "offset"]), {}),
        ("search", search, (x,), (["x"], ["features"]), {"x": {0: "batch"}, "features": {0: "batch"}}),
        ("head", _Head(), (kernel, offset, features), (["kernel", "offset", "features"], ["responses"]),
         {"features": {0: "batch"}, "responses": {0: "batch"}}),
    ), opset)
    out["search_taps"] = with_tap_products(out["search"])
    return out


def with_tap_products(search_model: bytes) -> bytes:
    """The search graph extended to take ``kernels`` (N, C, kh * kw) and give ``taps`` (N * k, kh * kw,
    H, W): every feature vector of a target's k crops times every kernel tap (docs/speed.md)."""
    import onnx
    from onnx import TensorProto, helper

    model = onnx.load_model_from_string(search_model)
    graph = model.graph
    (features,) = [o.name for o in graph.output]
    graph.input.append(helper.make_tensor_value_info("kernels", TensorProto.FLOAT, ["targets", "channels", "taps"]))
    graph.initializer.append(helper.make_tensor("minus_one", TensorProto.INT64, [1], [-1]))
    graph.node.extend([
        helper.make_node("Shape", ["kernels"], ["kernel_n"], start=0, end=1),
        helper.make_node("Shape", ["kernels"], ["kernel_c"], start=1, end=2),
        helper.make_node("Shape", ["kernels"], ["kernel_t"], start=2, end=3),
        helper.make_node("Shape", [features], ["feature_hw"], start=1, end=3),
        helper.make_node("Concat", ["kernel_n", "minus_one", "kernel_c"], ["per_target"], axis=0),
        helper.make_node("Reshape", [features, "per_target"], ["target_features"]),  # (N, k*H*W, C)
        helper.make_node("MatMul", ["target_features", "kernels"], ["target_taps"]),  # (N, k*H*W, T)
        helper.make_node("Concat", ["minus_one", "feature_hw", "kernel_t"], ["per_crop"], axis=0),
        helper.make_node("Reshape", ["target_taps", "per_crop"], ["crop_taps"]),  # (N*k, H, W, T)
        helper.make_node("Transpose", ["crop_taps"], ["taps"], perm=[0, 3, 1, 2]),
    ])
    del graph.output[:]
    graph.output.append(helper.make_tensor_value_info("taps", TensorProto.FLOAT, ["crops", "taps", "height", "width"]))
    return model.SerializeToString()


def export_onnx(net: SiamFCNet, out_dir: str | os.PathLike, exemplar_size: int = 127, search_size: int = 255,
                opset: int = 17, checkpoint: str | os.PathLike | None = None) -> list[Path]:
    """Write the graphs and the manifest (with the SHA-256 of ``checkpoint``, ``net``'s file, and of each
    graph) into ``out_dir``, all or nothing (a full disk leaves it as it was); returns the paths written."""
    graphs = export_graphs(net, exemplar_size, search_size, opset)
    info = {
        "format": fmt.FORMAT, "version": fmt.VERSION, "files": FILES, "model": net.config.to_dict(),
        "composed": split_last_conv(net.search_backbone or net.backbone) is not None,
        "stride": int(net.stride), "exemplar_size": exemplar_size, "search_size": search_size, "opset": opset,
    }
    if checkpoint is not None:
        info[fmt.CHECKPOINT_HASH] = fmt.file_sha256(checkpoint)
    info[fmt.GRAPH_HASHES] = {key: hashlib.sha256(graphs[key]).hexdigest() for key in FILES}
    return _write_all(Path(out_dir), {FILES[key]: data for key, data in graphs.items()}, MANIFEST, info)


def _write_all(folder: Path, files: dict[str, bytes], manifest: str, info: dict) -> list[Path]:
    """``files`` and then manifest ``info`` into ``folder``, all or nothing (each written to a temporary file,
    then all renamed, the manifest last: a full disk leaves the folder as it was); returns the paths."""
    folder.mkdir(parents=True, exist_ok=True)
    contents = {**files, manifest: (json.dumps(info, indent=2) + "\n").encode()}
    temps = {folder / name: folder / f"{name}.tmp" for name in contents}
    try:
        for tmp, data in zip(temps.values(), contents.values(), strict=True):
            tmp.write_bytes(data)
        for path, tmp in temps.items():
            os.replace(tmp, path)
    finally:  # none left behind when a write fails
        for tmp in temps.values():
            tmp.unlink(missing_ok=True)
    return list(temps)


class _BoxGraph(nn.Module):
    """A box-head model's exemplar graph (crops -> kernels) or, given kernels, its search graph (-> cls, box)."""

    def __init__(self, net: BoxTrackNet) -> None:
        super().__init__()
        self.backbone, self.head = net.backbone, net.head

    def forward(self, crops: torch.Tensor, kernel: torch.Tensor | None = None) -> torch.Tensor | tuple:
        features = self.backbone(crops.permute(0, 3, 1, 2).float())
        return features if kernel is None else self.head(kernel, features)


def export_box_graphs(net: BoxTrackNet, exemplar_size: int = 127, search_size: int = 255,
                      opset: int = 17) -> dict[str, bytes]:
    """A box-head model's exemplar graph (crops -> kernels) and search graph (crops, kernels -> cls, box)."""
    net, graph = net.cpu().eval(), _BoxGraph(net)
    with torch.no_grad():
        z = torch.zeros(1, exemplar_size, exemplar_size, 3, dtype=torch.uint8)
        kernel = graph(z).expand(2, -1, -1, -1).contiguous()
        x = torch.zeros(2, search_size, search_size, 3, dtype=torch.uint8)
        return _export((
            ("exemplar", graph, (z,), (["z"], ["kernel"]), {"z": {0: "n"}, "kernel": {0: "n"}}),
            ("search", graph, (x, kernel), (["x", "kernel"], ["cls", "box"]),
             {"x": {0: "n"}, "kernel": {0: "n"}, "cls": {0: "n"}, "box": {0: "n"}}),
        ), opset)


def write_box_export(net: BoxTrackNet, checkpoint: str | os.PathLike) -> Path:
    """Export box-head model ``net`` (of ``checkpoint``) to ``NAME.onnx/`` beside the checkpoint."""
    folder, graphs = fmt.export_beside(checkpoint), export_box_graphs(net)
    manifest = {"family": "boxnet", "stride": int(net.stride), "exemplar_size": 127, "search_size": 255,
                fmt.CHECKPOINT_HASH: fmt.file_sha256(checkpoint)}
    _write_all(folder, {f"{name}.onnx": graphs[name] for name in fmt.BOX_GRAPHS}, fmt.BOX_MANIFEST, manifest)
    return folder
