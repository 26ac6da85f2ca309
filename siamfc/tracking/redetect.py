"""Re-detection: one target's kernel searched over a grid of search crops ("tiles") at the target's
scale, spaced so that their response maps meet edge to edge; the tiles go through the engine as the
k "scales" of one target (its usual batched call, which every engine runs)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .. import geometry
from .engines import engine_input, to_host


@dataclass
class Detection:
    """The best tile's raw map, where its cells are in the image (``origin`` + index * ``cell``)."""

    map: np.ndarray  # (R, R)
    origin: np.ndarray  # (cy, cx) of cell (0, 0)
    cell: float  # image pixels between cells

    def position(self, flat_index: int) -> np.ndarray:
        r = self.map.shape[1]
        return self.origin + self.cell * np.array([flat_index // r, flat_index % r], dtype=np.float64)


def tile_step(x_size: float, search_size: int, response_size: int, stride: int) -> float:
    """Image pixels between tile centres whose maps meet edge to edge, for search regions of ``x_size``."""
    return (response_size - 1) * stride * x_size / search_size


def grid(center: np.ndarray, step: float, radius: int, image_shape: tuple[int, int]) -> np.ndarray:
    """Tile centres (T, 2) on a (2 * radius + 1)^2 grid around ``center``, nearest first, inside the image."""
    offsets = np.arange(-radius, radius + 1)
    dy, dx = np.meshgrid(offsets, offsets, indexing="ij")
    order = np.argsort((dy ** 2 + dx ** 2).ravel(), kind="stable")
    centers = np.asarray(center, np.float64) + step * np.stack([dy.ravel(), dx.ravel()], axis=1)[order]
    h, w = image_shape
    half = step / 2
    inside = ((centers[:, 0] + half >= 0) & (centers[:, 0] - half <= h - 1)
              & (centers[:, 1] + half >= 0) & (centers[:, 1] - half <= w - 1))
    return centers[inside]


def radius_for_frame(center: np.ndarray, step: float, image_shape: tuple[int, int]) -> int:
    """The smallest grid radius whose tiles cover the whole frame around ``center``."""
    h, w = image_shape
    far = max(center[0], h - 1 - center[0], center[1], w - 1 - center[1], 0.0)
    return max(0, math.ceil(far / step - 0.5))


@dataclass
class TileSearch:
    """Search tiles with an engine, on crops cut with OpenCV on the host."""

    engine: object
    search_size: int
    response_size: int
    stride: int
    device: object

    def maps(self, image: np.ndarray, kernel: object, centers: np.ndarray, x_size: float,
             color: tuple[float, ...]) -> np.ndarray:
        """Raw response maps (T, R, R) of ``kernel`` on tiles of ``x_size`` pixels at ``centers``."""
        s = self.search_size
        crops = np.empty((len(centers), s, s, 3), np.uint8)
        for i, c in enumerate(centers):
            geometry.crop(image, c, x_size, s, color, out=crops[i])
        x = engine_input(self.engine, crops, self.device)
        stacked = self.engine.stack([kernel], len(centers))
        r = self.response_size
        return to_host(self.engine.responses(x, stacked)).reshape(len(centers), r, r)

    def search(self, image: np.ndarray, kernel: object, centers: np.ndarray, x_size: float,
               color: tuple[float, ...], pick) -> Detection:
        """Search the tiles at ``centers``; ``pick(maps) -> index`` chooses the best tile."""
        maps = self.maps(image, kernel, centers, x_size, color)
        best = int(pick(maps))
        cell = self.stride * x_size / self.search_size
        origin = centers[best] - cell * (self.response_size - 1) / 2
        return Detection(maps[best], origin, cell)
