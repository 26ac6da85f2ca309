"""The lost state: each target's confidence, whether it is present, and its re-detection over a grid of
tiles growing a ring a frame around where it was last confident (docs/lost_targets.md)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .confidence import REL_MAX, Calibration, confidence, load_calibration, map_statistics
from .config import LostSettings
from .redetect import TileSearch, grid, radius_for_frame, tile_step


def peak_probability(logit_maps: np.ndarray) -> np.ndarray:
    """(M,) the probability at the peak of each of M maps of foreground logits (M, R, R)."""
    peaks = np.asarray(logit_maps, np.float64).reshape(len(logit_maps), -1).max(axis=1)
    return 1.0 / (1.0 + np.exp(-np.clip(peaks, -40.0, 40.0)))


@dataclass
class TargetWatch:
    """One target's confidence bookkeeping."""

    reference: float  # the first frame's peak height (see siamfc.tracking.confidence)
    good: tuple  # centre, size, x_size when last confident (a pipeline snapshot)
    first: tuple  # size, x_size on the first frame (host arrays): the size re-detection searches at
    score: float = 1.0
    lost: bool = False
    low: int = 0  # consecutive frames below the threshold
    lost_frames: int = 0
    cursor: int = 0  # where the sweep of a large grid goes on
    confirmed: int = 0  # consecutive confident frames while lost


class LostMonitor:
    """Confidence, presence and re-detection for the targets of a pipeline (same order)."""

    def __init__(self, pipeline, settings: LostSettings, calibration: Calibration, search: TileSearch) -> None:
        self.pipeline = pipeline
        self.settings = settings
        self.calibration = calibration
        self.search = search
        # maps of foreground logits (box-head models): the confidence is the peak's probability, no calibration
        self.probability_maps = getattr(pipeline, "probability_maps", False)
        self.watches: list[TargetWatch] = []

    @classmethod
    def create(cls, pipeline, engine, cfg, geometry, device, weights: str | None) -> LostMonitor:
        """The monitor of a tracker (``cfg``: its TrackerConfig), with ``weights``' calibration."""
        search = TileSearch(engine, cfg.search_size, geometry.response_size, geometry.stride, device)
        return cls(pipeline, cfg, load_calibration(weights), search)

    def add(self, image: np.ndarray) -> None:
        """Watch the target just added to the pipeline on ``image``."""
        index = len(self.watches)
        center, size, x_size = self.pipeline.target(index)
        height = [1.0]  # probability maps need no reference height (no extra search for them)
        if not self.probability_maps:
            maps = self.search.maps(image, self.pipeline.kernels[index], center[None], x_size,
                                    self.pipeline.target_color(index))
            _, height, _ = map_statistics(maps)
        self.watches.append(TargetWatch(max(float(height[0]), 1e-12), self.pipeline.snapshot(index), (size, x_size)))

    def remove(self, index: int) -> None:
        del self.watches[index]

    def scores(self, maps: np.ndarray) -> list[float]:
        """Confidence of each target's map (N, R, R) (in scalars: NumPy would cost more on a few numbers)."""
        if self.probability_maps:
            return peak_probability(maps).tolist()
        psr, height, _ = map_statistics(maps)
        cal = self.calibration
        out = []
        for p, h, watch in zip(psr.tolist(), height.tolist(), self.watches, strict=True):
            z = cal.bias + cal.w_psr * p + cal.w_rel * min(max(h / watch.reference, 0.0), REL_MAX)
            out.append(1.0 / (1.0 + math.exp(-min(max(z, -40.0), 40.0))))
        return out

    def after_step(self, image: np.ndarray, maps: np.ndarray) -> bool:
        """Update every target after the step gave ``maps`` (N, R, R); True when a re-detection moved a box."""
        scores = self.scores(maps)
        moved = [self._watch(image, index, watch, score)
                 for index, (watch, score) in enumerate(zip(self.watches, scores, strict=True))]
        return any(moved)

    def _watch(self, image: np.ndarray, index: int, watch: TargetWatch, score: float) -> bool:
        """One target's lost state after a step of confidence ``score``; True when a re-detection moved it."""
        s = self.settings
        watch.score = score
        confident = score >= s.lost_threshold
        if not watch.lost:
            watch.low = 0 if confident else watch.low + 1
            if confident:
                watch.good = self.pipeline.snapshot(index)
            elif watch.low >= s.lost_patience:
                watch.lost, watch.lost_frames, watch.cursor, watch.confirmed = True, 0, 0, 0
            return False
        if confident:  # the step is on a peak like the target's: found when it stays so
            self._confirm(index, watch)
            return False
        watch.confirmed = 0  # an unconfirmed candidate: the sweep goes on
        watch.lost_frames += 1
        return s.redetect and watch.lost_frames > s.redetect_delay and self._redetect(image, index, watch)

    def _confirm(self, index: int, watch: TargetWatch) -> None:
        """One more confident frame of a lost target; ``redetect_confirm`` in a row end the lost state."""
        watch.confirmed += 1
        if watch.confirmed >= self.settings.redetect_confirm:
            watch.lost, watch.low, watch.confirmed = False, 0, 0
            watch.good = self.pipeline.snapshot(index)

    def _redetect(self, image: np.ndarray, index: int, watch: TargetWatch) -> bool:
        s = self.settings
        center = self.pipeline.to_host(watch.good)[0]
        size, x_size = watch.first
        step = tile_step(x_size, self.search.search_size, self.search.response_size, self.search.stride)
        radius = min(watch.lost_frames - s.redetect_delay, radius_for_frame(center, step, image.shape[:2]))
        centers = grid(center, step, radius, image.shape[:2])
        start = min(watch.cursor, len(centers))  # a large grid is swept over several frames, nearest first
        watch.cursor = start + s.redetect_tiles
        if watch.cursor >= len(centers):  # covered: the next sweep starts again from the nearest
            watch.cursor = 0
        centers = centers[start:start + s.redetect_tiles]
        if not len(centers):
            return False
        kernel, color = self.pipeline.kernels[index], self.pipeline.target_color(index)

        def pick(tile_maps: np.ndarray) -> int:
            pick.scores = (peak_probability(tile_maps) if self.probability_maps
                           else confidence(tile_maps, watch.reference, self.calibration))
            return int(np.argmax(pick.scores))

        found = self.search.search(image, kernel, centers, x_size, color, pick)
        # the best tile's peak may sit at its edge (a map cut in two): score it again on a crop centred on it
        candidate = found.position(int(np.argmax(found.map)))
        found = self.search.search(image, kernel, candidate[None], x_size, color, pick)
        best = float(np.max(pick.scores))
        watch.score = max(watch.score, best)
        if best < s.redetect_threshold:
            return False
        self.pipeline.set_target(index, found.position(int(np.argmax(found.map))), size, x_size)
        self._confirm(index, watch)
        watch.score = best
        return True
