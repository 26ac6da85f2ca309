"""Everything under ``out/<benchmark>/``: the toolkit's result files (a folder per tracker: their paths, reading them
back, and what to do with results already there, ``--overwrite`` or ``--resume``), and what a comparison is shown and
saved as: the console tables, ``comparison.json``, ``per_sequence.csv`` and the success and precision plots."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import os
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import SiamFCError, os_error
from ..files import replacing, write_text_atomic
from .benchmarks import benchmark_for, result_root
from .metrics import PRECISION_THRESHOLDS, SUCCESS_THRESHOLDS
from .specs import BenchmarkSpec, EvalConfig, TrackerSpec

if TYPE_CHECKING:
    from .compare import Comparison

RESUME = "rerun with --resume to redo this sequence"
COLUMNS = (("AO", "ao"), ("SR0.5", "sr50"), ("SR0.75", "sr75"), ("AUC", "auc"), ("P@20", "precision20"))


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
    text = result_files(bench, tracker, seq)[-1].read_text()
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
                for path in [*existing_files(bench, spec.name, seq), confidence_file(bench, spec.name, seq)]:
                    path.unlink(missing_ok=True)
            todo.append((spec.name, seq))
    return todo


def _fmt(value: float, digits: int = 3) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def format_table(comparison: Comparison) -> str:
    bench = comparison.benchmark
    names = [t.name for t in comparison.trackers]
    width = max(12, *(len(n) for n in names)) + 2
    adapter = benchmark_for(bench)
    title = adapter.tag(bench) + (f" {bench.subset}" if adapter.subsets != () else "")  # none for OTB, VOT
    lines = [f"{title}: {len(comparison.sequences)} sequence(s)"]
    if comparison.submissions:
        zips = comparison.submissions
        lines.append(f"{'tracker':<{width}}{'fps':>8}  submission zip")
        lines += [f"{n:<{width}}{_fmt(comparison.overall[n]['fps'], 1):>8}  {zips.get(n, '')}" for n in names]
        return "\n".join(lines)
    extra = adapter.extra_columns
    lines.append(f"{'tracker':<{width}}" + "".join(f"{c:>8}" for c, _ in COLUMNS + extra) + f"{'fps':>8}"
                 + "  AUC 95% interval (sequences)")
    for name in names:
        row = comparison.overall[name]
        cells = [_fmt(row[k]) for _, k in COLUMNS]
        cells += [_fmt(comparison.toolkit_report.get(name, {}).get(k, math.nan)) for _, k in extra]
        ci = row.get("auc_ci95")
        interval = f"  [{_fmt(ci['low'])}, {_fmt(ci['high'])}]" if ci else ""
        lines.append(f"{name:<{width}}" + "".join(f"{c:>8}" for c in cells) + f"{_fmt(row['fps'], 1):>8}" + interval)
    if comparison.differences:
        lines += ["", f"AUC minus {comparison.baseline}'s, paired by sequence (95% bootstrap interval):"]
        for name, d in comparison.differences.items():
            verdict = "better" if d["low"] > 0 else "worse" if d["high"] < 0 else "no clear difference"
            lines.append(f"  {name:<{width}}{d['mean']:+.3f} [{d['low']:+.3f}, {d['high']:+.3f}]  {verdict}")
    return "\n".join(lines)


def format_per_sequence(comparison: Comparison) -> str:
    """Per-sequence AO and AUC, a column per tracker each."""
    names = [t.name for t in comparison.trackers]
    if not comparison.per_sequence:
        return ""
    width = max(16, *(len(s) for s in comparison.sequences)) + 2
    col = max(8, *(len(n) + 2 for n in names))
    lines = []
    for title, key in (("AO per sequence", "ao"), ("AUC per sequence", "auc")):
        lines.append(f"{title:<{width}}" + "".join(f"{n:>{col}}" for n in names))
        for seq in comparison.sequences:
            cells = [_fmt(comparison.per_sequence[n][seq][key]) for n in names]
            lines.append(f"{seq:<{width}}" + "".join(f"{c:>{col}}" for c in cells))
        lines.append("")
    return "\n".join(lines[:-1])


def write_outputs(comparison: Comparison) -> None:
    """The report's files in ``out/<benchmark>/``, their paths in ``comparison.files``."""
    folder = result_root(comparison.benchmark)
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / n for n in ("comparison.json", "per_sequence.csv", "success_plot.png", "precision_plot.png")]
    keys = ("json", "csv", "success_plot", "precision_plot")[:4 if comparison.per_sequence else 1]
    comparison.files = {key: os.fspath(path) for key, path in zip(keys, paths, strict=False)}
    if comparison.per_sequence:
        keys = ["ao", "sr50", "sr75", "auc", "precision20", "fps", "frames", "evaluated_frames"]
        with reported(paths[1]), replacing(paths[1]) as tmp, open(tmp, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["tracker", "sequence", *keys])
            for name, seqs in comparison.per_sequence.items():
                writer.writerows([name, seq, *(row[k] if isinstance(row[k], int) else f"{row[k]:.6f}" for k in keys)]
                                 for seq, row in seqs.items())
        plot_curves(comparison, paths[2], paths[3])
    # JSON has no NaN: null instead (and NumPy's numbers as Python's)
    data = json.loads(json.dumps(comparison.to_json(), default=lambda v: v.item()), parse_constant=lambda _: None)
    with reported(paths[0]):
        write_text_atomic(paths[0], json.dumps(data, indent=2))


def reported(path: str | os.PathLike) -> contextlib.AbstractContextManager:
    """A failure to write the report file ``path`` (a full disk) as one line naming it and what is kept."""
    return os_error(path, then="; it is as it was, and the tracking results are kept (siamfc eval --resume writes "
                    "the report again)")


def plot_curves(comparison: Comparison, success_png: Path, precision_png: Path) -> None:
    """Success and precision plots with every tracker (matplotlib without pyplot: no display needed)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    title = f"{result_root(comparison.benchmark).name} ({len(comparison.sequences)} sequences)"
    overall = comparison.overall
    plots = ((success_png, SUCCESS_THRESHOLDS, "Success", "ao", "AO", "Overlap threshold", "Success rate", "left"),
             (precision_png, PRECISION_THRESHOLDS, "Precision", "precision20", "P@20", "Location error threshold (px)",
              "Precision", "right"))
    for path, x, kind, key, label, xlabel, ylabel, corner in plots:
        fig = Figure(figsize=(5.5, 4.2))
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        for i, name in enumerate(sorted(overall, key=lambda n: -np.nan_to_num(overall[n][key], nan=-1.0))):
            ax.plot(x, overall[name][f"{kind.lower()}_curve"], ["-", "--", "-.", ":"][i // 10 % 4], linewidth=1.6,
                    label=f"{name} [{label} {_fmt(overall[name][key])}]")
        ax.set(xlabel=xlabel, ylabel=ylabel, xlim=(x[0], x[-1]), ylim=(0, 1.0), title=f"{kind} plot: {title}")
        ax.grid(True, alpha=0.4)
        ax.legend(loc=f"lower {corner}", fontsize=8)
        fig.tight_layout()
        with reported(path), replacing(path) as tmp:
            fig.savefig(tmp, dpi=110, format="png")


def format_longterm(overall: dict[str, dict]) -> str:
    """One line per tracker that has the long-term figures (``overall[name]["longterm"]``)."""
    lines = [f"  {name}: F-score {lt['f_score']:.3f} (precision {lt['precision']:.3f}, recall {lt['recall']:.3f} "
             f"at confidence >= {lt['threshold']:.2f})" for name, row in overall.items() if (lt := row.get("longterm"))]
    header = "Long-term (VOT-LT) measures, from the trackers' confidence and the absent frames:"
    return "\n".join([header, *lines]) if lines else ""
