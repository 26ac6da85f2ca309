"""PyTorch engines: :class:`TorchEngine` for SiamFC models (plain, or optimized: docs/speed.md) and
:class:`BoxTorchEngine` for box-head ones."""

from __future__ import annotations

import copy

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ...models.boxnet import BoxTrackNet
from ...models.network import SiamFCNet, XCorrHead


def fuse_conv_bn(module: nn.Module) -> nn.Module:
    """A copy of ``module`` (eval mode), each ``BatchNorm2d`` after a ``Conv2d`` in a Sequential folded into it."""
    fused = copy.deepcopy(module).eval()
    for seq in fused.modules():
        if not isinstance(seq, nn.Sequential):
            continue
        names = list(seq._modules)
        for a, b in zip(names, names[1:], strict=False):
            conv, bn = seq._modules[a], seq._modules[b]
            if isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d) and bn.track_running_stats:
                seq._modules[a] = torch.nn.utils.fusion.fuse_conv_bn_eval(conv, bn)
                seq._modules[b] = nn.Identity()
    return fused


def compose_last_conv(kernel: torch.Tensor, conv: nn.Conv2d) -> tuple[torch.Tensor, torch.Tensor]:
    """``correlate(conv(h), kernel) == correlate(h, composed) + offset`` for ``conv`` of stride 1, no padding."""
    weight = conv.weight.detach().to(kernel.dtype)
    composed = F.conv_transpose2d(kernel, weight, groups=conv.groups)
    bias = conv.bias.detach().to(kernel.dtype) if conv.bias is not None else torch.zeros(
        weight.shape[0], dtype=kernel.dtype, device=kernel.device)
    offset = (bias * kernel.sum(dim=(0, 2, 3))).sum()
    return composed, offset


def fold_head(kernel: torch.Tensor, last_conv: nn.Conv2d | None, head: XCorrHead) -> tuple[torch.Tensor, torch.Tensor]:
    """``kernel`` (composed with ``last_conv``) times the head's scale, and the constant the maps then take."""
    offset = torch.zeros((), dtype=kernel.dtype, device=kernel.device)
    if last_conv is not None:
        kernel, offset = compose_last_conv(kernel, last_conv)
    bias = head.bias.detach().float().sum() if head.bias is not None else 0.0
    return kernel * float(head.out_scale), (offset * float(head.out_scale) + bias).reshape(1)


def correlate_gemm(features: torch.Tensor, kernels: torch.Tensor, scale_num: int) -> torch.Tensor:
    """N kernels (N, C, kh, kw) correlated with ``scale_num`` feature maps each (N * scale_num, C, H, W): one
    batched matrix product of every position with every kernel tap, summed along a strided view."""
    nk, c, h, w = features.shape
    n, _, kh, kw = kernels.shape
    taps = torch.bmm(features.permute(0, 2, 3, 1).reshape(n, scale_num * h * w, c), kernels.reshape(n, c, kh * kw))
    taps = taps.reshape(nk, h, w, kh * kw)
    s = taps.stride()
    oh, ow = h - kh + 1, w - kw + 1
    diagonals = taps.as_strided((nk, oh, ow, kh, kw), (s[0], s[1], s[2], s[1] + kw * s[3], s[2] + s[3]))
    return diagonals.sum(dim=(3, 4))


def exportable(net: SiamFCNet) -> bool:
    """Whether the maps are ``XCorrHead(embed_exemplar(z), embed_search(x))``, so that the optimized path
    and the ONNX export may correlate them as they like."""
    return (type(net).correlate is SiamFCNet.correlate and type(net).embed_search is SiamFCNet.embed_search
            and type(net).embed_exemplar is SiamFCNet.embed_exemplar and type(net.head) is XCorrHead)


def split_last_conv(backbone: nn.Module) -> tuple[nn.Module, nn.Conv2d] | None:
    """(trunk, last conv) when the backbone's own ``split_last()`` ends on a conv that composes; else None."""
    owner = next((cls for cls in type(backbone).__mro__ if "split_last" in vars(cls)), None)
    if owner is None or type(backbone).forward is not vars(owner).get("forward"):
        return None
    trunk, last = backbone.split_last()
    plain = isinstance(last, nn.Conv2d) and last.stride == (1, 1) and last.padding == (0, 0) and last.dilation == (1, 1)
    return (trunk, last) if plain else None


class TorchEngine:
    """SiamFC models in PyTorch; ``optimize=False``: the plain reference path."""

    input_format = "float_nchw"

    def __init__(self, net: SiamFCNet, device: torch.device, optimize: bool = True, dtype: str = "float32",
                 targets_per_call: int | None = None) -> None:
        """``targets_per_call``: targets whose crops go through the network at once (0: all; ``None``: one
        on the CPU, where a big batch spills out of the caches (docs/speed.md), all elsewhere)."""
        self.net, self.device, self.optimize, self.stride = net, device, optimize, net.stride
        self.dtype = getattr(torch, dtype)  # one of tracking.config.DTYPE_NAMES
        self.memory_format = torch.channels_last if optimize else torch.contiguous_format
        self.plain_head = optimize and exportable(net)
        self.composed = self.plain_head and split_last_conv(net.search_backbone or net.backbone) is not None
        self.targets_per_call = (1 if device.type == "cpu" else 0) if targets_per_call is None else targets_per_call
        if not optimize:
            return
        self.exemplar_net = fuse_conv_bn(net.backbone).to(device, memory_format=torch.channels_last)
        search = fuse_conv_bn(net.search_backbone or net.backbone).to(device, memory_format=torch.channels_last)
        self.search_net, self.last_conv = split_last_conv(search) if self.composed else (search, None)

    def _autocast(self) -> torch.autocast:
        return torch.autocast(self.device.type, dtype=self.dtype, enabled=self.optimize and self.dtype != torch.float32)

    @torch.inference_mode()
    def exemplar(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        if not self.optimize:
            return self.net.embed_exemplar(z), None
        with self._autocast():
            kernel = self.exemplar_net(z.contiguous(memory_format=torch.channels_last)).float()
        if not self.plain_head:
            return kernel, None
        kernel, offset = fold_head(kernel, self.last_conv, self.net.head)
        return kernel.contiguous(), offset

    def stack(self, kernels: list[tuple[torch.Tensor, torch.Tensor | None]], scale_num: int) -> tuple | None:
        """Kernels of all targets (N, C, h, w) and, for folded kernels, a per-crop offset (N * k, 1, 1)."""
        if not kernels:
            return None
        plain = self.plain_head  # kernels with offsets
        offsets = torch.cat([o for _, o in kernels]).repeat_interleave(scale_num)[:, None, None] if plain else None
        return torch.cat([k for k, _ in kernels]).contiguous(), offsets

    @torch.inference_mode()
    def responses(self, x: torch.Tensor, stacked: tuple) -> torch.Tensor:
        kernels, offsets = stacked
        if not self.optimize:
            return self.net.correlate(kernels, self.net.embed_search(x)).squeeze(1).float()
        n = len(kernels)
        k, per_call, out = x.shape[0] // n, self.targets_per_call or n, []
        for t in range(0, n, per_call):
            with self._autocast():
                features, chunk = self.search_net(x[t * k:(t + per_call) * k]), kernels[t:t + per_call]
                out.append(correlate_gemm(features, chunk.to(features.dtype), k) if self.plain_head
                           else self.net.correlate(chunk, features).squeeze(1))
        out = torch.cat(out).float()
        return out if offsets is None else out + offsets


class BoxTorchEngine:
    """A box-head model in PyTorch; maps come back as NumPy arrays."""

    input_format = "float_nchw"
    memory_format = torch.contiguous_format

    def __init__(self, net: BoxTrackNet, device: torch.device) -> None:
        self.net, self.device, self.stride = net.to(device).eval(), device, net.stride

    def exemplar(self, z: torch.Tensor) -> torch.Tensor:
        return self.net.embed_exemplar(z)

    def stack(self, kernels: list[torch.Tensor], scale_num: int) -> torch.Tensor | None:
        return torch.cat(kernels).repeat_interleave(scale_num, dim=0) if kernels else None

    def heads(self, x: torch.Tensor, stacked: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        cls, box = self.net.heads(stacked, self.net.embed_search(x))
        return cls.float().cpu().numpy(), box.float().cpu().numpy()

    def responses(self, x: torch.Tensor, stacked: torch.Tensor) -> np.ndarray:
        cls = self.heads(x, stacked)[0]
        return cls[:, 1] - cls[:, 0]  # foreground minus background logits
