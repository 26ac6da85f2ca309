"""Boxes, crops and windows. Pixel ``i`` has its centre at ``i``: a box ``x, y, w, h`` covers pixels
``x .. x+w-1``, centre ``x + (w-1)/2``."""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from .errors import FrameSizeError


def box_to_center(box: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``x, y, w, h`` -> centre ``(cy, cx)`` and size ``(h, w)``."""
    x, y, w, h = (float(v) for v in box)
    return np.array([y + (h - 1) / 2, x + (w - 1) / 2]), np.array([h, w])


def center_to_box(center: np.ndarray, size: np.ndarray) -> np.ndarray:
    """Inverse of :func:`box_to_center`."""
    (cy, cx), (h, w) = center, size
    return np.array([cx - (w - 1) / 2, cy - (h - 1) / 2, w, h], dtype=np.float64)


def exemplar_size(target_size: np.ndarray, context: float) -> float:
    """Side of the square exemplar region: the target plus ``context`` times its half-perimeter."""
    pad = context * float(np.sum(target_size))
    return float(np.sqrt(np.prod(target_size + pad)))


def crop_affine(center: np.ndarray, size: float, out_size: int) -> np.ndarray:
    """2x3 matrix mapping the pixels of an ``out_size`` crop of ``size`` image pixels around ``center``
    (cy, cx) to image pixels."""
    scale, offset, (cy, cx) = size / out_size, (out_size - 1) / 2, center
    return np.array([[scale, 0.0, cx - offset * scale], [0.0, scale, cy - offset * scale]])


def crop(image: np.ndarray, center: np.ndarray, size: float, out_size: int, border_value: tuple[float, ...],
         out: np.ndarray | None = None) -> np.ndarray:
    """Square crop of ``size`` pixels around ``center`` resized to ``out_size``, padded with
    ``border_value`` outside the image; written into ``out`` when given (no allocation)."""
    matrix = crop_affine(center, size, out_size)
    return cv2.warpAffine(image, matrix, (out_size, out_size), dst=out, flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=border_value)


def mean_color(image: np.ndarray) -> tuple[float, float, float]:
    """Per-channel mean (``cv2.mean`` is far faster than ``np.mean`` on large frames)."""
    return tuple(cv2.mean(image)[:3])


def hann_window(size: int) -> np.ndarray:
    """Outer product of two Hann windows, normalised to sum 1."""
    window = np.outer(np.hanning(size), np.hanning(size))
    return (window / window.sum()).astype(np.float32)


def cubic_upsample_matrix(size_in: int, size_out: int, a: float = -0.75) -> np.ndarray:
    """(size_out, size_in) float32 ``M`` with ``M @ x @ M.T`` equal (to float rounding) to ``cv2.resize``
    with ``INTER_CUBIC`` (half-pixel sampling, a = -0.75, replicated borders)."""
    matrix = np.zeros((size_out, size_in))
    for row in range(size_out):
        source = (row + 0.5) * size_in / size_out - 0.5
        left = int(np.floor(source))
        t = source - left
        weights = [((a * (t + 1) - 5 * a) * (t + 1) + 8 * a) * (t + 1) - 4 * a,
                   ((a + 2) * t - (a + 3)) * t * t + 1,
                   ((a + 2) * (1 - t) - (a + 3)) * (1 - t) * (1 - t) + 1]
        weights.append(1 - sum(weights))
        for offset, weight in enumerate(weights):
            matrix[row, min(max(left - 1 + offset, 0), size_in - 1)] += weight
    return matrix.astype(np.float32)


def iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of ``x, y, w, h`` boxes, row by row (arrays of shape (N, 4) or (4,))."""
    a, b = np.atleast_2d(a).astype(np.float64), np.atleast_2d(b).astype(np.float64)
    sides = np.minimum(a[:, :2] + a[:, 2:], b[:, :2] + b[:, 2:]) - np.maximum(a[:, :2], b[:, :2])
    inter = np.clip(sides[:, 0], 0, None) * np.clip(sides[:, 1], 0, None)
    union = a[:, 2] * a[:, 3] + b[:, 2] * b[:, 3] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def check_frame_size(expected: tuple[int, int] | None, shape: tuple[int, ...], where: str) -> tuple[int, int]:
    """(height, width) of ``shape``; a :class:`FrameSizeError` (key ``where``) unless it is the frames before's."""
    size = (int(shape[0]), int(shape[1]))
    if expected is not None and size != tuple(expected):
        raise FrameSizeError(f"{where}: {size[1]}x{size[0]} pixels, but the frames before it are "
                             f"{expected[1]}x{expected[0]}: one sequence must keep one frame size", where)
    return size


def box_problem(box: np.ndarray, width: int, height: int, corners_hint: bool = False) -> str | None:
    """Why an ``x, y, w, h`` box cannot start tracking in the frame (none of it inside), or None. With
    ``corners_hint`` (a box typed by hand), one that runs past the frame but would fit read as
    ``x1, y1, x2, y2`` is refused too, as the usual mix-up."""
    x, y, w, h = (float(v) for v in box)
    if min(x + w, width) - max(x, 0.0) <= 0 or min(y + h, height) - max(y, 0.0) <= 0:
        return f"lies outside the {width}x{height} frame"
    if corners_hint and (x + w > width or y + h > height) and 0 <= x < w <= width and 0 <= y < h <= height:
        return (f"extends past the {width}x{height} frame, but as x1,y1,x2,y2 it would fit: boxes are "
                f"x,y,w,h; did you mean {x:g},{y:g},{w - x:g},{h - y:g}?")
    return None


def crop_whole_pixels(image: np.ndarray, center: np.ndarray, size: float, out_size: int,
                      border_value: tuple[float, ...] | Callable[[], tuple[float, ...]],
                      out: np.ndarray | None = None) -> np.ndarray:
    """:func:`crop` as pysot and OpenCV's TrackerNano cut it (box-head models): ``int(size)`` whole pixels
    from ``int(c + 0.5) - (side + 1) // 2``, padded with ``border_value`` (or what it returns, called only
    when the crop pads: e.g. the frame's mean colour, once for all crops), resized bilinearly to ``out_size``."""
    side = max(int(size), 1)
    y0, x0 = (int(c + 0.5) - (side + 1) // 2 for c in center)
    if y0 >= 0 and x0 >= 0 and y0 + side <= image.shape[0] and x0 + side <= image.shape[1]:
        region = image[y0:y0 + side, x0:x0 + side]
    else:  # whole pixels shifted by whole pixels: the same pixels as slicing and padding
        region = cv2.warpAffine(image, np.array([[1.0, 0.0, x0], [0.0, 1.0, y0]]), (side, side),
                                flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_CONSTANT,
                                borderValue=border_value() if callable(border_value) else border_value)
    return cv2.resize(region, (out_size, out_size), dst=out, interpolation=cv2.INTER_LINEAR)
