"""Frames as a camera delivers them, decoded in a background thread.

A camera does not wait for its reader: when tracking is slower than the camera, frames are
dropped and the newest one is what counts. :class:`LiveFeed` gives any
:class:`~siamfc.io.video.FrameSource` that behaviour, and paces a video file at its frame rate, so
a file plays "as if it were a camera" (that is how the webcam demo is tested). With
``keep_all=True`` nothing is dropped nor paced: the reader waits for the consumer instead.
"""

from __future__ import annotations

import threading
import time
from collections import deque

from .video import Frame, FrameSource


class LiveFeed:
    """``get(timeout)`` returns the next frame not yet seen, or None; ``ended`` once the source
    has stopped and every kept frame was taken. Always ``close()`` it."""

    def __init__(self, source: FrameSource, pace_fps: float | None = None, keep_all: bool = False,
                 buffer: int = 4) -> None:
        self.source = source
        self.pace_fps = None if keep_all else pace_fps
        self.keep_all = keep_all
        self.dropped = 0  # frames replaced by a newer one before they were taken
        self.unreadable = 0  # frames the source could not decode
        self.delivered = 0  # frames that came out of the source
        self._frames: deque[Frame] = deque()
        self._buffer = buffer
        self._done = False
        self._error: BaseException | None = None
        self._stop = threading.Event()
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._work, name="siamfc-live", daemon=True)
        self._thread.start()

    def _work(self) -> None:
        start = time.perf_counter()
        try:
            for frame in self.source.frames():
                if self._stop.is_set():
                    return
                if frame.image is None:
                    self.unreadable += 1
                    continue
                if self.pace_fps:  # a file "as a camera": frame i is due at i / fps
                    delay = start + frame.index / self.pace_fps - time.perf_counter()
                    if delay > 0 and self._stop.wait(delay):
                        return
                with self._cond:
                    if self.keep_all:
                        while len(self._frames) >= self._buffer and not self._stop.is_set():
                            self._cond.wait(0.1)
                    else:
                        self.dropped += len(self._frames)
                        self._frames.clear()
                    self._frames.append(frame)
                    self.delivered += 1
                    self._cond.notify_all()
        except BaseException as exc:  # handed to the consumer
            self._error = exc
        finally:
            with self._cond:
                self._done = True
                self._cond.notify_all()

    def get(self, timeout: float = 0.0) -> Frame | None:
        """The next new frame, waiting up to ``timeout`` seconds; None when there is none (yet)."""
        with self._cond:
            if not self._frames and not self._done and timeout > 0:
                self._cond.wait_for(lambda: self._frames or self._done, timeout)
            if self._error is not None:
                error, self._error = self._error, None
                raise error
            if not self._frames:
                return None
            frame = self._frames.popleft()
            self._cond.notify_all()
            return frame

    @property
    def ended(self) -> bool:
        with self._cond:
            return self._done and not self._frames

    def close(self) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        self._thread.join(timeout=5)
        self.source.close()

    def __enter__(self) -> LiveFeed:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
