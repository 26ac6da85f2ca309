"""The README's Python API example prints what the README says it prints: the same lines, each box
overlapping the README's by IoU 0.9 or more (OpenCV's decoder and resizing, and ONNX Runtime, move the
boxes by a pixel or two from one release to the next; a wrong box overlaps far less)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def python_example() -> tuple[str, str]:
    """The code block under "## Python API" and the output block after its "prints"."""
    section = README.read_text().split("## Python API", 1)[1]
    match = re.search(r"```python\n(.*?)```\n\nprints\n\n```\n(.*?)```", section, re.S)
    assert match, "README.md: no ```python block followed by 'prints' and its output under '## Python API'"
    return match.group(1), match.group(2)


def printed_boxes(text: str) -> list[np.ndarray]:
    """Each line's boxes: the bracketed groups of four numbers."""
    return [np.array([[float(v) for v in group.split()] for group in re.findall(r"\[([^\]]*)\]", line)])
            for line in text.strip().splitlines()]


def iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    w = np.clip(np.minimum(a[:, 0] + a[:, 2], b[:, 0] + b[:, 2]) - np.maximum(a[:, 0], b[:, 0]), 0, None)
    h = np.clip(np.minimum(a[:, 1] + a[:, 3], b[:, 1] + b[:, 3]) - np.maximum(a[:, 1], b[:, 1]), 0, None)
    return w * h / (a[:, 2] * a[:, 3] + b[:, 2] * b[:, 3] - w * h)


def test_iou_of_printed_boxes() -> None:
    lines = printed_boxes("[10. 10. 10. 10.]\n[10. 10. 10. 10.] [0. 0.  4.  5.]\n")
    assert [line.shape for line in lines] == [(1, 4), (2, 4)]
    shifted = np.array([[11.0, 10.0, 10.0, 10.0], [2.0, 0.0, 4.0, 5.0]])
    assert iou(lines[1], shifted) == pytest.approx([90 / 110, 2 / 6])


def test_python_api_example_prints_what_the_readme_says(capsys: pytest.CaptureFixture) -> None:
    code, expected = python_example()
    exec(compile(code, "README.md (Python API example)", "exec"), {"__name__": "readme_example"})
    printed = capsys.readouterr().out
    want, got = printed_boxes(expected), printed_boxes(printed)
    assert [b.shape for b in got] == [b.shape for b in want], f"other lines than the README's:\n{printed}"
    for line, (a, b) in enumerate(zip(got, want, strict=True), 1):
        assert np.all(iou(a, b) >= 0.9), f"line {line}: {a.tolist()} is not the README's {b.tolist()}"


# --- the README a newcomer reads (issue 24) -------------------------------------------------------

REPO = README.parent
LINE_1 = "python3 -m venv .venv && . .venv/bin/activate && pip install -e . && siamfc demo"
LINE_2 = ("python3 -m venv .venv && . .venv/bin/activate && pip install torch==2.14.1 torchvision==0.29.1 && "
          'pip install -e ".[dev]" && python -m pytest -q')


def test_the_first_two_command_lines_install_and_test() -> None:
    block = README.read_text().split("```\n", 2)[1]
    assert block.splitlines() == [LINE_1, LINE_2]


def test_ci_runs_the_readmes_second_line() -> None:
    """``.ci/run`` sets up as line 2 does and runs its test command, in that order."""
    script = [line.strip() for line in (REPO / ".ci" / "run").read_text().splitlines()
              if line.strip() and not line.strip().startswith("#")]
    position = 0
    for command in LINE_2.split(" && "):
        found = [i for i, line in enumerate(script) if i >= position and line == command]
        assert found, f".ci/run lacks {command!r} (after line {position})"
        position = found[0] + 1


def test_short_and_for_users() -> None:
    text = README.read_text()
    assert len(text.splitlines()) < 220
    assert not re.search(r"\b20\d\d-\d\d-\d\d\b", text), "a date in the README"
    for heading in ("## Models", "## Python API", "## Evaluation", "## Training on your own data"):
        assert f"\n{heading}\n" in text, heading


def test_links_lead_to_files() -> None:
    for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", README.read_text()):
        if not target.startswith("http"):
            assert (REPO / target).exists(), target


def test_the_models_table_is_what_the_script_generates() -> None:
    """The README's figures come from tools/readme_figures.py (from siamfc/models/shipped.py)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("readme_figures", REPO / "tools" / "readme_figures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    text = README.read_text()
    assert module.readme_table(text) == module.table(), "run: python tools/readme_figures.py"
    models = text.split("\n## Models\n", 1)[1].split("\n## ", 1)[0]
    assert module.BEGIN in models
