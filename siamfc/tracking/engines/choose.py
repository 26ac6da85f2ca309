"""What runs a tracker's network: PyTorch or ONNX Runtime engines behind one :class:`Engine` protocol, what
goes in and out of any engine, and which engine runs, from what the user gave and the runtime options: on the
CPU a checkpoint with its own export beside it runs without PyTorch, one without is exported in memory."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Protocol

import numpy as np

from ...errors import CheckpointError, NonFiniteError
from ...models.shipped import default_weights_path
from ..config import RuntimeOptions
from ..onnx_format import box_export_beside, export_folder, fresh_export, is_export, own_manifest

TYPE_CHECKING = False
if TYPE_CHECKING:
    import torch

    from ...models.boxnet import BoxTrackNet
    from ...models.network import SiamFCNet

NANOTRACK_FILES = ("nanotrack_backbone_sim.onnx", "nanotrack_head_sim.onnx")


class Engine(Protocol):
    """What the pipelines need of an engine (box-head ones also give ``heads(x, stacked)``: logits, distances)."""

    memory_format: object  # a torch.memory_format for float_nchw input
    input_format: str  # "float_nchw" (0-255 float tensors) or "uint8_nhwc" (crops as cut, NumPy)

    def exemplar(self, z: object) -> object: ...  # one target's kernel from its exemplar crop

    def stack(self, kernels: list, scale_num: int) -> object: ...  # all targets' kernels, each for k crops

    def responses(self, x: object, stacked: object) -> object: ...  # (N * k, R, R) float32 maps


def engine_input(engine: Engine, crops: np.ndarray, device: object) -> object:
    """uint8 (M, S, S, 3) crops as ``engine`` takes them (float (M, 3, S, S) tensors on ``device``)."""
    if engine.input_format == "uint8_nhwc":
        return crops
    import torch

    return torch.from_numpy(crops).to(device).permute(0, 3, 1, 2).to(
        torch.float32, memory_format=engine.memory_format)


def to_host(maps: object) -> np.ndarray:
    """An engine's response maps as a float32 NumPy array."""
    return maps if isinstance(maps, np.ndarray) else maps.float().cpu().numpy()


def check_finite(maps: np.ndarray) -> None:
    """A NonFiniteError when a step's maps hold a NaN or an infinity (the box would be meaningless)."""
    if not np.isfinite(maps).all():
        raise NonFiniteError("the response maps hold NaN or infinite values: the model's weights are broken "
                             "(or overflow in reduced precision; try dtype float32)", "weights")


def resolve_weights(weights: str | os.PathLike | None) -> str:
    """``None`` means the model shipped inside the package."""
    if weights is not None:
        return os.fspath(weights)
    path = default_weights_path()
    if not path.is_file():
        raise CheckpointError(f"{path}: the package ships no trained model yet; pass weights=PATH", str(path))
    return os.fspath(path)


def choose_backend(weights: str | os.PathLike | None, device: str | torch.device, model: SiamFCNet | None,
                   options: RuntimeOptions, sizes: tuple[int, int] = (127, 255), boxes: bool = False) -> tuple:
    """The engine of ``model``, or else of ``weights``, for crops of ``sizes`` (``boxes``: a box-head model),
    with its device (a ``torch.device``, or a name where no PyTorch is loaded), the PyTorch model when it
    was loaded, and the checkpoint it can be loaded from later."""
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
        return engine, "cpu", None, path
    import torch

    from ...models.checkpoint import load_model
    from .torch_engines import BoxTorchEngine, TorchEngine

    device = torch.device(device)
    net = model if model is not None else load_box_model(path) if boxes else load_model(path, device)
    if boxes:
        engine = BoxOnnxEngine.from_model(net, sizes) if onnx else BoxTorchEngine(net, device)
        return engine, "cpu" if onnx else device, net, path
    net = net.to(device).eval()
    if options.resolved_backend(device, net) == "onnxruntime":  # exported in memory
        return OnnxEngine.from_model(net, sizes), device, None if options.backend == "onnxruntime" else net, path
    return TorchEngine(net, device, optimize=options.optimize, dtype=options.dtype), device, net, path


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
