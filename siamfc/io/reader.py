"""Decoding ahead: a source's frames decoded in a background thread into a bounded queue, so that
decoding overlaps tracking."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator

from ..errors import SiamFCError
from .video import Frame, FrameSource

_END = object()


class FrameReader:
    """Iterates a source's frames decoded in a background thread (a bounded queue between).

    ``max_frames`` limits how many stream positions are produced. Always ``close()`` (or use
    ``with``): it stops the thread and releases the source.
    """

    def __init__(self, source: FrameSource, max_frames: int | None = None, queue_size: int = 8) -> None:
        if max_frames is not None and max_frames < 1:
            raise SiamFCError(f"--max-frames {max_frames}: must be 1 or more")
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
