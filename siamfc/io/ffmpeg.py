"""How a file reaches OpenCV's FFmpeg backend: its log level, what is refused before it sees the
file (text, which FFmpeg would play as rendered characters), and AVI's index order."""

from __future__ import annotations

import os
from pathlib import Path

import cv2


def quiet_ffmpeg() -> None:
    """Keep FFmpeg's own log lines (``moov atom not found``, ...) off stderr: open failures become
    one clear SiamFCError and undecodable frames are counted. It must be set before OpenCV first
    initialises FFmpeg; set ``OPENCV_FFMPEG_LOGLEVEL`` yourself (e.g. 32) to see them again."""
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")


def is_text(path: Path) -> bool:
    """True for a file whose first 4 KiB are UTF-8 text without NUL bytes: no video container
    starts like that."""
    with open(path, "rb") as f:
        head = f.read(4096)
    if not head or b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start >= len(head) - 3  # only a character cut at the end of the 4 KiB
    return True


def is_avi(path: Path) -> bool:
    with open(path, "rb") as f:
        head = f.read(12)
    return head[:4] == b"RIFF" and head[8:12] == b"AVI "


def open_video(path: Path) -> cv2.VideoCapture:
    """An AVI file is read in the order of its index (FFmpeg's ``sortdts``), so that every frame's
    timestamp is its position even when a damaged stretch hides frames from the sequential reader
    (which would number the frames after it as if nothing were lost)."""
    key = "OPENCV_FFMPEG_CAPTURE_OPTIONS"
    if key in os.environ or not is_avi(path):
        return cv2.VideoCapture(os.fspath(path), cv2.CAP_FFMPEG)
    os.environ[key] = "fflags;sortdts"
    try:
        return cv2.VideoCapture(os.fspath(path), cv2.CAP_FFMPEG)
    finally:
        del os.environ[key]
