"""Which engine runs a tracker's network, from what the user gave and the runtime options: on the CPU
a checkpoint with its own export beside it runs without PyTorch, one without is exported in memory."""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

from ...errors import CheckpointError
from ...models.shipped import default_weights_path
from ..config import RuntimeOptions, device_type
from ..onnx_format import box_export_beside, fresh_export, is_export, own_manifest

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
                   options: RuntimeOptions, sizes: tuple[int, int] = (127, 255)) -> Backend:
    """The engine of SiamFC ``model``, or else of ``weights``, for crops of ``sizes``."""
    from .onnx_engines import OnnxEngine

    if model is not None:
        return _from_model(model, device, options, sizes)
    path = resolve_weights(weights)
    if is_export(path):  # only ONNX Runtime reads an export folder (the tracker refuses another backend)
        folder, checkpoint = path, None
    elif (options.backend == "onnxruntime" or options.onnx_eligible(device)) and os.path.isfile(path):
        folder, checkpoint = fresh_export(path, sizes), path
    else:
        folder, checkpoint = None, path
    if folder is not None or options.backend == "onnxruntime":  # without a folder: exported in memory
        engine = OnnxEngine.create(weights=folder or path, sizes=sizes)
        return Backend(engine, engine.stride, "cpu", None, checkpoint, uses_torch=False)
    import torch

    from ...models.checkpoint import load_model

    return _from_model(load_model(path, torch.device(device)), device, options, sizes, checkpoint=path)


def _from_model(net: SiamFCNet, device: str | torch.device, options: RuntimeOptions, sizes: tuple[int, int],
                checkpoint: str | None = None) -> Backend:
    import torch

    from .onnx_engines import OnnxEngine
    from .torch_engines import TorchEngine

    device = torch.device(device)
    if options.backend == "onnxruntime":
        return Backend(OnnxEngine.create(model=net, sizes=sizes), net.stride, device, None, checkpoint, False)
    net = net.to(device).eval()
    if options.resolved_backend(device, net) == "onnxruntime":
        return Backend(OnnxEngine.create(model=net, sizes=sizes), net.stride, device, net, checkpoint, False)
    engine = TorchEngine(net, device, optimize=options.optimize, dtype=options.dtype, compile=options.compile)
    return Backend(engine, net.stride, device, net, checkpoint, uses_torch=True)


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


def box_backend(weights: str | os.PathLike | None, device: str | torch.device, model: BoxTrackNet | None,
                options: RuntimeOptions, sizes: tuple[int, int] = (127, 255)) -> Backend:
    """A box-head model's engine: ONNX Runtime on the CPU with the default options, else PyTorch."""
    from .onnx_engines import BoxOnnxEngine

    checkpoint = None if model is not None or weights is None else os.fspath(weights)
    use_onnx = options.backend == "onnxruntime" or (options.onnx_eligible(device) and device_type(device) == "cpu")
    folder = box_export_beside(checkpoint) if model is None else None
    if use_onnx and folder is not None and sizes == (127, 255):
        engine = BoxOnnxEngine.from_folder(folder)
        return Backend(engine, engine.stride, "cpu", None, checkpoint, uses_torch=False)
    import torch

    from .torch_engines import BoxTorchEngine

    net = model if model is not None else load_box_model(os.fspath(weights))
    if use_onnx:
        return Backend(BoxOnnxEngine.from_model(net, sizes=sizes), net.stride, "cpu", net, checkpoint, False)
    device = torch.device(device)
    return Backend(BoxTorchEngine(net, device), net.stride, device, net, checkpoint, uses_torch=True)
