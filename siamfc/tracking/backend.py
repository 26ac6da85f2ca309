"""Which engine runs a tracker's network, built from what the user gave (a checkpoint, an export
folder, a model) and the runtime options.

On the CPU with the default options a checkpoint that has a fresh ONNX export beside it
(``model.pth`` -> ``model.onnx/``, see :mod:`siamfc.tracking.onnx_format`; the shipped model has
one) runs from that export: NumPy, OpenCV and ONNX Runtime only, PyTorch is not imported. PyTorch
is imported for a checkpoint without an export (exported in memory), the torch backend, a GPU,
or a model object.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from ..errors import CheckpointError
from ..models.shipped import default_weights_path
from .config import RuntimeOptions, device_type
from .onnx_format import fresh_export, is_export

TYPE_CHECKING = False
if TYPE_CHECKING:
    import torch

    from ..models.network import SiamFCNet


@dataclass
class Backend:
    """An engine and what the tracker needs to know about it."""

    engine: object
    stride: int
    device: object  # a torch.device, or the device's name where no PyTorch is loaded (ONNX Runtime)
    net: SiamFCNet | None  # the PyTorch model when it was loaded
    checkpoint: str | None  # the checkpoint file, from which ``net`` can be loaded later
    uses_torch: bool  # whether the engine runs PyTorch code (inference mode around a step)


def resolve_weights(weights: str | os.PathLike | None) -> str:
    """``None`` means the model shipped inside the package."""
    if weights is not None:
        return os.fspath(weights)
    path = default_weights_path()
    if not path.is_file():
        raise CheckpointError(f"{path}: the package ships no trained model yet; pass weights=PATH")
    return os.fspath(path)


def choose_backend(weights: str | os.PathLike | None, device: str | torch.device, model: SiamFCNet | None,
                   options: RuntimeOptions, sizes: tuple[int, int] = (127, 255)) -> Backend:
    """The engine for ``model``, or else for ``weights`` (a checkpoint or an export folder), taking
    exemplar and search crops of ``sizes``."""
    if model is not None:
        return _from_model(model, device, options, sizes)
    path = resolve_weights(weights)
    if is_export(path):  # only ONNX Runtime reads an export folder (SiamFCTracker refuses another backend)
        return _onnx_backend(path, None, sizes)
    if (options.backend == "onnxruntime" or options.onnx_eligible(device)) and os.path.isfile(path):
        folder = fresh_export(path, sizes)
        if folder is not None:
            return _onnx_backend(os.fspath(folder), path, sizes)
    if options.backend == "onnxruntime":
        return _onnx_backend(path, path, sizes)  # exported in memory
    import torch

    from ..models.checkpoint import load_model

    return _from_model(load_model(path, torch.device(device)), device, options, sizes, checkpoint=path)


def _onnx_backend(source: str, checkpoint: str | None, sizes: tuple[int, int]) -> Backend:
    from .onnx_engine import OnnxEngine

    engine = OnnxEngine.create(weights=source, sizes=sizes)
    return Backend(engine, engine.stride, "cpu", None, checkpoint, uses_torch=False)


def _from_model(net: SiamFCNet, device: str | torch.device, options: RuntimeOptions, sizes: tuple[int, int],
                checkpoint: str | None = None) -> Backend:
    import torch

    from .engines import TorchEngine
    from .onnx_engine import OnnxEngine

    device = torch.device(device)
    if options.backend == "onnxruntime":
        return Backend(OnnxEngine.create(model=net, sizes=sizes), net.stride, device, None, checkpoint,
                       uses_torch=False)
    net = net.to(device).eval()
    if options.resolved_backend(device, net) == "onnxruntime":
        return Backend(OnnxEngine.create(model=net, sizes=sizes), net.stride, device, net, checkpoint,
                       uses_torch=False)
    engine = TorchEngine(net, device, optimize=options.optimize, dtype=options.dtype, compile=options.compile)
    return Backend(engine, net.stride, device, net, checkpoint, uses_torch=True)


__all__ = ["Backend", "choose_backend", "device_type", "resolve_weights"]
