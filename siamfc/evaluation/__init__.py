"""Benchmark evaluation through the got10k toolkit, and comparison of several trackers.

The toolkit's experiments run the trackers and write their result files (a folder per tracker
under ``out/<benchmark>/``); the sequences are shared among worker processes, each running the
toolkit's loop on one sequence at a time with a bounded thread count. The figures are then
computed from the result files, the same way for every benchmark (see ``metrics``).

Modules, one job each:

- ``specs``: what is asked (``TrackerSpec``, ``BenchmarkSpec``, ``EvalConfig``, ``parse_trackers``);
- ``experiments``: the toolkit's experiment for a benchmark, its ground truth, the sequences;
- ``results``: the result files (paths, reading, existing results: ``--overwrite``/``--resume``);
- ``metrics``: AO, SR, AUC, precision and their curves;
- ``trackers``: building the trackers, checking they can be built here;
- ``runner``: running tracker/sequence tasks inline or in worker processes;
- ``compare``: the whole evaluation (``evaluate`` -> ``Comparison``);
- ``report``: tables, ``comparison.json``, CSV and plots.
"""

from .compare import Comparison, evaluate
from .experiments import (
    Truth,
    missing_otb_sequences,
    open_experiment,
    result_root,
    select_sequences,
    sequence_truth,
)
from .metrics import (
    AUC_THRESHOLDS,
    PRECISION_THRESHOLDS,
    SUCCESS_THRESHOLDS,
    SequenceFigures,
    overall_figures,
    sequence_figures,
    success_auc,
)
from .report import COLUMNS, format_per_sequence, format_table, plot_curves, write_outputs
from .results import (
    check_stale,
    existing_files,
    is_complete,
    read_boxes,
    read_time,
    remove_results,
    result_files,
)
from .runner import (
    THREAD_ENV,
    Task,
    available_cores,
    init_worker,
    quiet_opencv,
    run_task,
    run_tasks,
    thread_env,
)
from .specs import DATASETS, BenchmarkSpec, EvalConfig, TrackerSpec, parse_tracker, parse_trackers
from .trackers import make_tracker, usable_trackers

__all__ = [
    "AUC_THRESHOLDS",
    "COLUMNS",
    "DATASETS",
    "PRECISION_THRESHOLDS",
    "SUCCESS_THRESHOLDS",
    "THREAD_ENV",
    "BenchmarkSpec",
    "Comparison",
    "EvalConfig",
    "SequenceFigures",
    "Task",
    "TrackerSpec",
    "Truth",
    "available_cores",
    "check_stale",
    "evaluate",
    "existing_files",
    "format_per_sequence",
    "format_table",
    "init_worker",
    "is_complete",
    "make_tracker",
    "missing_otb_sequences",
    "open_experiment",
    "overall_figures",
    "parse_tracker",
    "parse_trackers",
    "plot_curves",
    "quiet_opencv",
    "read_boxes",
    "read_time",
    "remove_results",
    "result_files",
    "result_root",
    "run_task",
    "run_tasks",
    "select_sequences",
    "sequence_figures",
    "sequence_truth",
    "success_auc",
    "thread_env",
    "usable_trackers",
    "write_outputs",
]
