"""The lost state: each target's confidence, whether it is present, and its re-detection.

After every tracking step :class:`LostMonitor` scores each target's response map
(:mod:`siamfc.tracking.confidence`). A target whose confidence stays below ``lost_threshold`` for
``lost_patience`` frames is *lost*: it is reported absent. With ``lost_hold`` its box goes back to
where it was last confident and stays there; without (the default) the normal step goes on
moving it. After ``redetect_delay`` lost frames, with ``redetect``, the target's kernel is also
searched over a grid of tiles (:mod:`siamfc.tracking.redetect`) around where it was last confident, growing
by one ring a frame up to the whole frame (at most ``redetect_tiles`` tiles a frame; a larger grid
is swept over several frames, nearest tiles first; each sweep at the next of the scales 1,
1 / ``redetect_scale_step``, ``redetect_scale_step``), and the best tile's peak is scored again on
a crop centred on it. A peak of confidence >= ``redetect_threshold`` there, or >= ``lost_threshold``
in the normal step, ends the lost state and tracking goes on from it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .confidence import REL_MAX, Calibration, load_calibration, map_statistics, relative_height
from .redetect import TileSearch, grid, radius_for_frame, tile_step


@dataclass
class LostSettings:
    """The lost-state options (the tracker's defaults are TrackerConfig's; these are a plain
    monitor's: no delay, box held)."""

    lost_threshold: float
    lost_patience: int
    redetect: bool
    redetect_threshold: float
    redetect_tiles: int
    lost_hold: bool = True
    redetect_delay: int = 0
    redetect_scale_step: float = 1.0  # > 1: each sweep of the grid at the next of scales 1, 1/step, step

    def check(self) -> None:
        for name in ("lost_threshold", "redetect_threshold"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {value}")
        if self.lost_patience < 1:
            raise ValueError(f"lost_patience must be 1 or more, got {self.lost_patience}")
        if self.redetect_tiles < 1:
            raise ValueError(f"redetect_tiles must be 1 or more, got {self.redetect_tiles}")
        if self.redetect_delay < 0:
            raise ValueError(f"redetect_delay must be 0 or more, got {self.redetect_delay}")
        if not self.redetect_scale_step >= 1.0:
            raise ValueError(f"redetect_scale_step must be 1 or more, got {self.redetect_scale_step}")


@dataclass
class TargetWatch:
    """One target's confidence bookkeeping."""

    reference: float  # the first frame's peak height (see siamfc.tracking.confidence)
    good: tuple  # centre, size, x_size when last confident (a pipeline snapshot)
    score: float = 1.0
    lost: bool = False
    low: int = 0  # consecutive frames below the threshold
    lost_frames: int = 0
    cursor: int = 0  # where the sweep of a large grid goes on
    sweeps: int = 0  # full sweeps done (each at one scale, see LostSettings.redetect_scale_step)


class LostMonitor:
    """Confidence, presence and re-detection for the targets of a pipeline (same order)."""

    def __init__(self, pipeline, settings: LostSettings, calibration: Calibration, search: TileSearch) -> None:
        settings.check()
        self.pipeline = pipeline
        self.settings = settings
        self.calibration = calibration
        self.search = search
        self.watches: list[TargetWatch] = []
        self._moved = False

    @classmethod
    def create(cls, pipeline, engine, cfg, geometry, device, weights: str | None) -> LostMonitor:
        """The monitor of a tracker (``cfg``: its TrackerConfig), with the calibration stored
        beside ``weights`` (see :func:`siamfc.tracking.confidence.load_calibration`)."""
        settings = LostSettings(cfg.lost_threshold, cfg.lost_patience, cfg.redetect, cfg.redetect_threshold,
                                cfg.redetect_tiles, cfg.lost_hold, cfg.redetect_delay, cfg.redetect_scale_step)
        search = TileSearch(engine, cfg.search_size, geometry.response_size, geometry.stride, device)
        return cls(pipeline, settings, load_calibration(weights), search)

    def add(self, image: np.ndarray) -> None:
        """Start watching the target just added to the pipeline (its first frame is ``image``)."""
        index = len(self.watches)
        center, size, x_size = self.pipeline.target(index)
        maps = self.search.maps(image, self.pipeline.kernels[index], center[None], x_size,
                                self.pipeline.target_color(index))
        _, height, _ = map_statistics(maps)
        self.watches.append(TargetWatch(max(float(height[0]), 1e-12), self.pipeline.snapshot(index)))

    def remove(self, index: int) -> None:
        del self.watches[index]

    def scores(self, maps: np.ndarray) -> list[float]:
        """Confidence of each target's map (N, R, R) of this frame (scalar arithmetic: this runs
        every frame, and NumPy's overhead on a few numbers would be most of its cost)."""
        psr, height, _ = map_statistics(maps)
        cal = self.calibration
        out = []
        for p, h, watch in zip(psr.tolist(), height.tolist(), self.watches, strict=True):
            z = cal.bias + cal.w_psr * p + cal.w_rel * min(max(h / watch.reference, 0.0), REL_MAX)
            out.append(1.0 / (1.0 + math.exp(-min(max(z, -40.0), 40.0))))
        return out

    def after_step(self, image: np.ndarray, maps: np.ndarray) -> bool:
        """Update every target after the pipeline's step on ``image`` gave ``maps`` (N, R, R);
        True when a box was held or moved here (the pipeline's boxes are then to be read again)."""
        s = self.settings
        self._moved = False
        scores = self.scores(maps)
        for index, (watch, score) in enumerate(zip(self.watches, scores, strict=True)):
            watch.score = score
            confident = score >= s.lost_threshold
            if not watch.lost:
                watch.low = 0 if confident else watch.low + 1
                if confident:
                    watch.good = self.pipeline.snapshot(index)
                elif watch.low >= s.lost_patience:
                    watch.lost, watch.lost_frames, watch.cursor, watch.sweeps = True, 0, 0, 0
                    if s.lost_hold:
                        self._set(index, *watch.good)
                continue
            if confident:  # found again by the normal step
                self._found(index, watch)
                continue
            watch.lost_frames += 1
            if s.redetect and watch.lost_frames > s.redetect_delay and self._redetect(image, index, watch):
                continue
            if s.lost_hold:
                self._set(index, *watch.good)  # the box stays put
        return self._moved

    def _set(self, index: int, center: np.ndarray, size: np.ndarray, x_size: float) -> None:
        self.pipeline.set_target(index, center, size, x_size)
        self._moved = True

    def _found(self, index: int, watch: TargetWatch) -> None:
        watch.lost, watch.low = False, 0
        watch.good = self.pipeline.snapshot(index)

    def _redetect(self, image: np.ndarray, index: int, watch: TargetWatch) -> bool:
        s = self.settings
        center, size, x_size = self.pipeline.to_host(watch.good)
        scale = (1.0, 1 / s.redetect_scale_step, s.redetect_scale_step)[watch.sweeps % 3]
        size, x_size = size * scale, x_size * scale
        step = tile_step(x_size, self.search.search_size, self.search.response_size, self.search.stride)
        radius = min(watch.lost_frames - s.redetect_delay, radius_for_frame(center, step, image.shape[:2]))
        centers = grid(center, step, radius, image.shape[:2])
        start = min(watch.cursor, len(centers))  # a large grid is swept over several frames, nearest first
        watch.cursor = start + s.redetect_tiles
        if watch.cursor >= len(centers):  # covered: the next sweep is at the next scale
            watch.cursor, watch.sweeps = 0, watch.sweeps + 1
        centers = centers[start:start + s.redetect_tiles]
        if not len(centers):
            return False
        kernel, color = self.pipeline.kernels[index], self.pipeline.target_color(index)
        reference = watch.reference
        calibration = self.calibration

        def pick(tile_maps: np.ndarray) -> int:
            psr, height, _ = map_statistics(tile_maps)
            pick.scores = calibration.confidence(psr, relative_height(height, reference))
            return int(np.argmax(pick.scores))

        found = self.search.search(image, kernel, centers, x_size, color, pick)
        # The best tile's peak may sit at its edge (a map cut in two): score it again on a crop
        # centred on it.
        candidate = found.position(int(np.argmax(found.map)))
        found = self.search.search(image, kernel, candidate[None], x_size, color, pick)
        best = float(np.max(pick.scores))
        watch.score = max(watch.score, best)
        if best < s.redetect_threshold:
            return False
        self._set(index, found.position(int(np.argmax(found.map))), size, x_size)
        self._found(index, watch)
        watch.score = best
        return True
