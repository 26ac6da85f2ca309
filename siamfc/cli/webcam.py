"""siamfc webcam: live tracking from a camera (or a video file played as if it were one)."""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np

from ..errors import UserError
from ..io.drawing import annotate_frame
from .common import (
    add_backend_argument,
    add_device_argument,
    add_lost_arguments,
    add_weights_argument,
    build_tracker,
    check_writable,
    clip_box,
    parse_box,
    resolve_device,
)

HELP = """Live tracking from a camera: drag a box around the target with the mouse to start.

Keys: drag = (re)select the target, r = reselect, space = pause/resume, s = save a snapshot
(PNG), q or Esc = quit. --video FILE plays a file as if it were a camera (frames are dropped
when tracking is slower than the video, unless --all-frames).
"""

KEYS_HELP = "drag a box: track it   r: reselect   space: pause   s: snapshot   q/Esc: quit"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--camera", type=int, default=None, metavar="N", help="camera index (default: 0)")
    source.add_argument("--video", metavar="FILE", help="a video file (or folder of frames) instead of a camera")
    add_weights_argument(parser)
    add_device_argument(parser)
    add_backend_argument(parser)
    add_lost_arguments(parser)
    parser.add_argument("--record", metavar="FILE", help="record the annotated view to a video (.mp4, .avi, .mkv)")
    parser.add_argument("--init-box", metavar="X,Y,W,H", help="start tracking this box in the first frame "
                        "(instead of dragging one)")
    parser.add_argument("--snapshot-dir", default=".", metavar="DIR",
                        help="where `s` saves snapshots (default: the current folder)")
    parser.add_argument("--all-frames", action="store_true",
                        help="with --video: track every frame, as fast as possible (no real-time pacing or dropping)")


@dataclass
class Session:
    """What happened in a run, for the closing line."""

    frames: int = 0  # frames shown
    recorded: int = 0
    snapshots: list[Path] = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)


class Recorder:
    """The annotated view written to a video file, opened at the first frame (its size known then)."""

    def __init__(self, path: Path, fps: float) -> None:
        self.path, self.fps = path, fps
        self.output = None

    def write(self, image: np.ndarray) -> None:
        from .track import VideoOutput

        if self.output is None:
            self.output = VideoOutput(self.path, self.fps, (image.shape[1], image.shape[0]))
        self.output.write(image)

    @property
    def frames(self) -> int:
        return self.output.frames if self.output is not None else 0

    def close(self) -> None:
        if self.output is not None:
            self.output.close()


def run(args: argparse.Namespace) -> int:
    from ..io.video import open_source
    from ..io.window import check_display

    # cheap checks first: a mistake is reported before the model loads or a window opens
    device = resolve_device(args.device)
    init_box = parse_box(args.init_box) if args.init_box else None
    record = _check_record(args.record) if args.record else None
    snapshot_dir = Path(args.snapshot_dir).expanduser()
    if snapshot_dir.exists() and not snapshot_dir.is_dir():
        raise UserError(f"--snapshot-dir {snapshot_dir}: not a folder")
    if args.all_frames and args.video is None:
        raise UserError("--all-frames only applies to --video (a camera cannot wait)")
    source = open_source(args.video if args.video is not None else (args.camera or 0))
    try:
        check_display()

        tracker = build_tracker(args, device)
        return _run_live(args, source, tracker, init_box, record, snapshot_dir)
    finally:
        source.close()


def _run_live(args, source, tracker, init_box, record: Path | None, snapshot_dir: Path) -> int:
    from ..io.live import LiveFeed
    from ..io.window import BoxEvent, Window

    is_camera = source.kind == "camera"
    fps_in = source.fps or 25.0
    recorder = Recorder(record, fps_in) if record is not None else None
    window = Window(f"siamfc webcam - {source.description}", help_text=KEYS_HELP, drag_select=True)
    feed = LiveFeed(source, pace_fps=None if is_camera else fps_in, keep_all=args.all_frames)
    session = Session()
    target: int | None = None
    raw = shown = None  # the current frame, as decoded and as displayed
    frame_number = 0
    paused = False
    fps: float | None = None
    last_tick: float | None = None
    end_message = ""
    exit_code = 0

    def start_tracking(image: np.ndarray, box: np.ndarray, number: int) -> int:
        nonlocal target
        if target is not None:
            tracker.remove(target)
        box = clip_box(box, image.shape, "box", on_warning=lambda m: print(f"warning: {m}", file=sys.stderr))
        target = tracker.add(image, box)
        print(f"tracking from frame {number}: box {','.join(f'{v:.0f}' for v in box)}", flush=True)
        return target

    def render(boxes: list[np.ndarray], note: str | None) -> np.ndarray:
        if target is None or not boxes:
            return annotate_frame(raw.copy(), boxes, frame_number, fps, note)
        return annotate_frame(raw.copy(), boxes, frame_number, fps, note, [tracker.scores[target]],
                              [tracker.present[target]])

    try:
        while True:
            # 1. keys and mouse
            if not window.poll():
                end_message = f"stopped by the user after {session.frames} frames"
                break
            for event in window.events():
                if isinstance(event, BoxEvent):
                    if raw is not None:
                        try:
                            start_tracking(raw, event.box, frame_number)
                        except (UserError, ValueError) as exc:
                            print(f"warning: {exc}", file=sys.stderr, flush=True)
                            continue
                        shown = render([tracker.targets[target].box], "paused" if paused else None)
                        window.show(shown)
                elif event.key == "r":
                    if target is not None:
                        tracker.remove(target)
                        target = None
                    print(f"reselect: drag a new box (frame {frame_number})", flush=True)
                elif event.key == "space":
                    paused = not paused
                    print(f"{'paused' if paused else 'resumed'} at frame {frame_number}", flush=True)
                    if raw is not None:
                        boxes = [tracker.targets[target].box] if target is not None else []
                        shown = render(boxes, "paused" if paused else None)
                        window.show(shown)
                elif event.key == "s" and shown is not None:
                    saved = _save_snapshot(shown, snapshot_dir, frame_number)
                    if saved is not None:
                        session.snapshots.append(saved)
            # 2. a new frame, unless paused or a box is being drawn (the view holds still for it)
            if paused or window.dragging:
                time.sleep(0.01)
                continue
            frame = feed.get(timeout=0.02)
            if frame is None:
                if feed.ended:
                    end_message, exit_code = _end_message(source, session, feed, frame_number, is_camera)
                    break
                continue
            raw, frame_number = frame.image, frame.index + 1
            if init_box is not None:
                start_tracking(raw, init_box, frame_number)
                init_box = None
                boxes = [tracker.targets[target].box]
            elif target is not None:
                boxes = [tracker.update(raw)[target]]
            else:
                boxes = []
            now = time.perf_counter()
            if last_tick is not None and now > last_tick:
                fps = 1 / (now - last_tick) if fps is None else 0.9 * fps + 0.1 / (now - last_tick)
            last_tick = now
            shown = render(boxes, None if target is not None else "drag a box around the target")
            if recorder is not None:
                recorder.write(shown)
            session.frames += 1
            window.show(shown)
    except KeyboardInterrupt:
        end_message, exit_code = f"interrupted after {session.frames} frames", 130
    finally:
        feed.close()
        window.close()
        if recorder is not None:
            recorder.close()
    elapsed = time.perf_counter() - session.started
    parts = [end_message, f"{session.frames / elapsed:.1f} fps" if elapsed > 0 and session.frames else ""]
    if recorder is not None:
        parts.append(f"recording saved: {recorder.path} ({recorder.frames} frames)" if recorder.frames
                     else "nothing was recorded")
    if session.snapshots:
        parts.append(f"{len(session.snapshots)} snapshot(s) in {snapshot_dir}")
    print("; ".join(p for p in parts if p), file=sys.stderr if exit_code else sys.stdout, flush=True)
    return exit_code


def _check_record(path: str) -> Path:
    from .track import VIDEO_CODECS

    suffix = Path(path).suffix.lower()
    if suffix not in VIDEO_CODECS:
        raise UserError(f"--record {path}: unknown video type {suffix or '(none)'}; use .mp4, .avi or .mkv")
    return check_writable(path, "--record")


def _end_message(source, session: Session, feed, frame_number: int, is_camera: bool) -> tuple[str, int]:
    """The source stopped: for a camera that means it was lost (unplugged, or taken by another program)."""
    counts = f"{session.frames} shown"
    if feed.dropped:
        counts += f", {feed.dropped} dropped (tracking slower than the {'camera' if is_camera else 'video'})"
    if feed.unreadable:
        counts += f", {feed.unreadable} unreadable"
    if is_camera:
        return f"{source.description} lost after frame {frame_number} ({counts}): unplugged or stopped delivering", 1
    return f"{source.description}: video ended after frame {frame_number} ({counts})", 0


def _save_snapshot(image: np.ndarray, folder: Path, frame_number: int) -> Path | None:
    import cv2

    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    path = folder / f"siamfc_snapshot_{stamp}_frame{frame_number:05d}.png"
    try:  # a failed snapshot must not end the session
        check_writable(path, "snapshot", create_folder=True)  # --snapshot-dir: asked for
        if not cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR)):
            raise UserError(f"snapshot {path}: OpenCV could not write it")
    except UserError as exc:
        print(f"warning: {exc}", file=sys.stderr, flush=True)
        return None
    print(f"snapshot saved: {path}", flush=True)
    return path
