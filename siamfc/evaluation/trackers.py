"""Building the trackers under evaluation, and checking beforehand that each can be built here."""

from __future__ import annotations

from collections.abc import Callable

from ..errors import UserError
from .specs import TrackerSpec


def make_tracker(spec: TrackerSpec, device: str = "cpu", nano_dir: str | None = None, repetitions: int = 1):
    """A got10k ``Tracker`` for ``spec``, timing the tracker only (frames decoded first)."""
    if spec.kind == "siamfc":
        from ..toolkit import DecodeBeforeTiming
        from ..tracker import SiamFCTracker

        class EvalSiamFC(DecodeBeforeTiming, SiamFCTracker):
            pass

        tracker = EvalSiamFC(weights=spec.weights, device=device, name=spec.name)
    else:
        from ..baselines import OpenCVTracker

        tracker = OpenCVTracker(spec.kind, nano_dir, name=spec.name)
    # the toolkit runs repetitions only for trackers that say they are not deterministic
    tracker.is_deterministic = repetitions == 1
    return tracker


def usable_trackers(specs: list[TrackerSpec], nano_dir: str | None, warn: Callable[[str], None]) -> tuple[
        list[TrackerSpec], list[str]]:
    """Check every tracker can be built here. CSRT/KCF without OpenCV contrib: skipped with a
    warning among others, an error when nothing else is left. Any other problem is an error."""
    from ..baselines import TrackerUnavailable, opencv_factory
    from ..checkpoint import default_weights_path, load_model
    from ..tracker import resolve_weights

    usable, skipped = [], []
    for spec in specs:
        if spec.kind == "siamfc":
            if spec.weights is None and not default_weights_path().is_file():
                raise UserError(f"tracker 'siamfc': the package ships no trained model yet ({default_weights_path()});"
                                " use --tracker siamfc:WEIGHTS or --weights PATH")
            load_model(resolve_weights(spec.weights))  # CheckpointError: one line naming the file
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
        raise UserError("none of the requested trackers is available here")
    return usable, skipped
