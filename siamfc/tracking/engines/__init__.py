"""What runs a tracker's network: PyTorch or ONNX Runtime engines behind one :class:`Engine` protocol
(:mod:`.choose` picks one), and what goes in and out of any engine."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from ...errors import NonFiniteError


class Engine(Protocol):
    """What the pipelines need of an engine (box-head ones also give ``heads(x, stacked)``: logits, distances)."""

    memory_format: object  # a torch.memory_format for float_nchw input
    input_format: str  # "float_nchw" (0-255 float tensors) or "uint8_nhwc" (crops as cut, NumPy)

    def exemplar(self, z: object) -> object: ...  # one target's kernel from its exemplar crop

    def stack(self, kernels: list, scale_num: int) -> object: ...  # all targets' kernels, each for k crops

    def responses(self, x: object, stacked: object) -> object: ...  # (N * k, R, R) float32 maps


def engine_input(engine: Engine, crops: np.ndarray, device: object) -> object:
    """uint8 (M, S, S, 3) crops as ``engine`` takes them (float (M, 3, S, S) tensors on ``device``)."""
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
    """A NonFiniteError when a step's maps hold a NaN or an infinity (the box would be meaningless)."""
    if not np.isfinite(maps).all():
        raise NonFiniteError("the response maps hold NaN or infinite values: the model's weights are broken "
                             "(or overflow in reduced precision; try dtype float32)", "weights")
