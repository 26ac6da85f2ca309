"""The toolkit's result files (a folder per tracker under ``out/<benchmark>/``): their paths,
reading boxes and times back, and what to do with results already there."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from ..errors import UserError
from .experiments import result_root
from .specs import BenchmarkSpec, EvalConfig, TrackerSpec


def result_files(bench: BenchmarkSpec, tracker: str, seq: str) -> list[Path]:
    """The files a complete result of ``tracker`` on ``seq`` consists of (toolkit layout)."""
    base = result_root(bench) / tracker
    reps = range(1, bench.repetitions + 1)
    if bench.dataset == "otb":
        return [base / f"{seq}.txt", base / "times" / f"{seq}_time.txt"]
    if bench.dataset == "vot":
        return ([base / "baseline" / seq / f"{seq}_{r:03d}.txt" for r in reps]
                + [base / "baseline" / seq / f"{seq}_time.txt"]
                + [base / "unsupervised" / seq / f"{seq}_001.txt", base / "unsupervised" / seq / f"{seq}_time.txt"])
    return [base / seq / f"{seq}_{r:03d}.txt" for r in reps] + [base / seq / f"{seq}_time.txt"]


def existing_files(bench: BenchmarkSpec, tracker: str, seq: str) -> list[Path]:
    """Every result file of ``tracker`` on ``seq`` present now (more repetitions included)."""
    base = result_root(bench) / tracker
    if bench.dataset == "otb":
        found = [base / f"{seq}.txt", base / "times" / f"{seq}_time.txt"]
        return [p for p in found if p.exists()]
    folders = [base / "baseline" / seq, base / "unsupervised" / seq] if bench.dataset == "vot" else [base / seq]
    return [p for d in folders if d.is_dir() for p in d.iterdir() if p.name.startswith(f"{seq}_")]


def is_complete(bench: BenchmarkSpec, tracker: str, seq: str) -> bool:
    expected = set(result_files(bench, tracker, seq))
    return all(p.is_file() for p in expected) and set(existing_files(bench, tracker, seq)) <= expected


def remove_results(bench: BenchmarkSpec, tracker: str, seq: str) -> None:
    for path in existing_files(bench, tracker, seq):
        path.unlink()


def read_boxes(bench: BenchmarkSpec, tracker: str, seq: str, first_box: np.ndarray) -> list[np.ndarray]:
    files = result_files(bench, tracker, seq)
    if bench.dataset == "otb":
        records = [files[0]]
    elif bench.dataset == "vot":
        records = [files[-2]]  # the one-pass (unsupervised) run
    else:
        records = files[:-1]
    boxes = []
    for path in records:
        lines = [line.strip() for line in path.read_text().splitlines() if line.strip()]
        rows = [[float(v) for v in line.split(",")] for line in lines]
        rows = [first_box.tolist() if len(r) != 4 else r for r in rows]  # VOT writes "1" for frame 1
        boxes.append(np.array(rows, dtype=np.float64).reshape(-1, 4))
    return boxes


def read_time(bench: BenchmarkSpec, tracker: str, seq: str) -> tuple[int, float]:
    """Frames timed and their total time (seconds) in a toolkit time file."""
    files = result_files(bench, tracker, seq)
    text = files[-1].read_text().replace("NaN", "nan")
    times = np.loadtxt(io.StringIO(text.replace(",", " ")), ndmin=1).ravel()
    times = times[np.isfinite(times) & (times > 0)]
    return int(times.size), float(times.sum())


def check_stale(config: EvalConfig, trackers: list[TrackerSpec], sequences: list[str]) -> list[tuple[str, str]]:
    """The (tracker, sequence) pairs to run. Existing results are an error unless ``--overwrite``
    (delete and recompute) or ``--resume`` (keep complete ones, recompute the rest)."""
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
                if config.resume and is_complete(bench, spec.name, seq):
                    continue
                remove_results(bench, spec.name, seq)
            todo.append((spec.name, seq))
    return todo
