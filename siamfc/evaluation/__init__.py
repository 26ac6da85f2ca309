"""Benchmark evaluation through the got10k toolkit, and comparison of several trackers.

The toolkit's experiments run the trackers and write their result files (a folder per tracker
under ``out/<benchmark>/``); the sequences are shared among worker processes, each running the
toolkit's loop on one sequence at a time with a bounded thread count. The figures are then
computed from the result files, the same way for every benchmark (see ``metrics``).

Modules, one job each:

- ``specs``: what is asked (``TrackerSpec``, ``BenchmarkSpec``, ``EvalConfig``, ``parse_trackers``);
- ``benchmarks``: one adapter per benchmark (GOT-10k, OTB, VOT, LaSOT, any folder), the only
  code that knows benchmarks by name (``benchmarks.checks``: what the toolkit's own readers need);
- ``got10k_compat``: every patch of the got10k toolkit, applied only where called;
- ``toolkit``: our sequences behind the toolkit's dataset interface, timing without decoding;
- ``experiments``: the toolkit's experiment for a benchmark, its ground truth, the sequences;
- ``results``: the result files (paths, reading, existing results: ``--overwrite``/``--resume``);
- ``metrics``: the one metric module: IoU, AO, SR, AUC, precision and their curves;
- ``bootstrap``, ``longterm``: intervals over sequences; the VOT-LT measures;
- ``trackers``, ``baselines``: building the trackers (ours and OpenCV's) behind the toolkit;
- ``runner``: running tracker/sequence tasks inline or in worker processes;
- ``compare``: the whole evaluation (``evaluate`` -> ``Comparison``);
- ``report``: tables, ``comparison.json``, CSV and plots;
- ``speed``: the speed and memory benchmark of ``siamfc bench``.

Names are imported when first used (``siamfc.evaluation.evaluate`` loads ``compare``), so
importing one module does not load the others.
"""

from __future__ import annotations

import importlib

_NAMES = {
    "benchmarks": ("BENCHMARKS", "DATASETS", "Benchmark", "benchmark_for"),
    "compare": ("Comparison", "evaluate"),
    "experiments": ("open_experiment", "result_root", "select_sequences", "sequence_truth"),
    "metrics": ("AUC_THRESHOLDS", "PRECISION_THRESHOLDS", "SUCCESS_THRESHOLDS", "SequenceFigures", "Truth",
                "clipped_iou", "overall_figures", "sequence_figures", "success_auc"),
    "report": ("COLUMNS", "format_per_sequence", "format_table", "plot_curves", "write_outputs"),
    "results": ("check_stale", "earlier_trackers", "existing_files", "is_complete", "read_boxes", "read_confidence",
                "read_time", "remove_results", "result_files"),
    "runner": ("THREAD_ENV", "Task", "available_cores", "init_worker", "quiet_opencv", "run_task", "run_tasks",
               "thread_env"),
    "specs": ("BenchmarkSpec", "EvalConfig", "TrackerSpec", "find_tracker", "parse_tracker", "parse_trackers"),
    "trackers": ("make_tracker", "usable_trackers"),
}
_WHERE = {name: module for module, names in _NAMES.items() for name in names}

__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
