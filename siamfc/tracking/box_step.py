"""The arithmetic of one step of a box-head model (:mod:`siamfc.models.boxnet`), for N targets at once:
decode each cell's box, penalise size and aspect changes, add the cosine window, take the best cell,
and move the target there with damped size (NanoTrack's and SiamRPN's post-processing, written from
the papers and OpenCV's description of TrackerNano).

Cell ``j`` of the (G, G) maps sits at ``(j - G // 2) * stride + S // 2`` pixels in the S-pixel search
crop (NanoTrack's grid: not centred, cell G // 2 is the crop's centre). Its box is the cell minus the
left/top distances and plus the right/bottom ones. Sizes are compared by the SiamFC "context size"
``sqrt((w + p)(h + p))``, ``p = (w + h) / 2``; the change penalty is ``exp(-k (r s - 1))`` with ``r``,
``s`` the aspect and size ratios taken >= 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MIN_SIDE = 10.0  # pixels: boxes never shrink below (OpenCV's TrackerNano keeps the same floor)


def context_size(w: np.ndarray, h: np.ndarray) -> np.ndarray:
    pad = (w + h) * 0.5
    return np.sqrt((w + pad) * (h + pad))


def at_least_one(ratio: np.ndarray) -> np.ndarray:
    return np.maximum(ratio, 1.0 / ratio)


def softmax_foreground(cls: np.ndarray) -> np.ndarray:
    """(N, 2, G, G) logits -> (N, G, G) probability of channel 1 (the target)."""
    return 1.0 / (1.0 + np.exp(np.clip(cls[:, 0] - cls[:, 1], -60, 60)))


@dataclass
class BoxGrid:
    """The cells' positions in the search crop and the cosine window."""

    cells: np.ndarray  # (G,) pixel position of each cell along an axis of the crop
    window: np.ndarray  # (G, G) square root of a Hann outer product (OpenCV's createHanningWindow; peak near 1)

    @classmethod
    def create(cls, grid_size: int, stride: int, search_size: int) -> BoxGrid:
        cells = (np.arange(grid_size) - grid_size // 2) * stride + search_size // 2
        return cls(cells.astype(np.float64), np.sqrt(np.outer(np.hanning(grid_size), np.hanning(grid_size))))


@dataclass
class BoxDecision:
    """The chosen cell of each target: its box in crop pixels and the damping weight."""

    center: np.ndarray  # (N, 2) cy, cx in crop pixels
    size: np.ndarray  # (N, 2) h, w in crop pixels
    rate: np.ndarray  # (N,) how far the size moves to the predicted one (lr x penalty x score)
    score: np.ndarray  # (N,) the foreground probability at the chosen cell
    cell: np.ndarray  # (N,) flat index of the chosen cell


def decide(cls: np.ndarray, box: np.ndarray, grid: BoxGrid, crop_sizes: np.ndarray, *, penalty_k: float,
           window_influence: float, lr: float) -> BoxDecision:
    """Pick each target's cell. ``cls``: (N, 2, G, G) logits; ``box``: (N, 4, G, G) distances (l, t,
    r, b) in crop pixels; ``crop_sizes``: (N, 2) the targets' current (h, w) in crop pixels."""
    n, g = cls.shape[0], cls.shape[-1]
    score = softmax_foreground(cls).reshape(n, g * g)
    cx, cy = grid.cells[None, None, :], grid.cells[None, :, None]
    x1, y1 = cx - box[:, 0], cy - box[:, 1]
    x2, y2 = cx + box[:, 2], cy + box[:, 3]
    w, h = (x2 - x1).reshape(n, -1), (y2 - y1).reshape(n, -1)
    th, tw = crop_sizes[:, 0:1], crop_sizes[:, 1:2]
    s = at_least_one(context_size(w, h) / context_size(tw, th))
    r = at_least_one((tw / th) / (w / h))
    penalty = np.exp(-(r * s - 1.0) * penalty_k)
    pscore = penalty * score * (1.0 - window_influence) + grid.window.reshape(1, -1) * window_influence
    best = pscore.argmax(axis=1)
    rows = np.arange(n)
    center = np.stack([((y1 + y2) / 2).reshape(n, -1)[rows, best], ((x1 + x2) / 2).reshape(n, -1)[rows, best]], 1)
    size = np.stack([h[rows, best], w[rows, best]], axis=1)
    rate = penalty[rows, best] * score[rows, best] * lr
    return BoxDecision(center, size, rate, score[rows, best], best)


def move(centers: np.ndarray, sizes: np.ndarray, decision: BoxDecision, scale: np.ndarray, search_size: int,
         image_shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """New centres (cy, cx) and sizes (h, w) in image pixels. ``scale``: (N,) image pixels per crop
    pixel. The centre goes to the chosen box's; the size moves ``rate`` of the way to its size;
    centres stay inside the image and sides within [10, image side]."""
    offset = (decision.center - search_size // 2) * scale[:, None]
    new_centers = centers + offset
    rate = decision.rate[:, None]
    new_sizes = sizes * (1.0 - rate) + decision.size * scale[:, None] * rate
    limits = np.array(image_shape, dtype=np.float64)
    new_centers = np.clip(new_centers, 0.0, limits)
    new_sizes = np.clip(new_sizes, MIN_SIDE, np.maximum(limits, MIN_SIDE))
    return new_centers, new_sizes
