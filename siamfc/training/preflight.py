"""Checks a training run makes before its slow setup (the crop cache can take hours): the network
builds from ``model:``, and takes the crop sizes of ``data:``. Each failure is one ValueError line
naming the keys, not a traceback at the first step."""

from __future__ import annotations

import torch

from ..models.network import ModelConfig, SiamFCNet, build_model
from .config import DataConfig


def build_checked_model(cfg: ModelConfig) -> SiamFCNet:
    """``build_model(cfg)``, its errors naming the keys that describe the network."""
    try:
        return build_model(cfg)
    except (ValueError, TypeError, RuntimeError) as exc:
        reason = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else type(exc).__name__
        if cfg.channels is not None:
            raise ValueError(f"model.channels = {cfg.channels}: the {cfg.backbone} backbone cannot be built "
                             f"from it ({reason})") from None
        raise ValueError(f"model.backbone = {cfg.backbone!r}, model.width = {cfg.width}: cannot build the "
                         f"network ({reason})") from None


def check_network_takes_crops(model: SiamFCNet, data: DataConfig, device: torch.device) -> None:
    """``data.exemplar_size`` must be smaller than ``data.search_size``, and the network must take
    both (one dry forward pass of a blank pair, in eval mode: no statistics change, no random draw)."""
    e, s = data.exemplar_size, data.search_size
    if e >= s:
        raise ValueError(f"data.exemplar_size ({e}) must be smaller than data.search_size ({s})")
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            response = model(torch.zeros(1, 3, e, e, device=device), torch.zeros(1, 3, s, s, device=device))
    except RuntimeError as exc:
        reason = str(exc).strip().splitlines()[0][:160]
        raise ValueError(f"data.exemplar_size = {e}, data.search_size = {s}: the {model.config.backbone} "
                         f"backbone cannot take these crop sizes ({reason})") from None
    finally:
        model.train(was_training)
    if min(response.shape[-2:]) < 1:
        raise ValueError(f"data.exemplar_size = {e}, data.search_size = {s}: the response map is empty")
