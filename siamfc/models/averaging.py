"""Averaging the weights of checkpoints of one network: the last epochs of one run, or a uniform "model
soup" (Wortsman et al., 2022) of fine-tuning runs from the same pretrained weights; SiamFC or box-head
checkpoints, never a mix."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import torch

from ..errors import CheckpointError
from .boxnet import BoxTrackNet
from .checkpoint import is_box_checkpoint, load_box_checkpoint, load_model
from .network import SiamFCNet


def average_states(states: Sequence[Mapping[str, torch.Tensor]], counters_from: int = -1) -> dict[str, torch.Tensor]:
    """The elementwise mean (in float64) of every floating-point tensor of ``states``; integer tensors
    (BatchNorm's step counters) are taken from ``states[counters_from]``."""
    first = states[0]
    for i, state in enumerate(states[1:], 1):
        if state.keys() != first.keys() or any(state[k].shape != first[k].shape for k in first):
            raise CheckpointError(f"checkpoint {i + 1} holds other tensors than the first; "
                                  "only checkpoints of one network can be averaged")
    kept = states[counters_from]
    return {k: (sum(s[k].double() for s in states) / len(states)).to(v.dtype) if v.is_floating_point()
            else kept[k].clone() for k, v in first.items()}


def average_checkpoints(paths: Sequence[str | os.PathLike], counters_from: int = -1) -> SiamFCNet | BoxTrackNet:
    """The network of ``paths[0]`` with the average of all ``paths``' weights (:func:`average_states`); each
    checkpoint of the same family and config (another family's config never equals it)."""
    if not paths:
        raise CheckpointError("no checkpoints to average")
    models = [load_box_checkpoint(p) if is_box_checkpoint(p) else load_model(p) for p in paths]
    for path, model in zip(paths[1:], models[1:], strict=True):
        if model.config != models[0].config:
            raise CheckpointError(f"{path}: another model ({model.config.to_dict()}) than {paths[0]} "
                                  f"({models[0].config.to_dict()}); only checkpoints of one network can be averaged",
                                  str(path))
    models[0].load_state_dict(average_states([m.state_dict() for m in models], counters_from))
    return models[0].eval()
