"""The light core: ``import siamfc`` and the commands' ``--help`` load neither PyTorch nor the
got10k toolkit nor matplotlib (each checked in a fresh interpreter, through ``sys.modules``)."""

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


@pytest.mark.parametrize("argv", [["--help"], ["track", "--help"], ["bench", "--help"], ["eval", "--help"],
                                  ["train", "--help"]])
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


def test_public_names_load_on_first_use() -> None:
    import siamfc

    assert set(siamfc.__all__) <= set(dir(siamfc))
    assert siamfc.TrackerConfig().scale_num == 3
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        siamfc.nothing_here  # noqa: B018


def test_tracking_on_the_cpu_loads_no_toolkit_or_plotting(tmp_path) -> None:
    """``track`` with the shipped model on the CPU (ONNX Runtime): no got10k, no matplotlib. PyTorch
    still loads: the shipped model is a PyTorch checkpoint, exported to ONNX in memory at load."""
    from pathlib import Path

    clip = Path(__file__).resolve().parents[1] / "siamfc" / "assets" / "demo_clip.mp4"
    body = f"""
from siamfc.cli.main import main
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    assert main(["track", {str(clip)!r}, "--init-box", "283,152,79,65", "--max-frames", "2",
                 "--boxes", {str(tmp_path / "boxes.txt")!r}]) == 0
"""
    assert heavy_modules_after(body) == ["torch"]
