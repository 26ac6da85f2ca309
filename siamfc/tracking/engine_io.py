"""What goes into an engine and what comes out of it, for the host-side code (the host pipeline,
re-detection): crops in the engine's input format, response maps back as NumPy arrays.

The ONNX Runtime engine takes and gives NumPy arrays, so this module (and the host tracking path)
imports PyTorch only for a PyTorch engine.
"""

from __future__ import annotations

import numpy as np

from ..errors import NonFiniteError


def engine_input(engine, crops: np.ndarray, device) -> object:
    """uint8 (M, S, S, 3) crops -> what ``engine`` takes: the crops themselves (``uint8_nhwc``), or
    float (M, 3, S, S) tensors on ``device`` in the engine's memory format (``float_nchw``)."""
    if engine.input_format == "uint8_nhwc":
        return crops
    import torch

    return torch.from_numpy(crops).to(device).permute(0, 3, 1, 2).to(
        torch.float32, memory_format=engine.memory_format)


def to_host(maps: object) -> np.ndarray:
    """An engine's response maps as a float32 NumPy array (a PyTorch engine's are copied back)."""
    if isinstance(maps, np.ndarray):
        return maps
    return maps.float().cpu().numpy()


def check_finite(maps: np.ndarray) -> None:
    """A NonFiniteError when the response maps of a step (on the host, as the pipelines leave them:
    checking them costs no device sync) hold a NaN or an infinity (broken weights, or an overflow in
    reduced precision): the peak of such a map is meaningless, and so is the box."""
    if not np.isfinite(maps).all():
        raise NonFiniteError("the response maps hold NaN or infinite values: the model's weights are broken "
                             "(or overflow in reduced precision; try dtype float32)")
