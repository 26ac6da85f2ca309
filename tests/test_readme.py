"""The README's Python API example prints what the README says it prints."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def python_example() -> tuple[str, str]:
    """The code block under "## Python API" and the output block after its "prints"."""
    section = README.read_text().split("## Python API", 1)[1]
    match = re.search(r"```python\n(.*?)```\n\nprints\n\n```\n(.*?)```", section, re.S)
    assert match, "README.md: no ```python block followed by 'prints' and its output under '## Python API'"
    return match.group(1), match.group(2)


def test_python_api_example_prints_what_the_readme_says(capsys: pytest.CaptureFixture) -> None:
    code, expected = python_example()
    exec(compile(code, "README.md (Python API example)", "exec"), {"__name__": "readme_example"})
    assert capsys.readouterr().out == expected, "the README's Python API example prints other lines: update them"
