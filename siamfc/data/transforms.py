"""Augmentation of a training pair: one ``warpAffine`` per view out of the cached crop, flip and grayscale
for both views, then colour and blur (albumentations, seeded per sample so a resumed run sees the same pairs)."""

from __future__ import annotations

from dataclasses import dataclass

import albumentations as A
import cv2
import numpy as np

from ..settings import check, setting


@dataclass
class AugmentConfig:
    stretch: float = setting(0.05, ge=0)  # random scale in [1 - stretch, 1 + stretch], per view
    shift: float = setting(8.0, ge=0)  # max shift of the search crop centre, in search-crop pixels
    flip: float = setting(0.5, ge=0, le=1)
    grayscale: float = setting(0.1, ge=0, le=1)
    color_jitter: float = setting(0.5, ge=0, le=1)
    blur: float = setting(0.1, ge=0, le=1)
    rotate: float = setting(0.0, ge=0)  # max rotation of each view, degrees
    aspect: float = setting(0.0, ge=0)  # search view's aspect ratio changed by a factor in [1/(1+a), 1+a]
    low_light: float = setting(0.0, ge=0, le=1)  # probability that a view is darkened (night, under-exposure)

    def __post_init__(self) -> None:
        check(self)


class PairAugment:
    """Cuts exemplar (``exemplar_size``) and search (``search_size``) views out of two cached crops."""

    def __init__(self, cfg: AugmentConfig, exemplar_size: int = 127, search_size: int = 239) -> None:
        self.cfg, self.exemplar_size, self.search_size = cfg, exemplar_size, search_size
        self.photometric = A.Compose([
            A.ColorJitter(brightness=0.2, contrast=0.2, saturation=0.2, hue=0.02, p=cfg.color_jitter),
            # a centred, symmetric motion kernel: albumentations' default (shifted kernel, random
            # direction bias) moves the content by up to 2 px, off the label computed from the geometry
            A.OneOf([A.GaussianBlur(blur_limit=(3, 5)),
                     A.MotionBlur(blur_limit=(3, 7), allow_shifted=False, direction_range=(0.0, 0.0))], p=cfg.blur),
        ])
        self.darken = A.Compose([
            A.RandomBrightnessContrast(brightness_limit=(-0.6, -0.3), contrast_limit=(-0.4, 0.0), p=1.0),
            A.GaussNoise(std_range=(0.02, 0.06), p=0.5),
        ])

    def _linear(self, scale: float, rng: np.random.Generator, aspect: float) -> np.ndarray:
        """2x2 map from view pixels to crop pixels (x, y): scale, a random rotation, an aspect stretch."""
        angle = np.deg2rad(rng.uniform(-self.cfg.rotate, self.cfg.rotate)) if self.cfg.rotate else 0.0
        c, s = np.cos(angle), np.sin(angle)
        return scale * np.array([[c, -s], [s, c]]) @ np.diag([np.sqrt(aspect), 1 / np.sqrt(aspect)])

    def _warp(self, crop: np.ndarray, out_size: int, linear: np.ndarray, source: np.ndarray) -> np.ndarray:
        """The view whose centre is crop point ``source`` (row, col), mapped by ``linear``."""
        offset = (out_size - 1) / 2
        xy = source[::-1] - linear @ np.array([offset, offset])
        matrix = np.hstack([linear, xy[:, None]])
        return cv2.warpAffine(np.ascontiguousarray(crop), matrix, (out_size, out_size),
                              flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REPLICATE)

    def with_size(self, z_crop: np.ndarray, x_crop: np.ndarray, rng: np.random.Generator, x_target: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Exemplar and search views (uint8 RGB), the target's offset (dy, dx) from the search view's centre and
        its size (h, w), in search-view pixels, given its size ``x_target`` (h, w) in ``x_crop`` (a rotated box:
        the upright box around it)."""
        cfg = self.cfg
        mid = (np.array(z_crop.shape[:2], dtype=np.float64) - 1) / 2
        z_linear = self._linear(1 + rng.uniform(-cfg.stretch, cfg.stretch), rng, 1.0)
        x_scale = 1 + rng.uniform(-cfg.stretch, cfg.stretch)  # drawn before the aspect, as it always was
        aspect = float(np.exp(rng.uniform(-1, 1) * np.log1p(cfg.aspect))) if cfg.aspect else 1.0
        x_linear = self._linear(x_scale, rng, aspect)
        offset = rng.uniform(-cfg.shift, cfg.shift, size=2)  # (dy, dx) of the target in the search view
        z = self._warp(z_crop, self.exemplar_size, z_linear, mid)
        # the view centre sits at -offset (view pixels) from the target, i.e. at mid - linear @ offset
        x = self._warp(x_crop, self.search_size, x_linear, mid - (x_linear @ offset[::-1])[::-1])
        to_view = np.abs(np.linalg.inv(x_linear))  # crop (x, y) lengths -> view lengths
        size = (to_view @ np.asarray(x_target, np.float64)[::-1])[::-1]
        if rng.random() < cfg.flip:
            z, x = z[:, ::-1], x[:, ::-1]
            offset = offset * np.array([1.0, -1.0])
        if rng.random() < cfg.grayscale:
            z, x = (np.repeat(cv2.cvtColor(np.ascontiguousarray(v), cv2.COLOR_RGB2GRAY)[..., None], 3, axis=2)
                    for v in (z, x))
        self.photometric.set_random_seed(int(rng.integers(2**31)))
        z = self.photometric(image=np.ascontiguousarray(z))["image"]
        x = self.photometric(image=np.ascontiguousarray(x))["image"]
        if cfg.low_light:
            self.darken.set_random_seed(int(rng.integers(2**31)))
            z, x = (self.darken(image=v)["image"] if rng.random() < cfg.low_light else v for v in (z, x))
        return z, x, offset, size
