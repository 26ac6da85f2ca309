"""siamfc webcam: live tracking from a camera (or a video file played as if it were one)."""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime
from pathlib import Path

from ..devices import resolve_device_name
from ..errors import SiamFCError
from .common import add_tracker_arguments, build_tracker, check_distinct_outputs, clip_box, parse_box, warn
from .loop import smooth_fps

TYPE_CHECKING = False
if TYPE_CHECKING:
    import numpy as np

    from ..io.outputs import VideoOutput
    from ..io.video import FrameSource

HELP = """Live tracking from a camera: drag a box around the target with the mouse to start.

Keys: drag = (re)select the target, r = reselect, space = pause/resume, s = save a snapshot
(PNG), q or Esc = quit. --video FILE plays a file as if it were a camera (frames are dropped
when tracking is slower than the video, unless --all-frames); without --init-box it waits on the
file's first frame until a box is drawn.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--camera", type=int, default=None, metavar="N", help="camera index (default: 0)")
    source.add_argument("--video", metavar="FILE", help="a video file (or folder of frames) instead of a camera")
    add_tracker_arguments(parser)
    parser.add_argument("--record", metavar="FILE", help="record the annotated view to a video (.mp4, .avi, .mkv)")
    parser.add_argument("--init-box", metavar="X,Y,W,H", help="start tracking this box in the first frame "
                        "(instead of dragging one)")
    parser.add_argument("--snapshot-dir", default=".", metavar="DIR",
                        help="where `s` saves snapshots (default: the current folder)")
    parser.add_argument("--all-frames", action="store_true",
                        help="with --video: track every frame, as fast as possible (no real-time pacing or dropping)")
    parser.add_argument("--quiet", "-q", action="store_true",
                        help="no messages on the terminal but warnings and errors")


def run(args: argparse.Namespace) -> int:
    from ..io.outputs import VideoOutput, check_video_output
    from ..io.video import open_source
    from ..io.window import Window, check_display

    # cheap checks first: a mistake is reported before the model loads or a window opens
    device = resolve_device_name(args.device)
    init_box = parse_box(args.init_box) if args.init_box else None
    record = check_video_output(args.record, "--record") if args.record else None
    snapshot_dir = Path(args.snapshot_dir).expanduser()
    if snapshot_dir.exists() and not snapshot_dir.is_dir():
        raise SiamFCError(f"--snapshot-dir {snapshot_dir}: not a folder", "--snapshot-dir")
    if args.all_frames and args.video is None:
        raise SiamFCError("--all-frames only applies to --video (a camera cannot wait)", "--all-frames")
    # the display before the camera: on a machine with neither, the display is what to fix
    check_display("without one, track a video with `siamfc track VIDEO --init-box X,Y,W,H --output out.mp4`")
    with open_source(args.video if args.video is not None else (args.camera or 0)) as source:
        check_distinct_outputs(source.files, {"--record": record}, 1)
        tracker = build_tracker(args, device)
        window = Window(f"siamfc webcam - {source.description}", drag_select=True,
                        help_text="drag a box: track it   r: reselect   space: pause   s: snapshot   q/Esc: quit")
        recorder = VideoOutput(record, source.fps or 25.0) if record is not None else None
        view = LiveView(tracker, window, snapshot_dir, recorder, args.quiet)
        try:
            end_message, exit_code = view.play(source, init_box, args.all_frames)
        except KeyboardInterrupt:
            end_message, exit_code = f"interrupted after {view.frames} frames", 130
        finally:
            window.close()
            if recorder is not None:
                recorder.close()
    if exit_code or not args.quiet:
        elapsed = time.perf_counter() - view.started
        parts = [end_message, f"{view.frames / elapsed:.1f} fps" if elapsed > 0 and view.frames else "",
                 recorder and (f"recording saved: {recorder.path} ({recorder.frames} frames)" if recorder.frames
                               else "nothing was recorded"),
                 view.snapshots and f"{len(view.snapshots)} snapshot(s) in {view.snapshot_dir}"]
        print("; ".join(p for p in parts if p), file=sys.stderr if exit_code else sys.stdout, flush=True)
    return exit_code


class LiveView:
    """A live session's state (target, frame shown, pause, recording) and what keys, mouse and frames do to it."""

    def __init__(self, tracker, window, snapshot_dir: Path, recorder: VideoOutput | None, quiet: bool = False) -> None:
        self.tracker, self.window, self.snapshot_dir, self.recorder = tracker, window, snapshot_dir, recorder
        self.quiet, self.paused = quiet, False
        self.target = self.box = None  # the target's id in the tracker and its box in the current frame
        self.raw = self.shown = None  # the current frame, as decoded and as displayed
        self.frame_number = self.frames = 0  # the current frame's number; frames shown
        self.fps = self.last_tick = None  # smoothed; when the last frame was shown
        self.snapshots: list[Path] = []
        self.started = time.perf_counter()

    def say(self, message: str) -> None:
        """A note on stdout (none with --quiet)."""
        if not self.quiet:
            print(message, flush=True)

    def start_tracking(self, image: np.ndarray, box: np.ndarray) -> None:
        if self.target is not None:
            self.tracker.remove(self.target)
        self.box = clip_box(box, image.shape, "box")
        self.target = self.tracker.add(image, self.box)
        self.say(f"tracking from frame {self.frame_number}: box {','.join(f'{v:.0f}' for v in self.box)}")

    def draw(self, note: str | None) -> None:
        """Show the current frame with the target's box as it is now."""
        from ..io.drawing import annotate_frame

        ids = [] if self.target is None else [self.target]
        self.shown = annotate_frame(self.raw.copy(), [self.box] if ids else [], self.frame_number, self.fps,
                                    note, [self.tracker.scores[i] for i in ids], [self.tracker.present[i] for i in ids])
        self.window.show(self.shown)

    def handle_input(self) -> bool:
        """Act on the keys pressed and boxes dragged since the last call; False once the user asked to stop."""
        if not self.window.poll():
            return False
        for event in self.window.events():
            if not isinstance(event, str):  # a box dragged (the rest are keys)
                if self.raw is not None:
                    try:
                        self.start_tracking(self.raw, event.box)
                    except ValueError as exc:
                        warn(str(exc))
                        continue
                    self.draw("paused" if self.paused else None)
            elif event == "r":
                if self.target is not None:
                    self.tracker.remove(self.target)
                    self.target = None
                self.say(f"reselect: drag a new box (frame {self.frame_number})")
            elif event == "space":
                self.paused = not self.paused
                self.say(f"{'paused' if self.paused else 'resumed'} at frame {self.frame_number}")
                if self.raw is not None:
                    self.draw("paused" if self.paused else None)
            elif event == "s" and self.shown is not None:
                self.snapshot()
        return True

    def on_frame(self, image: np.ndarray, number: int, init_box: np.ndarray | None) -> None:
        """Track the target in a new frame (or start on ``init_box``) and show it."""
        self.raw, self.frame_number = image, number
        if init_box is not None:
            self.start_tracking(image, init_box)
        elif self.target is not None:
            self.box = self.tracker.update(image)[self.target]
        now = time.perf_counter()
        if self.last_tick is not None:
            self.fps = smooth_fps(self.fps, now - self.last_tick)
        self.last_tick = now
        self.frames += 1
        self.draw(None if self.target is not None else "drag a box around the target")

    def snapshot(self) -> None:
        """The view as shown, as a PNG; a failure is a warning (it must not end the session)."""
        import cv2

        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        path = self.snapshot_dir / f"siamfc_snapshot_{stamp}_frame{self.frame_number:05d}.png"
        try:
            self.snapshot_dir.mkdir(parents=True, exist_ok=True)  # --snapshot-dir: asked for
            if not cv2.imwrite(str(path), cv2.cvtColor(self.shown, cv2.COLOR_RGB2BGR)):
                raise OSError("OpenCV could not write it")
        except OSError as exc:
            warn(f"snapshot {path}: not saved ({exc.strerror or exc})")
            return
        self.snapshots.append(path)
        self.say(f"snapshot saved: {path}")

    def play(self, source: FrameSource, init_box: np.ndarray | None, keep_all: bool) -> tuple[str, int]:
        """The live loop until the window is closed or the source ends: (the closing words, the exit code).
        A video file without --init-box stays on its first frame until a box is drawn on it (a file played
        on would end first)."""
        from ..io.video import LiveFeed

        is_camera = source.kind == "camera"
        frames = source.frames()
        first = None if is_camera or init_box is not None else next((f for f in frames if f.image is not None), None)
        if first is not None:  # none decodable: the feed reports the end
            self.on_frame(first.image, first.index + 1, None)
            self.say("drag a box around the target on the first frame (the video waits)")
            while self.target is None:
                if not self.handle_input():
                    return f"stopped by the user before a box was drawn ({source.description})", 0
                time.sleep(0.01)
            if self.recorder is not None:
                self.recorder.write(self.shown)
        # the frames after the first (taken to draw the box on)
        with LiveFeed(source, None if is_camera else source.fps or 25.0, keep_all, frames=frames) as feed:
            while True:
                if not self.handle_input():  # 1. keys and mouse
                    return f"stopped by the user after {self.frames} frames", 0
                if self.paused or self.window.dragging:  # 2. a new frame, unless paused or a box is being drawn
                    time.sleep(0.01)
                    continue
                frame = feed.get(timeout=0.02)
                if frame is not None:
                    self.on_frame(frame.image, frame.index + 1, init_box)
                    if self.recorder is not None:
                        self.recorder.write(self.shown)
                    init_box = None
                elif feed.ended:  # for a camera: lost (unplugged, or taken by another program)
                    counts = f"{self.frames} shown"
                    if feed.dropped:
                        slower = "camera" if is_camera else "video"
                        counts += f", {feed.dropped} dropped (tracking slower than the {slower})"
                    if feed.unreadable:
                        counts += f", {feed.unreadable} unreadable"
                    if is_camera:
                        return (f"{source.description} lost after frame {self.frame_number} ({counts}): unplugged "
                                "or stopped delivering", 1)
                    return f"{source.description}: video ended after frame {self.frame_number} ({counts})", 0
