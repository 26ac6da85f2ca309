"""Crops and peak search in PyTorch, so that a whole tracking step can stay on one device (a GPU:
the frame is uploaded once, nothing comes back but the boxes). The same code runs on the CPU,
where the tests compare it with the OpenCV path of :mod:`siamfc.geometry`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def frame_tensor(image: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
    """(H, W, 3) uint8 frame -> (1, 4, H, W) float: RGB plus a channel of ones.

    Sampled with zero padding, the ones channel gives each output pixel's in-image weight, which
    turns zero padding into padding with any colour (see :func:`crop_batch`). ``out`` is reused
    when it has the right shape (its ones channel is then already set).
    """
    h, w = image.shape[:2]
    if out is None or out.shape != (1, 4, h, w) or out.device != image.device:
        out = torch.ones((1, 4, h, w), dtype=torch.float32, device=image.device)
    out[0, :3].copy_(image.permute(2, 0, 1))
    return out


def crop_theta(centers: torch.Tensor, sizes: torch.Tensor, out_size: int, image_hw: tuple[int, int]) -> torch.Tensor:
    """``affine_grid`` matrices (M, 2, 3), ``align_corners=True``, for square crops of ``sizes``
    image pixels around ``centers`` (M, 2) = (cy, cx): the sampling of :func:`siamfc.geometry.crop`."""
    h, w = image_hw
    scale = sizes / out_size * (out_size - 1)
    theta = torch.zeros((len(sizes), 2, 3), dtype=torch.float32, device=centers.device)
    theta[:, 0, 0] = scale / max(w - 1, 1)
    theta[:, 0, 2] = 2 * centers[:, 1] / max(w - 1, 1) - 1
    theta[:, 1, 1] = scale / max(h - 1, 1)
    theta[:, 1, 2] = 2 * centers[:, 0] / max(h - 1, 1) - 1
    return theta


def crop_batch(
    frame: torch.Tensor,
    centers: torch.Tensor,
    sizes: torch.Tensor,
    colors: torch.Tensor,
    out_size: int,
    round_to_uint8: bool = True,
) -> torch.Tensor:
    """Bilinear square crops of one frame (from :func:`frame_tensor`): M crops of ``sizes`` pixels
    around ``centers`` (M, 2), resized to ``out_size`` and padded with ``colors`` (M, 3).

    Returns (M, 3, out_size, out_size) float. ``round_to_uint8`` rounds like OpenCV's uint8 crops.
    """
    m = len(sizes)
    theta = crop_theta(centers, sizes, out_size, frame.shape[-2:])
    grid = F.affine_grid(theta, [m, 1, out_size, out_size], align_corners=True)
    # All crops as one tall image: one grid_sample call with batch 1, no copy of the frame.
    sampled = F.grid_sample(frame, grid.reshape(1, m * out_size, out_size, 2), mode="bilinear",
                            padding_mode="zeros", align_corners=True)
    sampled = sampled.reshape(4, m, out_size, out_size).permute(1, 0, 2, 3)
    rgb, inside = sampled[:, :3], sampled[:, 3:]
    crops = rgb + (1 - inside) * colors[:, :, None, None].to(rgb.dtype)
    if round_to_uint8:
        crops = crops.round_().clamp_(0, 255)
    return crops


def upsample_bicubic(maps: torch.Tensor, size: int) -> torch.Tensor:
    """(..., r, r) -> (..., size, size) bicubic (the same kernel and pixel centres as OpenCV's
    ``INTER_CUBIC`` resize)."""
    shape = maps.shape
    flat = maps.reshape(-1, 1, shape[-2], shape[-1])
    up = F.interpolate(flat, size=(size, size), mode="bicubic", align_corners=False)
    return up.reshape(*shape[:-2], size, size)
