"""The arithmetic of one tracking step: SiamFC's (scale pyramid, penalty, window, damping), written once
for NumPy arrays and PyTorch tensors; and the box-head family's (NanoTrack's, as OpenCV's TrackerNano)."""

from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np

from .. import geometry

MIN_SIDE = 10.0  # pixels: a box-head model's boxes never shrink below (as OpenCV's TrackerNano)


@dataclass
class TargetState:
    """What the tracker knows of one target between frames (a snapshot)."""

    center: np.ndarray  # (cy, cx)
    target_size: np.ndarray  # (h, w)
    x_size: float  # side of the search region at scale 1, in image pixels
    x_size_range: tuple[float, float]
    size_range: tuple[np.ndarray, np.ndarray]
    avg_color: tuple[float, ...]
    kernel: object  # the engine's exemplar kernel

    @property
    def box(self) -> np.ndarray:
        return geometry.center_to_box(self.center, self.target_size)


def boxes(centers: object, sizes: object) -> object:
    """(N, 2) centres (cy, cx) and sizes (h, w) -> (N, 4) boxes x, y, w, h: NumPy arrays, or tensors."""
    columns = [centers[:, 1] - (sizes[:, 1] - 1) / 2, centers[:, 0] - (sizes[:, 0] - 1) / 2, sizes[:, 1], sizes[:, 0]]
    return np.stack(columns, axis=1) if isinstance(centers, np.ndarray) else sys.modules["torch"].stack(columns, 1)


class Geometry:
    """Sizes, scale factors, penalties and the cosine window of a SiamFC step (``boxes``: a box-head step's
    grid; its ``window_influence``, ``scale_lr`` and ``penalty_k`` from the config)."""

    def __init__(self, cfg, stride: int, boxes: bool = False) -> None:
        self.cfg, self.stride = cfg, stride
        if boxes:
            self.response_size = -(-cfg.search_size // stride)  # a padded backbone: 255 -> 16 cells at stride 16
            self.grid = BoxGrid.create(self.response_size, stride, cfg.search_size)
            return
        self.response_size = (cfg.search_size - cfg.exemplar_size) // stride + 1
        self.upscale_size = cfg.response_up * self.response_size
        self.weighted_window = cfg.window_influence * geometry.hann_window(self.upscale_size).reshape(1, -1)
        self.cubic = geometry.cubic_upsample_matrix(self.response_size, self.upscale_size)
        self.cubic_t = np.ascontiguousarray(self.cubic.T)
        offsets = np.arange(cfg.scale_num) - (cfg.scale_num - 1) / 2
        self.scale_factors = cfg.scale_step ** offsets
        self.scale_penalties = (cfg.scale_penalty ** np.abs(offsets)).astype(np.float32)

    def first_state(self, box: np.ndarray) -> tuple[np.ndarray, np.ndarray, float, float]:
        """Centre, size, exemplar side and search side (at scale 1) of a new target."""
        center, target_size = geometry.box_to_center(box)
        z_size = geometry.exemplar_size(target_size, self.cfg.context)
        return center, target_size, z_size, z_size * self.cfg.search_size / self.cfg.exemplar_size


class ScaleStep:
    """SiamFC's step on a pipeline's ``centers``, ``sizes``, ``x_sizes``, ``first_sizes``, ``first_x_sizes``."""

    def _peaks(self, up: object, penalties: object, weighted_window: object) -> tuple[object, object]:
        """Each target's scale (largest maximum times penalty) and windowed peak; ``up``: (N, k, U * U) maps."""
        n, u = up.shape[0], self.geo.upscale_size
        host = isinstance(up, np.ndarray)  # else tensors: rows made on their device (no upload, no sync)
        rows = np.arange(n) if host else sys.modules["torch"].arange(n, device=up.device)
        scale_ids = ((up.max(axis=2) if host else up.amax(2)) * penalties).argmax(1)
        best = up[rows, scale_ids] * penalties[scale_ids][:, None]
        best -= best.min(axis=1, keepdims=True) if host else best.amin(1, keepdim=True)
        best /= best.sum(axis=1, keepdims=True) + 1e-16
        best *= 1 - self.geo.cfg.window_influence
        best += weighted_window
        flat = best.argmax(1)
        peaks = (np.stack if host else sys.modules["torch"].stack)([flat // u, flat % u], 1)
        return scale_ids, peaks.astype(np.float64) if host else peaks.double()

    def _move(self, peaks: object, factors: object, image_shape: tuple[int, int]) -> None:
        """Centres to the peaks, sizes damped towards the chosen scales' ``factors``, both within limits."""
        cfg, geo = self.geo.cfg, self.geo
        disp = (peaks - (geo.upscale_size - 1) / 2) * geo.stride / cfg.response_up
        centers = self.centers + disp * (self.x_sizes * factors / cfg.search_size)[:, None]
        for axis, side in enumerate(image_shape):
            centers[:, axis] = centers[:, axis].clip(0, side - 1)
        self.centers = centers
        scales = (1 - cfg.scale_lr) + cfg.scale_lr * factors
        self.x_sizes = (self.x_sizes * scales).clip(cfg.min_scale * self.first_x_sizes,
                                                    cfg.max_scale * self.first_x_sizes)
        self.sizes = (self.sizes * scales[:, None]).clip(cfg.min_scale * self.first_sizes,
                                                         cfg.max_scale * self.first_sizes)


def context_size(w: np.ndarray, h: np.ndarray) -> np.ndarray:
    """``sqrt((w + p)(h + p))``, ``p = (w + h) / 2``."""
    pad = (w + h) * 0.5
    return np.sqrt((w + pad) * (h + pad))


@dataclass
class BoxGrid:
    """The cells' positions along the search crop (cell G // 2 at its centre) and the cosine window."""

    cells: np.ndarray
    window: np.ndarray

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
    """Each target's cell from ``cls`` (N, 2, G, G) logits and ``box`` (N, 4, G, G) distances (l, t, r, b);
    a size or aspect unlike ``crop_sizes`` (N, 2) is penalised by ``exp(-k (r s - 1))``."""
    n, g = cls.shape[0], cls.shape[-1]
    score = (1.0 / (1.0 + np.exp(np.clip(cls[:, 0] - cls[:, 1], -60, 60)))).reshape(n, g * g)
    cx, cy = grid.cells[None, None, :], grid.cells[None, :, None]
    x1, y1 = cx - box[:, 0], cy - box[:, 1]
    x2, y2 = cx + box[:, 2], cy + box[:, 3]
    w, h = (x2 - x1).reshape(n, -1), (y2 - y1).reshape(n, -1)
    th, tw = crop_sizes[:, 0:1], crop_sizes[:, 1:2]
    s, r = context_size(w, h) / context_size(tw, th), (tw / th) / (w / h)
    s, r = np.maximum(s, 1.0 / s), np.maximum(r, 1.0 / r)  # size and aspect changes, each at least one
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
    """Centres to the chosen boxes', sizes ``rate`` of the way to theirs (``scale``: image pixels per crop
    pixel), within the image."""
    new_centers = centers + (decision.center - search_size // 2) * scale[:, None]
    rate = decision.rate[:, None]
    new_sizes = sizes * (1.0 - rate) + decision.size * scale[:, None] * rate
    limits = np.array(image_shape, dtype=np.float64)
    return np.clip(new_centers, 0.0, limits), np.clip(new_sizes, MIN_SIDE, np.maximum(limits, MIN_SIDE))
