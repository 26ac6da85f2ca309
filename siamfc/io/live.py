"""A source's frames decoded in a background thread: as a camera delivers them (:class:`LiveFeed`), or
every one, ahead of the tracker (:class:`FrameReader`)."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterator
from itertools import islice

from .video import Frame, FrameSource


class LiveFeed:
    """The newest frame of ``source`` (or of its ``frames`` given), older ones not taken dropped, a file paced
    at ``pace_fps`` as a camera would; with ``keep_all`` nothing is dropped nor paced. Always ``close()`` it."""

    def __init__(self, source: FrameSource, pace_fps: float | None = None, keep_all: bool = False,
                 buffer: int = 4, pass_unreadable: bool = False, frames: Iterator[Frame] | None = None) -> None:
        self.source = source
        self.pace_fps = None if keep_all else pace_fps
        self.keep_all = keep_all
        self.pass_unreadable = pass_unreadable  # undecodable frames delivered (image None), not counted
        self.dropped = 0  # frames replaced by a newer one before they were taken
        self.unreadable = 0  # frames the source could not decode
        self._frames: deque[Frame] = deque()
        self._buffer = buffer
        self._done = False
        self._error: BaseException | None = None
        self._stop = threading.Event()
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._work, args=(frames or source.frames(),), name="siamfc-live",
                                        daemon=True)
        self._thread.start()

    def _work(self, frames: Iterator[Frame]) -> None:
        start = time.perf_counter()
        try:
            for frame in frames:
                if self._stop.is_set():
                    return
                if frame.image is None and not self.pass_unreadable:
                    self.unreadable += 1
                    continue
                if self.pace_fps:  # frame i is due at i / fps
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
                    self._cond.notify_all()
        except BaseException as exc:  # handed to the consumer once the frames before it are taken
            self._error = exc
        finally:
            with self._cond:
                self._done = True
                self._cond.notify_all()

    def get(self, timeout: float = 0.0) -> Frame | None:
        with self._cond:
            self._cond.wait_for(lambda: self._frames or self._done, timeout)
            if not self._frames:
                if self._error is not None:
                    error, self._error = self._error, None
                    raise error
                return None
            frame = self._frames.popleft()
            self._cond.notify_all()
            return frame

    @property
    def ended(self) -> bool:
        """The source has stopped and every kept frame was taken."""
        with self._cond:
            return self._done and not self._frames and self._error is None

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


class FrameReader(LiveFeed):
    """Iterates every one of the first ``max_frames`` stream positions (``Frame(i, None)`` where
    undecodable), decoded up to ``queue_size`` frames ahead."""

    def __init__(self, source: FrameSource, max_frames: int | None = None, queue_size: int = 8) -> None:
        super().__init__(source, keep_all=True, buffer=queue_size, pass_unreadable=True,
                         frames=islice(source.frames(), max_frames))

    def __iter__(self) -> Iterator[Frame]:
        while not self.ended:
            frame = self.get(timeout=0.1)
            if frame is not None:
                yield frame
