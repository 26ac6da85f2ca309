"""One tracking step for N targets on the host (OpenCV crops, NumPy): :class:`HostPipeline` for SiamFC
models, :class:`BoxPipeline` for box-head ones; both, and the device pipeline, share :class:`Targets`."""

from __future__ import annotations

import functools
import sys

import cv2
import numpy as np
from threadpoolctl import ThreadpoolController

from .. import geometry
from .engines.choose import engine_input, to_host
from .step import Geometry, ScaleStep, TargetState, boxes, context_size, decide, move


def _copy(a: object) -> np.ndarray:
    return a.copy() if isinstance(a, np.ndarray) else a.cpu().numpy()


class Targets:
    """The targets' state, one row a target (centres (cy, cx), sizes (h, w), search sides, pad colours: NumPy
    arrays, or tensors on the device, as ``zeros`` makes them); ``scales``: crops per target."""

    ROWS = {"centers": (2,), "sizes": (2,), "x_sizes": (), "first_sizes": (2,), "first_x_sizes": (), "colors": (3,)}

    def __init__(self, engine, geo, device, scales: int = 1, zeros=np.zeros) -> None:
        self.engine, self.geo, self.device, self.scales = engine, geo, device, scales
        self.kernels: list = []
        for name, row in self.ROWS.items():
            setattr(self, name, zeros((0, *row)))
        self.maps = np.zeros((0, geo.response_size, geo.response_size), np.float32)
        self._changed()

    def __len__(self) -> int:
        return len(self.centers)

    def _append(self, kernel: object, **rows: object) -> None:
        self.kernels.append(kernel)
        for name, row in rows.items():
            setattr(self, name, np.vstack([getattr(self, name), row]) if np.ndim(row) else
                    np.append(getattr(self, name), row))
        self._changed()

    def remove(self, index: int) -> None:
        keep = [i for i in range(len(self)) if i != index]
        for name in self.ROWS:
            setattr(self, name, getattr(self, name)[keep])
        del self.kernels[index]
        self._changed()

    def _changed(self) -> None:
        """Re-stack the kernels and re-allocate the crops (on add and remove)."""
        s = self.geo.cfg.search_size
        self.stacked = self.engine.stack(self.kernels, self.scales)
        self._crops = np.empty((len(self) * self.scales, s, s, 3), np.uint8)

    def target(self, index: int) -> tuple[np.ndarray, np.ndarray, float]:
        """Centre (cy, cx), size (h, w) and search side of a target (copies)."""
        return _copy(self.centers[index]), _copy(self.sizes[index]), float(self.x_sizes[index])

    snapshot = target  # a target's state to set_target back later (the device pipeline's stays there)

    @staticmethod
    def to_host(state: tuple) -> tuple[np.ndarray, np.ndarray, float]:
        center, size, x_size = state
        return _copy(center), _copy(size), float(x_size)

    def set_target(self, index: int, center: np.ndarray, size: np.ndarray, x_size: float) -> None:
        self.centers[index], self.sizes[index] = center, size
        if "x_sizes" in vars(self):
            self.x_sizes[index] = x_size

    def target_color(self, index: int) -> tuple[float, ...]:
        return tuple(self.colors[index].tolist())

    def state(self, index: int) -> TargetState:
        cfg = self.geo.cfg
        first_size, first_x = _copy(self.first_sizes[index]), float(self.first_x_sizes[index])
        center, size, x_size = self.target(index)
        return TargetState(center=center, target_size=size, x_size=x_size,
                           x_size_range=(cfg.min_scale * first_x, cfg.max_scale * first_x),
                           size_range=(cfg.min_scale * first_size, cfg.max_scale * first_size),
                           avg_color=self.target_color(index), kernel=self.kernels[index])

    def boxes(self) -> np.ndarray:
        return _copy(boxes(self.centers, self.sizes))


class HostPipeline(ScaleStep, Targets):
    """SiamFC's step on the host; ``reference``: the plain step (OpenCV's upsampling) the others are tested against."""

    def __init__(self, engine, geo: Geometry, device, reference: bool = False) -> None:
        super().__init__(engine, geo, device, geo.cfg.scale_num)
        self.reference = reference
        self._blas = ThreadpoolController().select(user_api="blas")  # NumPy's BLAS, to limit per step

    def add(self, image: np.ndarray, box: np.ndarray) -> None:
        center, target_size, z_size, x_size = self.geo.first_state(box)
        color = geometry.mean_color(image)
        z = geometry.crop(image, center, z_size, self.geo.cfg.exemplar_size, color)
        kernel = self.engine.exemplar(engine_input(self.engine, z[None], self.device))
        self._append(kernel, centers=center, sizes=target_size, x_sizes=x_size, first_sizes=target_size,
                     first_x_sizes=x_size, colors=color)

    def _changed(self) -> None:
        super()._changed()
        n, k, s, r, u = len(self), self.scales, self.geo.cfg.search_size, self.geo.response_size, self.geo.upscale_size
        self._half = np.empty((n, k, u, r), np.float32)  # maps upsampled along one axis, then both
        self._up = np.empty((n, k, u, u), np.float32)
        self._x = None  # a PyTorch engine's float input, reused frame to frame (PyTorch is loaded for one)
        if n and self.engine.input_format == "float_nchw":
            self._x = sys.modules["torch"].empty((n * k, 3, s, s), device=self.device).contiguous(
                memory_format=self.engine.memory_format)

    def update(self, image: np.ndarray) -> np.ndarray:
        """Move every target to its place in ``image``; returns the (N, 4) boxes."""
        geo, k, n = self.geo, self.scales, len(self)
        for t in range(n):
            for i in range(k):
                geometry.crop(image, self.centers[t], self.x_sizes[t] * geo.scale_factors[i], geo.cfg.search_size,
                              self.colors[t], out=self._crops[t * k + i])
        if self.reference or self._x is None:
            x = engine_input(self.engine, self._crops, self.device)
        else:
            x = self._x.copy_(sys.modules["torch"].from_numpy(self._crops).permute(0, 3, 1, 2))
        r, u = geo.response_size, geo.upscale_size
        # NumPy's OpenBLAS would split these small products over threads that then spin, taking the
        # cores from the network's next run: one BLAS thread is faster per frame (docs/speed.md, Threads)
        with self._blas.limit(limits=None if self.reference else 1):
            responses = to_host(self.engine.responses(x, self.stacked)).reshape(n, k, r, r)
            if self.reference:
                maps = responses.reshape(-1, r, r)
                up = np.stack([cv2.resize(m, (u, u), interpolation=cv2.INTER_CUBIC) for m in maps])
            else:  # two matrix products (geometry.cubic_upsample_matrix) into reused buffers
                np.matmul(geo.cubic, responses, out=self._half)
                up = np.matmul(self._half, geo.cubic_t, out=self._up)
            scale_ids, peaks = self._peaks(up.reshape(n, k, u * u), geo.scale_penalties, geo.weighted_window)
        self.maps = responses[np.arange(n), scale_ids]  # each target's raw map at its chosen scale
        self._move(peaks, geo.scale_factors[scale_ids], image.shape[:2])
        return boxes(self.centers, self.sizes)


class BoxPipeline(Targets):
    """A box-head model's step: one search crop per target; ``maps`` are foreground logits."""

    ROWS = {name: Targets.ROWS[name] for name in ("centers", "sizes", "first_sizes", "colors")}
    probability_maps = True

    def _side(self, sizes: np.ndarray) -> np.ndarray:
        cfg = self.geo.cfg
        return context_size(sizes[..., 1], sizes[..., 0]) * cfg.search_size / cfg.exemplar_size

    @property
    def x_sizes(self) -> np.ndarray:
        return self._side(self.sizes)

    @property
    def first_x_sizes(self) -> np.ndarray:
        return self._side(self.first_sizes)

    def add(self, image: np.ndarray, box: np.ndarray) -> None:
        center, size = geometry.box_to_center(box)
        color = geometry.mean_color(image)
        z_side = float(context_size(size[1], size[0]))
        z = geometry.crop_whole_pixels(image, center, z_side, self.geo.cfg.exemplar_size, color)
        kernel = self.engine.exemplar(engine_input(self.engine, z[None], self.device))
        self._append(kernel, centers=center, sizes=size, first_sizes=size, colors=color)

    def update(self, image: np.ndarray) -> np.ndarray:
        cfg, s = self.geo.cfg, self.geo.cfg.search_size
        x_sizes = self.x_sizes
        mean = functools.cache(lambda: geometry.mean_color(image))  # once a frame, for the crops that pad
        for t in range(len(self)):  # padded with this frame's mean colour, as NanoTrack pads
            geometry.crop_whole_pixels(image, self.centers[t], x_sizes[t], s, mean, out=self._crops[t])
        cls, box = self.engine.heads(engine_input(self.engine, self._crops, self.device), self.stacked)
        self.maps = cls[:, 1] - cls[:, 0]
        scale = x_sizes / s  # image pixels per crop pixel
        decision = decide(cls, box, self.geo.grid, self.sizes / scale[:, None], penalty_k=cfg.penalty_k,
                          window_influence=cfg.window_influence, lr=cfg.scale_lr)
        self.centers, self.sizes = move(self.centers, self.sizes, decision, scale, s, image.shape[:2])
        return boxes(self.centers, self.sizes)


def make_pipeline(engine, cfg, stride: int, device, options, boxes: bool) -> Targets:
    """A tracker's step: the box family's, on the device (crop backend ``"torch"``) or on the host."""
    if boxes:
        return BoxPipeline(engine, Geometry(cfg, stride, boxes=True), device)
    if options.resolved_crop_backend(device) == "torch":
        from .device_pipeline import DevicePipeline

        return DevicePipeline(engine, Geometry(cfg, stride), device)
    return HostPipeline(engine, Geometry(cfg, stride), device, reference=not options.optimize)
