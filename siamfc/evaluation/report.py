"""What a comparison is shown and saved as: the console tables, ``comparison.json``,
``per_sequence.csv`` and the success and precision plots."""

from __future__ import annotations

import contextlib
import csv
import json
import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import SiamFCError
from ..files import replacing, write_text_atomic
from .benchmarks import benchmark_for, result_root
from .metrics import PRECISION_THRESHOLDS, SUCCESS_THRESHOLDS

if TYPE_CHECKING:
    from .compare import Comparison

COLUMNS = (("AO", "ao"), ("SR0.5", "sr50"), ("SR0.75", "sr75"), ("AUC", "auc"), ("P@20", "precision20"))


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
        with reported(paths[1]):
            _write_csv(comparison, paths[1])
        plot_curves(comparison, paths[2], paths[3])
    with reported(paths[0]):
        write_text_atomic(paths[0], json.dumps(_finite(comparison.to_json()), indent=2))


@contextlib.contextmanager
def reported(path: str | os.PathLike) -> Iterator[None]:
    """A failure to write the report file ``path`` (a full disk) as one line naming it and what is kept."""
    try:
        yield
    except OSError as exc:
        raise SiamFCError(f"{path}: cannot be written ({exc.strerror or exc}); it is as it was, and the tracking "
                          "results are kept (siamfc eval --resume writes the report again)", str(path)) from exc


def _finite(value):
    """JSON has no NaN: null instead (and NumPy's numbers as Python's)."""
    return json.loads(json.dumps(value, default=lambda v: v.item()), parse_constant=lambda _: None)


def _write_csv(comparison: Comparison, path: Path) -> None:
    keys = ["ao", "sr50", "sr75", "auc", "precision20", "fps", "frames", "evaluated_frames"]
    with replacing(path) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["tracker", "sequence", *keys])
        for name, seqs in comparison.per_sequence.items():
            for seq, row in seqs.items():
                writer.writerow([name, seq, *(row[k] if isinstance(row[k], int) else f"{row[k]:.6f}" for k in keys)])


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
