"""The engines that run a tracker's network: PyTorch (:mod:`.torch_engines`) and ONNX Runtime
(:mod:`.onnx_engines`, no PyTorch), for SiamFC and box-head models, behind one :class:`Engine`
protocol; :mod:`.choose` picks one. Here: what goes in and comes out of any engine."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from ...errors import NonFiniteError


class Engine(Protocol):
    """What the pipelines need from an engine. Box-head engines also give ``heads(x, stacked)``:
    classification logits (M, 2, G, G) and box distances (M, 4, G, G)."""

    memory_format: object  # a torch.memory_format for float_nchw input
    input_format: str  # "float_nchw" (0-255 float tensors) or "uint8_nhwc" (crops as cut, NumPy)

    def exemplar(self, z: object) -> object:
        """One target's kernel from its exemplar crop (1, ...)."""

    def stack(self, kernels: list, scale_num: int) -> object:
        """The kernels of all targets, prepared once per add or remove, each for ``scale_num`` crops."""

    def responses(self, x: object, stacked: object) -> object:
        """(N * k, R, R) float32 response maps of search crops (N * k, ...)."""


def engine_input(engine: Engine, crops: np.ndarray, device: object) -> object:
    """uint8 (M, S, S, 3) crops as ``engine`` takes them: themselves, or float (M, 3, S, S) tensors
    on ``device`` in the engine's memory format."""
    if engine.input_format == "uint8_nhwc":
        return crops
    import torch

    return torch.from_numpy(crops).to(device).permute(0, 3, 1, 2).to(
        torch.float32, memory_format=engine.memory_format)


def to_host(maps: object) -> np.ndarray:
    """An engine's response maps as a float32 NumPy array."""
    if isinstance(maps, np.ndarray):
        return maps
    return maps.float().cpu().numpy()


def check_finite(maps: np.ndarray) -> None:
    """A NonFiniteError when a step's maps (on the host) hold a NaN or an infinity: broken weights,
    or an overflow in reduced precision; the box of such a map is meaningless."""
    if not np.isfinite(maps).all():
        raise NonFiniteError("the response maps hold NaN or infinite values: the model's weights are broken "
                             "(or overflow in reduced precision; try dtype float32)", "weights")
