"""The frame loop of ``track`` and ``demo`` (and the rate ``webcam`` shows): update the targets, hand
each frame to the command, show it, stop on Ctrl-C or a closed window, say how fast it went."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from itertools import chain

TYPE_CHECKING = False
if TYPE_CHECKING:
    import numpy as np

    from ..io.video import Frame


def smooth_fps(fps: float | None, seconds: float) -> float | None:
    """Frames per second smoothed over the last frames: ``fps`` after a frame that took ``seconds``."""
    if seconds <= 0:
        return fps
    return 1 / seconds if fps is None else 0.9 * fps + 0.1 / seconds


class TargetSet:
    """The targets a command follows in a MultiTracker, started on ``boxes`` in ``image``: boxes,
    confidences and presence after the last frame, and the time spent in the tracker."""

    def __init__(self, tracker, image: np.ndarray, boxes: list[np.ndarray]) -> None:
        self.tracker, self.boxes = tracker, boxes
        self.ids = [tracker.add(image, b) for b in boxes]
        self.scores, self.present = [1.0] * len(boxes), [True] * len(boxes)
        self.updates, self.seconds = 0, 0.0

    def update(self, image: np.ndarray) -> None:
        tic = time.perf_counter()
        result = self.tracker.update(image)
        self.seconds += time.perf_counter() - tic
        self.updates += 1
        scores, present = self.tracker.scores, self.tracker.present
        self.boxes = [result[i] for i in self.ids]
        self.scores, self.present = [scores[i] for i in self.ids], [present[i] for i in self.ids]


class FrameLoop:
    """``handle(frame, fps)`` on every frame after the targets are updated with it (not on the first
    or an unreadable one); it returns the frame to show in ``window``. Ctrl-C or closing the window
    stops the loop; the counts stay readable when ``handle`` raises."""

    def __init__(self, targets: TargetSet, handle: Callable[[Frame, float | None], np.ndarray | None], window,
                 progress) -> None:
        self.targets, self.handle, self.window, self.progress = targets, handle, window, progress
        self.frames, self.seconds = 0, 0.0  # frames handled, in seconds (once run)
        self.interrupted = self.stopped = False

    def run(self, first: Frame, rest: Iterator[Frame]) -> None:
        fps: float | None = None
        started = time.perf_counter()
        try:
            for frame in chain([first], rest):
                tic = time.perf_counter()
                if frame.image is not None and frame is not first:
                    self.targets.update(frame.image)
                canvas = self.handle(frame, fps)
                self.frames += 1
                self.progress.update(1)
                if self.window is not None and not self.window.show(canvas):
                    self.stopped = True
                    break
                fps = smooth_fps(fps, time.perf_counter() - tic)
        except KeyboardInterrupt:
            self.interrupted = True
        finally:
            self.seconds = time.perf_counter() - started

    def rate_text(self) -> str:
        """``[stopped after ]N frames in S s: F fps (tracker alone T fps)``."""
        fps = self.frames / self.seconds if self.seconds > 0 else 0.0
        text = (f"{'stopped after ' if self.interrupted or self.stopped else ''}{self.frames} frames in "
                f"{self.seconds:.1f} s: {fps:.1f} fps")
        if self.targets.updates and self.targets.seconds > 0:
            text += f" (tracker alone {self.targets.updates / self.targets.seconds:.1f} fps)"
        return text


def progress_bar(total: int | None, desc: str, quiet: bool):
    from tqdm import tqdm

    return tqdm(total=total, unit="frame", desc=desc, disable=quiet, dynamic_ncols=True, file=sys.stderr)
