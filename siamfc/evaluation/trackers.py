"""Building the trackers under evaluation, and checking beforehand that each can be built here.

:class:`ToolkitTracker` is the one place that gives the got10k toolkit the ``Tracker`` it expects;
the package's own trackers do not depend on the toolkit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import numpy as np

from ..errors import SiamFCError
from .specs import TrackerSpec
from .toolkit import DecodeBeforeTiming


class SingleTracker(Protocol):
    """What the adapter needs: ``init(image, box)`` then ``update(image) -> box`` (x, y, w, h)."""

    def init(self, image: np.ndarray, box: np.ndarray) -> None: ...

    def update(self, image: np.ndarray) -> np.ndarray: ...


class ToolkitTracker(DecodeBeforeTiming):
    """Any :class:`SingleTracker` behind the got10k toolkit's ``Tracker`` interface (``name``,
    ``is_deterministic``, ``track(img_files, box)``), timing the tracker only (frames decoded first).

    ``is_deterministic=False`` makes the toolkit run its repetitions."""

    def __init__(self, tracker: SingleTracker, name: str, is_deterministic: bool = True) -> None:
        self.tracker = tracker
        self.name = name
        self.is_deterministic = is_deterministic
        self.scores: list[float] = []  # the last run's per-frame confidence, when the tracker gives one

    def init(self, image: np.ndarray, box: np.ndarray) -> None:
        self.tracker.init(image, box)
        self.scores = [1.0] if hasattr(self.tracker, "score") else []

    def update(self, image: np.ndarray) -> np.ndarray:
        box = self.tracker.update(image)
        if self.scores:
            self.scores.append(self.tracker.score)
        return box


def make_tracker(spec: TrackerSpec, device: str = "cpu", nano_dir: str | None = None,
                 repetitions: int = 1) -> ToolkitTracker:
    """The toolkit's ``Tracker`` for ``spec``."""
    tracker: SingleTracker
    if spec.kind == "siamfc":
        from ..tracking.onnx_format import is_export
        from ..tracking.tracker import SiamFCTracker

        if spec.weights is not None and is_export(spec.weights):
            device = "cpu"  # an export folder runs with ONNX Runtime, on the CPU
        tracker = SiamFCTracker(weights=spec.weights, device=device, **dict(spec.params))
    else:
        from .baselines import OpenCVTracker

        tracker = OpenCVTracker(spec.kind, nano_dir)
    # the toolkit runs repetitions only for trackers that say they are not deterministic
    return ToolkitTracker(tracker, spec.name, is_deterministic=repetitions == 1)


def check_params(spec: TrackerSpec) -> None:
    """A siamfc tracker's options are TrackerConfig fields with valid values, else a SiamFCError."""
    from ..tracking.lost_settings import settings_from
    from ..tracking.tracker import TrackerConfig

    try:
        cfg = TrackerConfig.from_kwargs(**dict(spec.params))
        cfg.check()
        for settings in settings_from(cfg):
            settings.check()
    except (TypeError, ValueError) as exc:
        raise SiamFCError(f"tracker {spec.name!r}: {exc}") from None


def _check_weights(path: str) -> None:
    """A checkpoint that loads, or a folder written by ``siamfc export`` (as ``siamfc track
    --weights`` takes); a CheckpointError is one line naming the file."""
    from ..models.checkpoint import load_model
    from ..tracking.box_backend import is_box_model, load_box_model
    from ..tracking.onnx_format import export_folder, read_manifest

    if is_box_model(path, None):  # a NanoTrack v2 folder or a box-head checkpoint
        load_box_model(path)
        return
    folder = export_folder(path)
    if folder is not None:
        read_manifest(folder)
    else:
        load_model(path)


def usable_trackers(specs: list[TrackerSpec], nano_dir: str | None, warn: Callable[[str], None]) -> tuple[
        list[TrackerSpec], list[str]]:
    """Check every tracker can be built here. CSRT/KCF without OpenCV contrib: skipped with a
    warning among others, an error when nothing else is left. Any other problem is an error."""
    from ..models.shipped import default_weights_path
    from ..tracking.tracker import resolve_weights
    from .baselines import TrackerUnavailable, opencv_factory

    usable, skipped = [], []
    for spec in specs:
        if spec.kind == "siamfc":
            if spec.weights is None and not default_weights_path().is_file():
                raise SiamFCError(f"tracker 'siamfc': the package ships no trained model yet "
                                  f"({default_weights_path()}); use --tracker siamfc:WEIGHTS or --weights PATH")
            _check_weights(resolve_weights(spec.weights))
            check_params(spec)
            usable.append(spec)
            continue
        try:
            opencv_factory(spec.kind, nano_dir)
        except TrackerUnavailable as exc:
            if len(specs) == 1:
                raise
            warn(f"skipping {exc}")
            skipped.append(spec.name)
            continue
        usable.append(spec)
    if not usable:
        raise SiamFCError("none of the requested trackers is available here")
    return usable, skipped
