"""siamfc: fully-convolutional Siamese object tracking. Public names load on first use (PEP 562),
so ``import siamfc`` and ``--help`` load no PyTorch."""

from __future__ import annotations

import importlib
import os

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (this import stays light)

# OpenMP threads that spin while idle slow every frame down on a shared CPU (docs/speed.md, Threads);
# only effective before torch loads, and a value the user set wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

_EXPORTS: dict[str, str] = {
    "CheckpointError": "siamfc.errors",
    "ModelConfig": "siamfc.models.network",
    "MultiTracker": "siamfc.tracking.tracker",
    "SiamFCNet": "siamfc.models.network",
    "SiamFCTracker": "siamfc.tracking.tracker",
    "TrackerConfig": "siamfc.tracking.tracker",
    "build_backbone": "siamfc.models.backbones",
    "build_model": "siamfc.models.network",
    "list_backbones": "siamfc.models.backbones",
    "load_model": "siamfc.models.checkpoint",
    "register_backbone": "siamfc.models.backbones",
    "save_checkpoint": "siamfc.models.checkpoint",
}

__all__ = ["CheckpointError", "ModelConfig", "MultiTracker", "SiamFCNet", "SiamFCTracker", "TrackerConfig",
           "build_backbone", "build_model", "list_backbones", "load_model", "register_backbone", "save_checkpoint"]
__version__ = "0.1.0"

if TYPE_CHECKING:
    from typing import Any

    from .errors import CheckpointError
    from .models.backbones import build_backbone, list_backbones, register_backbone
    from .models.checkpoint import load_model, save_checkpoint
    from .models.network import ModelConfig, SiamFCNet, build_model
    from .tracking.tracker import MultiTracker, SiamFCTracker, TrackerConfig


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'siamfc' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
