"""Faults found by trying the project as a hostile user (issue 26): a full disk, another model's
graphs beside a checkpoint, frames that change size, a pipe as an output, an absurd thread count,
a tracker shared between threads, OpenCV's own log lines. Each is run as a user would: the command
line (in a subprocess where a fault could crash or hang the process, or needs a full disk), real
files, a real FIFO. A full disk is a file-size limit (RLIMIT_FSIZE) on the child process: its
writes past the limit fail (EFBIG) as they would on a full disk (Python ignores SIGXFSZ)."""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from test_eval_cli import run_eval

from siamfc.cli.main import main
from siamfc.errors import FrameSizeError
from siamfc.models.shipped import model_path
from siamfc.tracking.onnx_format import GRAPH_HASHES, MANIFEST, export_beside, file_sha256

CLIP = Path(__file__).resolve().parents[1] / "siamfc" / "assets" / "demo_clip.mp4"
SIAMFC = model_path("siamfc_mobile_lite")  # the shipped SiamFC checkpoint with its export (the default is a box model)
BOX = "283,152,79,65"


def siamfc(*args: object, file_limit: int | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """``siamfc ARGS`` in a child process; with ``file_limit`` no file it writes grows past that many bytes."""
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (file_limit, file_limit))

    return subprocess.run([sys.executable, "-m", "siamfc.cli.main", *map(str, args)], capture_output=True,
                          text=True, timeout=timeout, preexec_fn=limit if file_limit is not None else None)


def error_line(result: subprocess.CompletedProcess) -> str:
    """The one line of a refused run (exit 2, no traceback, nothing else on stderr)."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2 and len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]


def hidden_files(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if p.name.startswith(".")]


@pytest.fixture(scope="module")
def clip_frames() -> list[np.ndarray]:
    """The demo clip's first 6 frames (BGR)."""
    capture = cv2.VideoCapture(str(CLIP))
    frames = [capture.read()[1] for _ in range(6)]
    capture.release()
    return frames


def write_sequence(folder: Path, frames: list[np.ndarray]) -> Path:
    """A sequence folder (JPEG frames, groundtruth.txt with the clip's box on every frame)."""
    folder.mkdir(parents=True)
    for i, frame in enumerate(frames):
        cv2.imwrite(str(folder / f"{i + 1:08d}.jpg"), frame)
    (folder / "groundtruth.txt").write_text(f"{BOX}\n" * len(frames))
    return folder


# ------------------------------------------------------------------------ 3, 13: a full disk, OpenCV's lines


def test_full_disk_reports_the_boxes_first_then_the_video(tmp_path: Path) -> None:
    """The box file's error was hidden behind the video's; both are named, the boxes first, with
    what was kept (the whole lines before the failure); OpenCV's own WARN line stays off with -q."""
    boxes, video = tmp_path / "b.txt", tmp_path / "v.mp4"
    result = siamfc("track", CLIP, "--init-box", BOX, "--max-frames", 30, "-q", "--device", "cpu",
                    "--boxes", boxes, "--output", video, file_limit=600)
    line = error_line(result)
    assert str(boxes) in line and str(video) in line and line.index(str(boxes)) < line.index(str(video)), line
    assert "WARN" not in result.stderr
    kept = boxes.read_text()
    assert kept.endswith("\n") and all(len(row.split(",")) == 4 for row in kept.splitlines())
    assert not video.exists() and not hidden_files(tmp_path)


def test_a_video_cut_short_is_an_error(tmp_path: Path) -> None:
    """An AVI cut short by a full disk announced every frame in its header: put in place, exit 0."""
    video = tmp_path / "v.avi"
    result = siamfc("track", CLIP, "--init-box", BOX, "--max-frames", 10, "-q", "--device", "cpu",
                    "--output", video, file_limit=60_000)
    assert str(video) in error_line(result)
    assert not video.exists() and not hidden_files(tmp_path)


def test_verbose_shows_opencv_own_lines(tmp_path: Path) -> None:
    """What -q hides (above) comes back with --verbose: OpenCV's warning as it reads the video back."""
    result = siamfc("track", CLIP, "--init-box", BOX, "--max-frames", 5, "-q", "--device", "cpu",
                    "--output", tmp_path / "v.mp4", "--verbose", file_limit=600)
    assert result.returncode == 2 and "WARN" in result.stderr and "Traceback" not in result.stderr


def test_eval_on_a_full_disk_is_one_line(tmp_path: Path, clip_frames: list[np.ndarray]) -> None:
    """The report's plot failed with a traceback; now one line naming the file."""
    write_sequence(tmp_path / "root" / "demo", clip_frames)
    out = tmp_path / "out"
    result = siamfc("eval", "--dataset", "folder", "--root", tmp_path / "root", "--out", out, "--tracker", "siamfc",
                    "--device", "cpu", "--quiet", file_limit=20_000)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert "success_plot.png" in result.stderr.splitlines()[-1]


# ------------------------------------------------------------------------- 5: another model's graphs


@pytest.fixture(scope="module")
def foreign_graphs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The graphs of another model (the shipped one, its weights shifted) exported with siamfc's own export."""
    import torch

    from siamfc.models.checkpoint import load_model
    from siamfc.tracking.export import export_onnx

    net = load_model(SIAMFC, "cpu")
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for parameter in net.parameters():
            parameter += 0.05 * torch.randn(parameter.shape, generator=generator)
    folder = tmp_path_factory.mktemp("other") / "other.onnx"
    export_onnx(net, folder)
    return folder


def test_graphs_of_another_model_beside_a_checkpoint_are_not_used(tmp_path: Path, foreign_graphs: Path,
                                                                  capsys: pytest.CaptureFixture) -> None:
    checkpoint = tmp_path / "model.pth"
    shutil.copy(SIAMFC, checkpoint)
    folder = export_beside(checkpoint)
    folder.mkdir()
    shutil.copy(export_beside(SIAMFC) / MANIFEST, folder)  # the checkpoint's own manifest
    for graph in foreign_graphs.glob("*.onnx"):
        shutil.copy(graph, folder)
    track = ["track", str(CLIP), "--init-box", BOX, "--max-frames", "8", "-q", "--device", "cpu"]
    # the same checkpoint through its shipped export
    assert main([*track, "--model", "siamfc_mobile_lite", "--boxes", str(tmp_path / "reference.txt")]) == 0
    capsys.readouterr()
    assert main([*track, "--weights", str(checkpoint), "--boxes", str(tmp_path / "b.txt")]) == 0
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("warning:") and str(folder) in lines[0], lines
    assert (tmp_path / "b.txt").read_text() == (tmp_path / "reference.txt").read_text()


def test_the_shipped_export_records_its_graphs() -> None:
    folder = export_beside(SIAMFC)
    info = json.loads((folder / MANIFEST).read_text())
    assert info[GRAPH_HASHES] == {key: file_sha256(folder / name) for key, name in info["files"].items()}


# ---------------------------------------------------------------------- 6: frames that change size


@pytest.mark.parametrize("kind", ["SiamFCTracker", "MultiTracker"])
def test_the_api_refuses_a_frame_of_another_size(kind: str, clip_frames: list[np.ndarray]) -> None:
    import siamfc

    frame = np.ascontiguousarray(clip_frames[0][:, :, ::-1])
    tracker = getattr(siamfc, kind)()
    start = tracker.init if kind == "SiamFCTracker" else tracker.add
    start(frame, np.array([283.0, 152, 79, 65]))
    with pytest.raises(FrameSizeError, match="320x180"):
        tracker.update(cv2.resize(frame, (320, 180)))
    tracker.update(frame)  # the sequence goes on at its own size


def test_eval_refuses_a_sequence_whose_frames_change_size(tmp_path: Path, clip_frames: list[np.ndarray]) -> None:
    frames = [*clip_frames[:3], cv2.resize(clip_frames[3], (320, 180)), *clip_frames[4:]]
    write_sequence(tmp_path / "root" / "demo", frames)
    result = run_eval("--dataset", "folder", "--root", tmp_path / "root", "--out", tmp_path / "out",
                      "--tracker", "siamfc", "--device", "cpu", "--quiet")
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "00000004.jpg" in lines[0] and "320x180" in lines[0], lines


# ------------------------------------------------------------------------ 9: a pipe nobody reads


@pytest.mark.parametrize("flag, name", [("--boxes", "boxes.txt"), ("--output", "video.mp4")])
def test_an_output_that_is_a_fifo_is_refused_before_tracking(flag: str, name: str, tmp_path: Path) -> None:
    fifo = tmp_path / name
    os.mkfifo(fifo)
    result = siamfc("track", CLIP, "--init-box", BOX, "-q", "--device", "cpu", flag, fifo, timeout=60)
    assert str(fifo) in error_line(result) and flag in result.stderr


def test_an_output_that_is_a_folder_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "b.txt").mkdir()
    assert main(["track", str(CLIP), "--init-box", BOX, "-q", "--boxes", str(tmp_path / "b.txt")]) == 2
    assert str(tmp_path / "b.txt") in capsys.readouterr().err


# ---------------------------------------------------------------------------- 10: --threads bounds


@pytest.mark.parametrize("threads", ["100000", "-1"])
def test_threads_out_of_range_is_one_line(threads: str) -> None:
    result = siamfc("bench", "--threads", threads, "--frames", 10, "--no-opencv", timeout=60)
    assert "--threads" in error_line(result)


# ------------------------------------------------------------------- 12: one tracker, two threads


@pytest.mark.parametrize("kind", ["SiamFCTracker", "MultiTracker"])
def test_threads_sharing_a_tracker_take_turns(kind: str, clip_frames: list[np.ndarray]) -> None:
    """Two threads calling update() at once ran two steps over one tracker's state at once."""
    import siamfc

    frame = np.ascontiguousarray(clip_frames[0][:, :, ::-1])
    tracker = getattr(siamfc, kind)()
    (tracker.init if kind == "SiamFCTracker" else tracker.add)(frame, np.array([283.0, 152, 79, 65]))
    pipeline = (tracker.tracker if kind == "SiamFCTracker" else tracker).pipeline
    step, inside, overlaps = pipeline.update, [0], []

    def slow_step(image: np.ndarray):
        inside[0] += 1
        overlaps.append(inside[0] > 1)
        time.sleep(0.05)  # long enough for the other thread to come in, if nothing stops it
        try:
            return step(image)
        finally:
            inside[0] -= 1

    pipeline.update = slow_step
    threads = [threading.Thread(target=lambda: [tracker.update(frame) for _ in range(3)]) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(overlaps) == 6 and not any(overlaps)
