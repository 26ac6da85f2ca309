"""A source's frames decoded in a background thread: every frame, ahead of the tracker
(:class:`FrameReader`), or as a camera delivers them (:class:`LiveFeed`)."""

from __future__ import annotations

import queue
import threading
import time
from collections import deque
from collections.abc import Iterator

from ..errors import SiamFCError
from .video import Frame, FrameSource

_END = object()


class FrameReader:
    """Iterates the first ``max_frames`` stream positions of ``source`` through a bounded queue.
    Always ``close()`` it (or use ``with``)."""

    def __init__(self, source: FrameSource, max_frames: int | None = None, queue_size: int = 8) -> None:
        if max_frames is not None and max_frames < 1:
            raise SiamFCError(f"--max-frames {max_frames}: must be 1 or more", "--max-frames")
        self.source = source
        self.max_frames = max_frames
        self._queue: queue.Queue = queue.Queue(maxsize=queue_size)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._work, name="siamfc-decode", daemon=True)
        self._thread.start()

    def _put(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _work(self) -> None:
        try:
            for count, frame in enumerate(self.source.frames()):
                if self.max_frames is not None and count >= self.max_frames:
                    break
                if not self._put(frame):
                    return
        except BaseException as exc:  # handed to the consumer, raised there
            self._put(exc)
            return
        self._put(_END)

    def __iter__(self) -> Iterator[Frame]:
        while True:
            item = self._queue.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.source.close()

    def __enter__(self) -> FrameReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class LiveFeed:
    """The newest frame of ``source``: older ones not yet taken are dropped, as a camera does; a file
    is paced at ``pace_fps`` (so it plays as a camera). With ``keep_all`` nothing is dropped nor
    paced. ``get(timeout)`` returns a frame not yet seen, or None; always ``close()`` it."""

    def __init__(self, source: FrameSource, pace_fps: float | None = None, keep_all: bool = False,
                 buffer: int = 4) -> None:
        self.source = source
        self.pace_fps = None if keep_all else pace_fps
        self.keep_all = keep_all
        self.dropped = 0  # frames replaced by a newer one before they were taken
        self.unreadable = 0  # frames the source could not decode
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
        except BaseException as exc:  # handed to the consumer
            self._error = exc
        finally:
            with self._cond:
                self._done = True
                self._cond.notify_all()

    def get(self, timeout: float = 0.0) -> Frame | None:
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
        """The source has stopped and every kept frame was taken."""
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
