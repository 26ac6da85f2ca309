"""The optimizer of ``optim:`` in the config, and its learning-rate schedule: a log-linear decay
from ``optim.lr`` to ``optim.final_lr`` over the run's steps (the SiamFC paper's schedule)."""

from __future__ import annotations

import math

import torch
from torch import nn

from .config import OptimConfig
from .pretrained import parameter_groups


def build_optimizer(model: nn.Module, cfg: OptimConfig, extra: list[nn.Parameter]) -> torch.optim.Optimizer:
    """SGD or AdamW over ``model`` (a pretrained trunk at ``backbone_lr_scale`` times the rate) and
    the ``extra`` parameters that train beside it (a feature teacher's adapter)."""
    params = parameter_groups(model, cfg.lr, cfg.backbone_lr_scale)
    if extra:
        params.append({"params": extra, "lr": cfg.lr})
    if cfg.name == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    if cfg.name == "adamw":
        return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    raise ValueError(f"optim.name {cfg.name!r}: unknown optimizer; known: sgd, adamw")


def build_schedule(optimizer: torch.optim.Optimizer, cfg: OptimConfig,
                   total_steps: int) -> torch.optim.lr_scheduler.LambdaLR:
    """The rate falls log-linearly from ``lr`` at step 0 to ``final_lr`` at ``total_steps``, then stays."""
    decay = math.log(cfg.final_lr / cfg.lr)
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: math.exp(decay * min(step, total_steps) / total_steps))
