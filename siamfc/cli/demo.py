"""siamfc demo: track the clip bundled with the package and write the annotated video."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..devices import resolve_device_name
from ..errors import SiamFCError
from .common import add_tracker_arguments, build_tracker

TYPE_CHECKING = False
if TYPE_CHECKING:
    import numpy as np

HELP = """Track the demo clip bundled with the package and write the annotated video.

The clip: a cat's head over a launch pad (camera motion, scale change, a brief occlusion).

Starts from the ground-truth box of frame 1 and reports frames, fps and the mean IoU against
the clip's ground truth (frame 1 excluded). Green: the tracker; thin white: the ground truth.
"""

ASSETS = Path(__file__).resolve().parents[1] / "assets"
CLIP = ASSETS / "demo_clip.mp4"
GROUNDTRUTH = ASSETS / "demo_groundtruth.txt"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--output", "-o", default="demo_output.mp4", metavar="FILE",
                        help="the annotated video (.mp4, .avi or .mkv; default: %(default)s)")
    add_tracker_arguments(parser)
    parser.add_argument("--show", action="store_true", help="also show the tracking in a window (q/Esc stops)")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bar")


def load_groundtruth(path: Path = GROUNDTRUTH) -> np.ndarray:
    """The clip's boxes, one ``x, y, w, h`` row per frame."""
    from ..data.sequences import read_boxes

    return read_boxes(path, columns=(4,))


def run(args: argparse.Namespace) -> int:
    import cv2
    import numpy as np

    from ..geometry import iou
    from ..io.drawing import annotate_frame
    from ..io.outputs import VideoOutput, check_video_output
    from ..io.video import open_source, read_ahead
    from ..io.window import Window
    from .loop import FrameLoop, progress_bar

    device = resolve_device_name(args.device)
    output = check_video_output(args.output)
    for path, what in ((CLIP, "the demo clip"), (GROUNDTRUTH, "the demo clip's ground truth")):
        if not path.is_file():
            raise SiamFCError(f"{path}: {what} is missing (reinstall the package, or run python "
                              "demo/make_demo_clip.py in a clone)", str(path))
    groundtruth = load_groundtruth()
    window = Window("siamfc demo (q or Esc stops)") if args.show else None
    ious: list[float] = []
    try:
        tracker = build_tracker(args, device)
        source = open_source(str(CLIP))
        with read_ahead(source) as reader, progress_bar(len(groundtruth), "demo", args.quiet) as progress:
            frames = (f for f in reader if f.image is not None and f.index < len(groundtruth))
            first = next(frames, None)
            if first is None:
                raise SiamFCError(f"{CLIP}: no frame could be decoded", str(CLIP))
            loop = FrameLoop(tracker, first.image, [groundtruth[first.index]])
            video = VideoOutput(output, source.fps or 25.0, (first.image.shape[1], first.image.shape[0]))

            def handle(frame, fps: float | None) -> np.ndarray:
                gt, box = groundtruth[frame.index], loop.boxes[0]
                if frame is not first:
                    ious.append(float(iou(box, gt)[0]))
                canvas = frame.image.copy()
                x, y, w, h = (round(float(v)) for v in gt)
                cv2.rectangle(canvas, (x, y), (x + w - 1, y + h - 1), (255, 255, 255), 1, cv2.LINE_AA)
                annotate_frame(canvas, [box], frame.index + 1, fps, f"IoU {ious[-1]:.2f}" if ious else None,
                               loop.scores, loop.present)
                video.write(canvas)
                return canvas

            try:
                loop.run(first, frames, handle, window, progress)
            finally:
                video.close()
    finally:
        if window is not None:
            window.close()
    line = loop.rate_text()
    if ious:
        line += f"; mean IoU {np.mean(ious):.3f} against the clip's ground truth (frames 2-{len(ious) + 1})"
    print(f"{line}; annotated video: {output}", flush=True)
    return 130 if loop.interrupted else 0
