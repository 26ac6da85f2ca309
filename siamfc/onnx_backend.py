"""ONNX Runtime backend: runs the graphs of :mod:`siamfc.export` (from files, or exported in memory
from a checkpoint or a model) behind the engine interface of :mod:`siamfc.inference`."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import torch

from .checkpoint import CheckpointError, load_model
from .export import FILES, FORMAT, MANIFEST, VERSION, export_graphs
from .inference import StackedKernels, correlate_gemm
from .model import SiamFCNet


def _session(model: bytes | str, threads: int):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])


class OnnxEngine:
    """Exemplar and search graphs in ONNX Runtime sessions (CPU); the correlation of the (tiny)
    head is the matrix product of :func:`siamfc.inference.correlate_gemm`, about 3x faster
    than the head graph in ONNX Runtime."""

    memory_format = torch.contiguous_format
    input_format = "uint8_nhwc"  # crops as OpenCV cuts them (see siamfc.export)

    def __init__(self, graphs: dict[str, bytes | str], stride: int, threads: int | None = None) -> None:
        threads = threads or torch.get_num_threads()
        self.sessions = {key: _session(graphs[key], threads) for key in ("exemplar", "search")}
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

    def stack(self, kernels: list[tuple[np.ndarray, np.ndarray]], scale_num: int) -> StackedKernels | None:
        if not kernels:
            return None
        stacked = torch.from_numpy(np.concatenate([kernel for kernel, _ in kernels]))
        offsets = torch.from_numpy(np.concatenate([offset for _, offset in kernels])).repeat_interleave(scale_num)
        return StackedKernels(stacked, offsets[:, None, None], scale_num)

    def responses(self, x: torch.Tensor, stacked: StackedKernels) -> torch.Tensor:
        """(N*k, R, R) response maps for uint8 (N*k, S, S, 3) search crops ``x``."""
        features = self.sessions["search"].run(None, {"x": x.contiguous().numpy()})[0]  # (N*k, H, W, C)
        with torch.inference_mode():
            channels_last = torch.from_numpy(features).permute(0, 3, 1, 2)
            return correlate_gemm(channels_last, stacked.kernels, stacked.scale_num) + stacked.offsets


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
