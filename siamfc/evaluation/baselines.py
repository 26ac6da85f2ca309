"""OpenCV's trackers with our trackers' interface (``init(image, box)``, ``update(image) -> box``),
to compare with ours (:mod:`siamfc.evaluation.trackers` puts them behind the got10k toolkit).

``csrt`` and ``kcf`` exist only in OpenCV's contrib build (``opencv-contrib-python-headless``);
``mil`` and ``nano`` (NanoTrack v2, two ONNX files) are in the main build.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from ..errors import SiamFCError

OPENCV_TRACKERS: dict[str, str] = {"csrt": "CSRT", "kcf": "KCF", "mil": "MIL", "nano": "NanoTrack"}
NANO_FILES = ("nanotrack_backbone_sim.onnx", "nanotrack_head_sim.onnx")
_CV_CLASSES = {"csrt": "TrackerCSRT", "kcf": "TrackerKCF", "mil": "TrackerMIL"}


class TrackerUnavailable(SiamFCError):
    """This OpenCV build lacks the tracker (CSRT and KCF need the contrib build)."""


def _constructor(kind: str) -> Callable[[], cv2.Tracker] | None:
    cls = _CV_CLASSES[kind]
    for owner in (cv2, getattr(cv2, "legacy", None)):
        if owner is None:
            continue
        create = getattr(owner, f"{cls}_create", None) or getattr(getattr(owner, cls, None), "create", None)
        if create is not None:
            return create
    return None


def nano_files(nano_dir: str | os.PathLike | None) -> tuple[str, str]:
    """The NanoTrack backbone and head ONNX files in ``nano_dir``; one-line error if missing."""
    if nano_dir is None:
        raise SiamFCError("tracker 'nano' needs --nano-dir DIR holding " + " and ".join(NANO_FILES))
    folder = Path(nano_dir)
    if not folder.is_dir():
        raise SiamFCError(f"--nano-dir {folder}: no such folder (it must hold {' and '.join(NANO_FILES)})")
    missing = [name for name in NANO_FILES if not (folder / name).is_file()]
    if missing:
        raise SiamFCError(f"--nano-dir {folder}: missing {', '.join(missing)}")
    return os.fspath(folder / NANO_FILES[0]), os.fspath(folder / NANO_FILES[1])


def opencv_factory(kind: str, nano_dir: str | os.PathLike | None = None) -> Callable[[], cv2.Tracker]:
    """A function creating a fresh OpenCV tracker of ``kind``; raises when it cannot be made here."""
    if kind == "nano":
        backbone, head = nano_files(nano_dir)

        def create_nano() -> cv2.Tracker:
            params = cv2.TrackerNano_Params()
            params.backbone, params.neckhead = backbone, head
            return cv2.TrackerNano_create(params)

        try:
            create_nano()
        except cv2.error as exc:
            raise SiamFCError(f"--nano-dir {nano_dir}: OpenCV cannot load NanoTrack ({_first_line(exc)})") from None
        return create_nano
    if kind not in _CV_CLASSES:
        raise SiamFCError(f"unknown OpenCV tracker {kind!r}; known: {', '.join(OPENCV_TRACKERS)}")
    create = _constructor(kind)
    if create is None:
        raise TrackerUnavailable(
            f"tracker {kind!r}: OpenCV {cv2.__version__} here has no {_CV_CLASSES[kind]} "
            "(it is in the contrib build, opencv-contrib-python-headless; see docs/evaluation.md)")
    return create


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[-1] if lines else type(exc).__name__


class OpenCVTracker:
    """An OpenCV tracker: RGB images in, ``x, y, w, h`` boxes out.

    OpenCV takes integer boxes. When ``update`` reports a failure (or an empty box) the last box
    is kept, so every frame has a prediction as the benchmarks require.
    """

    def __init__(self, kind: str, nano_dir: str | os.PathLike | None = None, name: str | None = None) -> None:
        self.name = name or OPENCV_TRACKERS.get(kind, kind)
        self.kind = kind
        self._create = opencv_factory(kind, nano_dir)
        self._tracker: cv2.Tracker | None = None
        self._box = np.zeros(4)

    @staticmethod
    def _bgr(image: np.ndarray | Image.Image) -> np.ndarray:
        if isinstance(image, Image.Image):
            image = np.asarray(image.convert("RGB"))
        return cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2BGR)

    def init(self, image: np.ndarray | Image.Image, box: np.ndarray) -> None:
        frame = self._bgr(image)
        x, y, w, h = (float(v) for v in box)
        x0, y0 = int(round(x)), int(round(y))
        rect = (x0, y0, max(1, int(round(x + w)) - x0), max(1, int(round(y + h)) - y0))
        self._tracker = self._create()  # a fresh one per sequence: OpenCV trackers keep state
        self._tracker.init(frame, rect)
        self._box = np.array([x, y, w, h], dtype=np.float64)

    def update(self, image: np.ndarray | Image.Image) -> np.ndarray:
        if self._tracker is None:
            raise RuntimeError("call init(image, box) before update(image)")
        ok, rect = self._tracker.update(self._bgr(image))
        if ok and rect[2] > 0 and rect[3] > 0:
            self._box = np.array(rect, dtype=np.float64)
        return self._box.copy()
