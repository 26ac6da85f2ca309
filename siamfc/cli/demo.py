"""siamfc demo: track the clip bundled with the package and write the annotated video."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from ..errors import UserError
from .common import (
    add_backend_argument,
    add_device_argument,
    add_lost_arguments,
    add_weights_argument,
    build_tracker,
    resolve_device,
)

HELP = """Track the short clip bundled with the package (a cat's head over a launch pad: camera
motion, scale change, a brief occlusion) and write the annotated video.

Starts from the ground-truth box of frame 1 and reports frames, fps and the mean IoU against
the clip's ground truth (frame 1 excluded). Green: the tracker; thin white: the ground truth.
"""

ASSETS = Path(__file__).resolve().parents[1] / "assets"
CLIP = ASSETS / "demo_clip.mp4"
GROUNDTRUTH = ASSETS / "demo_groundtruth.txt"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    add_weights_argument(parser)
    parser.add_argument("--output", "-o", default="demo_output.mp4", metavar="FILE",
                        help="the annotated video (.mp4, .avi or .mkv; default: %(default)s)")
    add_device_argument(parser)
    add_backend_argument(parser)
    add_lost_arguments(parser)
    parser.add_argument("--show", action="store_true", help="also show the tracking in a window (q/Esc stops)")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bar")


def load_groundtruth(path: Path = GROUNDTRUTH) -> np.ndarray:
    """The clip's boxes, one ``x, y, w, h`` row per frame."""
    if not path.is_file():
        raise UserError(f"{path}: the demo clip's ground truth is missing (reinstall the package, or run "
                        "python demo/make_demo_clip.py in a clone)")
    from ..data.sequences import read_boxes

    return read_boxes(path, columns=(4,))


def run(args: argparse.Namespace) -> int:
    from ..models.checkpoint import CheckpointError, default_weights_path
    from .track import check_video_output

    device = resolve_device(args.device)
    output = check_video_output(args.output)
    if not CLIP.is_file():
        raise UserError(f"{CLIP}: the demo clip is missing (reinstall the package, or run "
                        "python demo/make_demo_clip.py in a clone)")
    groundtruth = load_groundtruth()
    if args.weights is None and not default_weights_path().is_file():
        raise CheckpointError(f"{default_weights_path()}: no trained model is shipped with the package yet; "
                              "pass --weights PATH")
    window = None
    if args.show:
        from ..io.window import Window

        window = Window("siamfc demo (q or Esc stops)")
    try:
        return _track(args, device, output, groundtruth, window)
    finally:
        if window is not None:
            window.close()


def _track(args, device, output: Path, groundtruth: np.ndarray, window) -> int:
    import cv2
    from tqdm import tqdm

    from ..geometry import iou
    from ..io.drawing import annotate_frame
    from ..io.video import FrameReader, open_source
    from .track import VideoOutput

    tracker = build_tracker(args, device)
    source = open_source(str(CLIP))
    ious: list[float] = []
    frames = 0
    track_seconds = 0.0
    fps: float | None = None
    video = None
    stopped = False
    start = time.perf_counter()
    with FrameReader(source) as reader, tqdm(total=len(groundtruth), unit="frame", desc="demo", file=sys.stderr,
                                              disable=args.quiet, dynamic_ncols=True) as progress:
        try:
            for frame in reader:
                tic = time.perf_counter()
                if frame.image is None or frame.index >= len(groundtruth):
                    continue
                gt = groundtruth[frame.index]
                if frame.index == 0:
                    target = tracker.add(frame.image, gt)
                    box = gt
                    video = VideoOutput(output, source.fps or 25.0, (frame.image.shape[1], frame.image.shape[0]))
                else:
                    t0 = time.perf_counter()
                    box = tracker.update(frame.image)[target]
                    track_seconds += time.perf_counter() - t0
                    ious.append(float(iou(box, gt)[0]))
                canvas = frame.image.copy()
                x, y, w, h = (round(float(v)) for v in gt)
                cv2.rectangle(canvas, (x, y), (x + w - 1, y + h - 1), (255, 255, 255), 1, cv2.LINE_AA)
                annotate_frame(canvas, [box], frame.index + 1, fps, f"IoU {ious[-1]:.2f}" if ious else None,
                               [tracker.scores[target]], [tracker.present[target]])
                video.write(canvas)
                frames += 1
                progress.update(1)
                if window is not None and not window.show(canvas):
                    stopped = True
                    break
                dt = time.perf_counter() - tic
                fps = 1 / dt if fps is None else 0.9 * fps + 0.1 / dt
        finally:
            if video is not None:
                video.close()
    elapsed = time.perf_counter() - start
    if frames == 0:
        raise UserError(f"{CLIP}: no frame could be decoded")
    line = f"{'stopped after ' if stopped else ''}{frames} frames in {elapsed:.1f} s: {frames / elapsed:.1f} fps"
    if track_seconds > 0:
        line += f" (tracker alone {len(ious) / track_seconds:.1f} fps)"
    if ious:
        line += f"; mean IoU {np.mean(ious):.3f} against the clip's ground truth (frames 2-{len(ious) + 1})"
    print(f"{line}; annotated video: {output}", flush=True)
    return 0
