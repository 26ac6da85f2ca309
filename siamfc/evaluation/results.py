"""The toolkit's result files (a folder per tracker under ``out/<benchmark>/``): their paths,
reading boxes and times back, and what to do with results already there."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..errors import UserError
from .benchmarks import benchmark_for
from .experiments import result_root
from .specs import BenchmarkSpec, EvalConfig, TrackerSpec


def result_files(bench: BenchmarkSpec, tracker: str, seq: str) -> list[Path]:
    """The files a complete result of ``tracker`` on ``seq`` consists of (the toolkit's layout)."""
    return benchmark_for(bench).result_files(result_root(bench) / tracker, seq, bench.repetitions)


def confidence_file(bench: BenchmarkSpec, tracker: str, seq: str) -> Path:
    """Per-frame confidence of a tracker that gives one (one value a line; read for the long-term
    measures), beside the toolkit's files."""
    return result_root(bench) / tracker / "_confidence" / f"{seq}.txt"


def existing_files(bench: BenchmarkSpec, tracker: str, seq: str) -> list[Path]:
    """Every result file of ``tracker`` on ``seq`` present now (more repetitions included)."""
    return benchmark_for(bench).existing_files(result_root(bench) / tracker, seq)


def is_complete(bench: BenchmarkSpec, tracker: str, seq: str, length: int | None = None) -> bool:
    """Every result file there and nothing else; with ``length`` (the sequence's frames), every file
    also whole (see :func:`result_problem`)."""
    if length is not None:
        return result_problem(bench, tracker, seq, length) is None
    expected = set(result_files(bench, tracker, seq))
    return all(p.is_file() for p in expected) and set(existing_files(bench, tracker, seq)) <= expected


def result_problem(bench: BenchmarkSpec, tracker: str, seq: str, length: int) -> str | None:
    """What makes the result of ``tracker`` on ``seq`` (``length`` frames) incomplete, naming the
    file: one missing or extra, a line count other than ``length``, a line that is not numbers or
    has the wrong count of them. None when it is complete."""
    expected = result_files(bench, tracker, seq)
    extra = sorted(set(existing_files(bench, tracker, seq)) - set(expected))
    if extra:
        return f"{extra[0]} is not part of a {bench.repetitions}-repetition result"
    for path in expected:
        if not path.is_file():
            return f"{path} is missing"
        problem = _file_problem(path, length, _allowed_counts(bench, path))
        if problem:
            return problem
    return None


def _allowed_counts(bench: BenchmarkSpec, path: Path) -> tuple[int, ...] | None:
    """How many numbers a line of ``path`` may hold (None: any, for time files)."""
    if path.name.endswith("_time.txt"):
        return None
    return benchmark_for(bench).box_values


def _file_problem(path: Path, length: int, counts: tuple[int, ...] | None) -> str | None:
    try:
        lines = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    except (OSError, UnicodeDecodeError) as exc:
        return f"{path} cannot be read ({getattr(exc, 'strerror', None) or type(exc).__name__})"
    if len(lines) != length:
        return f"{path} has {len(lines)} lines for {length} frames"
    for number, line in enumerate(lines, 1):
        try:
            values = [float(v) for v in line.replace(",", " ").split()]
        except ValueError:
            return f"{path} line {number} is not numbers: {line[:40]!r}"
        if counts is not None and len(values) not in counts:
            return f"{path} line {number} has {len(values)} number(s), expected {' or '.join(map(str, counts))}"
    return None


def remove_results(bench: BenchmarkSpec, tracker: str, seq: str) -> None:
    for path in existing_files(bench, tracker, seq):
        path.unlink()
    confidence_file(bench, tracker, seq).unlink(missing_ok=True)


def read_boxes(bench: BenchmarkSpec, tracker: str, seq: str, first_box: np.ndarray,
               length: int | None = None) -> list[np.ndarray]:
    """The boxes of each repetition; with ``length``, a file of another line count or a malformed
    line is a UserError naming the file."""
    adapter = benchmark_for(bench)
    boxes = []
    for path in adapter.box_records(result_files(bench, tracker, seq)):
        problem = _file_problem(path, length, _allowed_counts(bench, path)) if length is not None else None
        if problem:
            raise UserError(f"{problem}: rerun with --resume to redo this sequence")
        lines = [line.strip() for line in path.read_text().splitlines() if line.strip()]
        rows = [[float(v) for v in line.split(",")] for line in lines]
        rows = [adapter.parse_record(r, first_box) for r in rows]
        if any(len(r) != 4 for r in rows):
            raise UserError(f"{path}: a line without 4 numbers x,y,w,h: rerun with --resume to redo this sequence")
        boxes.append(np.array(rows, dtype=np.float64).reshape(-1, 4))
    return boxes


def read_time(bench: BenchmarkSpec, tracker: str, seq: str) -> tuple[int, float]:
    """Frames timed and their total time (seconds) in a toolkit time file."""
    files = result_files(bench, tracker, seq)
    text = files[-1].read_text().replace("NaN", "nan")
    times = np.loadtxt(io.StringIO(text.replace(",", " ")), ndmin=1).ravel()
    times = times[np.isfinite(times) & (times > 0)]
    return int(times.size), float(times.sum())


def check_stale(config: EvalConfig, trackers: list[TrackerSpec], sequences: list[str],
                lengths: dict[str, int] | None = None,
                warn: Callable[[str], None] | None = None) -> list[tuple[str, str]]:
    """The (tracker, sequence) pairs to run. Existing results are an error unless ``--overwrite``
    (delete and recompute) or ``--resume`` (keep complete ones, recompute the rest). With the
    sequences' ``lengths``, --resume checks every file whole (:func:`result_problem`) and ``warn``
    names each sequence redone and why."""
    bench = config.benchmark
    stale = {t.name: [s for s in sequences if existing_files(bench, t.name, s)] for t in trackers}
    stale = {name: seqs for name, seqs in stale.items() if seqs}
    if stale and not (config.overwrite or config.resume):
        listed = "; ".join(f"{name} ({len(seqs)} sequence(s))" for name, seqs in stale.items())
        raise UserError(f"results already exist in {result_root(bench)} for {listed}: pass --overwrite to "
                        "recompute them, --resume to keep complete ones, or choose another --out")
    todo = []
    for spec in trackers:
        for seq in sequences:
            if seq in stale.get(spec.name, []):
                if config.resume:
                    problem = (result_problem(bench, spec.name, seq, lengths[seq]) if lengths
                               else None if is_complete(bench, spec.name, seq) else "incomplete")
                    if problem is None:
                        continue
                    if warn is not None:
                        warn(f"--resume: redoing {spec.name} on {seq} ({problem})")
                remove_results(bench, spec.name, seq)
            todo.append((spec.name, seq))
    return todo
