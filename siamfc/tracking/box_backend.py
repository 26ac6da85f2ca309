"""Which engine runs a box-head model (:mod:`siamfc.models.boxnet`), from what the user gave: a
:class:`BoxTrackNet`, a folder with NanoTrack v2's two ONNX files, or a box-head checkpoint."""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

from .backend import Backend
from .box_onnx import BoxOnnxEngine, box_export_beside
from .config import RuntimeOptions, device_type

TYPE_CHECKING = False
if TYPE_CHECKING:
    import torch

    from ..models.boxnet import BoxTrackNet

NANOTRACK_FILES = ("nanotrack_backbone_sim.onnx", "nanotrack_head_sim.onnx")


def is_nanotrack_folder(path: str | os.PathLike | None) -> bool:
    return path is not None and Path(path).is_dir() and all((Path(path) / f).is_file() for f in NANOTRACK_FILES)


def is_box_model(weights: str | os.PathLike | None, model: object | None) -> bool:
    """Whether the tracker is to run a box-head model: a BoxTrackNet, a NanoTrack v2 folder or a
    checkpoint of the box-head family."""
    if model is not None:
        return hasattr(model, "heads")
    if weights is None:
        return False
    if is_nanotrack_folder(weights) or box_export_beside(weights) is not None:
        return True
    if _siamfc_export_beside(weights) or importlib.util.find_spec("torch") is None:
        return False  # known without reading the checkpoint, which needs PyTorch (the base install has none)
    from ..models.box_checkpoint import is_box_checkpoint

    return is_box_checkpoint(weights)


def _siamfc_export_beside(weights: str | os.PathLike) -> bool:
    """Whether a SiamFC export of this very checkpoint sits beside it (a shipped model: ``NAME.onnx/``)."""
    from .onnx_format import CHECKPOINT_HASH, MANIFEST, export_beside, file_sha256

    manifest = export_beside(weights) / MANIFEST
    if not manifest.is_file() or not Path(weights).is_file():
        return False
    try:
        return json.loads(manifest.read_text()).get(CHECKPOINT_HASH) == file_sha256(weights)
    except (OSError, ValueError, AttributeError):
        return False


def load_box_model(weights: str | os.PathLike) -> BoxTrackNet:
    from ..models.boxnet import load_nanotrack_v2

    if is_nanotrack_folder(weights):
        return load_nanotrack_v2(weights)
    from ..models.box_checkpoint import load_box_checkpoint

    return load_box_checkpoint(weights)


def box_backend(weights: str | os.PathLike | None, device: str | torch.device, model: BoxTrackNet | None,
                options: RuntimeOptions, sizes: tuple[int, int] = (127, 255)) -> Backend:
    """ONNX Runtime on the CPU with the default options (from the export beside the checkpoint when there
    is a fresh one: no PyTorch; else graphs exported in memory), else PyTorch."""
    checkpoint = None if model is not None or weights is None else os.fspath(weights)
    use_onnx = options.backend == "onnxruntime" or (options.onnx_eligible(device) and device_type(device) == "cpu")
    folder = box_export_beside(checkpoint) if model is None else None
    if use_onnx and folder is not None and sizes == (127, 255):
        engine = BoxOnnxEngine.from_folder(folder)
        return Backend(engine, engine.stride, "cpu", None, checkpoint, uses_torch=False)
    import torch

    from .box_engines import BoxTorchEngine

    net = model if model is not None else load_box_model(os.fspath(weights))
    if use_onnx:
        return Backend(BoxOnnxEngine.from_model(net, sizes=sizes), net.stride, "cpu", net, checkpoint,
                       uses_torch=False)
    device = torch.device(device)
    return Backend(BoxTorchEngine(net, device), net.stride, device, net, checkpoint, uses_torch=True)
