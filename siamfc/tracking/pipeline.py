"""One tracking step for N targets: crop k scales per target, run the network, find each peak,
move and rescale each box (the paper's inference: scale pyramid, cosine window, scale penalty,
damping).

:class:`HostPipeline` crops with OpenCV and searches the peaks with NumPy (the CPU default, and
with ``reference=True`` and a plain engine the reference path); with the ONNX Runtime engine it
imports no PyTorch. :class:`siamfc.tracking.device_pipeline.DevicePipeline` does the same on the
network's device.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from threadpoolctl import ThreadpoolController

from .. import geometry
from .engine_io import engine_input, to_host

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .engines import Engine


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


class Geometry:
    """Sizes, scale factors and penalties, and the cosine window, derived from the config."""

    def __init__(self, cfg, stride: int) -> None:
        self.cfg = cfg
        self.stride = stride
        self.response_size = (cfg.search_size - cfg.exemplar_size) // stride + 1
        self.upscale_size = cfg.response_up * self.response_size
        self.window = geometry.hann_window(self.upscale_size)
        self.weighted_window = cfg.window_influence * self.window.reshape(1, -1)
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


def _boxes(centers: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """(N, 2) centres (cy, cx) and sizes (h, w) -> (N, 4) boxes x, y, w, h."""
    return np.stack([centers[:, 1] - (sizes[:, 1] - 1) / 2, centers[:, 0] - (sizes[:, 0] - 1) / 2,
                     sizes[:, 1], sizes[:, 0]], axis=1)


class HostPipeline:
    """OpenCV crops and NumPy peak search; target states are NumPy arrays (one row a target)."""

    def __init__(self, engine: Engine, geometry: Geometry, device, reference: bool = False) -> None:
        """``device``: where a PyTorch engine's input goes (a ``torch.device``; unused by ONNX Runtime)."""
        self.engine = engine
        self.geo = geometry
        self.device = device
        self.reference = reference  # the plain step: per-frame allocations, one target at a time
        self.kernels: list = []
        self.stacked = None
        self.centers = np.zeros((0, 2))
        self.sizes = np.zeros((0, 2))
        self.x_sizes = np.zeros(0)
        self.colors: list[tuple[float, ...]] = []
        self.first_sizes = np.zeros((0, 2))
        self.first_x_sizes = np.zeros(0)
        s = geometry.cfg.search_size
        self._crops = np.empty((0, s, s, 3), np.uint8)
        self._x = None  # a PyTorch engine's float input, reused frame to frame
        self._up: np.ndarray | None = None  # upsampled maps (N, k, U, U)
        self._half: np.ndarray | None = None  # maps upsampled along one axis (N, k, U, R)
        self._blas = ThreadpoolController().select(user_api="blas")  # NumPy's BLAS, to limit per step
        self.maps = np.zeros((0, geometry.response_size, geometry.response_size), np.float32)

    def __len__(self) -> int:
        return len(self.x_sizes)

    def add(self, image: np.ndarray, box: np.ndarray) -> None:
        cfg = self.geo.cfg
        center, target_size, z_size, x_size = self.geo.first_state(box)
        color = geometry.mean_color(image)
        z = geometry.crop(image, center, z_size, cfg.exemplar_size, color)
        self.kernels.append(self.engine.exemplar(engine_input(self.engine, z[None], self.device)))
        self.centers = np.vstack([self.centers, center])
        self.sizes = np.vstack([self.sizes, target_size])
        self.x_sizes = np.append(self.x_sizes, x_size)
        self.first_sizes = np.vstack([self.first_sizes, target_size])
        self.first_x_sizes = np.append(self.first_x_sizes, x_size)
        self.colors.append(color)
        self._changed()

    def remove(self, index: int) -> None:
        for name in ("centers", "sizes", "x_sizes", "first_sizes", "first_x_sizes"):
            setattr(self, name, np.delete(getattr(self, name), index, axis=0))
        del self.kernels[index], self.colors[index]
        self._changed()

    def _changed(self) -> None:
        """Re-stack the kernels and re-allocate the crop buffers (only on add/remove)."""
        k, s = self.geo.cfg.scale_num, self.geo.cfg.search_size
        self.stacked = self.engine.stack(self.kernels, k)
        self._crops = np.empty((len(self) * k, s, s, 3), np.uint8)
        self._x = None
        if len(self) and self.engine.input_format == "float_nchw":
            import torch

            self._x = torch.empty((len(self) * k, 3, s, s), device=self.device).contiguous(
                memory_format=self.engine.memory_format)

    def state(self, index: int) -> TargetState:
        cfg = self.geo.cfg
        first_size, first_x = self.first_sizes[index], float(self.first_x_sizes[index])
        return TargetState(
            center=self.centers[index].copy(), target_size=self.sizes[index].copy(),
            x_size=float(self.x_sizes[index]), x_size_range=(cfg.min_scale * first_x, cfg.max_scale * first_x),
            size_range=(cfg.min_scale * first_size, cfg.max_scale * first_size),
            avg_color=self.colors[index], kernel=self.kernels[index],
        )

    def update(self, image: np.ndarray) -> np.ndarray:
        """Move every target to its place in ``image``; returns the (N, 4) boxes."""
        cfg, geo = self.geo.cfg, self.geo
        k, n = cfg.scale_num, len(self)
        for t in range(n):
            for i in range(k):
                geometry.crop(image, self.centers[t], self.x_sizes[t] * geo.scale_factors[i], cfg.search_size,
                         self.colors[t], out=self._crops[t * k + i])
        if self.reference or self._x is None:
            x = engine_input(self.engine, self._crops, self.device)
        else:
            import torch

            x = self._x.copy_(torch.from_numpy(self._crops).permute(0, 3, 1, 2))
        r = geo.response_size
        if self.reference:
            responses = to_host(self.engine.responses(x, self.stacked)).reshape(n, k, r, r)
            found = [self._peak_reference(responses[t]) for t in range(n)]
            scale_ids = np.array([s for s, _ in found])
            peaks = np.array([p for _, p in found]).reshape(n, 2)
        else:
            # NumPy's OpenBLAS would split these small matrix products over threads that then
            # spin, taking the cores from the network's next run: one BLAS thread here is faster
            # per frame (docs/speed.md, Threads).
            with self._blas.limit(limits=1):
                responses = to_host(self.engine.responses(x, self.stacked)).reshape(n, k, r, r)
                scale_ids, peaks = self._peaks(responses)
        self.maps = responses[np.arange(n), scale_ids]  # each target's raw map at its chosen scale
        self._move(peaks, scale_ids, image.shape[:2])
        return _boxes(self.centers, self.sizes)

    def target(self, index: int) -> tuple[np.ndarray, np.ndarray, float]:
        """Centre (cy, cx), size (h, w) and search side of a target (copies)."""
        return self.centers[index].copy(), self.sizes[index].copy(), float(self.x_sizes[index])

    def snapshot(self, index: int) -> tuple[np.ndarray, np.ndarray, float]:
        """A target's state to :meth:`set_target` back later (here: :meth:`target`)."""
        return self.target(index)

    @staticmethod
    def to_host(state: tuple) -> tuple[np.ndarray, np.ndarray, float]:
        """A :meth:`snapshot` as NumPy arrays and a float."""
        return state

    def set_target(self, index: int, center: np.ndarray, size: np.ndarray, x_size: float) -> None:
        self.centers[index], self.sizes[index], self.x_sizes[index] = center, size, x_size

    def target_color(self, index: int) -> tuple[float, ...]:
        return self.colors[index]

    def set_kernel(self, index: int, kernel: object) -> None:
        """Track target ``index`` with another kernel from now on (see :mod:`siamfc.tracking.template`)."""
        self.kernels[index] = kernel
        self.stacked = self.engine.stack(self.kernels, self.geo.cfg.scale_num)

    def boxes(self) -> np.ndarray:
        return _boxes(self.centers, self.sizes)

    def _peak_reference(self, responses: np.ndarray) -> tuple[int, np.ndarray]:
        """The reference: upsample every scale's map, pick the best (penalized) scale, then the
        windowed peak in it."""
        cfg, geo = self.geo.cfg, self.geo
        size = (geo.upscale_size, geo.upscale_size)
        up = np.stack([cv2.resize(r, size, interpolation=cv2.INTER_CUBIC) for r in responses])
        up *= geo.scale_penalties[:, None, None]
        scale_id = int(np.argmax(up.max(axis=(1, 2))))
        response = up[scale_id]
        response -= response.min()
        response /= response.sum() + 1e-16
        response = (1 - cfg.window_influence) * response + cfg.window_influence * geo.window
        peak = np.array(np.unravel_index(int(response.argmax()), response.shape), dtype=np.float64)
        return scale_id, peak

    def _peaks(self, responses: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`_peak_reference` for all targets at once, into preallocated buffers: the maps are
        upsampled by two matrix products (:func:`geometry.cubic_upsample_matrix`), the scale is picked
        from each map's maximum times its penalty (equal to the maximum of the penalized map: a
        positive factor keeps the order), and only the chosen map is windowed."""
        cfg, geo = self.geo.cfg, self.geo
        n, k, u = responses.shape[0], responses.shape[1], geo.upscale_size
        if self._up is None or len(self._up) != n:
            self._up = np.empty((n, k, u, u), np.float32)
            self._half = np.empty((n, k, u, geo.response_size), np.float32)
        up = self._up
        np.matmul(geo.cubic, responses, out=self._half)
        np.matmul(self._half, geo.cubic_t, out=up)
        scale_ids = (up.reshape(n, k, u * u).max(axis=2) * geo.scale_penalties).argmax(axis=1)
        best = up[np.arange(n), scale_ids].reshape(n, u * u)
        best *= geo.scale_penalties[scale_ids][:, None]
        best -= best.min(axis=1, keepdims=True)
        best /= best.sum(axis=1, keepdims=True) + 1e-16
        best *= 1 - cfg.window_influence
        best += geo.weighted_window
        flat = best.argmax(axis=1)
        return scale_ids, np.stack([flat // u, flat % u], axis=1).astype(np.float64)

    def _move(self, peaks: np.ndarray, scale_ids: np.ndarray, image_shape: tuple[int, int]) -> None:
        """Shift the centres to the peaks and damp the scale changes; clamp to the image and limits."""
        cfg, geo = self.geo.cfg, self.geo
        disp = (peaks - (geo.upscale_size - 1) / 2) * geo.stride / cfg.response_up
        factors = geo.scale_factors[scale_ids]
        centers = self.centers + disp * (self.x_sizes * factors / cfg.search_size)[:, None]
        self.centers = np.clip(centers, 0, np.array(image_shape, dtype=np.float64) - 1)
        scales = (1 - cfg.scale_lr) + cfg.scale_lr * factors
        self.x_sizes = np.clip(self.x_sizes * scales, cfg.min_scale * self.first_x_sizes,
                               cfg.max_scale * self.first_x_sizes)
        self.sizes = np.clip(self.sizes * scales[:, None], cfg.min_scale * self.first_sizes,
                             cfg.max_scale * self.first_sizes)
