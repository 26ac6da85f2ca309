"""The tracking step on the network's device (a GPU): :class:`DevicePipeline` keeps the frame, the
crops, the response maps and the target states there (one upload per frame, one download of the
boxes); on the CPU it runs the same code for tests. The host path is :mod:`siamfc.tracking.pipeline`."""

from __future__ import annotations

import numpy as np
import torch

from . import device_ops
from .engines import Engine
from .pipeline import Geometry, HostPipeline, TargetState


class DevicePipeline:
    """Crops (``grid_sample`` on the frame uploaded once), response maps, peak search and target
    states all on the engine's device; the only transfer back is the (N, 4) boxes."""

    def __init__(self, engine: Engine, geometry: Geometry, device: torch.device) -> None:
        self.engine = engine
        self.geo = geometry
        self.device = device
        f64 = {"dtype": torch.float64, "device": device}
        self.kernels: list = []
        self.stacked = None
        self.centers = torch.zeros((0, 2), **f64)
        self.sizes = torch.zeros((0, 2), **f64)
        self.x_sizes = torch.zeros(0, **f64)
        self.colors = torch.zeros((0, 3), dtype=torch.float32, device=device)
        self.first_sizes = torch.zeros((0, 2), **f64)
        self.first_x_sizes = torch.zeros(0, **f64)
        self.scale_factors = torch.as_tensor(geometry.scale_factors, **f64)
        self.penalties = torch.as_tensor(geometry.scale_penalties, device=device)
        self.window = torch.as_tensor(geometry.window, device=device).reshape(-1)
        self._frame: torch.Tensor | None = None
        self._pinned: torch.Tensor | None = None
        self.maps = np.zeros((0, geometry.response_size, geometry.response_size), np.float32)

    def __len__(self) -> int:
        return len(self.x_sizes)

    def _upload(self, image: np.ndarray) -> torch.Tensor:
        """The frame's one host -> device copy (through a reused pinned buffer on CUDA; the previous
        frame's copy is complete, since its boxes were read back)."""
        image = np.ascontiguousarray(image)
        if not image.flags.writeable:  # a PIL image's array: torch warns on read-only memory
            image = image.copy()
        host = torch.from_numpy(image)
        if self.device.type == "cuda":
            if self._pinned is None or self._pinned.shape != host.shape or self._pinned.dtype != host.dtype:
                self._pinned = torch.empty(host.shape, dtype=host.dtype).pin_memory()
            host = self._pinned.copy_(host)
        self._frame = device_ops.frame_tensor(host.to(self.device, non_blocking=True), self._frame)
        return self._frame

    def add(self, image: np.ndarray, box: np.ndarray) -> None:
        cfg = self.geo.cfg
        center, target_size, z_size, x_size = self.geo.first_state(box)
        frame = self._upload(image)
        color = frame[0, :3].mean(dim=(1, 2))[None]
        c = torch.as_tensor(center, dtype=torch.float64, device=self.device)[None]
        z = device_ops.crop_batch(frame, c, torch.tensor([z_size], device=self.device), color, cfg.exemplar_size)
        self.kernels.append(self.engine.exemplar(z.contiguous(memory_format=self.engine.memory_format)))
        size = torch.as_tensor(target_size, dtype=torch.float64, device=self.device)[None]
        xs = torch.tensor([x_size], dtype=torch.float64, device=self.device)
        self.centers = torch.cat([self.centers, c])
        self.sizes = torch.cat([self.sizes, size])
        self.x_sizes = torch.cat([self.x_sizes, xs])
        self.first_sizes = torch.cat([self.first_sizes, size])
        self.first_x_sizes = torch.cat([self.first_x_sizes, xs])
        self.colors = torch.cat([self.colors, color])
        self.stacked = self.engine.stack(self.kernels, cfg.scale_num)

    def remove(self, index: int) -> None:
        keep = [i for i in range(len(self)) if i != index]
        for name in ("centers", "sizes", "x_sizes", "first_sizes", "first_x_sizes", "colors"):
            setattr(self, name, getattr(self, name)[keep])
        del self.kernels[index]
        self.stacked = self.engine.stack(self.kernels, self.geo.cfg.scale_num)

    def state(self, index: int) -> TargetState:
        cfg = self.geo.cfg
        first_size = self.first_sizes[index].cpu().numpy()
        first_x = float(self.first_x_sizes[index])
        return TargetState(
            center=self.centers[index].cpu().numpy(), target_size=self.sizes[index].cpu().numpy(),
            x_size=float(self.x_sizes[index]), x_size_range=(cfg.min_scale * first_x, cfg.max_scale * first_x),
            size_range=(cfg.min_scale * first_size, cfg.max_scale * first_size),
            avg_color=tuple(self.colors[index].tolist()), kernel=self.kernels[index],
        )

    def update(self, image: np.ndarray) -> np.ndarray:
        cfg, geo = self.geo.cfg, self.geo
        k, n, r, u = cfg.scale_num, len(self), geo.response_size, geo.upscale_size
        frame = self._upload(image)
        centers = self.centers.repeat_interleave(k, dim=0)
        sizes = (self.x_sizes[:, None] * self.scale_factors[None]).reshape(-1)
        colors = self.colors.repeat_interleave(k, dim=0)
        x = device_ops.crop_batch(frame, centers, sizes, colors, cfg.search_size)
        x = x.contiguous(memory_format=self.engine.memory_format)
        responses = self.engine.responses(x, self.stacked).reshape(n, k, r, r)
        rows = torch.arange(n, device=self.device)
        ups = device_ops.upsample_bicubic(responses, u) * self.penalties[None, :, None, None]
        scale_ids = ups.amax(dim=(2, 3)).argmax(dim=1)
        up = ups[rows, scale_ids].reshape(n, u * u)
        up = up - up.amin(dim=1, keepdim=True)
        up = up / (up.sum(dim=1, keepdim=True) + 1e-16)
        up = (1 - cfg.window_influence) * up + cfg.window_influence * self.window
        flat = up.argmax(dim=1)
        peaks = torch.stack([flat // u, flat % u], dim=1).to(torch.float64)
        self._move(peaks, scale_ids, image.shape[:2])
        # the boxes and each target's raw map at its chosen scale: the frame's only device -> host transfer
        maps = responses[rows, scale_ids].reshape(n, r * r).to(torch.float64)
        host = torch.cat([self._box_tensor(), maps], dim=1).cpu().numpy()
        self.maps = host[:, 4:].reshape(n, r, r)
        return host[:, :4]

    def _box_tensor(self) -> torch.Tensor:
        sizes = self.sizes
        return torch.stack([self.centers[:, 1] - (sizes[:, 1] - 1) / 2, self.centers[:, 0] - (sizes[:, 0] - 1) / 2,
                            sizes[:, 1], sizes[:, 0]], dim=1)

    def boxes(self) -> np.ndarray:
        return self._box_tensor().cpu().numpy()

    def target(self, index: int) -> tuple[np.ndarray, np.ndarray, float]:
        return self.centers[index].cpu().numpy(), self.sizes[index].cpu().numpy(), float(self.x_sizes[index])

    def snapshot(self, index: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """A target's state to :meth:`set_target` back later, kept on the device (no transfer)."""
        return self.centers[index].clone(), self.sizes[index].clone(), self.x_sizes[index].clone()

    @staticmethod
    def to_host(state: tuple) -> tuple[np.ndarray, np.ndarray, float]:
        center, size, x_size = state
        return center.cpu().numpy(), size.cpu().numpy(), float(x_size)

    def set_target(self, index: int, center: np.ndarray, size: np.ndarray, x_size: float) -> None:
        f64 = {"dtype": torch.float64, "device": self.device}
        self.centers[index] = torch.as_tensor(center, **f64)
        self.sizes[index] = torch.as_tensor(size, **f64)
        self.x_sizes[index] = x_size

    def target_color(self, index: int) -> tuple[float, ...]:
        return tuple(self.colors[index].tolist())

    set_kernel = HostPipeline.set_kernel

    def _move(self, peaks: torch.Tensor, scale_ids: torch.Tensor, image_shape: tuple[int, int]) -> None:
        cfg, geo = self.geo.cfg, self.geo
        disp = (peaks - (geo.upscale_size - 1) / 2) * geo.stride / cfg.response_up
        factors = self.scale_factors[scale_ids]
        centers = self.centers + disp * (self.x_sizes * factors / cfg.search_size)[:, None]
        self.centers = torch.stack([centers[:, 0].clamp(0, image_shape[0] - 1),
                                    centers[:, 1].clamp(0, image_shape[1] - 1)], dim=1)
        scales = (1 - cfg.scale_lr) + cfg.scale_lr * factors
        self.x_sizes = torch.minimum(torch.maximum(self.x_sizes * scales, cfg.min_scale * self.first_x_sizes),
                                     cfg.max_scale * self.first_x_sizes)
        self.sizes = torch.minimum(torch.maximum(self.sizes * scales[:, None], cfg.min_scale * self.first_sizes),
                                   cfg.max_scale * self.first_sizes)
