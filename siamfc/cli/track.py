"""track VIDEO --init-box x,y,w,h: follow one or more objects through a video."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..devices import resolve_device_name
from ..errors import SiamFCError
from .common import add_tracker_arguments, at_least, build_tracker, check_distinct_outputs, clip_box, parse_box, warn

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..io.video import Frame, FrameSource, LiveFeed

HELP = """Track objects in a video file, a folder of frames, a glob or a camera.

Boxes are x,y,w,h in 0-based pixels (top-left corner, width, height). Without --init-box a
window opens on the first frame to draw the box with the mouse.
"""

#: how many skipped frames are named one by one before only the count is kept
MAX_SKIP_WARNINGS = 5


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("video", metavar="VIDEO",
                        help="video file, folder of frames, glob such as 'frames/*.jpg' (quoted), or camera index")
    parser.add_argument("--init-box", action="append", metavar="X,Y,W,H", default=None,
                        help="the target in the first frame; repeat it to track several targets at once. "
                             "A box that starts with a minus sign takes '=': --init-box=-10,5,40,40")
    parser.add_argument("--output", "-o", metavar="FILE",
                        help="write an annotated video (.mp4, .avi or .mkv): boxes, frame number, fps")
    parser.add_argument("--boxes", "-b", metavar="FILE",
                        help="write the boxes: .txt = one x,y,w,h line per frame (got10k toolkit format; with "
                             "several targets one file per target: out_0.txt, out_1.txt, ...), or .json")
    parser.add_argument("--show", action="store_true", help="show the tracking live in a window (q/Esc stops)")
    add_tracker_arguments(parser)
    parser.add_argument("--scores", metavar="FILE",
                        help="write each frame's confidence (0..1), one line per frame (VOT-LT's confidence "
                             "file; with several targets out_0.txt, out_1.txt, ...); .json boxes hold them too")
    parser.add_argument("--start-frame", type=at_least(0), default=0, metavar="N",
                        help="skip the first N frames: the init box is on frame N+1 (frames are numbered from 1)")
    parser.add_argument("--max-frames", type=at_least(1), default=None, metavar="N", help="track at most N frames")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bar and no summary line")


def run(args: argparse.Namespace) -> int:
    from ..io.outputs import check_box_output, check_video_output
    from ..io.video import open_source, read_ahead
    from ..io.window import Window, check_display

    # cheap checks first, so a mistake is reported before any model is loaded or frame decoded
    device = resolve_device_name(args.device)
    boxes = [parse_box(b) for b in args.init_box or []]
    count = max(len(boxes), 1)
    paths = {"--boxes": check_box_output(args.boxes, "--boxes", count) if args.boxes else None,
             "--scores": check_box_output(args.scores, "--scores", count, json_whole=False) if args.scores else None,
             "--output": check_video_output(args.output) if args.output else None}
    check_distinct_outputs([args.video] if Path(args.video).is_file() else [], paths, count)
    window = None
    if args.show or not boxes:
        check_display(*(("pass --init-box X,Y,W,H instead of drawing the box", "--init-box") if not boxes else
                        ("drop --show", "--show")))
        window = Window(title="siamfc track (q or Esc stops)")
    try:
        source = open_source(args.video, args.start_frame)
        check_distinct_outputs(source.files, paths, count)
        tracker = build_tracker(args, device)
        with read_ahead(source, args.max_frames) as reader:
            return _track(args, source, reader, tracker, boxes, paths, window)
    finally:
        if window is not None:
            window.close()


def _track(args, source: FrameSource, reader: LiveFeed, tracker, boxes: list, paths: dict, window) -> int:
    from ..io.drawing import annotate_frame
    from ..io.outputs import TrackOutputs
    from .loop import FrameLoop, progress_bar

    rest = iter(reader)
    for first in rest:  # the first decodable frame; earlier ones are named in warnings
        if first.image is not None:
            break
        warn(f"frame {args.start_frame + first.index + 1}: {first.reason}; skipped")
    else:
        raise SiamFCError(f"{args.video}: no frame could be decoded", args.video)
    if first.index:
        warn(f"the first {first.index} frame(s) could not be decoded; the box applies to frame "
             f"{args.start_frame + first.index + 1}, the first readable one (their lines hold it too)")
    if not boxes:
        boxes = [window.select_box(first.image)]
    boxes = [clip_box(b, first.image.shape, "--init-box" if len(boxes) == 1 else f"--init-box #{i}")
             for i, b in enumerate(boxes)]
    loop = FrameLoop(tracker, first.image, boxes)
    outputs = TrackOutputs(paths, args.video, len(boxes), source.fps or 25.0, first.image.shape[1::-1])
    skipped_frames, shown = 0, first.image

    def record(number: int, skipped: bool, fps: float | None = None):
        outputs.write(number, loop, skipped)
        if outputs.video is None and window is None:
            return None
        canvas = annotate_frame(shown.copy(), loop.boxes, number, fps, "frame unreadable: skipped" if skipped else None,
                                loop.scores, loop.present)
        if outputs.video is not None:
            outputs.video.write(canvas)
        return canvas

    for index in range(first.index):  # frames before the first readable one hold the init box
        record(args.start_frame + index + 1, True)
    total = min((n for n in (source.length, args.max_frames) if n is not None), default=None)
    progress = progress_bar(total, "tracking", args.quiet)

    def handle(frame: Frame, fps: float | None):
        nonlocal skipped_frames, shown
        number = args.start_frame + frame.index + 1
        if frame.image is None:  # the first few by number, then only that there were more
            if skipped_frames < MAX_SKIP_WARNINGS:
                progress.write(f"warning: frame {number}: {frame.reason}; skipped (previous box kept)", file=sys.stderr)
            elif skipped_frames == MAX_SKIP_WARNINGS:
                progress.write("warning: more frames skipped; only their count is reported", file=sys.stderr)
            skipped_frames += 1
        else:
            shown = frame.image
        return record(number, frame.image is None, fps)

    failure: SiamFCError | None = None
    try:
        loop.run(first, rest, handle, window, progress)
    except SiamFCError as exc:  # a write failed (a full disk), or a frame was refused: close the rest first
        failure = exc
    finally:
        progress.close()
        outputs.close({"frames": loop.frames, "seconds": round(loop.seconds, 3),
                       "fps": round(loop.frames / loop.seconds, 2) if loop.seconds > 0 else None,
                       "skipped": source.skipped, "missing": source.missing, "interrupted": loop.interrupted,
                       "stopped_by_user": loop.stopped}, failure)
    if source.ended_early:
        warn(source.ended_early)
    if not args.quiet:
        missing = f", {source.missing} missing at the end" if source.missing else ""
        print("; ".join([loop.rate_text(), f"{source.skipped} skipped{missing}", *outputs.summary()]), flush=True)
    return 130 if loop.interrupted else 0
