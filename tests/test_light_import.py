"""The light core: ``import siamfc``, the commands' ``--help`` and tracking on the CPU with the
shipped model load neither PyTorch nor the got10k toolkit nor matplotlib (each checked in a fresh
interpreter, through ``sys.modules``)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("torch", "got10k", "matplotlib")

PROBE = """
import contextlib, io, json, sys
{body}
print(json.dumps(sorted(m for m in {heavy!r} if m in sys.modules)))
"""


def heavy_modules_after(body: str) -> list[str]:
    code = PROBE.format(body=body, heavy=HEAVY)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_import_siamfc_is_light() -> None:
    assert heavy_modules_after("import siamfc") == []


@pytest.mark.parametrize("argv", [["--help"], ["--version"], ["track", "--help"], ["bench", "--help"],
                                  ["eval", "--help"], ["train", "--help"]])
def test_help_loads_no_heavy_module(argv: list[str]) -> None:
    body = f"""
from siamfc.cli.main import main
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    try:
        main({argv!r})
    except SystemExit:
        pass
"""
    assert heavy_modules_after(body) == []


def test_version_is_the_packages(capsys: pytest.CaptureFixture) -> None:
    import siamfc
    from siamfc.cli.main import main

    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"siamfc {siamfc.__version__}\n"


def test_help_lists_each_command_with_a_whole_sentence(capsys: pytest.CaptureFixture) -> None:
    """``siamfc --help`` took the first line of each command's help, cutting three mid-sentence."""
    import importlib

    from siamfc.cli.main import SUBCOMMANDS, main

    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for name, module in SUBCOMMANDS.items():
        paragraph = " ".join(importlib.import_module(module).HELP.split("\n\n")[0].split())
        assert paragraph.endswith("."), f"{name}: its help's first paragraph is not one sentence: {paragraph!r}"
        assert f"  {name:8s} {paragraph.rstrip('.')}\n" in out, out


def test_public_names_load_on_first_use() -> None:
    import siamfc

    assert set(siamfc.__all__) <= set(dir(siamfc))
    assert siamfc.TrackerConfig().scale_num == 3
    with pytest.raises(AttributeError):
        siamfc.nothing_here  # noqa: B018


def test_tracking_on_the_cpu_loads_no_torch(tmp_path) -> None:
    """``track`` with the shipped model on the CPU (ONNX Runtime, from the export shipped beside the
    checkpoint): no PyTorch, no got10k, no matplotlib, and not the ``onnx`` package either."""
    from pathlib import Path

    clip = Path(__file__).resolve().parents[1] / "siamfc" / "assets" / "demo_clip.mp4"
    body = f"""
from siamfc.cli.main import main
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    assert main(["track", {str(clip)!r}, "--init-box", "283,152,79,65", "--max-frames", "2",
                 "--boxes", {str(tmp_path / "boxes.txt")!r}]) == 0
assert "onnx" not in sys.modules and "onnxruntime" in sys.modules
"""
    assert heavy_modules_after(body) == []
    lines = (tmp_path / "boxes.txt").read_text().splitlines()
    assert lines == ["283.000,152.000,79.000,65.000", "280.830,156.222,78.055,66.527"]


def test_tracking_runs_where_torch_cannot_be_imported(tmp_path) -> None:
    """The CPU tracking path needs only NumPy, OpenCV and ONNX Runtime: with ``import torch`` (and
    ``import onnx``) made to fail, the shipped model still tracks, scores, goes lost and re-detects."""
    from pathlib import Path

    clip = Path(__file__).resolve().parents[1] / "siamfc" / "assets" / "demo_clip.mp4"
    body = f"""
class NoTorch:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("torch", "onnx"):
            raise ImportError(name + " is blocked in this test")
sys.meta_path.insert(0, NoTorch())
import numpy as np
from siamfc import SiamFCTracker
from siamfc.io.video import open_source
frames = open_source({str(clip)!r}).frames()
frames = [next(frames).image for _ in range(4)]
tracker = SiamFCTracker()
tracker.init(frames[0], np.array([283, 152, 79, 65]))
boxes = [tracker.update(f) for f in frames[1:]]
lost = SiamFCTracker(lost_threshold=1.0, lost_patience=1, redetect_delay=0)  # lost at once: re-detection runs
lost.init(frames[0], np.array([283, 152, 79, 65]))
for f in frames[1:]:
    lost.update(f)
assert not lost.present and 0.0 <= lost.score < 1.0
print(json.dumps([[round(float(v), 3) for v in b] for b in boxes]))
"""
    code = PROBE.format(body=body, heavy=HEAVY)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    boxes = json.loads(result.stdout.splitlines()[-2])
    assert boxes[0] == [280.83, 156.222, 78.055, 66.527]
