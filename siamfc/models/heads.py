"""The SiamFC head: cross-correlation of exemplar kernels with search feature maps."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..registry import register


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
