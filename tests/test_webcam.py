"""The webcam demo, run as a user runs it: ``siamfc webcam`` on the bundled clip played as if it
were a camera, in a real X server (Xvfb), driven with the mouse and keys by xdotool; what the
window shows is checked on a screenshot of the X screen.

The GUI tests skip when Xvfb or xdotool is missing (``apt-get install xvfb xdotool``), or when
Pillow cannot grab an X screen (it needs its XCB support).
"""

from __future__ import annotations

import os
import queue
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from siamfc.cli.demo import CLIP, load_groundtruth
from siamfc.geometry import iou
from siamfc.io.video import Frame, FrameSource, LiveFeed

SIAMFC = [sys.executable, "-c", "from siamfc.cli.main import cli; cli()"]
TITLE = "siamfc webcam"


# ------------------------------------------------------------------------------------ bad input


@pytest.mark.parametrize("args, fragment", [
    (["--video", "{tmp}/missing.mp4"], "{tmp}/missing.mp4: no such file"),
    (["--camera", "57"], "camera 57 does not open"),
    (["--camera", "-1"], "camera -1: not a camera index"),  # OpenCV crashed on it
    (["--camera", "99999999999"], "camera 99999999999: not a camera index"),  # past a C int
    (["--video", "{clip}", "--record", "{clip}"], "--record {clip}: is the input video"),
    (["--video", "{clip}", "--record", "{tmp}/out.gif"], "--record {tmp}/out.gif: unknown video type .gif"),
    (["--video", "{clip}", "--record", "/proc/no/out.mp4"],
     "--record /proc/no/out.mp4: the folder /proc/no does not exist"),
    (["--video", "{clip}", "--init-box", "1,2,0,4"], "--init-box"),
    (["--video", "{clip}", "--device", "tpu"], "--device 'tpu': unknown device"),
    (["--video", "{clip}", "--weights", "{tmp}/bogus.pth"], "bogus.pth"),
    (["--video", "{clip}", "--snapshot-dir", "{clip}"], "--snapshot-dir"),
])
def test_bad_input_is_one_line(args, fragment, tmp_path, capsys, monkeypatch):
    """In-process (a subprocess would spend seconds importing torch; the GUI tests below run the
    console script as a user does)."""
    from siamfc.cli.main import main

    monkeypatch.setenv("DISPLAY", ":12345")  # never reached: every error comes before a window opens
    (tmp_path / "bogus.pth").write_text("not a checkpoint")
    fill = {"tmp": tmp_path, "clip": CLIP}
    code = main(["webcam", *(a.format(**fill) for a in args)])
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("siamfc webcam: error: "), err
    assert "Traceback" not in err
    assert fragment.format(**fill) in lines[0]


def test_no_display_and_all_frames_without_video(capsys, monkeypatch):
    from siamfc.cli.main import main

    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    assert main(["webcam", "--video", str(CLIP)]) == 2
    assert main(["webcam", "--camera", "57"]) == 2  # no display and no camera: the display is named
    assert main(["webcam", "--all-frames"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    no_display = ("siamfc webcam: error: no display to open a window on (DISPLAY is not set); without one, track "
                  "a video with `siamfc track VIDEO --init-box X,Y,W,H --output out.mp4`")
    assert err == [no_display, no_display,
                   "siamfc webcam: error: --all-frames only applies to --video (a camera cannot wait)"]


# ------------------------------------------------------------------------------- the live feed


class ListSource(FrameSource):
    """``n`` tiny frames; frame i is filled with the value i."""

    kind = "video"

    def __init__(self, n: int) -> None:
        super().__init__("list")
        self.n = n

    def frames(self):
        for i in range(self.n):
            yield Frame(i, np.full((4, 4, 3), i, np.uint8))


def drain(feed: LiveFeed, delay: float = 0.0) -> list[int]:
    seen = []
    while not feed.ended:
        frame = feed.get(timeout=0.5)
        if frame is not None:
            seen.append(frame.index)
            time.sleep(delay)
    return seen


def test_live_feed_keep_all_delivers_every_frame_in_order():
    with LiveFeed(ListSource(50), pace_fps=25, keep_all=True) as feed:
        assert drain(feed, delay=0.002) == list(range(50))
        assert feed.dropped == 0


def test_live_feed_drops_stale_frames_like_a_camera():
    """A consumer slower than the source sees the newest frames, not a growing backlog."""
    with LiveFeed(ListSource(40), pace_fps=200) as feed:
        seen = drain(feed, delay=0.03)
    assert seen == sorted(seen) and seen[-1] == 39
    assert feed.dropped > 0 and len(seen) + feed.dropped == 40


# ------------------------------------------------------------------------------- under Xvfb


def display_env(display: str) -> dict:
    return {**os.environ, "DISPLAY": display}


@pytest.fixture(scope="module")
def xdisplay():
    """A private X server (Xvfb) for this module; yields its DISPLAY string."""
    if not shutil.which("Xvfb"):
        pytest.skip("Xvfb is not installed (apt-get install xvfb)")
    read_fd, write_fd = os.pipe()
    server = subprocess.Popen(["Xvfb", "-displayfd", str(write_fd), "-screen", "0", "1280x800x24", "-nolisten",
                               "tcp"], pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write_fd)
    with os.fdopen(read_fd) as pipe:
        number = pipe.readline().strip()
    if not number:
        server.kill()
        pytest.skip("Xvfb did not start")
    yield f":{number}"
    server.terminate()
    server.wait(timeout=10)


@pytest.fixture
def gui(xdisplay):
    if not shutil.which("xdotool"):
        pytest.skip("xdotool is not installed (apt-get install xdotool)")
    from PIL import features

    if not features.check("xcb"):
        pytest.skip("this Pillow cannot grab an X screen (no XCB support)")
    return xdisplay


class App:
    """A running ``siamfc webcam`` (or any command) whose stdout lines are collected as they come."""

    def __init__(self, args: list, display: str) -> None:
        self.display = display
        self.process = subprocess.Popen([*map(str, args)], env=display_env(display), stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True)
        self.lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))

    def wait_for(self, pattern: str, timeout: float = 90) -> re.Match:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                if self.process.poll() is not None and self.lines.empty():
                    break
                continue
            self.output.append(line)
            match = re.search(pattern, line)
            if match:
                return match
        raise AssertionError(f"no line matching {pattern!r}; stdout so far: {self.output}; "
                             f"stderr: {self.stderr() if self.process.poll() is not None else '(running)'}")

    def stderr(self) -> str:
        return self.process.stderr.read() if self.process.stderr else ""

    def xdotool(self, *args) -> str:
        result = subprocess.run(["xdotool", *map(str, args)], env=display_env(self.display), capture_output=True,
                                text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        return result.stdout

    def window(self) -> str:
        """The app's window id, once it is mapped; keyboard focus goes to it."""
        window = self.xdotool("search", "--sync", "--onlyvisible", "--name", TITLE).split()[0]
        self.xdotool("windowfocus", "--sync", window)
        return window

    def key(self, window: str, key: str) -> None:
        self.xdotool("windowfocus", "--sync", window, "key", key)

    def drag(self, window: str, box) -> None:
        x, y, w, h = (round(float(v)) for v in box)
        self.xdotool("mousemove", "--sync", "--window", window, x, y, "mousedown", 1,
                     "mousemove", "--sync", "--window", window, x + w // 2, y + h // 2,
                     "mousemove", "--sync", "--window", window, x + w, y + h, "mouseup", 1)

    def canvas(self, window: str, size: tuple[int, int]) -> np.ndarray:
        """A screenshot of the X screen, cut to the window's frame area (RGB)."""
        from PIL import ImageGrab

        geometry = dict(line.split("=") for line in self.xdotool("getwindowgeometry", "--shell", window).split())
        x, y = int(geometry["X"]), int(geometry["Y"])
        screen = np.asarray(ImageGrab.grab(xdisplay=self.display).convert("RGB"))
        return screen[y:y + size[1], x:x + size[0]]

    def finish(self, timeout: float = 120) -> tuple[int, str, str]:
        try:
            self.process.wait(timeout=timeout)
        finally:
            if self.process.poll() is None:
                self.process.kill()
        rest = []
        while not self.lines.empty():
            rest.append(self.lines.get())
        time.sleep(0.1)
        while not self.lines.empty():
            rest.append(self.lines.get())
        self.output += rest
        return self.process.returncode, "\n".join(self.output), self.stderr()


def green_box(image: np.ndarray) -> np.ndarray | None:
    """The tracker's box (x, y, w, h) as annotate draws it in pure green: left and right from the green
    pixels, top and bottom from the rows green across most of that width (the box's edges), so that
    the confidence label drawn above the box, narrower than it, is not taken for its top."""
    mask = (image[..., 1] > 200) & (image[..., 0] < 90) & (image[..., 2] < 90)
    if mask.sum() < 100:
        return None
    xs = np.flatnonzero(mask.any(axis=0))
    edges = np.flatnonzero(mask.sum(axis=1) >= 0.8 * (xs.max() - xs.min() + 1))
    if len(edges) == 0:
        return None
    return np.array([xs.min(), edges.min(), xs.max() - xs.min() + 1, edges.max() - edges.min() + 1], dtype=np.float64)


def frame_count(path: Path) -> int:
    capture = cv2.VideoCapture(os.fspath(path))
    assert capture.isOpened(), f"{path} does not open"
    count = 0
    while capture.read()[0]:
        count += 1
    capture.release()
    return count


@pytest.fixture(scope="module")
def clip_gt() -> np.ndarray:
    return load_groundtruth()


def test_webcam_init_box_pause_snapshot_quit(gui, fdsiamfc_weights, clip_gt, tmp_path):
    """--init-box starts tracking at once; space pauses; the screenshot shows the box drawn around
    the target (compared with the clip's ground truth) and equals the `s` snapshot; q quits with a
    recording of every frame shown."""
    record = tmp_path / "rec.mp4"
    box0 = ",".join(str(int(v)) for v in clip_gt[0])
    app = App([*SIAMFC, "webcam", "--video", CLIP, "--weights", fdsiamfc_weights, "--device", "cpu",
               "--init-box", box0, "--record", record, "--snapshot-dir", tmp_path, "--all-frames"], gui)
    app.wait_for(r"tracking from frame 1: box " + box0)
    window = app.window()
    app.key(window, "space")  # at once: on a fast GPU machine the whole clip takes under a second
    n = int(app.wait_for(r"paused at frame (\d+)").group(1))
    assert 1 <= n < len(clip_gt)
    time.sleep(0.3)  # let the paused view be redrawn
    canvas = app.canvas(window, (640, 360))
    app.key(window, "s")
    snapshot = Path(app.wait_for(r"snapshot saved: (.+\.png)").group(1))
    app.key(window, "q")
    code, out, err = app.finish()
    assert code == 0, err

    drawn = green_box(canvas)
    assert drawn is not None, "no box drawn in the window"
    assert iou(drawn, clip_gt[n - 1])[0] > 0.5, (drawn, clip_gt[n - 1])
    shot = cv2.cvtColor(cv2.imread(os.fspath(snapshot)), cv2.COLOR_BGR2RGB)
    assert shot.shape == (360, 640, 3)
    assert np.abs(shot.astype(int) - canvas.astype(int)).mean() < 3, "the window does not show the annotated frame"

    match = re.search(r"stopped by the user after (\d+) frames; .*recording saved: (.+) \((\d+) frames\)", out)
    assert match, out
    shown, recorded = int(match.group(1)), int(match.group(3))
    assert shown == recorded >= n
    assert frame_count(record) == recorded


def test_webcam_drag_reselect_and_camera_lost(gui, fdsiamfc_weights, clip_gt, tmp_path):
    """No --init-box: the box is dragged with the mouse on the paused view; r drops it and a new
    drag starts again. The clip then plays to its end, as a camera that stops delivering frames:
    a clear one-line message, exit code 0, and a recording that is complete and readable."""
    record = tmp_path / "rec.mp4"
    app = App([*SIAMFC, "webcam", "--video", CLIP, "--weights", fdsiamfc_weights, "--device", "cpu",
               "--record", record], gui)
    window = app.window()
    app.key(window, "space")
    n = int(app.wait_for(r"paused at frame (\d+)").group(1))
    assert n < 60, "the clip played too far before the pause"
    for attempt in range(2):
        if attempt:
            app.key(window, "r")
            app.wait_for(r"reselect: drag a new box")
        app.drag(window, clip_gt[n - 1])
        match = app.wait_for(r"tracking from frame (\d+): box (\S+)")
        assert int(match.group(1)) == n
        np.testing.assert_allclose([float(v) for v in match.group(2).split(",")], clip_gt[n - 1], atol=2)
    time.sleep(0.3)
    drawn = green_box(app.canvas(window, (640, 360)))
    assert drawn is not None and iou(drawn, clip_gt[n - 1])[0] > 0.8, drawn
    app.key(window, "space")
    code, out, err = app.finish()
    assert code == 0, err
    last = out.strip().splitlines()[-1]
    match = re.fullmatch(r".*demo_clip\.mp4: video ended after frame 125 \((\d+) shown.*\); .*recording saved: "
                         r"(.+) \((\d+) frames\)", last)
    assert match, out
    assert int(match.group(3)) == int(match.group(1)) == frame_count(record) > 0
    assert "Traceback" not in err


def test_window_select_box_modal(gui, tmp_path):
    """``Window.select_box`` (the modal selection `track` uses): drag, then Enter accepts."""
    script = ("from siamfc.io.window import Window; import numpy as np; w = Window('siamfc webcam select'); "
              "print('box', w.select_box(np.zeros((240, 320, 3), np.uint8)).tolist(), flush=True); w.close()")
    app = App([sys.executable, "-c", script], gui)
    window = app.xdotool("search", "--sync", "--onlyvisible", "--name", "drag a box").split()[0]
    app.drag(window, (40, 30, 100, 80))
    app.key(window, "Return")
    box = app.wait_for(r"box \[(.+)\]").group(1)
    assert [float(v) for v in box.split(",")] == [40, 30, 100, 80]
    assert app.finish()[0] == 0
