"""siamfc: fully-convolutional Siamese object tracking in PyTorch."""

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
