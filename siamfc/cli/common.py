"""What the commands share: their model and tracker options, boxes from the command line, output checks.
Every check raises a one-line :class:`~siamfc.errors.SiamFCError` keyed by the flag."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Callable
from pathlib import Path

from ..errors import SiamFCError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NoReturn

    import numpy as np


class OneLineParser(argparse.ArgumentParser):
    """Usage errors in one line and exit code 2, like the commands' other errors."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def warn(message: str) -> None:
    """A one-line warning on stderr."""
    print(f"warning: {message}", file=sys.stderr, flush=True)


def at_least(low: int, high: int | None = None) -> Callable[[str], int]:
    """An argparse ``type=``: a whole number from ``low`` (to ``high``), declared as a setting that checks it."""
    from dataclasses import make_dataclass

    from ..settings import option, setting

    return option(make_dataclass("Whole", [("number", int, setting(ge=low, le=high))]), "number")


def parse_box(text: str, what: str = "--init-box") -> np.ndarray:
    """``"x,y,w,h"`` (commas and/or spaces) -> float array; w and h must be > 0."""
    import numpy as np

    box = np.array([])
    with contextlib.suppress(ValueError):  # not numbers: refused below
        box = np.array([float(p) for p in str(text).replace(",", " ").split()])
    if len(box) != 4 or not np.all(np.isfinite(box)) or min(box[2:]) <= 0:
        raise SiamFCError(f"{what} {text!r}: expected four numbers x,y,w,h (e.g. 10,20,50,80), all finite; width "
                          "and height must be positive", what)
    return box


def clip_box(box: np.ndarray, frame_shape: tuple[int, ...], what: str = "--init-box",
             on_warning: Callable[[str], None] = warn) -> np.ndarray:
    """``box`` clipped to a frame of shape ``(H, W, ...)``, with a warning; an error when none of it is
    inside or it looks like ``x1,y1,x2,y2`` (:func:`siamfc.geometry.box_problem`)."""
    import numpy as np

    from ..geometry import box_problem

    def _fmt(box: np.ndarray) -> str:
        return ",".join(f"{float(v):g}" for v in box)

    height, width = int(frame_shape[0]), int(frame_shape[1])
    problem = box_problem(box, width, height, corners_hint=True)
    if problem:
        raise SiamFCError(f"{what} {_fmt(box)} {problem}", what.split()[0])
    x, y, w, h = (float(v) for v in box)
    x1, y1 = max(x, 0.0), max(y, 0.0)
    clipped = np.array([x1, y1, min(x + w, float(width)) - x1, min(y + h, float(height)) - y1], dtype=np.float64)
    if not np.allclose(clipped, [x, y, w, h]):
        on_warning(f"{what} {_fmt(box)} extends past the {width}x{height} frame; clipped to {_fmt(clipped)}")
    return clipped


def check_distinct_outputs(inputs: list[str], outputs: dict[str, Path | None], count: int) -> None:
    """An error when an output (``--boxes``, ``--scores``: a file per target of ``count``) would
    overwrite one of the input's files or another output."""
    from ..io.outputs import target_paths

    sources = {Path(file).resolve() for file in inputs}
    what = "the input video" if len(sources) == 1 else "one of the input's frames"
    taken = dict.fromkeys(sources, f"is {what}; write to another file")  # a file -> why no other output may write it
    for flag, path in ((flag, path) for flag, path in outputs.items() if path is not None):
        for file in target_paths(path, count) if flag in ("--boxes", "--scores") else [path]:
            if file.resolve() in taken:
                raise SiamFCError(f"{flag} {file}: {taken[file.resolve()]}", flag)
            taken[file.resolve()] = f"{flag} writes the same file; give them different names"


def add_tracker_arguments(parser: argparse.ArgumentParser, backend: bool = True) -> None:
    """``--model``/``--weights``, ``--device``, ``--backend`` and the lost state's options."""
    from ..settings import option
    from ..tracking.config import BACKENDS, TrackerConfig

    add_weights_argument(parser)
    parser.add_argument("--device", default="auto", metavar="{cpu,cuda,auto}",
                        help="where the network runs; auto = cuda when a GPU is available (default: auto)")
    if backend:
        parser.add_argument("--backend", default="auto", choices=BACKENDS,
                            help="what runs the network: auto = ONNX Runtime on the CPU, PyTorch on a GPU "
                                 "(default: auto)")
    parser.add_argument("--redetect", action=argparse.BooleanOptionalAction, default=TrackerConfig.redetect,
                        help="while a target is lost, search for it over a region growing up to the whole frame "
                             "(default: on)")
    parser.add_argument("--lost-threshold", type=option(TrackerConfig, "lost_threshold"),
                        default=TrackerConfig.lost_threshold, metavar="C",
                        help="a target whose confidence (0..1) stays below C for 5 frames is reported lost "
                             "(present: false); 0 turns the lost state off (default: %(default)s)")


def build_tracker(args: argparse.Namespace, device: str):
    """The MultiTracker of the tracker options on ``device`` (a name: on the CPU the default model needs no PyTorch)."""
    from ..tracking.tracker import MultiTracker

    return MultiTracker(args.weights, device, backend=args.backend, redetect=args.redetect,
                        lost_threshold=args.lost_threshold)


def shipped_model(name: str) -> str:
    """``--model NAME``: the path of a shipped model (``siamfc models``), stored as ``--weights``."""
    from ..errors import UnknownModelError
    from ..models.shipped import model_path

    try:
        return str(model_path(name))
    except UnknownModelError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def add_weights_argument(parser: argparse.ArgumentParser, append: bool = False) -> None:
    """``--weights PATH`` or ``--model NAME`` (neither: the default shipped model; ``append``: any number of both)."""
    from ..models.shipped import DEFAULT_MODEL

    group = parser if append else parser.add_mutually_exclusive_group()
    action, more = ("append", " (repeatable)") if append else ("store", "")
    group.add_argument("--model", dest="weights", type=shipped_model, action=action, metavar="NAME",
                       help=f"a model shipped with the package, by name (siamfc models lists them; default: "
                            f"{DEFAULT_MODEL}){more}")
    group.add_argument("--weights", action=action, metavar="PATH",
                       help="a model checkpoint (ours, or the PyTorch SiamFC port's state dict), or a folder from "
                            f"siamfc export; default: the model shipped with the package{more}")
