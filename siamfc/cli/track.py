"""track VIDEO --init-box x,y,w,h: follow one or more objects through a video."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from ..annotate import annotate_frame
from ..errors import UserError
from ..video import Frame, FrameReader, FrameSource, open_source
from .common import add_device_argument, add_weights_argument, check_writable, clip_box, parse_box, resolve_device, warn

HELP = """Track objects in a video file, a folder of frames, a glob or a camera.

Boxes are x,y,w,h in 0-based pixels (top-left corner, width, height). Without --init-box a
window opens on the first frame to draw the box with the mouse.
"""

#: how many skipped frames are named one by one before only the count is kept
MAX_SKIP_WARNINGS = 5


#: what argparse must take as a value, not an option: negative numbers and boxes like ``-10,5,40,40``
_NEGATIVE_VALUE = re.compile(r"^-\d+$|^-\d*\.\d+$|^-[\d.]+(,\s*-?[\d.]+){3}$")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    if hasattr(parser, "_negative_number_matcher"):  # so that `--init-box -10,5,40,40` works (else write
        parser._negative_number_matcher = _NEGATIVE_VALUE  # `--init-box=-10,5,40,40`)
    parser.add_argument("video", metavar="VIDEO",
                        help="video file, folder of frames, glob such as 'frames/*.jpg' (quoted), or camera index")
    parser.add_argument("--init-box", action="append", metavar="X,Y,W,H", default=None,
                        help="the target in the first frame; repeat it to track several targets at once")
    parser.add_argument("--output", "-o", metavar="FILE",
                        help="write an annotated video (.mp4, .avi or .mkv): boxes, frame number, fps")
    parser.add_argument("--boxes", "-b", metavar="FILE",
                        help="write the boxes: .txt = one x,y,w,h line per frame (got10k toolkit format; with "
                             "several targets one file per target: out_0.txt, out_1.txt, ...), or .json")
    parser.add_argument("--show", action="store_true", help="show the tracking live in a window (q/Esc stops)")
    add_weights_argument(parser)
    add_device_argument(parser)
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
    """One ``x,y,w,h`` line per frame and target file, flushed as it goes (a crash keeps them)."""

    def __init__(self, paths: list[Path]) -> None:
        self.paths = paths
        self.files = [open(p, "w", encoding="utf-8") for p in paths]

    def write(self, frame_number: int, boxes: list[np.ndarray], skipped: bool) -> None:
        for f, box in zip(self.files, boxes, strict=True):
            f.write(_fmt_box(box) + "\n")
            f.flush()

    def close(self, summary: dict) -> None:
        for f in self.files:
            f.close()


class JsonBoxWriter:
    """``{"video", "box_format", "targets", "frames": [{"frame", "boxes", "skipped"?}, ...], "summary"}``.

    Written frame by frame; the closing ``summary`` is added at the end (after a crash the
    frames so far are in the file, only the closing brackets are missing).
    """

    def __init__(self, path: Path, video: str, count: int) -> None:
        self.paths = [path]
        self.file = open(path, "w", encoding="utf-8")
        head = {"video": video, "box_format": "x,y,w,h (0-based pixels, top-left corner)", "targets": count}
        self.file.write(json.dumps(head)[:-1] + ', "frames": [\n')
        self.first = True

    def write(self, frame_number: int, boxes: list[np.ndarray], skipped: bool) -> None:
        entry: dict = {"frame": frame_number, "boxes": [[round(float(v), 3) for v in b] for b in boxes]}
        if skipped:
            entry["skipped"] = True
        self.file.write(("" if self.first else ",\n") + json.dumps(entry))
        self.file.flush()
        self.first = False

    def close(self, summary: dict) -> None:
        self.file.write("\n], " + json.dumps({"summary": summary})[1:] + "\n")
        self.file.close()


def open_box_writer(path: Path, video: str, count: int) -> TxtBoxWriter | JsonBoxWriter:
    if path.suffix.lower() == ".json":
        return JsonBoxWriter(path, video, count)
    return TxtBoxWriter(target_paths(path, count))


VIDEO_CODECS = {".mp4": "mp4v", ".m4v": "mp4v", ".mov": "mp4v", ".avi": "MJPG", ".mkv": "MJPG"}


def check_video_output(path: str) -> Path:
    suffix = Path(path).suffix.lower()
    if suffix not in VIDEO_CODECS:
        raise UserError(f"--output {path}: unknown video type {suffix or '(none)'}; use .mp4, .avi or .mkv")
    return check_writable(path, "--output")


class VideoOutput:
    """An annotated video written with OpenCV (RGB frames in; resized if a frame's size differs)."""

    def __init__(self, path: Path, fps: float, size: tuple[int, int]) -> None:
        self.path = path
        self.size = size
        fourcc = cv2.VideoWriter_fourcc(*VIDEO_CODECS[path.suffix.lower()])
        self.writer = cv2.VideoWriter(os.fspath(path), fourcc, fps, size)
        if not self.writer.isOpened():
            raise UserError(f"--output {path}: OpenCV cannot write this video file")
        self.frames = 0

    def write(self, image: np.ndarray) -> None:
        if (image.shape[1], image.shape[0]) != self.size:
            image = cv2.resize(image, self.size, interpolation=cv2.INTER_AREA)
        self.writer.write(cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        self.frames += 1

    def close(self) -> None:
        self.writer.release()


# ------------------------------------------------------------------------------------------ window


class TkWindow:
    """A minimal Tkinter window: show frames, or let the user drag a box on one.

    Tkinter rather than ``cv2.imshow``: the headless OpenCV wheel has no GUI.
    """

    MAX_SIDE = 1280

    def __init__(self, title: str = "siamfc track") -> None:
        if sys.platform.startswith("linux") and not os.environ.get("DISPLAY") and not os.environ.get(
                "WAYLAND_DISPLAY"):
            raise UserError("no display to open a window on (DISPLAY is not set); pass --init-box and drop --show")
        try:
            import tkinter as tk
        except ImportError:
            raise UserError("a window needs Tkinter, which this Python lacks (e.g. apt install python3-tk)") from None
        self.tk = tk
        try:
            self.root = tk.Tk()
        except tk.TclError as exc:
            raise UserError(f"cannot open a window ({exc})") from None
        self.root.title(title)
        self.canvas = tk.Canvas(self.root, highlightthickness=0)
        self.canvas.pack()
        self.closed = False
        self.stop_requested = False
        self.root.protocol("WM_DELETE_WINDOW", self._on_close)
        self.root.bind("<Escape>", lambda e: self._request_stop())
        self.root.bind("q", lambda e: self._request_stop())
        self.scale = 1.0
        self._photo = None
        self._image_item = None

    def _on_close(self) -> None:
        self.closed = True
        self.stop_requested = True

    def _request_stop(self) -> None:
        self.stop_requested = True

    def _to_photo(self, image: np.ndarray):
        self.scale = min(1.0, self.MAX_SIDE / max(image.shape[:2]))
        if self.scale < 1.0:
            size = (round(image.shape[1] * self.scale), round(image.shape[0] * self.scale))
            image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        ok, png = cv2.imencode(".ppm", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        return self.tk.PhotoImage(data=png.tobytes(), format="ppm"), image.shape[1], image.shape[0]

    def show(self, image: np.ndarray) -> bool:
        """Display ``image`` (RGB); returns False once the user has asked to stop."""
        if self.closed:
            return False
        self._photo, w, h = self._to_photo(image)
        if self._image_item is None:
            self.canvas.config(width=w, height=h)
            self._image_item = self.canvas.create_image(0, 0, anchor="nw", image=self._photo)
            self.root.focus_force()  # so that q / Esc / Enter reach it without a click first
        else:
            self.canvas.itemconfig(self._image_item, image=self._photo)
        try:
            self.root.update()
        except self.tk.TclError:
            self.closed = True
        return not self.stop_requested

    def select_box(self, image: np.ndarray) -> np.ndarray:
        """Let the user drag a box on ``image``; Enter/space accepts, Esc cancels."""
        self.show(image)
        self.root.title("drag a box around the target, then press Enter (Esc cancels)")
        state: dict = {"start": None, "rect": None, "box": None, "done": False}

        def press(event):
            state["start"] = (event.x, event.y)
            if state["rect"] is not None:
                self.canvas.delete(state["rect"])
            state["rect"] = self.canvas.create_rectangle(event.x, event.y, event.x, event.y, outline="#00ff00",
                                                         width=2)

        def drag(event):
            if state["start"] is not None:
                self.canvas.coords(state["rect"], *state["start"], event.x, event.y)

        def release(event):
            if state["start"] is None:
                return
            (x0, y0), (x1, y1) = state["start"], (event.x, event.y)
            x, y, w, h = min(x0, x1), min(y0, y1), abs(x1 - x0), abs(y1 - y0)
            state["box"] = np.array([x, y, w, h], dtype=np.float64) / self.scale if w >= 2 and h >= 2 else None

        def accept(event):
            if state["box"] is not None:
                state["done"] = True

        self.canvas.bind("<ButtonPress-1>", press)
        self.canvas.bind("<B1-Motion>", drag)
        self.canvas.bind("<ButtonRelease-1>", release)
        self.root.bind("<Return>", accept)
        self.root.bind("<space>", accept)
        self.stop_requested = False
        while not state["done"] and not self.stop_requested:
            try:
                self.root.update()
            except self.tk.TclError:
                break
            time.sleep(0.01)
        for sequence in ("<ButtonPress-1>", "<B1-Motion>", "<ButtonRelease-1>"):
            self.canvas.unbind(sequence)
        if not state["done"]:
            raise UserError("no box was selected (the window was closed or Esc pressed)")
        if state["rect"] is not None:
            self.canvas.delete(state["rect"])
        self.root.title("siamfc track (q or Esc stops)")
        return state["box"]

    def close(self) -> None:
        if not self.closed:
            try:
                self.root.destroy()
            except self.tk.TclError:
                pass
        self.closed = True


# -------------------------------------------------------------------------------------- main loop


def _progress(source: FrameSource, max_frames: int | None, quiet: bool):
    from tqdm import tqdm

    total = source.length
    if max_frames is not None:
        total = min(total, max_frames) if total is not None else max_frames
    return tqdm(total=total, unit="frame", desc="tracking", disable=quiet, dynamic_ncols=True, file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    from ..tracker import MultiTracker

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
    output_path = check_video_output(args.output) if args.output else None
    window = TkWindow() if args.show or not boxes else None
    try:
        source = open_source(args.video, args.start_frame)
        tracker = MultiTracker(args.weights, device)
        with FrameReader(source, args.max_frames) as reader:
            return _track(args, source, reader, tracker, boxes, boxes_path, output_path, window)
    finally:
        if window is not None:
            window.close()


def _track(args, source: FrameSource, reader: FrameReader, tracker, boxes: list[np.ndarray],
           boxes_path: Path | None, output_path: Path | None, window: TkWindow | None) -> int:
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

    writer = open_box_writer(boxes_path, args.video, len(ids)) if boxes_path is not None else None
    video = VideoOutput(output_path, source.fps or 25.0, (width, height)) if output_path is not None else None
    progress = _progress(source, args.max_frames, args.quiet)
    skipped_warnings = 0
    frames_done = 0
    track_seconds = 0.0
    updates = 0
    fps_smooth: float | None = None
    interrupted = stopped = False  # Ctrl-C / q, Esc or closing the window
    last_image, current = first.image, boxes
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
                last_image = frame.image
            frame_number = args.start_frame + frame.index + 1
            if writer is not None:
                writer.write(frame_number, current, skipped)
            canvas = None
            if video is not None or window is not None:
                canvas = annotate_frame(last_image.copy(), current, frame_number, fps_smooth,
                                        "frame unreadable: skipped" if skipped else None)
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
