"""Starting a model from pretrained weights, and giving a pretrained trunk its own learning rate."""

from __future__ import annotations

import os
from pathlib import Path

from torch import nn

from ..models.checkpoint import load_model
from ..models.mobilenetv3 import NanoTrackTrunk, load_nanotrack_onnx
from ..models.network import SiamFCNet


def init_from_pretrained(model: SiamFCNet, path: str | os.PathLike) -> None:
    """Load ``path`` into ``model``'s backbone(s): NanoTrack v2's backbone ONNX for a ``nanotrack_v2``
    backbone, or a siamfc checkpoint of the same architecture (its whole network)."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"pretrained weights {path} not found")
    if path.suffix == ".onnx":
        backbones = [b for b in (model.backbone, model.search_backbone) if b is not None]
        if not all(isinstance(b, NanoTrackTrunk) for b in backbones):
            raise ValueError(f"{path}: an ONNX backbone starts only the nanotrack_v2 backbone, "
                             f"not {model.config.backbone!r}")
        for backbone in backbones:
            load_nanotrack_onnx(backbone, path)
        return
    source = load_model(path)
    try:
        model.load_state_dict(source.state_dict())
    except RuntimeError as exc:
        raise ValueError(f"{path}: does not fit this model ({str(exc).splitlines()[0][:120]})") from None


def freeze(model: nn.Module, prefixes: list[str]) -> int:
    """Stop training the parameters whose names start with one of ``prefixes``; returns how many.
    A prefix that names nothing is an error (a typo would silently train everything)."""
    names = [name for name, _ in model.named_parameters()]
    for prefix in prefixes:
        if not any(name.startswith(prefix) for name in names):
            raise ValueError(f"optim.freeze: no parameter starts with {prefix!r} (e.g. {names[0]!r})")
    frozen = 0
    for name, param in model.named_parameters():
        if any(name.startswith(prefix) for prefix in prefixes):
            param.requires_grad_(False)
            frozen += 1
    return frozen


def parameter_groups(model: nn.Module, lr: float, backbone_lr_scale: float) -> list[dict]:
    """Optimizer groups: the pretrained trunks at ``lr * backbone_lr_scale``, everything else at ``lr``."""
    trunk_ids: set[int] = set()
    for module in model.modules():
        if isinstance(module, NanoTrackTrunk) and backbone_lr_scale != 1.0:
            trunk_ids |= {id(p) for p in module.trunk_parameters()}
    trainable = [p for p in model.parameters() if p.requires_grad]
    groups = [{"params": [p for p in trainable if id(p) not in trunk_ids], "lr": lr}]
    if trunk_ids:
        groups.append({"params": [p for p in trainable if id(p) in trunk_ids], "lr": lr * backbone_lr_scale})
    return [g for g in groups if g["params"]]
