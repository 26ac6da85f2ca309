"""The network half of a tracking step, made fast for inference.

A tracking step embeds N*k search crops (N targets, k scales) and correlates each with its
target's exemplar kernel. :class:`TorchEngine` runs it in PyTorch, either plainly (the reference:
``net.embed_search`` + ``net.correlate``, exactly as trained) or optimized:

- BatchNorm folded into the convolutions (:func:`fuse_conv_bn`), channels-last tensors;
- for a backbone whose last layer is a plain convolution (AlexNet, MobileNet) and the plain
  cross-correlation head, that last convolution (linear, nothing after it) is composed with each
  target's exemplar kernel into one kernel on the penultimate features (:func:`compose_last_conv`):
  exact up to float rounding, and it removes the last layer's work from every frame; the
  correlation itself is a batched matrix product (:func:`correlate_gemm`) instead of a grouped
  convolution;
- optional ``torch.compile`` and autocast to bfloat16 / float16.

The ONNX Runtime engine lives in :mod:`siamfc.tracking.onnx_engine`; both expose ``exemplar`` (one
target's kernel), ``stack`` (kernels of all targets, prepared once per add/remove) and
``responses`` (the (N*k, R, R) float32 response maps of one frame).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Protocol

import torch
import torch.nn.functional as F
from torch import nn

from ..models.heads import XCorrHead
from ..models.network import SiamFCNet

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


class Engine(Protocol):
    """What the tracker needs from a backend."""

    memory_format: torch.memory_format
    input_format: str  # "float_nchw" (0-255 floats, memory_format) or "uint8_nhwc" (crops as cut)

    def exemplar(self, z: torch.Tensor) -> object: ...

    def stack(self, kernels: list, scale_num: int) -> object: ...

    def responses(self, x: torch.Tensor, stacked: object) -> torch.Tensor: ...


def fuse_conv_bn(module: nn.Module) -> nn.Module:
    """A deep copy of ``module`` (in eval mode) where every ``BatchNorm2d`` that directly follows
    a ``Conv2d`` inside an ``nn.Sequential`` is folded into that convolution."""
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
    """Compose ``conv`` (stride 1, no padding) with a correlation kernel applied after it.

    ``correlate(conv(h), kernel) == correlate(h, composed) + offset``, where ``kernel`` is
    (1, C_out, kh, kw) and ``composed`` (1, C_in, kh + 2, kw + 2) for a 3x3 conv.
    """
    weight = conv.weight.detach().to(kernel.dtype)
    composed = F.conv_transpose2d(kernel, weight, groups=conv.groups)
    bias = conv.bias.detach().to(kernel.dtype) if conv.bias is not None else torch.zeros(
        weight.shape[0], dtype=kernel.dtype, device=kernel.device)
    offset = (bias * kernel.sum(dim=(0, 2, 3))).sum()
    return composed, offset


def correlate_gemm(features: torch.Tensor, kernels: torch.Tensor, scale_num: int) -> torch.Tensor:
    """Cross-correlate N kernels (N, C, kh, kw) with their targets' ``scale_num`` feature maps each
    ((N * scale_num, C, H, W), best channels-last) -> (N * scale_num, H - kh + 1, W - kw + 1).

    One batched matrix product gives, at every feature position, the dot product with every
    kernel tap; summing the taps along the diagonals (a strided view) gives the correlation.
    On the CPU this is much faster than the grouped convolution with one output channel per group
    (docs/speed.md).
    """
    nk, c, h, w = features.shape
    n, _, kh, kw = kernels.shape
    taps = torch.bmm(features.permute(0, 2, 3, 1).reshape(n, scale_num * h * w, c), kernels.reshape(n, c, kh * kw))
    taps = taps.reshape(nk, h, w, kh * kw)
    s = taps.stride()
    oh, ow = h - kh + 1, w - kw + 1
    diagonals = taps.as_strided((nk, oh, ow, kh, kw), (s[0], s[1], s[2], s[1] + kw * s[3], s[2] + s[3]))
    return diagonals.sum(dim=(3, 4))


@dataclass
class StackedKernels:
    """Kernels of all targets (N, C, h, w) and, for composed kernels, a per-crop offset."""

    kernels: torch.Tensor
    offsets: torch.Tensor | None  # (N*k, 1, 1) or None
    scale_num: int


def _plain_head(net: SiamFCNet) -> bool:
    """True when responses are ``XCorrHead(embed_exemplar(z), embed_search(x))`` of the model's
    own backbones (so the engine may compute the correlation its own way)."""
    return (type(net).correlate is SiamFCNet.correlate and type(net).embed_search is SiamFCNet.embed_search
            and type(net).embed_exemplar is SiamFCNet.embed_exemplar and type(net.head) is XCorrHead)


def split_last_conv(backbone: nn.Module) -> tuple[nn.Module, nn.Conv2d] | None:
    """(trunk, last conv) when the backbone offers ``split_last()`` (see :mod:`siamfc.models.backbones`),
    its ``forward`` is the one that method describes (not overridden in a subclass), and the last
    layer is a plain convolution (stride 1, no padding or dilation) that :func:`compose_last_conv`
    can fold into an exemplar kernel; else None."""
    owner = next((cls for cls in type(backbone).__mro__ if "split_last" in vars(cls)), None)
    if owner is None or type(backbone).forward is not vars(owner).get("forward"):
        return None
    trunk, last = backbone.split_last()
    if not (isinstance(last, nn.Conv2d) and last.stride == (1, 1) and last.padding == (0, 0)
            and last.dilation == (1, 1)):
        return None
    return trunk, last


def _composable(net: SiamFCNet) -> bool:
    return split_last_conv(net.search_backbone or net.backbone) is not None


class TorchEngine:
    """PyTorch backend; ``optimize=False`` is the plain reference path."""

    input_format = "float_nchw"

    def __init__(
        self,
        net: SiamFCNet,
        device: torch.device,
        optimize: bool = True,
        dtype: str = "float32",
        compile: bool | str = False,
        targets_per_call: int | None = None,
    ) -> None:
        """``targets_per_call``: how many targets' crops go through the network at once (0: all;
        ``None``: one at a time on the CPU, all on other devices)."""
        if dtype not in DTYPES:
            raise ValueError(f"unknown dtype {dtype!r}; known: {', '.join(DTYPES)}")
        self.net = net
        self.device = device
        self.optimize = optimize
        self.dtype = DTYPES[dtype]
        self.memory_format = torch.channels_last if optimize else torch.contiguous_format
        self.plain_head = optimize and _plain_head(net)
        self.composed = self.plain_head and _composable(net)
        self.out_scale = float(net.head.out_scale) if isinstance(net.head, XCorrHead) else 1.0
        # On the CPU a batch of every target's crops runs slower than the same crops a target at a
        # time (the activations of a big batch spill out of the caches; docs/speed.md, Many targets).
        self.targets_per_call = targets_per_call if targets_per_call is not None else (
            1 if device.type == "cpu" else 0)
        if not optimize:
            return
        self.exemplar_net = fuse_conv_bn(net.backbone).to(device, memory_format=torch.channels_last)
        search = fuse_conv_bn(net.search_backbone or net.backbone).to(device, memory_format=torch.channels_last)
        if self.composed:
            self.search_net, self.last_conv = split_last_conv(search)
        else:
            self.search_net = search
        if compile:
            # True: inductor with frozen weights (prepacked for oneDNN on the CPU); a string is a
            # torch.compile mode, e.g. "reduce-overhead" (CUDA graphs) or "max-autotune".
            if isinstance(compile, str):
                self.search_net = torch.compile(self.search_net, mode=compile, dynamic=False)
            else:
                self.search_net = torch.compile(self.search_net, options={"freezing": True}, dynamic=False)

    def _autocast(self) -> torch.autocast:
        enabled = self.optimize and self.dtype != torch.float32
        return torch.autocast(self.device.type, dtype=self.dtype, enabled=enabled)

    @torch.inference_mode()
    def exemplar(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """One target's kernel from its exemplar crop (1, 3, h, w) float."""
        if not self.optimize:
            return self.net.embed_exemplar(z), None
        with self._autocast():
            kernel = self.exemplar_net(z.contiguous(memory_format=torch.channels_last)).float()
        if not self.plain_head:
            return kernel, None
        offset = torch.zeros((), device=kernel.device)
        if self.composed:
            kernel, offset = compose_last_conv(kernel, self.last_conv)
        # The head's scale is folded into the kernel and its bias into the offset.
        bias = self.net.head.bias
        offset = offset * self.out_scale + (bias.detach().float().sum() if bias is not None else 0.0)
        return (kernel * self.out_scale).contiguous(), offset.reshape(1)

    def stack(self, kernels: list[tuple[torch.Tensor, torch.Tensor | None]], scale_num: int) -> StackedKernels | None:
        if not kernels:
            return None
        stacked = torch.cat([k for k, _ in kernels]).contiguous()
        if not self.plain_head:
            return StackedKernels(stacked, None, scale_num)
        offsets = torch.cat([o for _, o in kernels]).repeat_interleave(scale_num)[:, None, None]
        return StackedKernels(stacked, offsets, scale_num)

    @torch.inference_mode()
    def responses(self, x: torch.Tensor, stacked: StackedKernels) -> torch.Tensor:
        """(N*k, R, R) float32 response maps for search crops ``x`` (N*k, 3, S, S) float."""
        if not self.optimize:
            return self.net.correlate(stacked.kernels, self.net.embed_search(x)).squeeze(1).float()
        k = stacked.scale_num
        n = x.shape[0] // k
        per_call = self.targets_per_call or n
        if per_call >= n:
            out = self._responses(x, stacked.kernels, k)
        else:
            out = torch.cat([self._responses(x[t * k:(t + per_call) * k], stacked.kernels[t:t + per_call], k)
                             for t in range(0, n, per_call)])
        return out if stacked.offsets is None else out + stacked.offsets

    def _responses(self, x: torch.Tensor, kernels: torch.Tensor, scale_num: int) -> torch.Tensor:
        with self._autocast():
            features = self.search_net(x)
            if not self.plain_head:
                return self.net.correlate(kernels, features).squeeze(1).float()
            return correlate_gemm(features, kernels.to(features.dtype), scale_num).float()
