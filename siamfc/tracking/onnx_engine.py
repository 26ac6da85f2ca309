"""ONNX Runtime backend: runs the graphs of :mod:`siamfc.tracking.export` (from files, or exported in memory
from a checkpoint or a model) behind the engine interface of :mod:`siamfc.tracking.engines`.

Crops go in and response maps come out as NumPy arrays. Running an export folder that holds the
extended search graph (``search_taps.onnx``) needs only NumPy and ONNX Runtime: PyTorch is imported
to export a checkpoint or a model in memory, the ``onnx`` package to extend an older folder's
search graph.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import CheckpointError
from .onnx_format import GRAPH_HASHES, MANIFEST, export_sizes, graphs_problem, read_manifest

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..models.network import SiamFCNet


def _session(model: bytes | str, threads: int):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Idle pool threads sleep instead of spinning: a tracker's sessions run in turns (exemplar,
    # search) between OpenCV and PyTorch work in the same process, and spinning threads take the
    # cores from them (docs/speed.md, Threads).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 4  # failures raise, and are reported once, in one line, by the caller
    return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])


def with_tap_products(search_model: bytes | str) -> bytes:
    """The search graph extended to correlate: it also takes ``kernels`` (N, C, T), each target's
    kernel with its T = kh * kw taps flattened, and gives ``taps`` (N * k, T, H, W), the product of
    every feature vector of the k crops of a target with every tap of its kernel (one batched
    MatMul). :func:`sum_taps` adds them into response maps.

    Doing this product inside the graph saves writing out and re-reading the C-channel features:
    ONNX Runtime computes it with its threads straight from its blocked layout (docs/speed.md).
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
    graph.output.append(helper.make_tensor_value_info("taps", TensorProto.FLOAT, ["crops", "taps", "height", "width"]))
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


def default_threads() -> int:
    """Threads for a session: PyTorch's count when it is loaded (as before it was optional here),
    else ``OMP_NUM_THREADS`` when set, else the cores this process may use."""
    import sys

    if "torch" in sys.modules:
        return sys.modules["torch"].get_num_threads()
    value = os.environ.get("OMP_NUM_THREADS", "")
    if value.isdigit() and int(value) > 0:
        return int(value)
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


class OnnxEngine:
    """Exemplar and search graphs in ONNX Runtime sessions (CPU). The search graph is extended by
    :func:`with_tap_products` to multiply its features with the kernels' taps; :func:`sum_taps`
    adds them up in NumPy (the head's graph is not used)."""

    input_format = "uint8_nhwc"  # crops as OpenCV cuts them (see siamfc.tracking.export)

    def __init__(self, graphs: dict[str, bytes | str], stride: int, threads: int | None = None) -> None:
        """``graphs``: the exemplar and search graphs (bytes or file names), and ``search_taps`` (the
        search graph already extended) when there is one."""
        threads = threads or default_threads()
        self.sessions = {"exemplar": _checked_session("exemplar", graphs["exemplar"], threads)}
        if "search_taps" in graphs:
            self.sessions["search"] = _checked_session("search", graphs["search_taps"], threads, extended=True)
        else:
            self.sessions["search"] = _checked_session("search", graphs["search"], threads)
        self.stride = stride

    @classmethod
    def create(cls, weights: str | os.PathLike | None = None, model: SiamFCNet | None = None,
               threads: int | None = None, sizes: tuple[int, int] = (127, 255)) -> OnnxEngine:
        """From a folder written by ``siamfc export`` (or its manifest), a checkpoint (exported in
        memory), or a model; ``sizes``: the exemplar and search crops' sides the graphs must take."""
        if model is not None:
            return cls.from_model(model, threads, sizes)
        path = Path(os.fspath(weights))
        if not path.exists():
            raise CheckpointError(f"{path}: no such checkpoint file or ONNX export folder")
        if path.is_dir() or path.name == MANIFEST:
            return cls.from_folder(path if path.is_dir() else path.parent, threads, sizes)
        from ..models.checkpoint import load_model

        return cls.from_model(load_model(path, "cpu"), threads, sizes)

    @classmethod
    def from_folder(cls, folder: str | os.PathLike, threads: int | None = None,
                    sizes: tuple[int, int] = (127, 255)) -> OnnxEngine:
        """From a folder written by ``siamfc export`` (no PyTorch needed) for crops of ``sizes``."""
        folder = Path(folder)
        info = read_manifest(folder)
        exported = export_sizes(info)
        if exported != tuple(sizes):
            raise CheckpointError(f"{folder}: exported for {exported[0]} / {exported[1]} px exemplar / search crops, "
                                  f"the tracker asks for {sizes[0]} / {sizes[1]}: export again with siamfc export "
                                  "--exemplar-size/--search-size, or track with the checkpoint")
        files = {key: os.fspath(folder / name) for key, name in info["files"].items()}
        engine = cls(files, info["stride"], threads)
        engine._dry_run(folder, exported)
        problem = graphs_problem(folder, info) if GRAPH_HASHES in info else None  # older exports hold none
        if problem is not None:  # graphs that fit together, but another export's (another model's boxes)
            raise CheckpointError(f"{folder}: {problem}; export the checkpoint again with siamfc export")
        return engine

    def _dry_run(self, folder: Path, sizes: tuple[int, int]) -> None:
        """One step on blank crops: graphs that each load but do not fit together (one copied in
        from another export) fail here, in one line, rather than on the first frame."""
        side = (sizes[1] - sizes[0]) // self.stride + 1
        try:
            kernel = self.exemplar(np.zeros((1, sizes[0], sizes[0], 3), np.uint8))
            shape = self.responses(np.zeros((1, sizes[1], sizes[1], 3), np.uint8), self.stack([kernel], 1)).shape
            reason = None if shape == (1, side, side) else f"one crop gave maps {shape}, not (1, {side}, {side})"
        except Exception as exc:  # ONNX Runtime's errors, or a shape NumPy cannot reshape
            reason = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else type(exc).__name__
        if reason is not None:
            raise CheckpointError(f"{folder}: its graphs do not fit together, one may come from another "
                                  f"export; export the checkpoint again ({reason})")

    @classmethod
    def from_model(cls, model: SiamFCNet, threads: int | None = None,
                   sizes: tuple[int, int] = (127, 255)) -> OnnxEngine:
        """The model exported in memory (PyTorch and the ``onnx`` package are needed)."""
        from .export import export_graphs

        return cls(export_graphs(model, *sizes), model.stride, threads)

    def exemplar(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One target's (kernel, offset) from its uint8 (1, 127, 127, 3) exemplar crop."""
        kernel, offset = self.sessions["exemplar"].run(None, {"z": np.ascontiguousarray(z)})
        return kernel, offset

    def stack(self, kernels: list[tuple[np.ndarray, np.ndarray]], scale_num: int) -> OnnxKernels | None:
        if not kernels:
            return None
        stacked = np.concatenate([kernel for kernel, _ in kernels])
        n, c, h, w = stacked.shape
        offsets = np.concatenate([offset for _, offset in kernels]).repeat(scale_num)
        return OnnxKernels(np.ascontiguousarray(stacked.reshape(n, c, h * w)), (h, w), offsets[:, None, None])

    def responses(self, x: np.ndarray, stacked: OnnxKernels) -> np.ndarray:
        """(N*k, R, R) response maps for uint8 (N*k, S, S, 3) search crops ``x``."""
        taps = self.sessions["search"].run(None, {"x": np.ascontiguousarray(x), "kernels": stacked.kernels})[0]
        out = sum_taps(taps, *stacked.size)
        out += stacked.offsets  # non-finite maps are caught by the tracker, for every backend (check_finite)
        return out


#: the inputs each graph of an export takes (the search graph once extended by with_tap_products)
GRAPH_INPUTS = {"exemplar": ["z"], "search": ["x", "kernels"]}


def _checked_session(key: str, model: bytes | str, threads: int, extended: bool = False):
    """An ONNX Runtime session of graph ``key`` (the search graph extended by :func:`with_tap_products`
    here unless ``extended`` already); a damaged file, or another graph than the one expected
    (swapped files), is a one-line CheckpointError naming it."""
    what = model if isinstance(model, str) else f"the {key} graph"
    try:
        session = _session(with_tap_products(model) if key == "search" and not extended else model, threads)
    except Exception as exc:  # onnx and ONNX Runtime raise many types for damaged or foreign files
        reason = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(f"{what}: not a usable {key} graph of a siamfc export ({reason})") from None
    inputs = [i.name for i in session.get_inputs()]
    if inputs != GRAPH_INPUTS[key]:
        raise CheckpointError(f"{what}: not the {key} graph of a siamfc export (inputs {', '.join(inputs)}; "
                              f"expected {', '.join(GRAPH_INPUTS[key])})")
    return session


