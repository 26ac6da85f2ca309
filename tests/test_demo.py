"""The bundled demo clip and ``siamfc demo``.

The clip is rendered by ``demo/make_demo_clip.py`` from scikit-image's sample photographs; the
tracking test runs the command as a user would, with the trained third-party model of
``../shared/weights``, and checks the IoU it reports against the clip's ground truth.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from siamfc.cli.demo import CLIP, GROUNDTRUTH, load_groundtruth

REPO = Path(__file__).resolve().parents[1]
SIAMFC = [sys.executable, "-c", "from siamfc.cli.main import cli; cli()"]
FRAMES, WIDTH, HEIGHT = 125, 640, 360
#: fdsiamfc_30 measures 0.752 on this clip (CPU); a tracker that loses
#: the cat at the occlusion or at the tower falls far below
MIN_MEAN_IOU = 0.6


def read_clip(path: Path) -> list[np.ndarray]:
    capture = cv2.VideoCapture(os.fspath(path))
    assert capture.isOpened(), f"OpenCV cannot open {path}"
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    return frames


def test_bundled_clip_and_ground_truth():
    assert CLIP.is_file() and GROUNDTRUTH.is_file()
    assert CLIP.stat().st_size < 2_000_000
    frames = read_clip(CLIP)
    assert len(frames) == FRAMES
    assert all(f.shape == (HEIGHT, WIDTH, 3) for f in frames)
    assert cv2.VideoCapture(os.fspath(CLIP)).get(cv2.CAP_PROP_FPS) == pytest.approx(25)
    gt = load_groundtruth()
    assert gt.shape == (FRAMES, 4)
    assert np.all(gt[:, 2:] > 20) and np.all(gt[:, :2] >= 0)
    assert np.all(gt[:, 0] + gt[:, 2] <= WIDTH) and np.all(gt[:, 1] + gt[:, 3] <= HEIGHT)
    # there is scale change worth the name
    area = gt[:, 2] * gt[:, 3]
    assert area.max() / area.min() > 3
    # demo/ shows the same files (links into the package, which ships them)
    for name in ("demo_clip.mp4", "demo_groundtruth.txt"):
        assert (REPO / "demo" / name).resolve() == (CLIP.parent / name).resolve()


def test_make_demo_clip_is_deterministic(tmp_path, monkeypatch):
    """Re-rendering gives the committed ground truth exactly and the same pictures."""
    pytest.importorskip("skimage", reason="rendering the clip needs scikit-image (pip install -e .[demo])")
    # the script's main() in-process (a subprocess would spend seconds starting Python and its imports)
    spec = importlib.util.spec_from_file_location("make_demo_clip", REPO / "demo" / "make_demo_clip.py")
    script = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, script)  # its dataclasses look their module up there
    spec.loader.exec_module(script)
    assert script.main(["--out-dir", os.fspath(tmp_path)]) == 0
    np.testing.assert_array_equal(np.loadtxt(tmp_path / "demo_groundtruth.txt", delimiter=","), load_groundtruth())
    ours, committed = read_clip(tmp_path / "demo_clip.mp4"), read_clip(CLIP)
    assert len(ours) == len(committed) == FRAMES
    for i in (0, 62, 124):  # the encoder may differ between FFmpeg builds, the picture may not
        assert np.abs(ours[i].astype(int) - committed[i].astype(int)).mean() < 4


def test_demo_command_tracks_the_clip(fdsiamfc_weights, tmp_path):
    output = tmp_path / "demo_output.mp4"
    result = subprocess.run([*SIAMFC, "demo", "--weights", os.fspath(fdsiamfc_weights), "--output",
                             os.fspath(output), "--device", "cpu", "--quiet"],
                            capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    match = re.fullmatch(r"(\d+) frames in [\d.]+ s: ([\d.]+) fps \(tracker alone [\d.]+ fps\); mean IoU ([\d.]+) "
                         r"against the clip's ground truth \(frames 2-125\); annotated video: (.+)",
                         result.stdout.strip())
    assert match, result.stdout
    assert int(match.group(1)) == FRAMES
    assert float(match.group(3)) > MIN_MEAN_IOU, result.stdout
    assert Path(match.group(4)) == output
    frames = read_clip(output)
    assert len(frames) == FRAMES and frames[0].shape == (HEIGHT, WIDTH, 3)


def test_demo_bad_input_is_one_line(tmp_path, capsys):
    from siamfc.cli.main import main
    from siamfc.models.shipped import default_weights_path

    (tmp_path / "bogus.pth").write_text("not a checkpoint")
    cases = [
        (["--output", str(tmp_path / "out.gif")], "unknown video type .gif"),
        (["--output", "/proc/no/out.mp4"], "the folder /proc/no does not exist"),
        (["--device", "tpu"], "unknown device"),
        (["--weights", str(tmp_path / "missing.pth")], "missing.pth"),
        (["--weights", str(tmp_path / "bogus.pth")], "bogus.pth"),
    ]
    if not default_weights_path().is_file():
        cases.append(([], "no trained model is shipped with the package yet; pass --weights PATH"))
    for args, fragment in cases:
        assert main(["demo", "--output", str(tmp_path / "o.mp4"), *args]) == 2, args
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("siamfc demo: error: ") and fragment in err[0], (args, err)
