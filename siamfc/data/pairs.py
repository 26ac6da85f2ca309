"""Training pairs drawn from the cached crops of several sources, each view cut out of its crop by one
``warpAffine``, flipped and greyed for both views, then colour and blur (albumentations). Sample ``i`` of epoch
``e`` depends only on ``(seed, e, i)``, so a resumed or distributed run draws the pairs an uninterrupted one would."""

from __future__ import annotations

from dataclasses import dataclass

import albumentations as A
import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from ..errors import SettingError
from ..settings import check, setting
from .crop_cache import CropCache


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


@dataclass
class PairSource:
    """One cached dataset, its share of the pairs, and how far apart its two frames may be."""

    cache: CropCache
    weight: float = 1.0
    max_gap: int = 100


class PairDataset(Dataset):
    """``negative_prob``: the share of DaSiamRPN's distractor pairs (another sequence's or image's search view)."""

    def __init__(self, sources: list[PairSource], augment: PairAugment, pairs_per_epoch: int, seed: int = 0,
                 negative_prob: float = 0.0) -> None:
        """``sources`` each with a usable frame and ``negative_prob`` in [0, 1], as the data config declares."""
        if not sources:
            raise SettingError("no training data", "datasets")
        self.sources, self.augment, self.pairs_per_epoch = sources, augment, pairs_per_epoch
        self.seed, self.negative_prob, self.epoch = seed, negative_prob, 0
        weights = np.array([s.weight for s in sources], dtype=np.float64)
        if not (np.all(np.isfinite(weights)) and np.all(weights >= 0) and weights.sum() > 0):
            raise SettingError(f"source weights {weights.tolist()}: each must be 0 or more, and one more than 0",
                               "weight")
        self.source_p = weights / weights.sum()
        # per source: for each sequence (group), the cache rows that belong to it
        self.groups = []
        for source in sources:
            order = np.argsort(source.cache.groups, kind="stable")
            bounds = np.flatnonzero(np.diff(source.cache.groups[order])) + 1
            self.groups.append([g for g in np.split(order, bounds) if len(g)])

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.pairs_per_epoch

    @staticmethod
    def _row(rng: np.random.Generator, groups: list[np.ndarray]) -> tuple[np.ndarray, int]:
        """A sequence's rows, and one of them, drawn at random."""
        rows = groups[int(rng.integers(len(groups)))]
        return rows, int(rows[rng.integers(len(rows))])

    def draw(self, index: int) -> tuple[np.random.Generator, np.ndarray, np.ndarray, np.ndarray, bool]:
        """Sample ``index``'s generator, exemplar and search crops, the target's (h, w) in the search crop, and
        whether the pair is positive (the sampler a box-head pair dataset shares)."""
        rng = np.random.default_rng([self.seed, self.epoch, index])
        s = int(rng.choice(len(self.sources), p=self.source_p))
        source = self.sources[s]
        rows, z_row = self._row(rng, self.groups[s])
        near = rows[np.abs(source.cache.frame_ids[rows] - source.cache.frame_ids[z_row]) <= source.max_gap]
        x_source, x_row, positive = source, int(near[rng.integers(len(near))]), True
        if self.negative_prob and rng.random() < self.negative_prob:  # a crop of another sequence (or image)
            k = int(rng.choice(len(self.sources), p=self.source_p))
            x_source, x_row = source, z_row  # a positive pair unless one is drawn (a one-sequence source has none)
            for _ in range(10):
                row = self._row(rng, self.groups[k])[1]
                if self.sources[k] is not source or source.cache.groups[row] != source.cache.groups[z_row]:
                    x_source, x_row, positive = self.sources[k], row, False
                    break
        return rng, source.cache.crops[z_row], x_source.cache.crops[x_row], x_source.cache.sizes[x_row], positive

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """(exemplar, search, target offset (dy, dx) in search pixels, 1.0 positive / 0.0 negative)."""
        rng, z_crop, x_crop, _, positive = self.draw(index)
        z, x, offset, _ = self.augment.with_size(z_crop, x_crop, rng, np.zeros(2))
        return (*chw(z, x), torch.from_numpy(offset.astype(np.float32)), torch.tensor(float(positive)))


def chw(*views: np.ndarray) -> tuple[torch.Tensor, ...]:
    """(H, W, 3) views as (3, H, W) tensors."""
    return tuple(torch.from_numpy(np.ascontiguousarray(v)).permute(2, 0, 1) for v in views)
