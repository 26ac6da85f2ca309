"""Annotated videos (``track --output``, ``demo``, ``webcam --record``), all or nothing: written under
a temporary name, read back (OpenCV reports no write errors), then renamed into place."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from ..errors import SiamFCError
from .writers import check_writable, temporary_sibling

VIDEO_CODECS = {".mp4": "mp4v", ".avi": "MJPG", ".mkv": "MJPG"}  # the documented ones only


def check_video_output(path: str, flag: str = "--output") -> Path:
    """``path`` once sure it is a known video type in a writable place."""
    suffix = Path(path).suffix.lower()
    if suffix not in VIDEO_CODECS:
        raise SiamFCError(f"{flag} {path}: unknown video type {suffix or '(none)'}; use .mp4, .avi or .mkv", flag)
    return check_writable(path, flag)


class VideoOutput:
    """RGB frames into ``path`` (a path :func:`check_video_output` passed), put in place by ``close()``;
    opened now at ``size``, or without one at the first frame. Frames of another size are resized."""

    def __init__(self, path: Path, fps: float, size: tuple[int, int] | None = None) -> None:
        self.path, self.fps, self.size = path, fps, size
        self.frames = 0
        self.writer: cv2.VideoWriter | None = None
        if size is not None:
            self._open(size)

    def _open(self, size: tuple[int, int]) -> None:
        self.size, self.tmp = size, temporary_sibling(self.path)
        fourcc = cv2.VideoWriter_fourcc(*VIDEO_CODECS[self.path.suffix.lower()])
        self.writer = cv2.VideoWriter(os.fspath(self.tmp), fourcc, self.fps, size)
        if not self.writer.isOpened():
            self.tmp.unlink(missing_ok=True)
            raise SiamFCError(f"--output {self.path}: OpenCV cannot write this video file", "--output")

    def write(self, image: np.ndarray) -> None:
        size = (image.shape[1], image.shape[0])
        if self.writer is None:
            self._open(size)
        elif size != self.size:
            image = cv2.resize(image, self.size, interpolation=cv2.INTER_AREA)
        self.writer.write(cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        self.frames += 1

    def close(self) -> None:
        if self.writer is None:
            return
        self.writer.release()
        try:
            if not self._reads_back():
                raise SiamFCError(f"--output {self.path}: the video could not be written whole (its {self.frames} "
                                  "frames do not read back; is the disk full?); nothing was kept (the file is as it "
                                  "was)", "--output")
            os.replace(self.tmp, self.path)
        except OSError as exc:
            raise SiamFCError(f"--output {self.path}: cannot be put in place ({exc.strerror or exc})",
                              "--output") from exc
        finally:
            self.tmp.unlink(missing_ok=True)  # gone once put in place

    def discard(self) -> None:
        if self.writer is not None:
            self.writer.release()
            self.tmp.unlink(missing_ok=True)

    def _reads_back(self) -> bool:
        """Whether the file announces every frame and its last frame decodes (an AVI or Matroska file cut
        short by a full disk still announces every frame: its header is written last)."""
        if not self.frames:
            return True
        capture = cv2.VideoCapture(os.fspath(self.tmp), cv2.CAP_FFMPEG)
        try:
            if not capture.isOpened() or int(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0) < self.frames:
                return False
            capture.set(cv2.CAP_PROP_POS_FRAMES, self.frames - 1)
            return bool(capture.read()[0])
        finally:
            capture.release()
