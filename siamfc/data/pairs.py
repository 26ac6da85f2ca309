"""Training pairs drawn from the cached crops of several sources. Sample ``i`` of epoch ``e`` depends
only on ``(seed, e, i)``, so a resumed or distributed run draws the pairs an uninterrupted one would."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import Dataset

from ..errors import SettingError
from .crop_cache import CropCache
from .transforms import PairAugment


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
