"""ONNX Runtime engines on the CPU, NumPy in and out: :class:`OnnxEngine` (SiamFC) and :class:`BoxOnnxEngine`."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np

from ...errors import CheckpointError, first_line
from .. import onnx_format as fmt

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ...models.boxnet import BoxTrackNet
    from ...models.network import SiamFCNet


def default_threads() -> int:
    """PyTorch's thread count when loaded, else ``OMP_NUM_THREADS``, else the usable cores."""
    if "torch" in sys.modules:
        return sys.modules["torch"].get_num_threads()
    value = os.environ.get("OMP_NUM_THREADS", "")
    if value.isdigit() and int(value) > 0:
        return int(value)
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def session(model: bytes | str):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = default_threads()
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # pool threads spin at most 10 us between a run's operators (waking a sleeping thread for each of
    # the ~60 operators cost more than the network's second thread gave) and stop spinning when the run
    # returns, so they never take the cores from the OpenCV and NumPy work between runs (docs/speed.md, Threads)
    options.add_session_config_entry("session.intra_op.allow_spinning", "1")
    options.add_session_config_entry("session.intra_op.spin_duration_us", "10")
    options.add_session_config_entry("session.force_spinning_stop", "1")
    options.log_severity_level = 4  # failures raise, and are reported once, in one line, by the caller
    return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])


def sum_taps(taps: np.ndarray, kh: int, kw: int) -> np.ndarray:
    """Maps (M, H - kh + 1, W - kw + 1) of tap products (M, kh * kw, H, W): tap (i, j) shifted by (i, j)."""
    _, _, h, w = taps.shape
    oh, ow = h - kh + 1, w - kw + 1
    out = taps[:, 0, :oh, :ow].copy()
    for i in range(kh):
        for j in range(kw):
            if i or j:
                out += taps[:, i * kw + j, i:i + oh, j:j + ow]
    return out


class OnnxEngine:
    """A SiamFC export's exemplar graph and search graph extended by ``with_tap_products``."""

    input_format = "uint8_nhwc"
    memory_format = None

    def __init__(self, graphs: dict[str, bytes | str], stride: int) -> None:
        self.sessions = {"exemplar": session(graphs["exemplar"]), "search": session(graphs["search_taps"])}
        self.stride = stride

    @classmethod
    def from_folder(cls, folder: str | os.PathLike, sizes: tuple[int, int] = (127, 255)) -> OnnxEngine:
        """An export folder's engine, checked: its graphs are those its manifest records, for crops of ``sizes``."""
        folder = Path(folder)
        info = fmt.read_manifest(folder)
        exported = info["exemplar_size"], info["search_size"]
        if exported != tuple(sizes):
            raise CheckpointError(f"{folder}: exported for {exported[0]} / {exported[1]} px exemplar / search crops, "
                                  f"the tracker asks for {sizes[0]} / {sizes[1]}: export again with siamfc export "
                                  "--exemplar-size/--search-size, or track with the checkpoint", str(folder))
        try:
            return cls({key: os.fspath(folder / name) for key, name in fmt.FILES.items()}, info["stride"])
        except Exception as exc:  # ONNX Runtime raises many types for a graph it cannot load
            raise CheckpointError(f"{folder}: not a usable siamfc export ({first_line(exc, 160)})",
                                  str(folder)) from exc

    @classmethod
    def from_model(cls, model: SiamFCNet, sizes: tuple[int, int] = (127, 255)) -> OnnxEngine:
        from ..export import export_graphs

        return cls(export_graphs(model, *sizes), model.stride)

    def exemplar(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return tuple(self.sessions["exemplar"].run(None, {"z": np.ascontiguousarray(z)}))

    def stack(self, kernels: list[tuple[np.ndarray, np.ndarray]], scale_num: int) -> tuple | None:
        """Kernels of all targets as (N, C, h * w) taps, their size (h, w), each crop's offset (N * k, 1, 1)."""
        if not kernels:
            return None
        stacked = np.concatenate([kernel for kernel, _ in kernels])
        n, c, h, w = stacked.shape
        offsets = np.concatenate([offset for _, offset in kernels]).repeat(scale_num)
        return np.ascontiguousarray(stacked.reshape(n, c, h * w)), (h, w), offsets[:, None, None]

    def responses(self, x: np.ndarray, stacked: tuple) -> np.ndarray:
        kernels, size, offsets = stacked
        taps = self.sessions["search"].run(None, {"x": np.ascontiguousarray(x), "kernels": kernels})[0]
        # non-finite maps are caught by the tracker, for every backend (check_finite)
        return sum_taps(taps, *size) + offsets


class BoxOnnxEngine:
    """A box-head model's exemplar and search graphs."""

    input_format = "uint8_nhwc"
    memory_format = None

    def __init__(self, graphs: dict[str, bytes | str], stride: int) -> None:
        self.sessions = {name: session(graphs[name]) for name in fmt.BOX_GRAPHS}
        self.stride = stride

    @classmethod
    def from_model(cls, net: BoxTrackNet, sizes: tuple[int, int] = (127, 255)) -> BoxOnnxEngine:
        from ..export import export_box_graphs

        return cls(export_box_graphs(net, *sizes), net.stride)

    @classmethod
    def from_folder(cls, folder: str | os.PathLike) -> BoxOnnxEngine:
        manifest = json.loads((Path(folder) / fmt.BOX_MANIFEST).read_text())
        return cls({name: os.fspath(Path(folder) / f"{name}.onnx") for name in fmt.BOX_GRAPHS},
                   int(manifest["stride"]))

    def exemplar(self, z: np.ndarray) -> np.ndarray:
        return self.sessions["exemplar"].run(None, {"z": np.ascontiguousarray(z)})[0]

    def stack(self, kernels: list[np.ndarray], scale_num: int) -> np.ndarray | None:
        return np.ascontiguousarray(np.repeat(np.concatenate(kernels), scale_num, axis=0)) if kernels else None

    def heads(self, x: np.ndarray, stacked: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return tuple(self.sessions["search"].run(None, {"x": np.ascontiguousarray(x), "kernel": stacked}))

    def responses(self, x: np.ndarray, stacked: np.ndarray) -> np.ndarray:
        cls = self.heads(x, stacked)[0]
        return cls[:, 1] - cls[:, 0]  # foreground minus background logits
