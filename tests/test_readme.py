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
