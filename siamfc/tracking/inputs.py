"""What the trackers take: RGB frames, boxes and devices, checked."""

from __future__ import annotations

import sys

import numpy as np

from ..devices import resolve_device_name
from ..errors import SiamFCError
from ..geometry import box_problem

TYPE_CHECKING = False
if TYPE_CHECKING:
    from PIL import Image


def as_rgb_array(image: np.ndarray | Image.Image) -> np.ndarray:
    """An RGB uint8 array (H, W, 3) or a PIL image, as such an array."""
    pil = sys.modules.get("PIL.Image")  # a PIL image can only exist once PIL is loaded
    if pil is not None and isinstance(image, pil.Image):
        image = np.asarray(image.convert("RGB"))
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3 or 0 in image.shape:
        shape = getattr(image, "shape", type(image).__name__)
        raise SiamFCError(f"expected an RGB image of shape (H, W, 3), got {shape}", "image")
    if image.dtype != np.uint8:  # every backend reads 0..255 bytes; others would be misread or refused
        raise SiamFCError(f"expected an RGB image of dtype uint8 (0..255), got {image.dtype}; convert it first, "
                          "e.g. (image * 255).round().astype(np.uint8) for floats in 0..1", "image")
    return image


def check_box(box: np.ndarray, image: np.ndarray) -> np.ndarray:
    """``box`` as float x, y, w, h, checked, that can start tracking in ``image``."""
    try:
        box = np.asarray(box, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise SiamFCError(f"box must be four numbers x, y, w, h, got {box!r}", "box") from exc
    if box.shape != (4,) or not np.all(np.isfinite(box)) or box[2] <= 0 or box[3] <= 0:
        raise SiamFCError(f"box must be finite x, y, w, h with w, h > 0, got {box.tolist()}", "box")
    if problem := box_problem(box, image.shape[1], image.shape[0]):
        raise SiamFCError(f"box {box.tolist()} {problem}", "box")
    return box


def checked_device(device: object) -> object:
    torch = sys.modules.get("torch")  # a torch.device can only exist once PyTorch is loaded
    if not (isinstance(device, str) or (torch is not None and isinstance(device, torch.device))):
        raise TypeError(f"device must be a name ('cpu', 'cuda', 'cuda:1', 'auto') or a torch.device, got {device!r}")
    resolved = resolve_device_name(str(device))
    return resolved if isinstance(device, str) else device
