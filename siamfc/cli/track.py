"""track VIDEO --init-box x,y,w,h: follow one or more objects through a video."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from ..errors import UserError
from ..io.drawing import annotate_frame
from ..io.video import Frame, FrameReader, FrameSource, open_source
from ..io.writers import AtomicTextFile, temporary_sibling
from .common import (
    add_backend_argument,
    add_device_argument,
    add_lost_arguments,
    add_weights_argument,
    build_tracker,
    check_writable,
    clip_box,
    lost_params,
    parse_box,
    resolve_device,
    warn,
)

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
    add_weights_argument(parser)
    add_device_argument(parser)
    add_backend_argument(parser)
    add_lost_arguments(parser)
    parser.add_argument("--scores", metavar="FILE",
                        help="write each frame's confidence (0..1), one line per frame (VOT-LT's confidence "
                             "file; with several targets out_0.txt, out_1.txt, ...); .json boxes hold them too")
    parser.add_argument("--start-frame", type=int, default=0, metavar="N",
                        help="skip the first N frames: the init box is on frame N+1 (frames are numbered from 1)")
    parser.add_argument("--max-frames", type=int, default=None, metavar="N", help="track at most N frames")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bar and no summary line")


# ----------------------------------------------------------------------------------------- outputs


def _fmt_box(box: np.ndarray) -> str:
    return ",".join(f"{float(v):.3f}" for v in box)


def target_paths(path: Path, count: int) -> list[Path]:
    """``out.txt`` for one target; ``out_0.txt``, ``out_1.txt``, ... for several."""
    if count == 1:
        return [path]
    return [path.with_name(f"{path.stem}_{i}{path.suffix}") for i in range(count)]


class TxtBoxWriter:
    """One ``x,y,w,h`` line per frame and target file, flushed as it goes (a crash keeps them).
    With ``scores=True`` the line is the target's confidence instead (``--scores``)."""

    def __init__(self, paths: list[Path], scores: bool = False) -> None:
        self.paths = paths
        self.scores = scores
        self.files = [AtomicTextFile(p) for p in paths]  # put in place on close(), whole

    def write(self, frame_number: int, boxes: list[np.ndarray], skipped: bool, scores: list[float],
              present: list[bool]) -> None:
        for i, f in enumerate(self.files):
            f.write((f"{scores[i]:.4f}" if self.scores else _fmt_box(boxes[i])) + "\n")
            f.flush()

    def close(self, summary: dict) -> None:
        for f in self.files:
            f.close()

    def discard(self) -> None:
        for f in self.files:
            f.discard()


class JsonBoxWriter:
    """``{"video", "box_format", "targets", "frames": [{"frame", "boxes", "scores", "present",
    "skipped"?}, ...], "summary"}``: per target, its box, its confidence (0..1) and whether it is
    reported present (false while lost).

    Written frame by frame; the closing ``summary`` is added at the end (after a crash the
    frames so far are in the file, only the closing brackets are missing).
    """

    def __init__(self, path: Path, video: str, count: int) -> None:
        self.paths = [path]
        self.file = AtomicTextFile(path)  # put in place on close(), whole
        head = {"video": video, "box_format": "x,y,w,h (0-based pixels, top-left corner)", "targets": count}
        self.file.write(json.dumps(head)[:-1] + ', "frames": [\n')
        self.first = True

    def write(self, frame_number: int, boxes: list[np.ndarray], skipped: bool, scores: list[float],
              present: list[bool]) -> None:
        entry: dict = {"frame": frame_number, "boxes": [[round(float(v), 3) for v in b] for b in boxes],
                       "scores": [round(float(c), 4) for c in scores], "present": [bool(p) for p in present]}
        if skipped:
            entry["skipped"] = True
        self.file.write(("" if self.first else ",\n") + json.dumps(entry))
        self.file.flush()
        self.first = False

    def close(self, summary: dict) -> None:
        self.file.write("\n], " + json.dumps({"summary": summary})[1:] + "\n")
        self.file.close()

    def discard(self) -> None:
        self.file.discard()


def open_box_writer(path: Path, video: str, count: int) -> TxtBoxWriter | JsonBoxWriter:
    if path.suffix.lower() == ".json":
        return JsonBoxWriter(path, video, count)
    return TxtBoxWriter(target_paths(path, count))


VIDEO_CODECS = {".mp4": "mp4v", ".avi": "MJPG", ".mkv": "MJPG"}  # the documented ones only


def check_video_output(path: str) -> Path:
    suffix = Path(path).suffix.lower()
    if suffix not in VIDEO_CODECS:
        raise UserError(f"--output {path}: unknown video type {suffix or '(none)'}; use .mp4, .avi or .mkv")
    return check_writable(path, "--output")


class VideoOutput:
    """An annotated video written with OpenCV (RGB frames in; resized if a frame's size differs).

    Written under a temporary name; ``close()`` reads it back (OpenCV reports no write errors: a full
    disk would leave a video that cannot be played) and only then renames it over ``path``."""

    def __init__(self, path: Path, fps: float, size: tuple[int, int]) -> None:
        self.path = path
        self.size = size
        try:
            self.tmp = temporary_sibling(path)
        except OSError as exc:
            raise UserError(f"--output {path}: cannot be written ({exc.strerror or exc})") from None
        fourcc = cv2.VideoWriter_fourcc(*VIDEO_CODECS[path.suffix.lower()])
        self.writer = cv2.VideoWriter(os.fspath(self.tmp), fourcc, fps, size)
        if not self.writer.isOpened():
            self.tmp.unlink(missing_ok=True)
            raise UserError(f"--output {path}: OpenCV cannot write this video file")
        self.frames = 0

    def write(self, image: np.ndarray) -> None:
        if (image.shape[1], image.shape[0]) != self.size:
            image = cv2.resize(image, self.size, interpolation=cv2.INTER_AREA)
        self.writer.write(cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        self.frames += 1

    def close(self) -> None:
        self.writer.release()
        readable = self._frames_readable()
        if readable < self.frames:
            self.tmp.unlink(missing_ok=True)
            raise UserError(f"--output {self.path}: the video could not be written whole ({readable} of "
                            f"{self.frames} frames readable; is the disk full?); nothing was written")
        try:
            os.replace(self.tmp, self.path)
        except OSError as exc:
            self.tmp.unlink(missing_ok=True)
            raise UserError(f"--output {self.path}: cannot be put in place ({exc.strerror or exc})") from None

    def discard(self) -> None:
        self.writer.release()
        self.tmp.unlink(missing_ok=True)

    def _frames_readable(self) -> int:
        """How many frames the written file announces (0 if it does not open)."""
        capture = cv2.VideoCapture(os.fspath(self.tmp), cv2.CAP_FFMPEG)
        try:
            return int(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0) if capture.isOpened() else 0
        finally:
            capture.release()


# ------------------------------------------------------------------------------------------ window


def open_window(drawing: bool):
    """The Tkinter window of :mod:`siamfc.io.window`, or a one-line error saying what to do instead."""
    from ..io.window import Window, check_display

    try:
        check_display()
    except UserError:
        hint = "pass --init-box X,Y,W,H instead of drawing the box" if drawing else "drop --show"
        raise UserError(f"no display to open a window on (DISPLAY is not set); {hint}") from None
    return Window(title="siamfc track (q or Esc stops)")


# -------------------------------------------------------------------------------------- main loop


def _progress(source: FrameSource, max_frames: int | None, quiet: bool):
    from tqdm import tqdm

    total = source.length
    if max_frames is not None:
        total = min(total, max_frames) if total is not None else max_frames
    return tqdm(total=total, unit="frame", desc="tracking", disable=quiet, dynamic_ncols=True, file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    # cheap checks first, so a mistake is reported before any model is loaded or frame decoded
    device = resolve_device(args.device)
    boxes = [parse_box(b) for b in args.init_box or []]
    if args.max_frames is not None and args.max_frames < 1:
        raise UserError(f"--max-frames {args.max_frames}: must be 1 or more")
    if args.start_frame < 0:
        raise UserError(f"--start-frame {args.start_frame}: must be 0 or more")
    count = max(len(boxes), 1)
    boxes_path = check_writable(args.boxes, "--boxes") if args.boxes else None
    if boxes_path is not None and boxes_path.suffix.lower() != ".json":
        for p in target_paths(boxes_path, count)[1:]:
            check_writable(p, "--boxes")
    scores_path = check_writable(args.scores, "--scores") if args.scores else None
    if scores_path is not None:
        for p in target_paths(scores_path, count)[1:]:
            check_writable(p, "--scores")
    lost_params(args)  # a bad --lost-threshold before any model is loaded
    output_path = check_video_output(args.output) if args.output else None
    window = open_window(drawing=not boxes) if args.show or not boxes else None
    try:
        source = open_source(args.video, args.start_frame)
        tracker = build_tracker(args, device)
        with FrameReader(source, args.max_frames) as reader:
            return _track(args, source, reader, tracker, boxes, boxes_path, scores_path, output_path, window)
    finally:
        if window is not None:
            window.close()


def _track(args, source: FrameSource, reader: FrameReader, tracker, boxes: list[np.ndarray],
           boxes_path: Path | None, scores_path: Path | None, output_path: Path | None, window) -> int:
    frames = iter(reader)
    first: Frame | None = None
    for frame in frames:
        if frame.image is not None:
            first = frame
            break
        warn(f"frame {args.start_frame + frame.index + 1}: {frame.reason}; skipped")
    if first is None:
        raise UserError(f"{args.video}: no frame could be decoded")
    if first.index:
        warn(f"the first {first.index} frame(s) could not be decoded; the box applies to frame "
             f"{args.start_frame + first.index + 1}, the first readable one")
    if not boxes:
        boxes = [window.select_box(first.image)]
    boxes = [clip_box(b, first.image.shape, "--init-box" if len(boxes) == 1 else f"--init-box #{i}")
             for i, b in enumerate(boxes)]
    ids = [tracker.add(first.image, b) for b in boxes]
    height, width = first.image.shape[:2]

    writer = score_writer = video = None
    try:  # a failure here leaves every output as it was (nothing is put in place)
        writer = open_box_writer(boxes_path, args.video, len(ids)) if boxes_path is not None else None
        score_writer = TxtBoxWriter(target_paths(scores_path, len(ids)), scores=True) if scores_path else None
        video = VideoOutput(output_path, source.fps or 25.0, (width, height)) if output_path is not None else None
    except BaseException:
        for output in (writer, score_writer, video):
            if output is not None:
                output.discard()
        raise
    progress = _progress(source, args.max_frames, args.quiet)
    skipped_warnings = 0
    frames_done = 0
    track_seconds = 0.0
    updates = 0
    fps_smooth: float | None = None
    interrupted = stopped = False  # Ctrl-C / q, Esc or closing the window
    last_image, current = first.image, boxes
    scores, present = [1.0] * len(ids), [True] * len(ids)
    start = time.perf_counter()
    try:
        frame: Frame | None = first
        while frame is not None:
            tic = time.perf_counter()
            skipped = frame.image is None
            if skipped:
                if skipped_warnings < MAX_SKIP_WARNINGS:
                    progress.write(f"warning: frame {args.start_frame + frame.index + 1}: {frame.reason}; "
                                   "skipped (previous box kept)", file=sys.stderr)
                elif skipped_warnings == MAX_SKIP_WARNINGS:
                    progress.write("warning: more frames skipped; only their count is reported", file=sys.stderr)
                skipped_warnings += 1
            elif frame is not first:
                t0 = time.perf_counter()
                result = tracker.update(frame.image)
                track_seconds += time.perf_counter() - t0
                updates += 1
                current = [result[i] for i in ids]
                all_scores, all_present = tracker.scores, tracker.present
                scores, present = [all_scores[i] for i in ids], [all_present[i] for i in ids]
                last_image = frame.image
            frame_number = args.start_frame + frame.index + 1
            for out in (writer, score_writer):
                if out is not None:
                    out.write(frame_number, current, skipped, scores, present)
            canvas = None
            if video is not None or window is not None:
                canvas = annotate_frame(last_image.copy(), current, frame_number, fps_smooth,
                                        "frame unreadable: skipped" if skipped else None, scores, present)
                if video is not None:
                    video.write(canvas)
            frames_done += 1
            progress.update(1)
            if window is not None and not window.show(canvas):
                stopped = True
                break
            dt = time.perf_counter() - tic
            if dt > 0:
                fps_smooth = 1 / dt if fps_smooth is None else 0.9 * fps_smooth + 0.1 / dt
            frame = next(frames, None)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        elapsed = time.perf_counter() - start
        progress.close()
        summary = {
            "frames": frames_done,
            "seconds": round(elapsed, 3),
            "fps": round(frames_done / elapsed, 2) if elapsed > 0 else None,
            "skipped": source.stats.skipped,
            "missing": source.stats.missing,
            "interrupted": interrupted,
            "stopped_by_user": stopped,
        }
        if writer is not None:
            writer.close(summary)
        if score_writer is not None:
            score_writer.close(summary)
        if video is not None:
            video.close()
    if source.stats.ended_early:
        warn(source.stats.ended_early)
    if not args.quiet:
        print(_summary_line(frames_done, elapsed, updates, track_seconds, source, writer, video,
                            interrupted or stopped), flush=True)
    return 130 if interrupted else 0


def _summary_line(frames: int, elapsed: float, updates: int, track_seconds: float, source: FrameSource, writer,
                  video, interrupted: bool) -> str:
    fps = frames / elapsed if elapsed > 0 else 0.0
    parts = [f"{'stopped after ' if interrupted else ''}{frames} frames in {elapsed:.1f} s: {fps:.1f} fps"]
    if updates and track_seconds > 0:
        parts[0] += f" (tracker alone {updates / track_seconds:.1f} fps)"
    parts.append(f"{source.stats.skipped} skipped")
    if source.stats.missing:
        parts[-1] += f", {source.stats.missing} missing at the end"
    if writer is not None:
        parts.append("boxes: " + ", ".join(os.fspath(p) for p in writer.paths))
    if video is not None:
        parts.append(f"video: {video.path}")
    if writer is None and video is None:
        parts.append("no outputs (use --boxes or --output)")
    return "; ".join(parts)
