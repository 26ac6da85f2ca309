"""siamfc: fully-convolutional Siamese object tracking in PyTorch."""

import os

# OpenMP threads that spin while idle cost 7x per frame on a shared 2-core CPU (docs/speed.md);
# only effective before torch loads, and a value the user set wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

# ruff: noqa: E402

from .backbones import build_backbone, list_backbones, register_backbone
from .checkpoint import CheckpointError, load_model, save_checkpoint
from .model import ModelConfig, SiamFCNet, build_model
from .tracker import MultiTracker, SiamFCTracker, TrackerConfig

__all__ = [
    "CheckpointError",
    "ModelConfig",
    "MultiTracker",
    "SiamFCNet",
    "SiamFCTracker",
    "TrackerConfig",
    "build_backbone",
    "build_model",
    "list_backbones",
    "load_model",
    "register_backbone",
    "save_checkpoint",
]
__version__ = "0.1.0"
