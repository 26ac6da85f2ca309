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


class FrameLoop:
    """The targets a command follows in a MultiTracker, started on ``boxes`` in ``image``: their boxes,
    confidences and presence after the last frame, how many frames it took and how long (the tracker alone
    too), and whether Ctrl-C (``interrupted``) or the window (``stopped``) ended the loop."""

    def __init__(self, tracker, image: np.ndarray, boxes: list[np.ndarray]) -> None:
        self.tracker, self.boxes = tracker, boxes
        self.ids = [tracker.add(image, b) for b in boxes]
        self.scores, self.present = [1.0] * len(boxes), [True] * len(boxes)
        self.updates, self.tracker_seconds = 0, 0.0
        self.frames, self.seconds = 0, 0.0
        self.interrupted = self.stopped = False

    def run(self, first: Frame, rest: Iterator[Frame], handle: Callable[[Frame, float | None], np.ndarray | None],
            window, progress) -> None:
        """``handle(frame, fps)`` on every frame after the targets are updated with it (not with the first
        or an unreadable one); it returns the frame to show in ``window``. The counts stay readable when
        ``handle`` raises."""
        fps: float | None = None
        started = time.perf_counter()
        try:
            for frame in chain([first], rest):
                tic = time.perf_counter()
                if frame.image is not None and frame is not first:
                    result = self.tracker.update(frame.image)
                    self.tracker_seconds += time.perf_counter() - tic
                    self.updates += 1
                    scores, present = self.tracker.scores, self.tracker.present
                    self.boxes = [result[i] for i in self.ids]
                    self.scores, self.present = [scores[i] for i in self.ids], [present[i] for i in self.ids]
                canvas = handle(frame, fps)
                self.frames += 1
                progress.update(1)
                if window is not None and not window.show(canvas):
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
        if self.updates and self.tracker_seconds > 0:
            text += f" (tracker alone {self.updates / self.tracker_seconds:.1f} fps)"
        return text


def progress_bar(total: int | None, desc: str, quiet: bool):
    from tqdm import tqdm

    return tqdm(total=total, unit="frame", desc=desc, disable=quiet, dynamic_ncols=True, file=sys.stderr)
