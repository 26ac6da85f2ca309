"""Averaging the weights of checkpoints of one network: the last epochs of one run (SWA, Izmailov et al.,
2018, with BatchNorm's statistics recomputed), or a uniform "model soup" (Wortsman et al., 2022) of
fine-tuning runs from the same pretrained weights; SiamFC or box-head checkpoints, never a mix."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from ..errors import CheckpointError, SiamFCError
from .boxnet import BoxTrackNet
from .checkpoint import is_box_checkpoint, load_box_checkpoint, load_model
from .network import SiamFCNet


def average_states(states: Sequence[Mapping[str, torch.Tensor]], counters_from: int = -1) -> dict[str, torch.Tensor]:
    """The elementwise mean (in float64) of every floating-point tensor of ``states``; integer tensors
    (BatchNorm's step counters) are taken from ``states[counters_from]``."""
    if not states:
        raise CheckpointError("no checkpoints to average")
    first = states[0]
    for i, state in enumerate(states[1:], 1):
        if state.keys() != first.keys() or any(state[k].shape != first[k].shape for k in first):
            raise CheckpointError(f"checkpoint {i + 1} holds other tensors than the first; "
                                  "only checkpoints of one network can be averaged")
    kept = states[counters_from]
    return {k: (sum(s[k].double() for s in states) / len(states)).to(v.dtype) if v.is_floating_point()
            else kept[k].clone() for k, v in first.items()}


def average_checkpoints(paths: Sequence[str | os.PathLike], counters_from: int = -1) -> SiamFCNet | BoxTrackNet:
    """The network of ``paths[0]`` with the average of all ``paths``' weights (:func:`average_states`)."""
    if not paths:
        raise CheckpointError("no checkpoints to average")
    boxes = [is_box_checkpoint(p) for p in paths]
    load = load_box_checkpoint if boxes[0] else load_model
    family = "box-head" if boxes[0] else "SiamFC"
    models = []
    for path, box in zip(paths, boxes, strict=True):
        if box != boxes[0]:
            raise CheckpointError(f"{path}: another model family than {paths[0]} ({family}); only checkpoints "
                                  "of one network can be averaged", str(path))
        models.append(load(path))
        if models[-1].config != models[0].config:
            raise CheckpointError(f"{path}: another model ({models[-1].config.to_dict()}) than {paths[0]} "
                                  f"({models[0].config.to_dict()}); only checkpoints of one network can be averaged",
                                  str(path))
    model = models[0]
    model.load_state_dict(average_states([m.state_dict() for m in models], counters_from))
    return model.eval()


@torch.no_grad()
def recompute_batchnorm(model: nn.Module, pairs: Dataset, batches: int, batch_size: int = 8) -> int:
    """Reset every BatchNorm layer's running statistics to the plain average over ``batches`` batches of
    ``pairs`` (exemplars and searches, each its own forward pass as in training), then eval mode. Returns
    the number of layers updated."""
    layers = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not layers:
        return 0
    if batches < 1:
        raise SiamFCError(f"--recompute-bn batches must be 1 or more, got {batches}", "batches")
    momenta = [layer.momentum for layer in layers]
    for layer in layers:
        layer.reset_running_stats()
        layer.momentum = None  # a cumulative average over every forward pass
    model.train()
    loader = DataLoader(pairs, batch_size=batch_size, shuffle=False, drop_last=True)
    try:
        done = 0
        for z, x, *_ in loader:
            model.embed_exemplar(z.float())
            model.embed_search(x.float())
            done += 1
            if done == batches:
                break
        if done < batches:
            raise SiamFCError(f"only {done} batches of {batch_size} pairs to recompute BatchNorm on, {batches} "
                              "asked", "batches")
    finally:
        for layer, momentum in zip(layers, momenta, strict=True):
            layer.momentum = momentum
        model.eval()
    return len(layers)
