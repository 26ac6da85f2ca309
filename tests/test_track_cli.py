"""The ``track`` command. One run starts the console script as a user does (a subprocess: the
whole bag video with its IoU and annotated video; the window tests under Xvfb do too); the rest
call the same entry point in-process (``track_main([...])``, output read with capsys), which skips
the seconds a new interpreter spends importing torch.

Tracking quality is checked against GOT-10k ground truth with the trained third-party model in
``../shared/weights``; bad input must give one line on stderr, exit code 2 and no traceback.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest

from siamfc.cli.common import clip_box, parse_box
from siamfc.errors import SiamFCError
from siamfc.geometry import iou

TRACK_SCRIPT = Path(sys.executable).parent / "track"
TRACK = [os.fspath(TRACK_SCRIPT)] if TRACK_SCRIPT.exists() else [
    sys.executable, "-c", "from siamfc.cli.main import track_cli; track_cli()"]


def run_track(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """The console script in a subprocess, as a user runs it."""
    return subprocess.run([*TRACK, *map(str, args)], capture_output=True, text=True, timeout=timeout)


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def track(capfd: pytest.CaptureFixture) -> Callable[..., Result]:
    """``track(*args)``: the ``track`` entry point in-process, with its exit code and output (at the
    file-descriptor level: what OpenCV's C++ code prints counts too)."""
    from siamfc.cli.main import track_main

    def run(*args: str | os.PathLike) -> Result:
        capfd.readouterr()
        try:
            code = track_main([os.fspath(a) if isinstance(a, os.PathLike) else str(a) for a in args])
        except SystemExit as exc:  # argparse's own errors
            code = exc.code
        out = capfd.readouterr()
        return Result(code, out.out, out.err)

    return run


def box_arg(box: np.ndarray) -> str:
    return ",".join(f"{v:g}" for v in box)


def read_boxes(path: Path) -> np.ndarray:
    return np.loadtxt(path, delimiter=",", ndmin=2)


def centre_errors(boxes: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Distance between box centres, in pixels. On the first 20 frames of bag the tracker stays
    within 9 px of the ground truth while a box left where it started is 30-72 px off."""
    centre = lambda b: b[:, :2] + b[:, 2:] / 2  # noqa: E731
    return np.linalg.norm(centre(np.atleast_2d(boxes)) - centre(np.atleast_2d(gt)), axis=1)


@pytest.fixture(scope="module")
def bag(got10k_root: Path, shared_dir: Path) -> dict:
    video = shared_dir / "videos" / "bag.avi"
    if not video.exists():
        pytest.skip(f"{video} not found")
    seq = got10k_root / "val" / "bag"
    gt = np.loadtxt(seq / "groundtruth.txt", delimiter=",", ndmin=2)
    return {"video": video, "seq": seq, "gt": gt, "box": box_arg(gt[0])}


def link_frames(seq: Path, dest: Path, numbers) -> Path:
    """Symlink frames of a sequence into ``dest`` as 00000001.jpg, ... (read-only use only)."""
    dest.mkdir()
    for k, n in enumerate(numbers, 1):
        (dest / f"{k:08d}.jpg").symlink_to(seq / f"{n:08d}.jpg")
    return dest


def replace_with_copy(path: Path, data: bytes) -> None:
    """Replace a (symlinked) frame by a real file: unlink first, never write through the link."""
    path.unlink()
    path.write_bytes(data)


# ------------------------------------------------------------------------------- tracking quality


def test_track_bag_video_iou_and_outputs(bag, fdsiamfc_weights, tmp_path):
    out_txt, out_mp4 = tmp_path / "out.txt", tmp_path / "out.mp4"
    result = run_track(bag["video"], "--init-box", bag["box"], "--boxes", out_txt, "--output", out_mp4,
                       "--weights", fdsiamfc_weights, "--device", "cpu")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    summary = result.stdout.strip().splitlines()[-1]
    assert summary.startswith("196 frames in ") and "0 skipped" in summary, summary
    assert str(out_txt) in summary and str(out_mp4) in summary

    boxes = read_boxes(out_txt)
    gt = bag["gt"]
    assert boxes.shape == (len(gt), 4)
    np.testing.assert_allclose(boxes[0], gt[0], atol=1e-3)  # got10k format: line 1 is the init box
    mean_iou = float(iou(boxes[1:], gt[1:]).mean())
    assert mean_iou >= 0.65, f"mean IoU {mean_iou:.3f} on bag"

    capture = cv2.VideoCapture(os.fspath(out_mp4))
    assert capture.isOpened()
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == len(gt)
    decoded = 0
    while capture.read()[0]:
        decoded += 1
    assert decoded == len(gt)
    assert (int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))) == (480, 360)


def test_track_folder_glob_and_json(bag, fdsiamfc_weights, tmp_path, track):
    frames = link_frames(bag["seq"], tmp_path / "frames", range(1, 13))
    out_json = tmp_path / "boxes.json"
    result = track(frames, "--init-box", bag["box"], "--boxes", out_json, "--weights", fdsiamfc_weights)
    assert result.returncode == 0, result.stderr
    data = json.loads(out_json.read_text())
    assert data["targets"] == 1 and data["summary"]["frames"] == 12 and data["summary"]["skipped"] == 0
    assert [f["frame"] for f in data["frames"]] == list(range(1, 13))
    boxes = np.array([f["boxes"][0] for f in data["frames"]])
    assert centre_errors(boxes[1:], bag["gt"][1:12]).max() <= 20

    # the same frames through a glob, from the 3rd frame on: the first line is the init box
    out_txt = tmp_path / "glob.txt"
    result = track(f"{frames}/*.jpg", "--init-box", box_arg(bag["gt"][2]), "--start-frame", "2",
                   "--max-frames", "5", "--boxes", out_txt, "--weights", fdsiamfc_weights, "--quiet")
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""  # --quiet
    glob_boxes = read_boxes(out_txt)
    assert glob_boxes.shape == (5, 4)
    np.testing.assert_allclose(glob_boxes[0], bag["gt"][2], atol=1e-3)


def test_backend_option_gives_the_same_boxes(bag, fdsiamfc_weights, tmp_path, track):
    frames = link_frames(bag["seq"], tmp_path / "frames", range(1, 31))
    boxes = {}
    for backend in ("auto", "torch", "onnxruntime"):
        out = tmp_path / f"{backend}.txt"
        result = track(frames, "--init-box", bag["box"], "--boxes", out, "--weights", fdsiamfc_weights,
                       "--backend", backend, "--quiet")
        assert result.returncode == 0, result.stderr
        boxes[backend] = read_boxes(out)
    assert boxes["auto"].shape == (30, 4)
    np.testing.assert_allclose(boxes["auto"], boxes["onnxruntime"], atol=1e-6)  # auto is ONNX Runtime on the CPU
    assert iou(boxes["torch"], boxes["onnxruntime"]).mean() >= 0.99
    result = track(frames, "--init-box", bag["box"], "--backend", "tensorrt")
    assert result.returncode == 2 and "invalid choice" in result.stderr


def test_track_two_targets(bag, fdsiamfc_weights, tmp_path, track):
    other = np.array([30.0, 200.0, 60.0, 60.0])
    out_txt, out_json = tmp_path / "two.txt", tmp_path / "two.json"
    args = [bag["video"], "--init-box", bag["box"], "--init-box", box_arg(other), "--max-frames", "20",
            "--weights", fdsiamfc_weights]
    result = track(*args, "--boxes", out_txt)
    assert result.returncode == 0, result.stderr
    assert not out_txt.exists()  # several targets: one file per target
    first, second = read_boxes(tmp_path / "two_0.txt"), read_boxes(tmp_path / "two_1.txt")
    assert first.shape == second.shape == (20, 4)
    np.testing.assert_allclose(first[0], bag["gt"][0], atol=1e-3)
    np.testing.assert_allclose(second[0], other, atol=1e-3)
    assert centre_errors(first[1:], bag["gt"][1:20]).max() <= 20
    assert iou(first[1:], second[1:]).max() < 0.2  # the two targets stay apart

    result = track(*args, "--boxes", out_json)
    assert result.returncode == 0, result.stderr
    data = json.loads(out_json.read_text())
    assert data["targets"] == 2 and all(len(f["boxes"]) == 2 for f in data["frames"])
    np.testing.assert_allclose(np.array([f["boxes"][0] for f in data["frames"]]), first, atol=2e-3)


def test_box_partly_outside_is_clipped_with_warning(bag, fdsiamfc_weights, tmp_path, track):
    out_txt = tmp_path / "clip.txt"
    result = track(bag["video"], "--init-box=-20,-10,100,80", "--max-frames", "3", "--boxes", out_txt,
                   "--weights", fdsiamfc_weights)
    assert result.returncode == 0, result.stderr
    assert "warning: --init-box -20,-10,100,80 extends past the 480x360 frame" in result.stderr
    np.testing.assert_allclose(read_boxes(out_txt)[0], [0, 0, 80, 70])


# --------------------------------------------------------------------------------- damaged input


def test_corrupt_frames_in_folder_are_skipped(bag, fdsiamfc_weights, tmp_path, track):
    frames = link_frames(bag["seq"], tmp_path / "frames", range(1, 11))
    original = (frames / "00000004.jpg").read_bytes()
    replace_with_copy(frames / "00000004.jpg", original[: len(original) // 3])  # truncated JPEG
    replace_with_copy(frames / "00000007.jpg", b"not an image")
    out_txt, out_mp4 = tmp_path / "out.txt", tmp_path / "out.mp4"
    result = track(frames, "--init-box", bag["box"], "--boxes", out_txt, "--output", out_mp4,
                   "--weights", fdsiamfc_weights)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "10 frames in" in result.stdout and "2 skipped" in result.stdout, result.stdout
    assert "frame 4:" in result.stderr and "frame 7:" in result.stderr
    boxes = read_boxes(out_txt)
    assert boxes.shape == (10, 4)  # one line per frame, aligned with the frame numbers
    np.testing.assert_allclose(boxes[3], boxes[2])  # a skipped frame keeps the previous box
    ok = [i for i in range(1, 10) if i not in (3, 6)]
    assert centre_errors(boxes[ok], bag["gt"][ok]).max() <= 20
    assert int(cv2.VideoCapture(os.fspath(out_mp4)).get(cv2.CAP_PROP_FRAME_COUNT)) == 10


def _mjpeg_video(frames: list[np.ndarray], path: Path) -> tuple[bytes, list[int]]:
    writer = cv2.VideoWriter(os.fspath(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, frames[0].shape[1::-1])
    for frame in frames:
        writer.write(frame)
    writer.release()
    data = path.read_bytes()
    starts = [i for i in range(len(data) - 2) if data[i:i + 3] == b"\xff\xd8\xff"]
    assert len(starts) == len(frames)
    return data, starts


def test_corrupt_and_truncated_video_file(bag, fdsiamfc_weights, tmp_path, track):
    frames = [cv2.imread(os.fspath(bag["seq"] / f"{n:08d}.jpg")) for n in range(1, 11)]
    data, starts = _mjpeg_video(frames, tmp_path / "clean.avi")
    corrupt = bytearray(data)
    corrupt[starts[4]:starts[4] + 1000] = bytes(1000)  # frame 5 no longer decodes
    (tmp_path / "corrupt.avi").write_bytes(bytes(corrupt))
    out_txt = tmp_path / "corrupt.txt"
    result = track(tmp_path / "corrupt.avi", "--init-box", bag["box"], "--boxes", out_txt,
                   "--weights", fdsiamfc_weights)
    assert result.returncode == 0, result.stderr
    assert "10 frames in" in result.stdout and "1 skipped" in result.stdout, result.stdout
    assert read_boxes(out_txt).shape == (10, 4)

    leading = bytearray(data)
    for start in starts[:2]:  # frames 1 and 2 no longer decode: the box applies to frame 3
        leading[start:start + 1000] = bytes(1000)
    (tmp_path / "leading.avi").write_bytes(bytes(leading))
    result = track(tmp_path / "leading.avi", "--init-box", bag["box"], "--boxes", out_txt,
                   "--weights", fdsiamfc_weights)
    assert result.returncode == 0, result.stderr
    assert "applies to frame 3" in result.stderr, result.stderr
    boxes = read_boxes(out_txt)
    assert boxes.shape == (10, 4)  # line N is still frame N
    assert np.allclose(boxes[:3], parse_box(bag["box"]), atol=1e-3)

    (tmp_path / "short.avi").write_bytes(data[: starts[6]])  # ends early: 6 of 10 frames
    result = track(tmp_path / "short.avi", "--init-box", bag["box"], "--boxes", out_txt,
                   "--weights", fdsiamfc_weights)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert read_boxes(out_txt).shape[0] >= 5
    assert "ended after" in result.stderr and "missing at the end" in result.stdout, result.stderr + result.stdout


def test_ctrl_c_keeps_boxes(bag, fdsiamfc_weights, tmp_path, track):
    """Ctrl-C (a real SIGINT, sent to this process once the run has written 6 lines) mid-run: exit
    code 130, no traceback, the boxes so far in a complete text or JSON file. In-process: the
    console script's own handler (one line, exit 130, also while a command loads) is checked by the
    two tests below."""
    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        pytest.skip("SIGINT is handled by something else in this process")
    # a long folder (the bag frames 5 times over: 980) so that the run is still going when interrupted
    # (a few ms after its 6th line), even on an idle machine where the tracker runs at several hundred
    # frames/s; 30 times over cost seconds of symlinking on a busy machine
    frames = link_frames(bag["seq"], tmp_path / "frames", [n for _ in range(5) for n in range(1, 197)])
    for out in (tmp_path / "out.txt", tmp_path / "out.json"):
        done = threading.Event()

        def interrupt(out: Path = out, done: threading.Event = done) -> None:
            if wait_for_lines(out, 6, lambda: True if done.is_set() else None):
                os.kill(os.getpid(), signal.SIGINT)  # KeyboardInterrupt in the main thread, inside the run

        watcher = threading.Thread(target=interrupt, daemon=True)
        watcher.start()
        try:
            result = track(frames, "--init-box", bag["box"], "--boxes", out, "--weights", fdsiamfc_weights,
                           "--quiet")
        finally:
            done.set()
            watcher.join()
        assert result.returncode == 130, result.stderr
        assert "Traceback" not in result.stderr
        if out.suffix == ".txt":
            assert 5 <= len(read_boxes(out)) < len(bag["gt"]) * 5
        else:
            data = json.loads(out.read_text())  # closed properly: valid JSON
            assert data["summary"]["interrupted"] and 5 <= len(data["frames"]) < len(bag["gt"]) * 5
        assert not list(tmp_path.glob(".*.part"))  # put in place under its own name


def test_sigterm_keeps_boxes(bag, tmp_path):
    """SIGTERM (``kill``, ``timeout``) mid-run, sent to the console script: the same as Ctrl-C, the
    boxes so far kept in place under their own name, one line, exit code 143."""
    frames = link_frames(bag["seq"], tmp_path / "frames", [n for _ in range(5) for n in range(1, 197)])
    out = tmp_path / "out.txt"
    process = subprocess.Popen([*TRACK, os.fspath(frames), "--init-box", bag["box"], "--boxes", os.fspath(out)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert wait_for_lines(out, 6, process.poll), "the run ended before writing 6 lines"
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=120)
    finally:
        process.kill()
    assert process.returncode == 143, stderr
    assert "Traceback" not in stderr and "stopped after" in stdout, stdout + stderr
    assert 5 <= len(read_boxes(out)) < len(bag["gt"]) * 5
    assert not list(tmp_path.glob(".*.part"))


def wait_for_lines(out: Path, lines: int, ended: Callable[[], object]) -> bool:
    """Wait until a running ``track`` has written ``lines`` lines to ``out``; False if it ended first."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and ended() is None:
        if lines_written(out) >= lines:
            return True
        time.sleep(0.02)
    return False


def lines_written(out: Path) -> int:
    """Lines in ``out``, or in the temporary file beside it that a running track writes it to."""
    for path in [*out.parent.glob(f".{out.name}.*.part"), out]:
        try:
            return path.read_text().count("\n")
        except FileNotFoundError:  # just renamed
            continue
    return 0


# ------------------------------------------------------------------------------------- bad input


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("bad")
    (root / "empty").mkdir()
    (root / "notavideo.mp4").write_bytes(b"\x00\x00\x00\x18ftypnot a video at all")
    (root / "zero.mp4").write_bytes(b"")  # OpenCV logs a warning opening it: kept out of the one line
    (root / "boxes.txt").write_text("1,2,3,4\n5,6,7,8\n")  # FFmpeg's tty demuxer would play it
    (root / "garbage.pth").write_bytes(b"\x00not a checkpoint")
    import torch

    torch.save({"fc.weight": torch.zeros(2, 2)}, root / "foreign.pth")
    (root / "readonly").mkdir()
    (root / "readonly").chmod(0o555)
    return root


BAD_CASES = {
    "missing video": (["{root}/nope.mp4", "--init-box", "{box}"], "no such file"),
    "unreadable video": (["{root}/notavideo.mp4", "--init-box", "{box}"], "cannot decode"),
    "empty video file": (["{root}/zero.mp4", "--init-box", "{box}"], "cannot decode"),
    "empty video name": (["", "--init-box", "{box}"], "no video given"),
    "text file for a video": (["{root}/boxes.txt", "--init-box", "{box}"], "a text file, not a video"),
    "empty folder": (["{root}/empty", "--init-box", "{box}"], "no image files"),
    "glob without matches": (["{root}/empty/*.jpg", "--init-box", "{box}"], "no files match"),
    "camera that does not open": (["57", "--init-box", "{box}"], "camera 57 does not open"),
    "malformed box": (["{video}", "--init-box", "10,20,30"], "expected four numbers"),
    "zero-size box": (["{video}", "--init-box", "10,20,0,30"], "must be positive"),
    "box outside the frame": (["{video}", "--init-box", "600,400,50,50"], "outside the 480x360 frame"),
    "unknown device": (["{video}", "--init-box", "{box}", "--device", "tpu"], "unknown device"),
    "output in a missing place": (["{video}", "--init-box", "{box}", "--output", "/proc/none/out.mp4"],
                                  "--output"),
    "unwritable boxes file": (["{video}", "--init-box", "{box}", "--boxes", "{root}/readonly/out.txt"],
                              "cannot be written"),
    "boxes path is a folder": (["{video}", "--init-box", "{box}", "--boxes", "{root}/empty"], "is a folder"),
    "unknown video type": (["{video}", "--init-box", "{box}", "--output", "{root}/out.gif"], "unknown video type"),
    "weights not ours": (["{video}", "--init-box", "{box}", "--weights", "{root}/foreign.pth"],
                         "not a SiamFC checkpoint"),
    "weights not a checkpoint": (["{video}", "--init-box", "{box}", "--weights", "{root}/garbage.pth"],
                                 "garbage.pth"),
    "missing weights": (["{video}", "--init-box", "{box}", "--weights", "{root}/none.pth"], "none.pth"),
    "start frame past the end": (["{video}", "--init-box", "{box}", "--start-frame", "1000"], "past"),
    "window without a display": (["{video}", "--init-box", "{box}", "--show"], "no display"),
    "no box and no display": (["{video}"], "no display"),
    # argparse's own errors: one line too, not the usage text first
    "non-numeric start frame": (["{video}", "--init-box", "{box}", "--start-frame", "x"], "--start-frame"),
    "unknown option": (["{video}", "--init-box", "{box}", "--bogus"], "unrecognized arguments: --bogus"),
}


@pytest.mark.parametrize("case", list(BAD_CASES))
def test_bad_input_is_one_line_exit_2(case, bag, bad_files, fdsiamfc_weights, monkeypatch, track):
    if case == "unwritable boxes file" and os.access(bad_files / "readonly", os.W_OK):
        pytest.skip("running as a user who can write into read-only folders (root)")
    template, expected = BAD_CASES[case]
    args = [a.format(root=bad_files, box=bag["box"], video=bag["video"]) for a in template]
    if "--weights" not in args:
        args += ["--weights", os.fspath(fdsiamfc_weights)]
    for name in ("DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(name, raising=False)
    result = track(*args, "--max-frames", "2")
    assert result.returncode == 2, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("track: error: ") and expected in lines[0], lines[0]


def test_cuda_without_gpu_is_one_line(bag, fdsiamfc_weights, capsys):
    import torch

    from siamfc.cli.main import track_main

    if torch.cuda.is_available():
        pytest.skip("a GPU is available here")
    assert track_main([os.fspath(bag["video"]), "--init-box", bag["box"], "--device", "cuda",
                       "--weights", os.fspath(fdsiamfc_weights)]) == 2
    assert capsys.readouterr().err.strip() == ("track: error: --device cuda: no CUDA GPU is available here "
                                               "(use --device cpu or auto)")


def test_a_box_that_starts_with_a_minus_sign_takes_equals(monkeypatch) -> None:
    import argparse

    from siamfc.cli import track

    monkeypatch.setenv("COLUMNS", "400")  # the help on one line, not wrapped at a hyphen
    parser = argparse.ArgumentParser()
    track.add_arguments(parser)
    args = parser.parse_args(["clip.mp4", "--init-box=-20,-10,100,80", "--init-box", "1,2,3,4"])
    assert args.init_box == ["-20,-10,100,80", "1,2,3,4"]
    assert "--init-box=-10,5,40,40" in parser.format_help()


def test_ctrl_c_while_a_command_loads_is_one_line(monkeypatch, capsys) -> None:
    from siamfc.cli import main

    def interrupted(name: str):
        raise KeyboardInterrupt

    monkeypatch.setattr(main.importlib, "import_module", interrupted)
    monkeypatch.setattr(sys, "argv", ["track", "clip.mp4"])
    with pytest.raises(SystemExit) as exit_info:
        main.track_cli()
    assert exit_info.value.code == 130
    assert capsys.readouterr().err == "track: interrupted\n"


def test_ctrl_c_turned_into_another_error_by_an_import_is_one_line(monkeypatch, capsys) -> None:
    import signal

    from siamfc.cli import main

    def numpy_like(name: str):  # NumPy turns a KeyboardInterrupt inside its C import into ImportError
        try:
            signal.getsignal(signal.SIGINT)(signal.SIGINT, None)  # what Ctrl-C runs
        except KeyboardInterrupt:
            raise ImportError("Importing the numpy C-extensions failed.") from None

    monkeypatch.setattr(main.importlib, "import_module", numpy_like)
    monkeypatch.setattr(sys, "argv", ["siamfc", "track", "clip.mp4"])
    with pytest.raises(SystemExit) as exit_info:
        main.cli()
    assert exit_info.value.code == 130
    assert capsys.readouterr().err == "siamfc: interrupted\n"
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # given back


# ------------------------------------------------------------------------------- window (Xvfb)


XVFB_TOOLS = all(shutil.which(t) for t in ("xvfb-run", "xdotool"))


@pytest.mark.skipif(not XVFB_TOOLS, reason="needs xvfb-run and xdotool")
def test_draw_box_with_mouse_then_show(bag, fdsiamfc_weights, tmp_path):
    """No --init-box: a window opens on frame 1, the box is dragged with the mouse (xdotool),
    Enter starts tracking, which is then shown in the same window."""
    x, y, w, h = (round(v) for v in bag["gt"][0])
    out_txt = tmp_path / "drawn.txt"
    script = f"""
{" ".join(map(str, TRACK))} {bag["video"]} --max-frames 8 --boxes {out_txt} --weights {fdsiamfc_weights} &
pid=$!
win=$(timeout 60 xdotool search --sync --name "drag a box" | head -1)
sleep 0.5
xdotool mousemove --window $win {x} {y} mousedown 1 mousemove --window $win {x + w // 2} {y + h // 2} \\
    mousemove --window $win {x + w} {y + h} mouseup 1
sleep 0.3
xdotool key --window $win Return
wait $pid
"""
    result = subprocess.run(["xvfb-run", "-a", "bash", "-c", script], capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    assert "8 frames in" in result.stdout, result.stdout + result.stderr
    boxes = read_boxes(out_txt)
    assert boxes.shape == (8, 4)
    np.testing.assert_allclose(boxes[0], [x, y, w, h], atol=1.0)
    assert centre_errors(boxes[1:], bag["gt"][1:8]).max() <= 20


# --------------------------------------------------------------------------------- helpers


def test_parse_and_clip_box():
    np.testing.assert_array_equal(parse_box("1, 2, 30.5, 40"), [1, 2, 30.5, 40])
    np.testing.assert_array_equal(parse_box("1 2 3 4"), [1, 2, 3, 4])
    for bad in ("1,2,3", "1,2,3,4,5", "x,2,3,4", "1,2,0,4", "1,2,3,-4", "1,2,nan,4", ""):
        with pytest.raises(SiamFCError) as info:
            parse_box(bad)
        assert info.value.key == "--init-box"
    warnings: list[str] = []
    np.testing.assert_array_equal(clip_box(np.array([10, 10, 20, 20.0]), (100, 200, 3), on_warning=warnings.append),
                                  [10, 10, 20, 20])
    assert warnings == []
    np.testing.assert_array_equal(clip_box(np.array([190, 90, 20, 20.0]), (100, 200, 3), on_warning=warnings.append),
                                  [190, 90, 10, 10])
    assert len(warnings) == 1
    for outside in ([200, 10, 5, 5.0], [-10, -10, 10.5, 5.0]):  # the second only half a pixel inside
        with pytest.raises(SiamFCError) as info:
            clip_box(np.array(outside), (100, 200, 3), "--init-box #1")
        assert info.value.key == "--init-box"


def test_siamfc_debug_prints_the_traceback(monkeypatch, capsys) -> None:
    """An error is one line; with SIAMFC_DEBUG=1 its traceback comes first."""
    from siamfc.cli.main import main

    for debug in ("0", "1"):
        monkeypatch.setenv("SIAMFC_DEBUG", debug)
        assert main(["track", "video.mp4", "--init-box", "1,2,3", "--device", "cpu"]) == 2
        lines = capsys.readouterr().err.strip().splitlines()
        assert lines[-1].startswith("siamfc track: error: --init-box"), lines
        assert (len(lines) > 1 and lines[0] == "Traceback (most recent call last):") == (debug == "1"), lines


@pytest.mark.skipif(not (XVFB_TOOLS and shutil.which("import")), reason="needs xvfb-run, xdotool and ImageMagick")
def test_show_window_draws_box_and_q_stops(bag, fdsiamfc_weights, tmp_path):
    """--show: the window shows the frames with the box drawn (checked on a screenshot); q stops
    the run early with exit code 0 and closed, valid outputs."""
    out_json, out_mp4, shot = tmp_path / "show.json", tmp_path / "show.mp4", tmp_path / "shot.png"
    script = f"""
{" ".join(map(str, TRACK))} {bag["video"]} --init-box {bag["box"]} --show --boxes {out_json} --output {out_mp4} \\
    --weights {fdsiamfc_weights} --quiet &
pid=$!
timeout 60 xdotool search --sync --name "siamfc track" > /dev/null
for i in $(seq 200); do [ -s {out_json} ] && [ $(wc -l < {out_json}) -ge 4 ] && break; sleep 0.05; done
import -window root {shot}
xdotool key q
wait $pid
"""
    result = subprocess.run(["xvfb-run", "-a", "-s", "-screen 0 800x600x24", "bash", "-c", script],
                            capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    data = json.loads(out_json.read_text())
    assert data["summary"]["stopped_by_user"], "q did not stop the run"
    assert 3 <= len(data["frames"]) < len(bag["gt"])
    assert int(cv2.VideoCapture(os.fspath(out_mp4)).get(cv2.CAP_PROP_FRAME_COUNT)) == len(data["frames"])
    screen = cv2.imread(os.fspath(shot))
    assert screen is not None
    green = (screen[:, :, 1] > 200) & (screen[:, :, 0] < 80) & (screen[:, :, 2] < 80)  # the box, BGR
    assert green.sum() > 300, "no box drawn in the window"
