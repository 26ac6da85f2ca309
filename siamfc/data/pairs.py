"""A map-style dataset of training pairs drawn from cached crops of several sources.

Sample ``i`` of epoch ``e`` depends only on ``(seed, e, i)``: a run resumed mid-epoch, or split
across DistributedDataParallel ranks, draws exactly the pairs an uninterrupted run would.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import Dataset

from .crop_cache import CropCache
from .transforms import PairAugment


@dataclass
class PairSource:
    """One cached dataset, its share of the pairs, and how far apart its two frames may be."""

    cache: CropCache
    weight: float = 1.0
    max_gap: int = 100


class PairDataset(Dataset):
    def __init__(self, sources: list[PairSource], augment: PairAugment, pairs_per_epoch: int, seed: int = 0,
                 negative_prob: float = 0.0) -> None:
        """``negative_prob``: share of negative pairs, whose search view comes from another sequence or
        image (DaSiamRPN's distractor pairs): their response map is negative everywhere."""
        if not sources:
            raise ValueError("no training data")
        if not 0.0 <= negative_prob <= 1.0:
            raise ValueError(f"negative_prob must be in [0, 1], got {negative_prob}")
        self.negative_prob = negative_prob
        self.sources = sources
        self.augment = augment
        self.pairs_per_epoch = pairs_per_epoch
        self.seed = seed
        self.epoch = 0
        weights = np.array([s.weight for s in sources], dtype=np.float64)
        if not (np.all(np.isfinite(weights)) and np.all(weights >= 0) and weights.sum() > 0):
            raise ValueError(f"source weights {weights.tolist()}: each must be 0 or more, and one more than 0")
        self.source_p = weights / weights.sum()
        # per source: for each sequence (group), the cache rows that belong to it
        self.groups = []
        for source in sources:
            order = np.argsort(source.cache.groups, kind="stable")
            bounds = np.flatnonzero(np.diff(source.cache.groups[order])) + 1
            self.groups.append([g for g in np.split(order, bounds) if len(g)])
            if not self.groups[-1]:
                raise ValueError("a training source has no usable frame")

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.pairs_per_epoch

    def _pick(self, rng: np.random.Generator) -> tuple[PairSource, int, int]:
        s = int(rng.choice(len(self.sources), p=self.source_p))
        source = self.sources[s]
        rows = self.groups[s][int(rng.integers(len(self.groups[s])))]
        z_row = int(rows[rng.integers(len(rows))])
        frames = source.cache.frame_ids[rows]
        near = rows[np.abs(frames - source.cache.frame_ids[z_row]) <= source.max_gap]
        x_row = int(near[rng.integers(len(near))])
        return source, z_row, x_row

    def _pick_other(self, rng: np.random.Generator, source: PairSource, z_row: int) -> tuple[PairSource, int]:
        """A crop of another sequence (or image) than ``z_row``'s, from a source drawn by weight."""
        s = int(rng.choice(len(self.sources), p=self.source_p))
        other, groups = self.sources[s], self.groups[s]
        for _ in range(10):
            rows = groups[int(rng.integers(len(groups)))]
            row = int(rows[rng.integers(len(rows))])
            if other is not source or other.cache.groups[row] != source.cache.groups[z_row]:
                return other, row
        return source, z_row  # nothing else drawn (a one-sequence source): a positive pair

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """(exemplar, search, target offset (dy, dx) in search pixels, 1.0 for a positive pair / 0.0
        for a negative one)."""
        rng = np.random.default_rng([self.seed, self.epoch, index])
        source, z_row, x_row = self._pick(rng)
        x_source, positive = source, True
        if self.negative_prob and rng.random() < self.negative_prob:
            x_source, x_row = self._pick_other(rng, source, z_row)
            positive = (x_source is source and x_row == z_row)  # a single one-image source has no other
        z, x, offset = self.augment(source.cache.crops[z_row], x_source.cache.crops[x_row], rng)
        return (torch.from_numpy(np.ascontiguousarray(z)).permute(2, 0, 1),
                torch.from_numpy(np.ascontiguousarray(x)).permute(2, 0, 1),
                torch.from_numpy(offset.astype(np.float32)),
                torch.tensor(float(positive)))
