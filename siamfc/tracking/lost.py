"""The lost state: each target's confidence, whether it is present, and its re-detection over a grid of
search crops at its first size ("tiles", their maps meeting edge to edge) growing a ring a frame around where
it was last confident; the tiles go through the engine as the k "scales" of one target (docs/lost_targets.md)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .. import geometry
from .confidence import REL_MAX, Calibration, confidence, map_statistics
from .config import LostSettings
from .engines.choose import engine_input, to_host


def peak_probability(logit_maps: np.ndarray) -> np.ndarray:
    """(M,) the probability at the peak of each of M maps of foreground logits (M, R, R)."""
    peaks = np.asarray(logit_maps, np.float64).reshape(len(logit_maps), -1).max(axis=1)
    return 1.0 / (1.0 + np.exp(-np.clip(peaks, -40.0, 40.0)))


def tile_step(x_size: float, search_size: int, response_size: int, stride: int) -> float:
    """Image pixels between tile centres whose maps meet edge to edge, for search regions of ``x_size``."""
    return (response_size - 1) * stride * x_size / search_size


def grid(center: np.ndarray, step: float, radius: int, image_shape: tuple[int, int]) -> np.ndarray:
    """Tile centres (T, 2) on a (2 * radius + 1)^2 grid around ``center``, nearest first, inside the image."""
    offsets = np.arange(-radius, radius + 1)
    dy, dx = np.meshgrid(offsets, offsets, indexing="ij")
    order = np.argsort((dy ** 2 + dx ** 2).ravel(), kind="stable")
    centers = np.asarray(center, np.float64) + step * np.stack([dy.ravel(), dx.ravel()], axis=1)[order]
    h, w = image_shape
    half = step / 2
    inside = ((centers[:, 0] + half >= 0) & (centers[:, 0] - half <= h - 1)
              & (centers[:, 1] + half >= 0) & (centers[:, 1] - half <= w - 1))
    return centers[inside]


def radius_for_frame(center: np.ndarray, step: float, image_shape: tuple[int, int]) -> int:
    """The smallest grid radius whose tiles cover the whole frame around ``center``."""
    h, w = image_shape
    far = max(center[0], h - 1 - center[0], center[1], w - 1 - center[1], 0.0)
    return max(0, math.ceil(far / step - 0.5))


class TileSearch:
    """Search tiles with a pipeline's engine, on crops cut with OpenCV on the host."""

    def __init__(self, pipeline) -> None:
        self.engine, self.device, geo = pipeline.engine, pipeline.device, pipeline.geo
        self.search_size, self.response_size, self.stride = geo.cfg.search_size, geo.response_size, geo.stride

    def maps(self, image: np.ndarray, kernel: object, centers: np.ndarray, x_size: float,
             color: tuple[float, ...]) -> np.ndarray:
        """Raw response maps (T, R, R) of ``kernel`` on tiles of ``x_size`` pixels at ``centers``."""
        crops = np.stack([geometry.crop(image, c, x_size, self.search_size, color) for c in centers])
        x, stacked = engine_input(self.engine, crops, self.device), self.engine.stack([kernel], len(centers))
        return to_host(self.engine.responses(x, stacked)).reshape(len(centers), self.response_size, -1)

    def search(self, image: np.ndarray, kernel: object, centers: np.ndarray, x_size: float,
               color: tuple[float, ...], score) -> tuple[float, np.ndarray]:
        """The best of the tiles at ``centers`` by ``score(maps) -> (T,)``: its score, and its map's peak
        (cy, cx) in the image."""
        maps = self.maps(image, kernel, centers, x_size, color)
        scores = score(maps)
        best = int(np.argmax(scores))
        cell = self.stride * x_size / self.search_size  # image pixels between cells
        origin = centers[best] - cell * (self.response_size - 1) / 2  # cell (0, 0)
        peak = divmod(int(np.argmax(maps[best])), maps.shape[2])
        return float(scores[best]), origin + cell * np.array(peak, dtype=np.float64)


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
        self.pipeline, self.settings, self.calibration, self.search = pipeline, settings, calibration, search
        # maps of foreground logits (box-head models): the confidence is the peak's probability, no calibration
        self.probability_maps = getattr(pipeline, "probability_maps", False)
        self.watches: list[TargetWatch] = []

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
        z = [cal.bias + cal.w_psr * p + cal.w_rel * min(max(h / watch.reference, 0.0), REL_MAX)
             for p, h, watch in zip(psr.tolist(), height.tolist(), self.watches, strict=True)]
        return [1.0 / (1.0 + math.exp(-min(max(v, -40.0), 40.0))) for v in z]

    def after_step(self, image: np.ndarray, maps: np.ndarray) -> bool:
        """Update every target after the step gave ``maps`` (N, R, R); True when a re-detection moved a box."""
        pairs = enumerate(zip(self.watches, self.scores(maps), strict=True))
        return any([self._watch(image, index, watch, score) for index, (watch, score) in pairs])  # every target

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
        end = start + s.redetect_tiles
        watch.cursor = 0 if end >= len(centers) else end  # covered: the next sweep starts again from the nearest
        centers = centers[start:end]
        if not len(centers):
            return False
        kernel, color = self.pipeline.kernels[index], self.pipeline.target_color(index)

        def score(tile_maps: np.ndarray) -> np.ndarray:
            return (peak_probability(tile_maps) if self.probability_maps
                    else confidence(tile_maps, watch.reference, self.calibration))

        _, candidate = self.search.search(image, kernel, centers, x_size, color, score)
        # the best tile's peak may sit at its edge (a map cut in two): score it again on a crop centred on it
        best, found = self.search.search(image, kernel, candidate[None], x_size, color, score)
        watch.score = max(watch.score, best)
        if best < s.redetect_threshold:
            return False
        self.pipeline.set_target(index, found, size, x_size)
        self._confirm(index, watch)
        watch.score = best
        return True
