"""ONNX Runtime engine of box-head models, without PyTorch: the graphs of
:func:`siamfc.tracking.box_engines.export_box_graphs`, exported in memory from a model, or read from the
folder ``NAME.onnx/`` written beside a box-head checkpoint ``NAME.pth`` (a shipped model), whose
manifest records the checkpoint's SHA-256: an export of another checkpoint is never used.

Crops go in as uint8 NHWC arrays; classification logits and box distances come out as NumPy arrays.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from .onnx_format import file_sha256

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..models.boxnet import BoxTrackNet

BOX_MANIFEST = "siamfc_box_onnx.json"
GRAPHS = ("exemplar", "search")


def foreground_logits(cls: np.ndarray) -> np.ndarray:
    return cls[:, 1] - cls[:, 0]


def box_export_beside(weights: str | os.PathLike | None) -> Path | None:
    """The export folder of box-head checkpoint ``weights`` when it sits beside it and was written from
    this very file (its manifest's checkpoint hash matches), else None."""
    if weights is None or not Path(weights).is_file():
        return None
    folder = Path(weights).with_suffix(".onnx")
    try:
        manifest = json.loads((folder / BOX_MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    complete = all((folder / f"{name}.onnx").is_file() for name in GRAPHS)
    if not complete or not isinstance(manifest, dict) or manifest.get("checkpoint_sha256") != file_sha256(weights):
        return None
    return folder


def write_box_export(net: BoxTrackNet, checkpoint: str | os.PathLike) -> Path:
    """Export ``net`` (the model of ``checkpoint``) to ``NAME.onnx/`` beside the checkpoint."""
    from .box_engines import export_box_graphs

    folder = Path(checkpoint).with_suffix(".onnx")
    folder.mkdir(exist_ok=True)
    for name, graph in export_box_graphs(net).items():
        (folder / f"{name}.onnx").write_bytes(graph)
    manifest = {"family": "boxnet", "stride": int(net.stride), "exemplar_size": 127, "search_size": 255,
                "checkpoint_sha256": file_sha256(checkpoint)}
    (folder / BOX_MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")
    return folder


class BoxOnnxEngine:
    """The exemplar and search graphs in ONNX Runtime sessions (CPU)."""

    input_format = "uint8_nhwc"
    memory_format = None

    def __init__(self, graphs: dict[str, bytes | str], stride: int, threads: int | None = None) -> None:
        from .onnx_engine import _session, default_threads

        threads = threads or default_threads()
        self.sessions = {name: _session(graphs[name], threads) for name in GRAPHS}
        self.stride = stride

    @classmethod
    def from_model(cls, net: BoxTrackNet, threads: int | None = None,
                   sizes: tuple[int, int] = (127, 255)) -> BoxOnnxEngine:
        from .box_engines import export_box_graphs

        return cls(export_box_graphs(net, *sizes), net.stride, threads)

    @classmethod
    def from_folder(cls, folder: str | os.PathLike, threads: int | None = None) -> BoxOnnxEngine:
        manifest = json.loads((Path(folder) / BOX_MANIFEST).read_text())
        graphs = {name: os.fspath(Path(folder) / f"{name}.onnx") for name in GRAPHS}
        return cls(graphs, int(manifest["stride"]), threads)

    def exemplar(self, z: np.ndarray) -> np.ndarray:
        return self.sessions["exemplar"].run(None, {"z": np.ascontiguousarray(z)})[0]

    def stack(self, kernels: list[np.ndarray], scale_num: int) -> np.ndarray | None:
        if not kernels:
            return None
        return np.ascontiguousarray(np.repeat(np.concatenate(kernels), scale_num, axis=0))

    def heads(self, x: np.ndarray, stacked: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if len(stacked) != len(x):  # one kernel searched on several tiles (re-detection)
            stacked = np.ascontiguousarray(np.repeat(stacked[:1], len(x), axis=0))
        cls, box = self.sessions["search"].run(None, {"x": np.ascontiguousarray(x), "kernel": stacked})
        return cls, box

    def responses(self, x: np.ndarray, stacked: np.ndarray) -> np.ndarray:
        return foreground_logits(self.heads(x, stacked)[0])
