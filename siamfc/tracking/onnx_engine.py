"""ONNX Runtime backend: runs the graphs of :mod:`siamfc.tracking.export` (from files, or exported in memory
from a checkpoint or a model) behind the engine interface of :mod:`siamfc.tracking.engines`."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..models.checkpoint import CheckpointError, load_model
from ..models.network import SiamFCNet
from .export import FILES, FORMAT, MANIFEST, VERSION, export_graphs


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
    input_format = "uint8_nhwc"  # crops as OpenCV cuts them (see siamfc.tracking.export)

    def __init__(self, graphs: dict[str, bytes | str], stride: int, threads: int | None = None) -> None:
        threads = threads or torch.get_num_threads()
        self.sessions = {"exemplar": _checked_session("exemplar", graphs["exemplar"], threads),
                         "search": _checked_session("search", graphs["search"], threads)}
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
        out += stacked.offsets  # non-finite maps are caught by the tracker, for every backend (check_finite)
        return torch.from_numpy(out)


#: the inputs each graph of an export takes (the search graph once extended by with_tap_products)
GRAPH_INPUTS = {"exemplar": ["z"], "search": ["x", "kernels"]}


def _checked_session(key: str, model: bytes | str, threads: int):
    """An ONNX Runtime session of graph ``key``; a damaged file, or another graph than the one
    expected (swapped files), is a one-line CheckpointError naming it."""
    what = model if isinstance(model, str) else f"the {key} graph"
    try:
        session = _session(with_tap_products(model) if key == "search" else model, threads)
    except Exception as exc:  # onnx and ONNX Runtime raise many types for damaged or foreign files
        reason = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(f"{what}: not a usable {key} graph of a siamfc export ({reason})") from None
    inputs = [i.name for i in session.get_inputs()]
    if inputs != GRAPH_INPUTS[key]:
        raise CheckpointError(f"{what}: not the {key} graph of a siamfc export (inputs {', '.join(inputs)}; "
                              f"expected {', '.join(GRAPH_INPUTS[key])})")
    return session


def read_manifest(folder: str | os.PathLike) -> dict:
    """The manifest of an exported folder, every field checked; a missing, foreign or damaged one is
    a CheckpointError. File entries must name files inside the folder (no absolute paths, no ``..``)."""
    path = Path(folder) / MANIFEST
    try:
        info = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"{path}: not a siamfc ONNX export ({exc.__class__.__name__})") from None
    if not isinstance(info, dict) or info.get("format") != FORMAT:
        found = info.get("format") if isinstance(info, dict) else type(info).__name__
        raise CheckpointError(f"{path}: not a siamfc ONNX export (format {found!r})")
    if info.get("version") != VERSION:
        raise CheckpointError(f"{path}: ONNX export version {info.get('version')!r}, this siamfc reads version "
                              f"{VERSION}: export the checkpoint again with `siamfc export`")
    for key in ("stride", "exemplar_size", "search_size"):
        value = info.get(key)
        if key in info or key == "stride":
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise CheckpointError(f"{path}: {key!r} is {value!r}, expected a whole number more than 0")
    files = info.get("files")
    if not isinstance(files, dict) or set(files) != set(FILES):
        raise CheckpointError(f"{path}: 'files' should map {', '.join(FILES)} to file names, found {files!r}"[:300])
    for key, name in files.items():
        _check_entry(path, key, name)
    missing = [name for name in files.values() if not (Path(folder) / name).is_file()]
    if missing:
        raise CheckpointError(f"{path}: export incomplete (missing {', '.join(missing)})")
    return info


def _check_entry(manifest: Path, key: str, name: object) -> None:
    """A file entry of the manifest: a plain relative name that stays inside its folder."""
    if not isinstance(name, str) or not name:
        raise CheckpointError(f"{manifest}: files.{key} is {name!r}, expected a file name")
    folder = manifest.parent.resolve()
    target = (folder / name).resolve()
    if Path(name).is_absolute() or ".." in Path(name).parts or not target.is_relative_to(folder):
        raise CheckpointError(f"{manifest}: files.{key} {name!r} points outside the export folder (refused)")
