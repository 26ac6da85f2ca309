"""Averaging the weights of several checkpoints of one run (the last epochs), as issue 11 allows in
place of the last epoch alone: an average of nearby points on one run's path lands in a flatter
spot than any of them (Izmailov et al., SWA, 2018). Checkpoints of different runs are not averaged
meaningfully: trained from different random weights they sit in different basins."""

from __future__ import annotations

import os

from ..errors import CheckpointError
from .checkpoint import load_model
from .network import SiamFCNet


def average_checkpoints(paths: list[str | os.PathLike]) -> SiamFCNet:
    """The model of the first checkpoint with every floating-point tensor (weights and BatchNorm's
    running statistics) replaced by its mean over all ``paths``; integer buffers (BatchNorm's step
    counters) keep the last checkpoint's value. A CheckpointError if the models differ."""
    if not paths:
        raise CheckpointError("no checkpoints to average")
    model = load_model(paths[0])
    sums = {k: v.double().clone() if v.is_floating_point() else v.clone() for k, v in model.state_dict().items()}
    for path in paths[1:]:
        other = load_model(path)
        if other.config != model.config:
            raise CheckpointError(f"{path}: another model ({other.config.to_dict()}) than {paths[0]} "
                                  f"({model.config.to_dict()}); only checkpoints of one network can be averaged")
        for key, value in other.state_dict().items():
            sums[key] = sums[key] + value.double() if value.is_floating_point() else value.clone()
    reference = model.state_dict()
    model.load_state_dict({k: (v / len(paths)).to(reference[k].dtype) if reference[k].is_floating_point() else v
                           for k, v in sums.items()})
    return model.eval()
