"""Recomputing BatchNorm's running statistics of a model on training pairs.

A weight average (SWA, Izmailov et al. 2018) mixes the weights of several checkpoints, but the mean of
their BatchNorm statistics is not the statistics of the averaged network's own activations: SWA
recomputes them with one pass over training data, which is what :func:`recompute_batchnorm` does."""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset


def batchnorm_layers(model: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    return [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]


@torch.no_grad()
def recompute_batchnorm(model: nn.Module, pairs: Dataset, batches: int, batch_size: int = 8) -> int:
    """Reset every BatchNorm layer's running mean and variance to the plain average over ``batches``
    batches of ``pairs`` (exemplar and search crops, each its own forward pass as in training), then
    put the model in eval mode. Returns the number of layers updated; the weights are untouched."""
    layers = batchnorm_layers(model)
    if not layers:
        return 0
    if batches < 1:
        raise ValueError(f"batches must be 1 or more, got {batches}")
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
            raise ValueError(f"only {done} batches of {batch_size} pairs to recompute BatchNorm on, "
                             f"{batches} asked")
    finally:
        for layer, momentum in zip(layers, momenta, strict=True):
            layer.momentum = momentum
        model.eval()
    return len(layers)
