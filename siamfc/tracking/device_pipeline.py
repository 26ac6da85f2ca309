"""SiamFC's step on the network's device (a GPU): one upload per frame, one download of boxes and maps."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from .pipeline import Targets
from .step import Geometry, ScaleStep, boxes


def frame_tensor(image: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
    """(H, W, 3) uint8 -> (1, 4, H, W) float: RGB and ones (each crop pixel's in-image weight once sampled)."""
    h, w = image.shape[:2]
    if out is None or out.shape != (1, 4, h, w) or out.device != image.device:
        out = torch.ones((1, 4, h, w), dtype=torch.float32, device=image.device)
    out[0, :3].copy_(image.permute(2, 0, 1))
    return out


def crop_batch(frame: torch.Tensor, centers: torch.Tensor, sizes: torch.Tensor, colors: torch.Tensor,
               out_size: int, round_to_uint8: bool = True) -> torch.Tensor:
    """(M, 3, out_size, out_size) bilinear crops of a :func:`frame_tensor`, padded with ``colors``."""
    m, (h, w) = len(sizes), frame.shape[-2:]
    scale = sizes / out_size * (out_size - 1)  # affine_grid's matrices of geometry.crop's crops
    theta = torch.zeros((m, 2, 3), dtype=torch.float32, device=centers.device)
    theta[:, 0, 0] = scale / max(w - 1, 1)
    theta[:, 0, 2] = 2 * centers[:, 1] / max(w - 1, 1) - 1
    theta[:, 1, 1] = scale / max(h - 1, 1)
    theta[:, 1, 2] = 2 * centers[:, 0] / max(h - 1, 1) - 1
    grid = F.affine_grid(theta, [m, 1, out_size, out_size], align_corners=True)
    # all crops as one tall image: one grid_sample call with batch 1, no copy of the frame
    sampled = F.grid_sample(frame, grid.reshape(1, m * out_size, out_size, 2), mode="bilinear",
                            padding_mode="zeros", align_corners=True)
    sampled = sampled.reshape(4, m, out_size, out_size).permute(1, 0, 2, 3)
    rgb, inside = sampled[:, :3], sampled[:, 3:]
    crops = rgb + (1 - inside) * colors[:, :, None, None].to(rgb.dtype)
    return crops.round_().clamp_(0, 255) if round_to_uint8 else crops


def upsample_bicubic(maps: torch.Tensor, size: int) -> torch.Tensor:
    """(..., r, r) -> (..., size, size) as OpenCV's ``INTER_CUBIC`` resize."""
    shape = maps.shape
    flat = maps.reshape(-1, 1, shape[-2], shape[-1])
    up = F.interpolate(flat, size=(size, size), mode="bicubic", align_corners=False)
    return up.reshape(*shape[:-2], size, size)


class DevicePipeline(ScaleStep, Targets):
    """Crops (``grid_sample``), maps, peaks and target states (tensors) on the engine's device."""

    def __init__(self, engine, geo: Geometry, device: torch.device) -> None:
        f64 = {"dtype": torch.float64, "device": device}
        super().__init__(engine, geo, device, geo.cfg.scale_num, zeros=lambda shape: torch.zeros(shape, **f64))
        self.scale_factors = torch.as_tensor(geo.scale_factors, **f64)
        self.penalties = torch.as_tensor(geo.scale_penalties, device=device)
        self.weighted_window = torch.as_tensor(geo.weighted_window, device=device)
        self._frame = self._pinned = None  # the frame on the device, and its pinned copy on the host (CUDA)

    def _changed(self) -> None:
        super()._changed()
        self._crop_colors = self.colors.repeat_interleave(self.scales, dim=0).float()  # each crop's, until add/remove

    def _upload(self, image: np.ndarray) -> torch.Tensor:
        # through a reused pinned buffer on CUDA; read-only arrays (a PIL image's) copied: torch warns on them
        host = torch.from_numpy(np.ascontiguousarray(image) if image.flags.writeable else image.copy())
        if self.device.type == "cuda":
            if self._pinned is None or self._pinned.shape != host.shape or self._pinned.dtype != host.dtype:
                self._pinned = torch.empty(host.shape, dtype=host.dtype).pin_memory()
            host = self._pinned.copy_(host)
        self._frame = frame_tensor(host.to(self.device, non_blocking=True), self._frame)
        return self._frame

    def add(self, image: np.ndarray, box: np.ndarray) -> None:
        center, target_size, z_size, x_size = self.geo.first_state(box)
        frame = self._upload(image)
        rows = {name: torch.as_tensor(value, dtype=torch.float64, device=self.device)[None] for name, value in (
            ("centers", center), ("sizes", target_size), ("x_sizes", x_size), ("first_sizes", target_size),
            ("first_x_sizes", x_size), ("colors", frame[0, :3].mean(dim=(1, 2))))}
        z = crop_batch(frame, rows["centers"], torch.tensor([z_size], device=self.device), rows["colors"],
                       self.geo.cfg.exemplar_size)
        self.kernels.append(self.engine.exemplar(z.contiguous(memory_format=self.engine.memory_format)))
        for name, row in rows.items():
            setattr(self, name, torch.cat([getattr(self, name), row]))
        self._changed()

    def update(self, image: np.ndarray) -> np.ndarray:
        geo, k, n = self.geo, self.scales, len(self)
        r, u = geo.response_size, geo.upscale_size
        frame = self._upload(image)
        centers = self.centers.repeat_interleave(k, dim=0)
        sizes = (self.x_sizes[:, None] * self.scale_factors[None]).reshape(-1)
        x = crop_batch(frame, centers, sizes, self._crop_colors, geo.cfg.search_size)
        responses = self.engine.responses(x.contiguous(memory_format=self.engine.memory_format), self.stacked)
        responses = responses.reshape(n, k, r, r)
        up = upsample_bicubic(responses, u).reshape(n, k, u * u)
        scale_ids, peaks = self._peaks(up, self.penalties, self.weighted_window)
        self._move(peaks, self.scale_factors[scale_ids], image.shape[:2])
        # the boxes and each target's raw map at its chosen scale: the frame's only transfer back
        maps = responses[torch.arange(n, device=self.device), scale_ids].reshape(n, r * r).to(torch.float64)
        host = torch.cat([boxes(self.centers, self.sizes), maps], dim=1).cpu().numpy()
        self.maps = host[:, 4:].reshape(n, r, r)
        return host[:, :4]

    def snapshot(self, index: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return self.centers[index].clone(), self.sizes[index].clone(), self.x_sizes[index].clone()

    def set_target(self, index: int, center: np.ndarray, size: np.ndarray, x_size: float) -> None:
        f64 = {"dtype": torch.float64, "device": self.device}
        self.centers[index] = torch.as_tensor(center, **f64)
        self.sizes[index] = torch.as_tensor(size, **f64)
        self.x_sizes[index] = x_size
