"""ONNX Runtime backend: runs the graphs of :mod:`siamfc.export` (from files, or exported in memory
from a checkpoint or a model) behind the engine interface of :mod:`siamfc.inference`."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .checkpoint import CheckpointError, load_model
from .export import FILES, FORMAT, MANIFEST, VERSION, export_graphs
from .model import SiamFCNet


def _session(model: bytes | str, threads: int):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Idle pool threads sleep instead of spinning: a tracker's sessions run in turns (exemplar,
    # search) between OpenCV and PyTorch work in the same process, and spinning threads take the
    # cores from them (bag, 2 threads, idle CPU: 3.5 ms a frame without spinning, 8.4 ms with).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])


def with_tap_products(search_model: bytes | str) -> bytes:
    """The search graph extended to correlate: it also takes ``kernels`` (N, C, T), each target's
    kernel with its T = kh * kw taps flattened, and gives ``taps`` (N * k, T, H, W), the product of
    every feature vector of the k crops of a target with every tap of its kernel (one batched
    MatMul). :func:`sum_taps` adds them into response maps.

    Doing this product inside the graph saves writing out and re-reading the C-channel features:
    ONNX Runtime computes it with its threads straight from its blocked layout (with the previous
    default model, a tracking step was 1.07x faster than with the same product in NumPy).
    """
    import onnx
    from onnx import TensorProto, helper

    model = onnx.load_model_from_string(search_model) if isinstance(search_model, bytes) else onnx.load(search_model)
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
    graph.output.append(helper.make_tensor_value_info("taps", TensorProto.FLOAT, None))
    return model.SerializeToString()


def sum_taps(taps: np.ndarray, kh: int, kw: int) -> np.ndarray:
    """Response maps (M, H - kh + 1, W - kw + 1) from the tap products (M, kh * kw, H, W) of
    :func:`with_tap_products`: tap (i, j) of the kernel meets the features shifted by (i, j)."""
    _, _, h, w = taps.shape
    oh, ow = h - kh + 1, w - kw + 1
    out = taps[:, 0, :oh, :ow].copy()
    for i in range(kh):
        for j in range(kw):
            if i or j:
                out += taps[:, i * kw + j, i:i + oh, j:j + ow]
    return out


@dataclass
class OnnxKernels:
    """Kernels of all targets as (N, C, h * w) taps, their size (h, w), and the offset of each
    crop (N * k, 1, 1)."""

    kernels: np.ndarray
    size: tuple[int, int]
    offsets: np.ndarray


class OnnxEngine:
    """Exemplar and search graphs in ONNX Runtime sessions (CPU). The search graph is extended by
    :func:`with_tap_products` to multiply its features with the kernels' taps; :func:`sum_taps`
    adds them up in NumPy (the head's graph is not used)."""

    memory_format = torch.contiguous_format
    input_format = "uint8_nhwc"  # crops as OpenCV cuts them (see siamfc.export)

    def __init__(self, graphs: dict[str, bytes | str], stride: int, threads: int | None = None) -> None:
        threads = threads or torch.get_num_threads()
        self.sessions = {"exemplar": _session(graphs["exemplar"], threads),
                         "search": _session(with_tap_products(graphs["search"]), threads)}
        self.stride = stride

    @classmethod
    def create(cls, weights: str | os.PathLike | None = None, model: SiamFCNet | None = None,
               threads: int | None = None) -> OnnxEngine:
        """From a folder written by ``siamfc export`` (or its manifest), a checkpoint (exported in
        memory), or a model."""
        if model is not None:
            return cls(export_graphs(model), model.stride, threads)
        path = Path(os.fspath(weights))
        if not path.exists():
            raise CheckpointError(f"{path}: no such checkpoint file or ONNX export folder")
        if path.is_dir() or path.name == MANIFEST:
            folder = path if path.is_dir() else path.parent
            info = read_manifest(folder)
            files = {key: os.fspath(folder / name) for key, name in info["files"].items()}
            return cls(files, info["stride"], threads)
        model = load_model(path, "cpu")
        return cls(export_graphs(model), model.stride, threads)

    def exemplar(self, z: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        """One target's (kernel, offset) from its uint8 (1, 127, 127, 3) exemplar crop."""
        kernel, offset = self.sessions["exemplar"].run(None, {"z": z.cpu().contiguous().numpy()})
        return kernel, offset

    def stack(self, kernels: list[tuple[np.ndarray, np.ndarray]], scale_num: int) -> OnnxKernels | None:
        if not kernels:
            return None
        stacked = np.concatenate([kernel for kernel, _ in kernels])
        n, c, h, w = stacked.shape
        offsets = np.concatenate([offset for _, offset in kernels]).repeat(scale_num)
        return OnnxKernels(np.ascontiguousarray(stacked.reshape(n, c, h * w)), (h, w), offsets[:, None, None])

    def responses(self, x: torch.Tensor, stacked: OnnxKernels) -> torch.Tensor:
        """(N*k, R, R) response maps for uint8 (N*k, S, S, 3) search crops ``x``."""
        taps = self.sessions["search"].run(None, {"x": x.contiguous().numpy(), "kernels": stacked.kernels})[0]
        out = sum_taps(taps, *stacked.size)
        out += stacked.offsets
        return torch.from_numpy(out)


def read_manifest(folder: str | os.PathLike) -> dict:
    """The manifest of an exported folder; a missing or foreign one is a CheckpointError."""
    path = Path(folder) / MANIFEST
    try:
        info = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"{path}: not a siamfc ONNX export ({exc.__class__.__name__})") from None
    if not isinstance(info, dict) or info.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a siamfc ONNX export (format {info.get('format')!r})")
    if info.get("version") != VERSION:
        raise CheckpointError(f"{path}: ONNX export version {info.get('version')!r}, this siamfc reads version "
                              f"{VERSION}: export the checkpoint again with `siamfc export`")
    missing = [name for name in info.get("files", {}).values() if not (Path(folder) / name).is_file()]
    if missing or set(info.get("files", {})) != set(FILES):
        raise CheckpointError(f"{path}: export incomplete (missing {', '.join(missing) or 'entries'})")
    return info
