"""Helpers shared by the commands: parsing boxes, choosing a device, checking output paths.

Every check raises :class:`~siamfc.errors.SiamFCError` with a one-line message, which the
dispatcher prints as ``prog: error: ...`` with exit code 2.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable
from pathlib import Path

from ..devices import DEVICE_CHOICES, resolve_device, resolve_device_name  # noqa: F401 (for the commands)
from ..errors import SiamFCError
from ..io.writers import check_writable  # noqa: F401 (for the commands)

TYPE_CHECKING = False
if TYPE_CHECKING:
    import numpy as np


def warn(message: str) -> None:
    """A one-line warning on stderr (kept apart from the progress bar's line)."""
    print(f"warning: {message}", file=sys.stderr, flush=True)


def parse_box(text: str, what: str = "--init-box") -> np.ndarray:
    """``"x,y,w,h"`` (commas and/or spaces) -> float array; w and h must be > 0."""
    import numpy as np

    parts = [p for p in str(text).replace(",", " ").split() if p]
    if len(parts) != 4:
        raise SiamFCError(f"{what} {text!r}: expected four numbers x,y,w,h (e.g. 10,20,50,80)")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise SiamFCError(f"{what} {text!r}: expected four numbers x,y,w,h (e.g. 10,20,50,80)") from None
    if not all(math.isfinite(v) for v in values):
        raise SiamFCError(f"{what} {text!r}: values must be finite numbers")
    if values[2] <= 0 or values[3] <= 0:
        raise SiamFCError(f"{what} {text!r}: width and height must be positive")
    return np.array(values, dtype=np.float64)


def clip_box(
    box: np.ndarray,
    frame_shape: tuple[int, ...],
    what: str = "--init-box",
    on_warning: Callable[[str], None] = warn,
) -> np.ndarray:
    """Clip an ``x, y, w, h`` box to a frame of shape ``(H, W, ...)``.

    A box entirely outside the frame is an error, and so is one that looks like ``x1,y1,x2,y2``
    (:func:`siamfc.geometry.box_problem`); one partly outside is clipped, with a warning.
    """
    import numpy as np

    from ..geometry import box_problem

    height, width = int(frame_shape[0]), int(frame_shape[1])
    problem = box_problem(box, width, height, corners_hint=True)
    if problem:
        raise SiamFCError(f"{what} {_fmt(box)} {problem}")
    x, y, w, h = (float(v) for v in box)
    x1, y1 = max(x, 0.0), max(y, 0.0)
    x2, y2 = min(x + w, float(width)), min(y + h, float(height))
    clipped = np.array([x1, y1, x2 - x1, y2 - y1], dtype=np.float64)
    if not np.allclose(clipped, [x, y, w, h]):
        on_warning(f"{what} {_fmt(box)} extends past the {width}x{height} frame; clipped to {_fmt(clipped)}")
    return clipped


def _fmt(box: np.ndarray) -> str:
    return ",".join(f"{float(v):g}" for v in box)


def check_distinct_outputs(inputs: list[str], outputs: dict[str, Path | None], count: int) -> None:
    """A SiamFCError when an output (``--boxes``, ``--scores``: one file per target of ``count``;
    ``--output``, ``--record``: one) would overwrite one of the input's files (the video, a frame of
    a folder or glob) or another output: both are lost without it."""
    from ..io.box_files import target_paths

    sources = {Path(file).resolve() for file in inputs}
    seen: dict[Path, str] = {}
    for flag, path in outputs.items():
        if path is None:
            continue
        many = flag in ("--boxes", "--scores") and not (flag == "--boxes" and path.suffix.lower() == ".json")
        for file in target_paths(path, count) if many else [path]:
            where = file.resolve()
            if where in sources:
                what = "the input video" if len(sources) == 1 else "one of the input's frames"
                raise SiamFCError(f"{flag} {file}: is {what}; write to another file")
            if where in seen:
                raise SiamFCError(f"{flag} {file}: {seen[where]} writes the same file; give them different names")
            seen[where] = flag


def add_device_argument(parser: argparse.ArgumentParser) -> None:
    """``--device`` (validated by :func:`resolve_device`, so a bad value is a one-line error)."""
    parser.add_argument("--device", default="auto", metavar="{cpu,cuda,auto}",
                        help="where the network runs; auto = cuda when a GPU is available (default: auto)")


def add_backend_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--backend", default="auto", choices=("auto", "torch", "onnxruntime"),
                        help="what runs the network: auto = ONNX Runtime on the CPU, PyTorch on a GPU "
                             "(default: auto)")


def build_tracker(args: argparse.Namespace, device: str):
    """The MultiTracker of ``--weights`` and ``--backend`` on ``device`` (a name, from
    :func:`resolve_device_name`: on the CPU the default model then tracks without PyTorch)."""
    from ..tracking.tracker import MultiTracker

    if args.backend == "onnxruntime" and device != "cpu":
        raise SiamFCError("--backend onnxruntime runs on the CPU only: add --device cpu")
    try:
        return MultiTracker(args.weights, device, backend=args.backend, **lost_params(args))
    except ValueError as exc:  # settings that do not go together, e.g. an export folder and --backend torch
        raise SiamFCError(str(exc)) from None


def add_lost_arguments(parser: argparse.ArgumentParser) -> None:
    """``--redetect/--no-redetect`` and ``--lost-threshold`` (see :mod:`siamfc.tracking.lost`)."""
    parser.add_argument("--redetect", action=argparse.BooleanOptionalAction, default=True,
                        help="while a target is lost, search for it over a region growing up to the whole "
                             "frame (default: on)")
    parser.add_argument("--lost-threshold", type=float, default=0.5, metavar="C",
                        help="a target whose confidence (0..1) stays below C for 5 frames is reported lost "
                             "(present: false); 0 turns the lost state off (default: 0.5)")


def lost_params(args: argparse.Namespace) -> dict:
    """The TrackerConfig fields of :func:`add_lost_arguments` (none when the command lacks them)."""
    if not hasattr(args, "lost_threshold"):
        return {}
    if not 0.0 <= args.lost_threshold <= 1.0:
        raise SiamFCError(f"--lost-threshold {args.lost_threshold:g}: must be between 0 and 1")
    return {"redetect": args.redetect, "lost_threshold": args.lost_threshold}


class ShippedModelAction(argparse.Action):
    """``--model NAME``: a shipped model by name (``siamfc models``), stored as its path in ``weights``
    (appended where ``--weights`` may repeat); an unknown name is a usage error listing the names."""

    def __init__(self, option_strings: list[str], dest: str, append: bool = False, **kwargs) -> None:
        self.append = append
        super().__init__(option_strings, dest, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, value: object,
                 option_string: str | None = None) -> None:
        from ..errors import UnknownModelError
        from ..models.shipped import model_path

        try:
            path = str(model_path(str(value)))
        except UnknownModelError as exc:
            raise argparse.ArgumentError(self, str(exc)) from None
        namespace.weights = [*(namespace.weights or []), path] if self.append else path
        setattr(namespace, self.dest, value)


def add_model_argument(parser: argparse.ArgumentParser | argparse._MutuallyExclusiveGroup,
                       append: bool = False) -> None:
    """``--model NAME`` beside ``--weights PATH`` (see :class:`ShippedModelAction`)."""
    parser.add_argument("--model", action=ShippedModelAction, append=append, default=None, metavar="NAME",
                        help="a model shipped with the package, by name (siamfc models lists them; default: "
                             "siamfc_mobile_lite)" + (" (repeatable)" if append else ""))


def add_weights_argument(parser: argparse.ArgumentParser) -> None:
    """``--weights PATH`` or ``--model NAME`` (one of them; neither: the default shipped model)."""
    group = parser.add_mutually_exclusive_group()
    add_model_argument(group)
    group.add_argument("--weights", default=None, metavar="PATH",
                       help="model checkpoint (ours, or the PyTorch SiamFC port's state dict), or an export "
                            "folder; default: the model shipped with the package")
