"""SiamFCNet: a registered backbone (shared, or a pseudo-siamese pair) and its head, the cross-correlation of
exemplar kernels with search feature maps (registered head ``xcorr``)."""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..registry import build, register
from ..settings import build as build_settings
from ..settings import check, setting
from . import backbones  # noqa: F401 - registers the backbones


def cross_correlate(kernels: torch.Tensor, search: torch.Tensor) -> torch.Tensor:
    """N kernels (N, C, hk, wk) with their k search maps each (N*k, C, H, W, target by target): one grouped
    convolution giving (N*k, 1, H-hk+1, W-wk+1)."""
    n, c, hk, wk = kernels.shape
    nk, cs, h, w = search.shape
    if cs != c or nk % n:
        raise ValueError(f"cannot correlate kernels {tuple(kernels.shape)} with search {tuple(search.shape)}")
    if nk != n:
        kernels = kernels.repeat_interleave(nk // n, dim=0)
    out = F.conv2d(search.reshape(1, nk * c, h, w), kernels, groups=nk)
    return out.reshape(nk, 1, out.shape[-2], out.shape[-1])


@register("head", "xcorr")
class XCorrHead(nn.Module):
    """Cross-correlation scaled by ``out_scale``, plus a learned scalar bias with ``head_bias``."""

    def __init__(self, out_scale: float = 0.001, head_bias: bool = False) -> None:
        super().__init__()
        self.out_scale = out_scale
        self.bias = nn.Parameter(torch.zeros(1)) if head_bias else None

    def forward(self, kernels: torch.Tensor, search: torch.Tensor) -> torch.Tensor:
        out = cross_correlate(kernels, search) * self.out_scale
        return out if self.bias is None else out + self.bias


@dataclass
class ModelConfig:
    """Everything needed to rebuild a model; stored inside every checkpoint."""

    backbone: str = "alexnet"
    width: float = setting(1.0, gt=0, le=4.0)  # far wider than any real network would only exhaust memory
    channels: list[int] | None = setting(None, gt=0, le=4096)
    bn_eps: float = setting(1e-6, gt=0)
    out_scale: float = setting(0.001, gt=0)
    head_bias: bool = False
    pseudo_siamese: bool = False

    def __post_init__(self) -> None:
        check(self)

    def to_dict(self) -> dict:
        return asdict(self)


class SiamFCNet(nn.Module):
    """The tracker embeds the exemplar once (``embed_exemplar``) and correlates its kernel with every frame's
    search features (``embed_search`` + ``correlate``); training calls ``forward(z, x)``."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.backbone = build("backbone", config.backbone, config, key="backbone")
        self.search_backbone = copy.deepcopy(self.backbone) if config.pseudo_siamese else None
        self.head = build("head", "xcorr", config)
        self.stride = self.backbone.stride

    def embed_exemplar(self, z: torch.Tensor) -> torch.Tensor:
        return self.backbone(z)

    def embed_search(self, x: torch.Tensor) -> torch.Tensor:
        return (self.search_backbone or self.backbone)(x)

    def correlate(self, kernels: torch.Tensor, search_features: torch.Tensor) -> torch.Tensor:
        return self.head(kernels, search_features)

    def forward(self, z: torch.Tensor, x: torch.Tensor, return_features: bool = False
                ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Response maps; with ``return_features`` also both features (one call under DistributedDataParallel)."""
        zf, xf = self.embed_exemplar(z), self.embed_search(x)
        response = self.correlate(zf, xf)
        return (response, zf, xf) if return_features else response


def build_model(config: ModelConfig | None = None, **overrides) -> SiamFCNet:
    """A SiamFCNet from a config, or from keyword overrides of the default config."""
    config = config or ModelConfig()
    if overrides:
        config = build_settings(ModelConfig, {**config.to_dict(), **overrides})
    return SiamFCNet(config)
