"""The trackers under evaluation: ours and OpenCV's (``csrt`` and ``kcf`` only in its contrib build),
checked beforehand, and behind the got10k toolkit's ``Tracker`` interface (:class:`ToolkitTracker`,
the one place that gives the toolkit what it expects)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np
from PIL import Image

from ..errors import SiamFCError
from ..geometry import check_frame_size
from .got10k_compat import read_rgb
from .specs import TrackerSpec

NANO_FILES = ("nanotrack_backbone_sim.onnx", "nanotrack_head_sim.onnx")
_CV_CLASSES = {"csrt": "TrackerCSRT", "kcf": "TrackerKCF", "mil": "TrackerMIL"}


class TrackerUnavailable(SiamFCError):
    """This OpenCV build lacks the tracker (CSRT and KCF need the contrib build)."""


class SingleTracker(Protocol):
    def init(self, image: np.ndarray, box: np.ndarray) -> None: ...

    def update(self, image: np.ndarray) -> np.ndarray: ...


class ToolkitTracker:
    """Any :class:`SingleTracker` as the toolkit's ``Tracker`` (``is_deterministic=False``: it runs repetitions)."""

    def __init__(self, tracker: SingleTracker, name: str, is_deterministic: bool = True) -> None:
        self.tracker, self.name, self.is_deterministic = tracker, name, is_deterministic
        self.scores: list[float] = []  # the last run's per-frame confidence, when the tracker gives one

    def init(self, image: np.ndarray, box: np.ndarray) -> None:
        self.tracker.init(image, box)
        self.scores = [1.0] if hasattr(self.tracker, "score") else []

    def update(self, image: np.ndarray) -> np.ndarray:
        box = self.tracker.update(image)
        if self.scores:
            self.scores.append(self.tracker.score)
        return box

    def track(self, img_files, box, visualize=False):
        """The toolkit's loop, but each frame decoded before the clock starts (PIL decodes lazily: the
        toolkit would time the decoding)."""
        boxes, times, size = np.zeros((len(img_files), 4)), np.zeros(len(img_files)), None
        boxes[0] = box
        for f, img_file in enumerate(img_files):
            image = read_rgb(img_file)
            size = check_frame_size(size, image.shape, img_file)  # every tracker's boxes in one frame's pixels
            start = time.perf_counter()
            if f == 0:
                self.init(image, box)
            else:
                boxes[f, :] = self.update(image)
            times[f] = time.perf_counter() - start
        return boxes, times


def cv_constructor(kind: str) -> Callable[[], cv2.Tracker] | None:
    """OpenCV's ``csrt``, ``kcf`` or ``mil`` constructor in this build (its legacy module too), or None."""
    cls = _CV_CLASSES[kind]
    for owner in (cv2, getattr(cv2, "legacy", None)):
        create = getattr(owner, f"{cls}_create", None) or getattr(getattr(owner, cls, None), "create", None)
        if create is not None:
            return create
    return None


def nano_factory(backbone: str, head: str) -> Callable[[], cv2.Tracker]:
    if not hasattr(cv2, "TrackerNano_create"):
        raise TrackerUnavailable(f"tracker 'nano': OpenCV {cv2.__version__} here has no TrackerNano (4.7 and later "
                                 "have it)", "--tracker")

    def create_nano() -> cv2.Tracker:
        params = cv2.TrackerNano_Params()
        params.backbone, params.neckhead = backbone, head
        return cv2.TrackerNano_create(params)

    return create_nano


def nano_files(nano_dir: str | os.PathLike | None) -> tuple[str, str]:
    """The NanoTrack backbone and head ONNX files in ``nano_dir``."""
    missing = [name for name in NANO_FILES if nano_dir is None or not (Path(nano_dir) / name).is_file()]
    if missing:
        raise SiamFCError(f"--nano-dir {nano_dir}: missing {', '.join(missing)}" if nano_dir is not None else
                          "tracker 'nano' needs --nano-dir DIR holding " + " and ".join(NANO_FILES), "--nano-dir")
    return os.fspath(Path(nano_dir) / NANO_FILES[0]), os.fspath(Path(nano_dir) / NANO_FILES[1])


class OpenCVTracker:
    """An OpenCV tracker: RGB images in, ``x, y, w, h`` boxes out (OpenCV takes integer boxes). When
    ``update`` fails (or gives an empty box) the last box is kept: benchmarks need every frame's."""

    def __init__(self, kind: str, nano_dir: str | os.PathLike | None = None) -> None:
        self._create = cv_constructor(kind) if kind != "nano" else nano_factory(*nano_files(nano_dir))
        if kind == "nano":
            try:
                self._create()
            except cv2.error as exc:  # its last line says why
                why = (str(exc).strip().splitlines() or [type(exc).__name__])[-1].strip()
                raise SiamFCError(f"--nano-dir {nano_dir}: OpenCV cannot load NanoTrack ({why})", "--nano-dir") from exc
        elif self._create is None:
            raise TrackerUnavailable(
                f"tracker {kind!r}: OpenCV {cv2.__version__} here has no {_CV_CLASSES[kind]} "
                "(it is in the contrib build, opencv-contrib-python-headless; see docs/evaluation.md)", "--tracker")
        self._tracker: cv2.Tracker | None = None
        self._box = np.zeros(4)

    @staticmethod
    def _bgr(image: np.ndarray | Image.Image) -> np.ndarray:
        """OpenCV's colour order; the toolkit's VOT experiment gives PIL images."""
        if isinstance(image, Image.Image):
            image = np.asarray(image.convert("RGB"))
        return cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2BGR)

    def init(self, image: np.ndarray | Image.Image, box: np.ndarray) -> None:
        x, y, w, h = (float(v) for v in box)
        x0, y0 = int(round(x)), int(round(y))
        rect = (x0, y0, max(1, int(round(x + w)) - x0), max(1, int(round(y + h)) - y0))
        self._tracker = self._create()  # a fresh one per sequence: OpenCV trackers keep state
        self._tracker.init(self._bgr(image), rect)
        self._box = np.array([x, y, w, h], dtype=np.float64)

    def update(self, image: np.ndarray | Image.Image) -> np.ndarray:
        ok, rect = self._tracker.update(self._bgr(image))
        if ok and rect[2] > 0 and rect[3] > 0:
            self._box = np.array(rect, dtype=np.float64)
        return self._box.copy()


@cache
def make_tracker(spec: TrackerSpec, device: str = "cpu", nano_dir: str | None = None,
                 repetitions: int = 1) -> ToolkitTracker:
    """The toolkit's ``Tracker`` for ``spec`` (made once a process: it loads the model)."""
    tracker: SingleTracker
    if spec.kind == "siamfc":
        from ..models.shipped import default_weights_path
        from ..tracking.onnx_format import is_export
        from ..tracking.tracker import SiamFCTracker

        if spec.weights is None and not default_weights_path().is_file():
            raise SiamFCError(f"tracker 'siamfc': the package ships no trained model yet ({default_weights_path()}); "
                              "use --tracker siamfc:WEIGHTS or --weights PATH", "--weights")
        if spec.weights is not None and is_export(spec.weights):
            device = "cpu"  # an export folder runs with ONNX Runtime, on the CPU
        tracker = SiamFCTracker(weights=spec.weights, device=device, **dict(spec.params))
    else:
        tracker = OpenCVTracker(spec.kind, nano_dir)
    return ToolkitTracker(tracker, spec.name, is_deterministic=repetitions == 1)


def usable_trackers(specs: list[TrackerSpec], device: str, nano_dir: str | None, repetitions: int,
                    warn: Callable[[str], None]) -> tuple[list[TrackerSpec], list[str]]:
    """The trackers that can be built here (each built once: its weights and options are checked
    before anything runs), and the names of those skipped: CSRT/KCF without OpenCV contrib, with a
    warning, unless nothing else is left. Any other problem is an error."""
    usable, skipped = [], []
    for spec in specs:
        try:
            make_tracker(spec, device, nano_dir, repetitions)
            usable.append(spec)
        except TrackerUnavailable as exc:
            if len(specs) == 1:
                raise
            warn(f"skipping {exc}")
            skipped.append(spec.name)
    if not usable:
        raise SiamFCError("none of the requested trackers is available here", "--tracker")
    return usable, skipped
