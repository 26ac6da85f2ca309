"""The toolkit's result files (a folder per tracker under ``out/<benchmark>/``): their paths,
reading them back, and what to do with results already there (``--overwrite``, ``--resume``)."""

from __future__ import annotations

import io
import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..errors import SiamFCError
from .benchmarks import benchmark_for, result_root
from .specs import BenchmarkSpec, EvalConfig, TrackerSpec

RESUME = "rerun with --resume to redo this sequence"


def result_files(bench: BenchmarkSpec, tracker: str, seq: str) -> list[Path]:
    """The files a complete result of ``tracker`` on ``seq`` consists of (the toolkit's layout)."""
    return benchmark_for(bench).result_files(result_root(bench) / tracker, seq, bench.repetitions)


def confidence_file(bench: BenchmarkSpec, tracker: str, seq: str) -> Path:
    """Per-frame confidence (one value a line) of a tracker that gives one, for the long-term measures."""
    return result_root(bench) / tracker / "_confidence" / f"{seq}.txt"


def existing_files(bench: BenchmarkSpec, tracker: str, seq: str) -> list[Path]:
    """Every result file of ``tracker`` on ``seq`` present now (more repetitions included)."""
    folders = {p.parent for p in result_files(bench, tracker, seq)}
    return sorted(p for d in folders if d.is_dir() for p in d.iterdir()
                  if p.name.startswith(f"{seq}_") or p.name == f"{seq}.txt")


def result_problem(bench: BenchmarkSpec, tracker: str, seq: str, length: int, confidence: bool = False) -> str | None:
    """What makes the result of ``tracker`` on ``seq`` (``length`` frames; with ``confidence``, its
    confidence file too) incomplete, naming the file; None when it is complete."""
    expected = result_files(bench, tracker, seq)
    extra = sorted(set(existing_files(bench, tracker, seq)) - set(expected))
    if extra:
        return f"{extra[0]} is not part of a {bench.repetitions}-repetition result"
    counts = [None if p.name.endswith("_time.txt") else benchmark_for(bench).box_values for p in expected]
    if confidence:
        expected, counts = [*expected, confidence_file(bench, tracker, seq)], [*counts, (1,)]
    return next(filter(None, (read_rows(p, length, c)[1] for p, c in zip(expected, counts, strict=True))), None)


def read_rows(path: Path, length: int, counts: tuple[int, ...] | None) -> tuple[list[list[float]], str | None]:
    """The numbers of each line of ``path`` (commas, spaces or tabs between them), and why it is not a
    whole result of ``length`` lines of ``counts`` numbers each (None: any), or None when it is."""
    if not path.is_file():
        return [], f"{path} is missing"
    try:
        lines = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    except (OSError, UnicodeDecodeError) as exc:
        return [], f"{path} cannot be read ({getattr(exc, 'strerror', None) or type(exc).__name__})"
    if len(lines) != length:
        return [], f"{path} has {len(lines)} lines for {length} frames"
    rows = []
    for number, line in enumerate(lines, 1):
        try:
            rows.append([float(v) for v in line.replace(",", " ").split()])
        except ValueError:
            return [], f"{path} line {number} is not numbers: {line[:40]!r}"
        if counts is not None and len(rows[-1]) not in counts:
            return [], f"{path} line {number} has {len(rows[-1])} number(s), expected {' or '.join(map(str, counts))}"
    return rows, None


def remove_results(bench: BenchmarkSpec, tracker: str, seq: str) -> None:
    for path in existing_files(bench, tracker, seq):
        path.unlink()
    confidence_file(bench, tracker, seq).unlink(missing_ok=True)


def read_boxes(bench: BenchmarkSpec, tracker: str, seq: str, first_box: np.ndarray, length: int) -> list[np.ndarray]:
    """Each repetition's boxes, its file checked whole (VOT's ``1``, the initialisation frame, as ``first_box``)."""
    adapter = benchmark_for(bench)
    boxes = []
    for path in result_files(bench, tracker, seq)[adapter.box_records]:
        rows, problem = read_rows(path, length, tuple(n for n in adapter.box_values if n in (1, 4)))
        if problem:
            raise SiamFCError(f"{problem}: {RESUME}", str(path))
        boxes.append(np.array([first_box.tolist() if len(r) == 1 else r for r in rows], dtype=np.float64))
    return boxes


def read_confidence(bench: BenchmarkSpec, tracker: str, seq: str, length: int,
                    warn: Callable[[str], None]) -> np.ndarray | None:
    """The per-frame confidence of ``tracker`` on ``seq``; None, with a warning, when its file is missing or damaged."""
    rows, problem = read_rows(confidence_file(bench, tracker, seq), length, (1,))
    if problem:
        warn(f"{tracker}: no long-term measures: {problem}: {RESUME}")
        return None
    return np.array([row[0] for row in rows])


def read_time(bench: BenchmarkSpec, tracker: str, seq: str) -> tuple[int, float]:
    """Frames timed and their total time (seconds) in a toolkit time file."""
    text = result_files(bench, tracker, seq)[-1].read_text().replace("NaN", "nan")
    times = np.loadtxt(io.StringIO(text.replace(",", " ")), ndmin=1).ravel()
    times = times[np.isfinite(times) & (times > 0)]
    return int(times.size), float(times.sum())


def earlier_trackers(bench: BenchmarkSpec, trackers: list[TrackerSpec], sequences: list[str],
                     lengths: dict[str, int], warn: Callable[[str], None]) -> list[TrackerSpec]:
    """For ``--resume``: the trackers of the earlier ``comparison.json`` of this benchmark that are not
    in ``trackers``, kept where their results are complete on every one of ``sequences``."""
    kept = []
    for spec in [s for s in _compared_before(bench, warn) if s.name not in {t.name for t in trackers}]:
        problems = (result_problem(bench, spec.name, seq, lengths[seq], spec.has_confidence) for seq in sequences)
        if problem := next(filter(None, problems), None):
            warn(f"--resume: {spec.name}, of the earlier comparison, is left out ({problem})")
        else:
            kept.append(spec)
    return kept


def _compared_before(bench: BenchmarkSpec, warn: Callable[[str], None]) -> list[TrackerSpec]:
    path = result_root(bench) / "comparison.json"
    if not path.is_file():
        return []
    try:
        info = json.loads(path.read_text())
        if any(info["benchmark"].get(k) != getattr(bench, k) for k in ("dataset", "subset", "version", "repetitions")):
            return []
        return [TrackerSpec(t["kind"], t["name"], t.get("weights"), tuple(tuple(p) for p in t.get("params") or ()))
                for t in info["trackers"]]
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError) as exc:
        warn(f"--resume: {path} cannot be read ({type(exc).__name__}): the earlier comparison's trackers are left out")
        return []


def to_run(config: EvalConfig, trackers: list[TrackerSpec], sequences: list[str], lengths: dict[str, int],
           warn: Callable[[str], None]) -> list[tuple[str, str]]:
    """The (tracker, sequence) pairs to run. Existing results are an error unless ``--overwrite``
    (delete and recompute) or ``--resume`` (keep whole ones, warn and redo the rest)."""
    bench = config.benchmark
    stale = [(t.name, s) for t in trackers for s in sequences if existing_files(bench, t.name, s)]
    if stale and not (config.overwrite or config.resume):
        listed = "; ".join(f"{name} ({n} sequence(s))" for name, n in Counter(name for name, _ in stale).items())
        raise SiamFCError(f"results already exist in {result_root(bench)} for {listed}: pass --overwrite to "
                          "recompute them, --resume to keep complete ones, or choose another --out", "--out")
    todo = []
    for spec in trackers:
        for seq in sequences:
            if (spec.name, seq) in stale:
                if config.resume:
                    problem = result_problem(bench, spec.name, seq, lengths[seq], spec.has_confidence)
                    if problem is None:
                        continue
                    warn(f"--resume: redoing {spec.name} on {seq} ({problem})")
                remove_results(bench, spec.name, seq)
            todo.append((spec.name, seq))
    return todo
