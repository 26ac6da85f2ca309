"""Frame sources for the command line: a video file, a folder of frames, a glob or a camera; an
undecodable frame is ``Frame(index, None)``, counted in ``skipped``. A source's frames are decoded in a
background thread: as a camera delivers them (:class:`LiveFeed`), or every one, ahead of the tracker."""

from __future__ import annotations

import contextlib
import glob
import os
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from unittest import mock

import cv2
import numpy as np

from ..data.sequences import IMAGE_EXTENSIONS, frame_files, natural_key
from ..errors import SiamFCError
from ..geometry import check_frame_size

#: consecutive decode failures after which a video or camera is taken to have ended
MAX_CONSECUTIVE_FAILURES = 25


@dataclass
class Frame:
    """Stream position ``index`` (0 at ``--start-frame``) and its RGB uint8 image, None if undecodable."""

    index: int
    image: np.ndarray | None
    reason: str = ""


def read_image(path: str) -> tuple[np.ndarray | None, str]:
    """An image file decoded (BGR), or ``(None, why)``; a JPEG without its end marker is unreadable
    (libjpeg would decode it half grey without failing)."""
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError as exc:
        return None, f"cannot read ({exc.strerror or exc})"
    if data.size >= 2 and data[0] == 0xFF and data[1] == 0xD8:
        tail = data[-64:]
        if not np.any((tail[:-1] == 0xFF) & (tail[1:] == 0xD9)):
            return None, "truncated JPEG"
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    return image, "" if image is not None else "not a decodable image"


class FrameSource(contextlib.AbstractContextManager):
    """``frames()`` yields :class:`Frame` objects; ``close()`` releases the source. What it delivered is
    counted while it is read: ``skipped`` frames, ``missing`` ones (announced, never delivered) and
    ``ended_early``, a note when a stream stops before its announced length."""

    kind = "source"

    def __init__(self, description: str, files: list[str] | None = None) -> None:
        self.description, self.fps = description, None
        self.length: int | None = None  # frames expected from the start frame on, if known
        self.files = files or []  # the files it reads (none for a camera): outputs must not replace them
        self.skipped, self.missing, self.ended_early = 0, 0, ""

    def frames(self) -> Iterator[Frame]:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def __exit__(self, *exc) -> None:
        self.close()

    def _skip(self, index: int, reason: str) -> Frame:
        self.skipped += 1
        return Frame(index, None, reason)


class ImageListSource(FrameSource):
    """Image files (a folder's or a glob's), in natural order."""

    kind = "images"

    def __init__(self, paths: list[str], description: str, start_frame: int = 0) -> None:
        super().__init__(description, paths)
        self.paths = paths[start_frame:]
        self.length = len(self.paths)
        if not self.paths:
            raise SiamFCError(f"{description}: --start-frame {start_frame} is past its {len(paths)} frames",
                              "--start-frame")

    def frames(self) -> Iterator[Frame]:
        size: tuple[int, int] | None = None
        for index, path in enumerate(self.paths):
            image, problem = read_image(path)
            if image is None:
                yield self._skip(index, f"{path}: {problem}")
            else:
                size = check_frame_size(size, image.shape, path)
                yield Frame(index, cv2.cvtColor(image, cv2.COLOR_BGR2RGB))


class CaptureSource(FrameSource):
    """A ``cv2.VideoCapture`` (``kind``: a video file or a camera); one that did not open is released and
    refused (the error's key is ``key``)."""

    def __init__(self, capture: cv2.VideoCapture, description: str, kind: str, key: str, start_frame: int = 0,
                 files: list[str] | None = None) -> None:
        super().__init__(description, files)
        if not capture.isOpened():
            capture.release()
            raise SiamFCError(f"{description} does not open (is it connected, and free?)" if kind == "camera" else
                              f"{description}: OpenCV cannot decode this file as a video", key)
        self.kind, self.capture = kind, capture
        fps = capture.get(cv2.CAP_PROP_FPS)
        self.fps = float(fps) if 0 < fps < 1000 else None
        count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0) if kind == "video" else 0
        self.length = max(count - start_frame, 0) if count > 0 else None
        for _ in range(start_frame):  # grab() rather than seeking: seeking is inexact for many codecs
            if self.length == 0 or not capture.grab():
                raise SiamFCError(f"{description}: --start-frame {start_frame} is past its last frame", "--start-frame")
        self._lock, self._origin = threading.Lock(), None  # and the timestamp (in frames) of stream position 0

    def frames(self) -> Iterator[Frame]:
        index = 0
        pending: list[int] = []  # failed reads not yet known to be gaps (vs the end of the stream)
        while True:
            with self._lock:
                if self.capture is None:
                    return
                ok, image = self.capture.read()
                stamp = self.capture.get(cv2.CAP_PROP_POS_MSEC) if ok else 0.0
            if ok and image is not None:
                position = self._position(index, stamp)
                for failed in [*pending, *range(index, position)]:
                    yield self._skip(failed, "undecodable frame")
                pending.clear()
                index = position
                yield Frame(index, cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
            else:
                if self.kind == "video" and (self.length is None or index >= self.length):
                    if pending:  # failures up to the announced end: the file stops short
                        self._note_end(pending[0])
                    return
                pending.append(index)
                if len(pending) >= MAX_CONSECUTIVE_FAILURES:
                    self._note_end(pending[0])
                    return
            index += 1

    def _position(self, counted: int, msec: float) -> int:
        """The position of the frame just read: ``counted``, or more when its timestamp says that frames
        were lost without a failed read (whole-frame jumps only, in a video of known rate and length)."""
        if self.kind != "video" or not self.fps:
            return counted
        stamp = msec * self.fps / 1000.0
        if self._origin is None:
            if stamp > 0 or counted == 0:
                self._origin = stamp - counted
            return counted
        steps = stamp - self._origin
        position = round(steps)
        jumped = position > counted and abs(steps - position) <= 0.2 and (self.length is None or position < self.length)
        return position if jumped else counted

    def _note_end(self, read_until: int) -> None:
        self.missing = 0 if self.length is None else self.length - read_until
        self.ended_early = (f"{self.description} stopped delivering frames after {read_until}" if self.kind == "camera"
                            else f"{self.description} ended after {read_until} of {self.length} announced frames")

    def close(self) -> None:
        with self._lock:
            if self.capture is not None:
                self.capture.release()
                self.capture = None


def open_source(spec: str | int, start_frame: int = 0) -> FrameSource:
    """``spec``: a video file, a folder of frames, a glob (``"frames/*.jpg"``) or a camera index."""
    text = str(spec)
    if not text.strip():
        raise SiamFCError("no video given (the name is empty)", text)
    path = Path(text).expanduser()
    if isinstance(spec, int) or (text.isdigit() and not path.exists()):
        index = int(text)
        if not 0 <= index < 2**31:  # OpenCV crashes on -1 and overflows past a C int
            raise SiamFCError(f"camera {index}: not a camera index (0 is the first camera, 1 the second, ...)", text)
        return CaptureSource(cv2.VideoCapture(index), f"camera {index}", "camera", text, start_frame)
    folder = path.is_dir()
    if folder or (not path.exists() and set("*?[") & set(text)):  # a folder of frames, or a glob
        paths = ([os.fspath(p) for p in frame_files(path)] if folder else
                 sorted((p for p in glob.glob(os.path.expanduser(text)) if os.path.isfile(p)), key=natural_key))
        if not paths:
            raise SiamFCError(f"{text}: folder holds no image files ({', '.join(IMAGE_EXTENSIONS[:4])}, ...)"
                              if folder else f"{text}: no files match this pattern", text)
        return ImageListSource(paths, text, start_frame)
    image, head = path.suffix.lower() in IMAGE_EXTENSIONS, b""
    if path.is_file() and os.access(path, os.R_OK) and not image:
        with open(path, "rb") as f:
            head = f.read(4096)
    problem = ("no such file or folder" if not path.exists() else "not a regular file" if not path.is_file()
               else "permission denied" if not os.access(path, os.R_OK) else
               # FFmpeg would play text as a video of rendered characters (its "tty" demuxer)
               "a text file, not a video (track takes a video, a folder of frames, a glob or a camera index)"
               if _is_text(head) else "")
    if problem:
        raise SiamFCError(f"{text}: {problem}", text)
    if image:
        return ImageListSource([os.fspath(path)], text, start_frame)
    # an AVI file is read in its index's order (FFmpeg's ``sortdts``), so that a frame's timestamp is its
    # position even after a damaged stretch that the sequential reader would skip without a trace
    key = "OPENCV_FFMPEG_CAPTURE_OPTIONS"
    avi = key not in os.environ and head[:4] == b"RIFF" and head[8:12] == b"AVI "
    with mock.patch.dict(os.environ, {key: "fflags;sortdts"} if avi else {}):
        capture = cv2.VideoCapture(os.fspath(path), cv2.CAP_FFMPEG)
    return CaptureSource(capture, text, "video", text, start_frame, [os.fspath(path)])


def _is_text(head: bytes) -> bool:
    """Whether a file's first 4 KiB are UTF-8 text without NUL bytes: no video container starts like that."""
    if not head or b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start >= len(head) - 3  # only a character cut at the end of the 4 KiB
    return True


class LiveFeed(contextlib.AbstractContextManager):
    """The newest frame of ``source`` (or of its ``frames`` given), older ones not taken dropped, a file paced
    at ``pace_fps`` as a camera would; with ``keep_all`` nothing is dropped nor paced. Always ``close()`` it."""

    def __init__(self, source: FrameSource, pace_fps: float | None = None, keep_all: bool = False,
                 buffer: int = 4, pass_unreadable: bool = False, frames: Iterator[Frame] | None = None) -> None:
        self.source, self.keep_all, self._buffer = source, keep_all, buffer
        self.pace_fps = None if keep_all else pace_fps
        self.pass_unreadable = pass_unreadable  # undecodable frames delivered (image None), not counted
        self.dropped = self.unreadable = 0  # frames replaced by a newer one before they were taken; undecodable
        self._frames: deque[Frame] = deque()
        self._done, self._error = False, None  # the source stopped; what it raised, for the consumer
        self._stop, self._cond = threading.Event(), threading.Condition()
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

    def __iter__(self) -> Iterator[Frame]:
        """Every frame delivered, until the source ends."""
        while not self.ended:
            frame = self.get(timeout=0.1)
            if frame is not None:
                yield frame

    def __exit__(self, *exc) -> None:
        self.close()


def read_ahead(source: FrameSource, max_frames: int | None = None) -> LiveFeed:
    """Every one of the first ``max_frames`` stream positions (``Frame(i, None)`` where undecodable), decoded
    up to 8 frames ahead of the tracker."""
    return LiveFeed(source, keep_all=True, buffer=8, pass_unreadable=True, frames=islice(source.frames(), max_frames))
