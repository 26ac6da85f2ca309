"""Augmentation of a training pair: stretch and shift (geometry), then photometric changes.

Geometry is one ``warpAffine`` per view out of the cached 255 crop; flip and grayscale apply to
both views together; colour and blur come from albumentations, seeded per sample so that a run
resumed from a checkpoint sees exactly the pairs it would have seen.
"""

from __future__ import annotations

from dataclasses import dataclass

import albumentations as A
import cv2
import numpy as np


@dataclass
class AugmentConfig:
    stretch: float = 0.05  # random scale in [1 - stretch, 1 + stretch], per view
    shift: float = 8.0  # max shift of the search crop centre, in search-crop pixels
    flip: float = 0.5
    grayscale: float = 0.1
    color_jitter: float = 0.5
    blur: float = 0.1


class PairAugment:
    """Cuts exemplar (``exemplar_size``) and search (``search_size``) views out of two cached crops."""

    def __init__(self, cfg: AugmentConfig, exemplar_size: int = 127, search_size: int = 239) -> None:
        self.cfg = cfg
        self.exemplar_size = exemplar_size
        self.search_size = search_size
        self.photometric = A.Compose([
            A.ColorJitter(brightness=0.2, contrast=0.2, saturation=0.2, hue=0.02, p=cfg.color_jitter),
            # a centred, symmetric motion kernel: albumentations' default (shifted kernel, random
            # direction bias) moves the content by up to 2 px, off the label computed from the geometry
            A.OneOf([A.GaussianBlur(blur_limit=(3, 5)),
                     A.MotionBlur(blur_limit=(3, 7), allow_shifted=False, direction_range=(0.0, 0.0))], p=cfg.blur),
        ])

    def _warp(self, crop: np.ndarray, out_size: int, scale: float, center: np.ndarray) -> np.ndarray:
        offset = (out_size - 1) / 2
        matrix = np.array([[scale, 0.0, center[1] - offset * scale], [0.0, scale, center[0] - offset * scale]])
        return cv2.warpAffine(np.ascontiguousarray(crop), matrix, (out_size, out_size),
                              flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REPLICATE)

    def __call__(self, z_crop: np.ndarray, x_crop: np.ndarray, rng: np.random.Generator
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Returns exemplar, search (uint8 RGB) and the target's offset (dy, dx) from the search
        view's centre, in search-view pixels."""
        cfg = self.cfg
        mid = (np.array(z_crop.shape[:2], dtype=np.float64) - 1) / 2
        z_scale = 1 + rng.uniform(-cfg.stretch, cfg.stretch)
        x_scale = 1 + rng.uniform(-cfg.stretch, cfg.stretch)
        shift = rng.uniform(-cfg.shift, cfg.shift, size=2)
        z = self._warp(z_crop, self.exemplar_size, z_scale, mid)
        x = self._warp(x_crop, self.search_size, x_scale, mid + shift * x_scale)
        offset = -shift
        if rng.random() < cfg.flip:
            z, x = z[:, ::-1], x[:, ::-1]
            offset = offset * np.array([1.0, -1.0])
        if rng.random() < cfg.grayscale:
            z, x = (np.repeat(cv2.cvtColor(np.ascontiguousarray(v), cv2.COLOR_RGB2GRAY)[..., None], 3, axis=2)
                    for v in (z, x))
        self.photometric.set_random_seed(int(rng.integers(2**31)))
        z = self.photometric(image=np.ascontiguousarray(z))["image"]
        x = self.photometric(image=np.ascontiguousarray(x))["image"]
        return z, x, offset
