"""siamfc: fully-convolutional Siamese object tracking. Public names load on first use (PEP 562),
so ``import siamfc`` and ``--help`` load no PyTorch."""

from __future__ import annotations

import importlib
import os

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (this import stays light)

# OpenMP threads that spin while idle slow every frame down on a shared CPU (docs/speed.md, Threads);
# only effective before torch loads, and a value the user set wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

#: each public name -> the module that defines it, imported on first use
_EXPORTS: dict[str, str] = {name: module for module, names in {
    "siamfc.errors": ("CheckpointError",),
    "siamfc.models.backbones": ("build_backbone", "list_backbones", "register_backbone"),
    "siamfc.models.checkpoint": ("load_model", "save_checkpoint"),
    "siamfc.models.network": ("ModelConfig", "SiamFCNet", "build_model"),
    "siamfc.tracking.tracker": ("MultiTracker", "SiamFCTracker", "TrackerConfig"),
}.items() for name in names}

__all__ = ["CheckpointError", "ModelConfig", "MultiTracker", "SiamFCNet", "SiamFCTracker", "TrackerConfig",
           "build_backbone", "build_model", "list_backbones", "load_model", "register_backbone", "save_checkpoint"]
__version__ = "0.1.0"

if TYPE_CHECKING:
    from .errors import CheckpointError
    from .models.backbones import build_backbone, list_backbones, register_backbone
    from .models.checkpoint import load_model, save_checkpoint
    from .models.network import ModelConfig, SiamFCNet, build_model
    from .tracking.tracker import MultiTracker, SiamFCTracker, TrackerConfig


def __getattr__(name: str) -> object:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'siamfc' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
