"""Which engine runs a tracker's network, from what the user gave and the runtime options: on the CPU
a checkpoint with its own export beside it runs without PyTorch, one without is exported in memory."""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

from ...errors import CheckpointError
from ...models.shipped import default_weights_path
from ..config import RuntimeOptions
from ..onnx_format import box_export_beside, export_folder, fresh_export, is_export, own_manifest

TYPE_CHECKING = False
if TYPE_CHECKING:
    import torch

    from ...models.boxnet import BoxTrackNet
    from ...models.network import SiamFCNet

NANOTRACK_FILES = ("nanotrack_backbone_sim.onnx", "nanotrack_head_sim.onnx")


@dataclass
class Backend:
    """An engine and what the tracker needs to know about it."""

    engine: object
    stride: int
    device: object  # a torch.device, or the device's name where no PyTorch is loaded (ONNX Runtime)
    net: SiamFCNet | BoxTrackNet | None  # the PyTorch model when it was loaded
    checkpoint: str | None  # the checkpoint file, from which ``net`` can be loaded later
    uses_torch: bool  # whether the engine runs PyTorch code (inference mode around a step)


def resolve_weights(weights: str | os.PathLike | None) -> str:
    """``None`` means the model shipped inside the package."""
    if weights is not None:
        return os.fspath(weights)
    path = default_weights_path()
    if not path.is_file():
        raise CheckpointError(f"{path}: the package ships no trained model yet; pass weights=PATH", str(path))
    return os.fspath(path)


def choose_backend(weights: str | os.PathLike | None, device: str | torch.device, model: SiamFCNet | None,
                   options: RuntimeOptions, sizes: tuple[int, int] = (127, 255), boxes: bool = False) -> Backend:
    """The engine of ``model``, or else of ``weights``, for crops of ``sizes`` (``boxes``: a box-head model)."""
    from .onnx_engines import BoxOnnxEngine, OnnxEngine

    path = None if model is not None else resolve_weights(weights)
    if path is not None and options.backend == "onnxruntime" and not os.path.exists(path):  # else load_model says
        raise CheckpointError(f"{path}: no such checkpoint file or ONNX export folder", path)
    onnx = options.backend == "onnxruntime" or options.onnx_eligible(device)
    if boxes:
        folder = box_export_beside(path) if onnx and sizes == (127, 255) else None
    elif path is not None and is_export(path):  # only ONNX Runtime reads an export folder
        folder, path = export_folder(path), None
    else:
        folder = fresh_export(path, sizes) if onnx and path is not None else None
    if folder is not None:  # no PyTorch
        engine = BoxOnnxEngine.from_folder(folder) if boxes else OnnxEngine.from_folder(folder, sizes)
        return Backend(engine, engine.stride, "cpu", None, path, uses_torch=False)
    import torch

    from ...models.checkpoint import load_model
    from .torch_engines import BoxTorchEngine, TorchEngine

    device = torch.device(device)
    net = model if model is not None else load_box_model(path) if boxes else load_model(path, device)
    if boxes:
        engine = BoxOnnxEngine.from_model(net, sizes) if onnx else BoxTorchEngine(net, device)
        return Backend(engine, net.stride, "cpu" if onnx else device, net, path, uses_torch=not onnx)
    net = net.to(device).eval()
    if options.resolved_backend(device, net) == "onnxruntime":  # exported in memory
        loaded = None if options.backend == "onnxruntime" else net
        return Backend(OnnxEngine.from_model(net, sizes), net.stride, device, loaded, path, uses_torch=False)
    engine = TorchEngine(net, device, optimize=options.optimize, dtype=options.dtype, compile=options.compile)
    return Backend(engine, net.stride, device, net, path, uses_torch=True)


def is_nanotrack_folder(path: str | os.PathLike | None) -> bool:
    return path is not None and Path(path).is_dir() and all((Path(path) / f).is_file() for f in NANOTRACK_FILES)


def is_box_model(weights: str | os.PathLike | None, model: object | None) -> bool:
    """Whether ``model`` or ``weights`` is a box-head model (or a NanoTrack v2 folder)."""
    if model is not None:
        return hasattr(model, "heads")
    if weights is None:
        return False
    if is_nanotrack_folder(weights) or box_export_beside(weights) is not None:
        return True
    if own_manifest(weights) is not None or importlib.util.find_spec("torch") is None:
        return False  # known without reading the checkpoint, which needs PyTorch (the base install has none)
    from ...models.checkpoint import is_box_checkpoint

    return is_box_checkpoint(weights)


def load_box_model(weights: str | os.PathLike) -> BoxTrackNet:
    if is_nanotrack_folder(weights):
        from ...models.boxnet import load_nanotrack_v2

        return load_nanotrack_v2(weights)
    from ...models.checkpoint import load_box_checkpoint

    return load_box_checkpoint(weights)
