"""One tracking step of a box-head model for N targets: one search crop per target (no scale
pyramid: the box map gives the size), the engine's maps, then :mod:`siamfc.tracking.box_step`.

It has the interface of :class:`siamfc.tracking.pipeline.HostPipeline`, so that the tracker, the lost
state, the re-detection and the template update serve both model families. The search side follows
the target's size every frame (the SiamFC context size times search / exemplar).
"""

from __future__ import annotations

import numpy as np

from .. import geometry
from .box_step import BoxGrid, context_size, decide, move
from .engine_io import engine_input
from .pipeline import TargetState, _boxes


class BoxSettings:
    """What a step needs from the tracker's config (:class:`siamfc.tracking.config.TrackerConfig`):
    ``window_influence``, ``scale_lr`` (the size damping rate) and ``penalty_k``."""

    def __init__(self, cfg, stride: int) -> None:
        self.cfg = cfg
        self.stride = stride
        self.response_size = -(-cfg.search_size // stride)  # a padded backbone: 255 -> 16 cells at stride 16
        self.grid = BoxGrid.create(self.response_size, stride, cfg.search_size)


class BoxPipeline:
    """Targets as NumPy arrays (one row a target): centres (cy, cx), sizes (h, w). Its ``maps`` are
    foreground logits: the lost state reads their peak as a probability."""

    probability_maps = True

    def __init__(self, engine, settings: BoxSettings, device) -> None:
        self.engine = engine
        self.geo = settings
        self.device = device
        self.kernels: list = []
        self.stacked = None
        self.centers = np.zeros((0, 2))
        self.sizes = np.zeros((0, 2))
        self.first_sizes = np.zeros((0, 2))
        self.colors: list[tuple[float, ...]] = []
        self.maps = np.zeros((0, settings.response_size, settings.response_size), np.float32)
        self._crops = np.empty((0, settings.cfg.search_size, settings.cfg.search_size, 3), np.uint8)

    def __len__(self) -> int:
        return len(self.centers)

    @property
    def x_sizes(self) -> np.ndarray:
        """Side of each target's search region in image pixels."""
        cfg = self.geo.cfg
        z = context_size(self.sizes[:, 1], self.sizes[:, 0])
        return z * cfg.search_size / cfg.exemplar_size

    def add(self, image: np.ndarray, box: np.ndarray) -> None:
        cfg = self.geo.cfg
        center, size = geometry.box_to_center(box)
        color = geometry.mean_color(image)
        z_side = float(context_size(size[1], size[0]))
        z = geometry.crop_whole_pixels(image, center, z_side, cfg.exemplar_size, color)
        self.kernels.append(self.engine.exemplar(engine_input(self.engine, z[None], self.device)))
        self.centers = np.vstack([self.centers, center])
        self.sizes = np.vstack([self.sizes, size])
        self.first_sizes = np.vstack([self.first_sizes, size])
        self.colors.append(color)
        self._changed()

    def remove(self, index: int) -> None:
        for name in ("centers", "sizes", "first_sizes"):
            setattr(self, name, np.delete(getattr(self, name), index, axis=0))
        del self.kernels[index], self.colors[index]
        self._changed()

    def _changed(self) -> None:
        """Re-stack the kernels and re-allocate the crop buffer (only on add/remove)."""
        s = self.geo.cfg.search_size
        self.stacked = self.engine.stack(self.kernels, 1)
        self._crops = np.empty((len(self), s, s, 3), np.uint8)

    def update(self, image: np.ndarray) -> np.ndarray:
        """Move every target to its place in ``image``; returns the (N, 4) boxes."""
        cfg, s = self.geo.cfg, self.geo.cfg.search_size
        x_sizes = self.x_sizes
        for t in range(len(self)):  # padded with this frame's mean colour, as NanoTrack pads
            geometry.crop_whole_pixels(image, self.centers[t], x_sizes[t], s, None, out=self._crops[t])
        cls, box = self.engine.heads(engine_input(self.engine, self._crops, self.device), self.stacked)
        self.maps = cls[:, 1] - cls[:, 0]
        scale = x_sizes / s  # image pixels per crop pixel
        decision = decide(cls, box, self.geo.grid, self.sizes / scale[:, None], penalty_k=cfg.penalty_k,
                          window_influence=cfg.window_influence, lr=cfg.scale_lr)
        self.centers, self.sizes = move(self.centers, self.sizes, decision, scale, s, image.shape[:2])
        return _boxes(self.centers, self.sizes)

    def state(self, index: int) -> TargetState:
        cfg = self.geo.cfg
        first = self.first_sizes[index]
        first_x = float(context_size(first[1], first[0]) * cfg.search_size / cfg.exemplar_size)
        return TargetState(center=self.centers[index].copy(), target_size=self.sizes[index].copy(),
                           x_size=float(self.x_sizes[index]),
                           x_size_range=(cfg.min_scale * first_x, cfg.max_scale * first_x),
                           size_range=(cfg.min_scale * first, cfg.max_scale * first),
                           avg_color=self.colors[index], kernel=self.kernels[index])

    def target(self, index: int) -> tuple[np.ndarray, np.ndarray, float]:
        return self.centers[index].copy(), self.sizes[index].copy(), float(self.x_sizes[index])

    def snapshot(self, index: int) -> tuple[np.ndarray, np.ndarray, float]:
        return self.target(index)

    @staticmethod
    def to_host(state: tuple) -> tuple[np.ndarray, np.ndarray, float]:
        return state

    def set_target(self, index: int, center: np.ndarray, size: np.ndarray, x_size: float) -> None:
        """Put a target at ``center`` with ``size`` (its search side follows from the size)."""
        self.centers[index], self.sizes[index] = center, size

    def target_color(self, index: int) -> tuple[float, ...]:
        return self.colors[index]

    def set_kernel(self, index: int, kernel: object) -> None:
        self.kernels[index] = kernel
        self.stacked = self.engine.stack(self.kernels, 1)

    def boxes(self) -> np.ndarray:
        return _boxes(self.centers, self.sizes)
