"""The lost state: each target's confidence, whether it is present, and its re-detection over a grid of
tiles growing a ring a frame around where it was last confident (docs/lost_targets.md); the template
update and the relative drop test run here too, on the same confidence."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .confidence import REL_MAX, Calibration, confidence, load_calibration, map_statistics
from .config import LostSettings
from .occlusion import DropWatch
from .redetect import TileSearch, grid, radius_for_frame, tile_step
from .template import TemplateUpdater


def peak_probability(logit_maps: np.ndarray) -> np.ndarray:
    """(M,) the probability at the peak of each of M maps of foreground logits (M, R, R)."""
    peaks = np.asarray(logit_maps, np.float64).reshape(len(logit_maps), -1).max(axis=1)
    return 1.0 / (1.0 + np.exp(-np.clip(peaks, -40.0, 40.0)))


@dataclass
class TargetWatch:
    """One target's confidence bookkeeping."""

    reference: float  # the first frame's peak height (see siamfc.tracking.confidence)
    good: tuple  # centre, size, x_size when last confident (a pipeline snapshot)
    first: tuple  # size, x_size on the first frame (host arrays)
    score: float = 1.0
    lost: bool = False
    low: int = 0  # consecutive frames below the threshold
    lost_frames: int = 0
    cursor: int = 0  # where the sweep of a large grid goes on
    sweeps: int = 0  # full sweeps done (each at one scale)
    confirmed: int = 0  # consecutive confident frames while lost
    drop: DropWatch | None = None  # the relative test, when on
    anchor: tuple | None = None  # a pipeline snapshot on the last frame the relative test did not hold


class LostMonitor:
    """Confidence, presence and re-detection for the targets of a pipeline (same order)."""

    def __init__(self, pipeline, settings: LostSettings, calibration: Calibration, search: TileSearch,
                 templates: TemplateUpdater | None = None) -> None:
        self.pipeline = pipeline
        self.settings = settings
        self.calibration = calibration
        self.search = search
        self.templates = templates  # the optional template update, driven by the same confidence
        # maps of foreground logits (box-head models): the confidence is the peak's probability, no calibration
        self.probability_maps = getattr(pipeline, "probability_maps", False)
        self.watches: list[TargetWatch] = []
        self._moved = False
        self._rel: list[float] = []  # each target's peak height relative to its first frame's, this frame

    @classmethod
    def create(cls, pipeline, engine, cfg, geometry, device, weights: str | None) -> LostMonitor:
        """The monitor of a tracker (``cfg``: its TrackerConfig), with ``weights``' calibration."""
        search = TileSearch(engine, cfg.search_size, geometry.response_size, geometry.stride, device)
        templates = None
        if cfg.template_update:
            templates = TemplateUpdater(pipeline, engine, cfg, cfg.exemplar_size, cfg.context, device)
        return cls(pipeline, cfg, load_calibration(weights), search, templates)

    def add(self, image: np.ndarray) -> None:
        """Watch the target just added to the pipeline on ``image``."""
        index = len(self.watches)
        center, size, x_size = self.pipeline.target(index)
        height = [1.0]  # probability maps need no reference height (no extra search for them)
        if not self.probability_maps:
            maps = self.search.maps(image, self.pipeline.kernels[index], center[None], x_size,
                                    self.pipeline.target_color(index))
            _, height, _ = map_statistics(maps)
        drop = DropWatch(self.settings) if self.settings.drop_ratio > 0 else None
        self.watches.append(TargetWatch(max(float(height[0]), 1e-12), self.pipeline.snapshot(index),
                                        (size, x_size), drop=drop, anchor=self.pipeline.snapshot(index)))
        if self.templates is not None:
            self.templates.add()

    def remove(self, index: int) -> None:
        del self.watches[index]
        if self.templates is not None:
            self.templates.remove(index)

    def scores(self, maps: np.ndarray) -> list[float]:
        """Confidence of each target's map (N, R, R) (in scalars: NumPy would cost more on a few numbers)."""
        if self.probability_maps:
            self._rel = [1.0] * len(maps)
            return peak_probability(maps).tolist()
        psr, height, _ = map_statistics(maps)
        cal = self.calibration
        out, self._rel = [], []
        for p, h, watch in zip(psr.tolist(), height.tolist(), self.watches, strict=True):
            rel = min(max(h / watch.reference, 0.0), REL_MAX)
            z = cal.bias + cal.w_psr * p + cal.w_rel * rel
            out.append(1.0 / (1.0 + math.exp(-min(max(z, -40.0), 40.0))))
            self._rel.append(rel)
        return out

    def after_step(self, image: np.ndarray, maps: np.ndarray) -> bool:
        """Update every target after the step gave ``maps`` (N, R, R); True when a box was moved here."""
        self._moved = False
        scores = self.scores(maps)
        for index, (watch, score) in enumerate(zip(self.watches, scores, strict=True)):
            redetected = self._watch(image, index, watch, score)
            if watch.drop is not None:
                value = self._rel[index] if self.settings.drop_signal == "height" else score
                self._hold_on_drop(index, watch, value, redetected, image.shape[:2])
        if self.templates is not None:
            for index, watch in enumerate(self.watches):
                self.templates.after_step(image, index, watch.score, watch.lost)
        return self._moved

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
                watch.lost, watch.lost_frames, watch.cursor, watch.sweeps, watch.confirmed = True, 0, 0, 0, 0
                if s.lost_hold:
                    self._set(index, *watch.good)
            return False
        if confident:  # the step is on a peak like the target's: found when it stays so
            self._confirm(index, watch)
            return False
        watch.confirmed = 0  # an unconfirmed candidate: the sweep goes on
        watch.lost_frames += 1
        if s.redetect and watch.lost_frames > s.redetect_delay and self._redetect(image, index, watch):
            return True
        if s.lost_hold:
            self._set(index, *watch.good)  # the box stays put
        return False

    def _hold_on_drop(self, index: int, watch: TargetWatch, value: float, redetected: bool,
                      image_shape: tuple[int, int]) -> None:
        """A sharp drop of ``value`` puts the box back where it was before it; a re-detection wins."""
        drop = watch.drop
        if drop.judge(value) and not redetected:
            center, size, x_size = watch.anchor
            if self.settings.drop_coast:
                center = drop.coasted(center, image_shape)
            self._set(index, center, size, x_size)
            return
        if redetected:
            drop.release()
        watch.anchor = self.pipeline.snapshot(index)  # copies (on the device path: on the device)
        if self.settings.drop_coast:
            drop.follow(watch.anchor[0])

    def _set(self, index: int, center: np.ndarray, size: np.ndarray, x_size: float) -> None:
        self.pipeline.set_target(index, center, size, x_size)
        self._moved = True

    def _confirm(self, index: int, watch: TargetWatch) -> None:
        """One more confident frame of a lost target; ``redetect_confirm`` in a row end the lost state."""
        watch.confirmed += 1
        if watch.confirmed >= self.settings.redetect_confirm:
            watch.lost, watch.low, watch.confirmed = False, 0, 0
            watch.good = self.pipeline.snapshot(index)

    def _sweep_size(self, watch: TargetWatch, size: np.ndarray, x_size: float) -> tuple[np.ndarray, float]:
        """This sweep's target size and search side: the first frame's or the last confident one (``size``,
        ``x_size``), times the sweep's factor of ``redetect_scale_step``."""
        s = self.settings
        bases = {"last": 1, "first": 1, "both": 2}[s.redetect_scale]
        if s.redetect_scale == "first" or (s.redetect_scale == "both" and watch.sweeps % 2 == 0):
            size, x_size = watch.first
        scale = (1.0, 1 / s.redetect_scale_step, s.redetect_scale_step)[(watch.sweeps // bases) % 3]
        return size * scale, x_size * scale

    def _redetect(self, image: np.ndarray, index: int, watch: TargetWatch) -> bool:
        s = self.settings
        center, size, x_size = self.pipeline.to_host(watch.good)
        size, x_size = self._sweep_size(watch, size, x_size)
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
            probability = self.probability_maps
            pick.scores = peak_probability(tile_maps) if probability else confidence(tile_maps, reference, calibration)
            return int(np.argmax(pick.scores))

        found = self.search.search(image, kernel, centers, x_size, color, pick)
        # the best tile's peak may sit at its edge (a map cut in two): score it again on a crop centred on it
        candidate = found.position(int(np.argmax(found.map)))
        found = self.search.search(image, kernel, candidate[None], x_size, color, pick)
        best = float(np.max(pick.scores))
        watch.score = max(watch.score, best)
        if best < s.redetect_threshold:
            return False
        self._set(index, found.position(int(np.argmax(found.map))), size, x_size)
        self._confirm(index, watch)
        watch.score = best
        return True
