"""SiamFCNet: a backbone (shared, or a pseudo-siamese pair) and a cross-correlation head."""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass

import torch
from torch import nn

from .backbones import build_backbone
from .heads import XCorrHead


@dataclass
class ModelConfig:
    """Everything needed to rebuild a model; stored inside every checkpoint."""

    backbone: str = "alexnet"
    width: float = 1.0
    channels: list[int] | None = None
    bn_eps: float = 1e-6
    out_scale: float = 0.001
    head_bias: bool = False
    pseudo_siamese: bool = False

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> ModelConfig:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise ValueError(f"unknown model config keys: {', '.join(unknown)}")
        if known.get("channels") is not None:
            known["channels"] = [int(c) for c in known["channels"]]
        return cls(**known)


class SiamFCNet(nn.Module):
    """Embeds exemplars and search crops and correlates them into response maps.

    The tracker embeds the exemplar once (``embed_exemplar``) and reuses the kernel for every
    frame (``embed_search`` + ``correlate``); training calls ``forward(z, x)``.
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        kwargs = {"width": config.width, "channels": config.channels, "bn_eps": config.bn_eps}
        self.backbone = build_backbone(config.backbone, **kwargs)
        self.search_backbone = copy.deepcopy(self.backbone) if config.pseudo_siamese else None
        self.head = XCorrHead(config.out_scale, config.head_bias)

    @property
    def stride(self) -> int:
        return self.backbone.stride

    def embed_exemplar(self, z: torch.Tensor) -> torch.Tensor:
        return self.backbone(z)

    def embed_search(self, x: torch.Tensor) -> torch.Tensor:
        return (self.search_backbone or self.backbone)(x)

    def correlate(self, kernels: torch.Tensor, search_features: torch.Tensor) -> torch.Tensor:
        return self.head(kernels, search_features)

    def forward(self, z: torch.Tensor, x: torch.Tensor, return_features: bool = False
                ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Response maps; with ``return_features``, (maps, exemplar features, search features), for
        losses on the embeddings (a feature teacher) inside one forward call (DistributedDataParallel)."""
        zf, xf = self.embed_exemplar(z), self.embed_search(x)
        response = self.correlate(zf, xf)
        return (response, zf, xf) if return_features else response


def build_model(config: ModelConfig | None = None, **overrides) -> SiamFCNet:
    """Build a SiamFCNet from a config, or from keyword overrides of the default config."""
    config = config or ModelConfig()
    if overrides:
        config = ModelConfig.from_dict({**config.to_dict(), **overrides})
    return SiamFCNet(config)
