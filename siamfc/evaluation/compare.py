"""The whole evaluation: run what is not done yet, then compute every tracker's figures (and the toolkit's own, where it
has a report). The runs are (tracker, sequence) tasks, inline or in worker processes with a bounded thread count each
(``run_task`` and ``init_worker`` module-level: workers unpickle them)."""

from __future__ import annotations

import contextlib
import io
import math
import multiprocessing
import os
import signal
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path
from unittest import mock

import cv2
from tqdm import tqdm

from ..errors import SiamFCError, first_line
from ..files import LockBusy, exclusive_lock, write_text_atomic
from ..io.writers import make_output_folder
from .benchmarks import benchmark_for, open_experiment, result_root, select_sequences
from .got10k_compat import numpy_nan_alias, only_sequences
from .metrics import bootstrap_mean, f_score, overall_figures, paired_difference, sequence_figures, truth_curves
from .results import confidence_file, earlier_trackers, read_boxes, read_confidence, read_time, to_run, write_outputs
from .specs import BenchmarkSpec, EvalConfig, TrackerSpec, find_tracker
from .trackers import make_tracker, usable_trackers

#: what each figure of ``comparison.json`` means
METRICS = {
    "ao": "mean IoU over all evaluated frames (frame 1 and absent frames excluded)",
    "ao_seq_mean": "mean over sequences of each sequence's mean IoU",
    "sr50": "share of frames with IoU > 0.5", "sr75": "share of frames with IoU > 0.75",
    "auc": "mean over sequences of the OTB success score (thresholds 0:0.05:1)",
    "precision20": "share of frames with centre error <= 20 px, averaged over sequences",
    "fps": "frames / total tracking time (frame decoding excluded)",
    "longterm": "VOT-LT tracking precision, recall and F-score at the confidence threshold of "
                "the best F (trackers that give a confidence; absent frames count)",
    "auc_ci95": "95% percentile-bootstrap interval of auc, resampling sequences",
    "differences": "auc minus the baseline's, paired by sequence, with its 95% bootstrap interval; "
                   "a tracker is better only when the interval excludes 0",
}


@dataclass
class Comparison:
    """Everything one call computed; ``to_json()`` is what goes in ``comparison.json``."""

    benchmark: BenchmarkSpec
    sequences: list[str]
    trackers: list[TrackerSpec]
    baseline: str | None = None
    differences: dict[str, dict] = field(default_factory=dict)  # tracker -> AUC minus the baseline's, paired
    overall: dict[str, dict] = field(default_factory=dict)
    per_sequence: dict[str, dict[str, dict]] = field(default_factory=dict)
    toolkit_report: dict = field(default_factory=dict)
    skipped_trackers: list[str] = field(default_factory=list)
    submissions: dict[str, str] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict:
        data = asdict(self)
        return {key: data[key] for key in ("benchmark", "sequences", "trackers")} | {"metrics": METRICS} | data


def evaluate(config: EvalConfig, warn: Callable[[str], None]) -> Comparison:
    """Run every tracker on every sequence (what is not done yet), compute the figures and write them
    (``comparison.files``), the results folder locked all along (two runs would overwrite each other's results)."""
    bench = config.benchmark
    quiet_opencv()
    experiment = open_experiment(bench)
    sequences = select_sequences(bench, experiment, config.sequences)
    trackers, skipped = usable_trackers(config.trackers, config.device, config.nano_dir, bench.repetitions, warn)
    folder = make_output_folder(result_root(bench), "--out")
    try:
        with exclusive_lock(folder, wait=False):
            comparison = _evaluate(config, warn, experiment, sequences, trackers, skipped)
            write_outputs(comparison)
    except LockBusy as exc:
        raise SiamFCError(f"--out: another siamfc eval is writing {folder} now; wait for it to end or choose "
                          "another --out", "--out") from exc
    return comparison


def _evaluate(config: EvalConfig, warn: Callable[[str], None], experiment, sequences: list[str],
              trackers: list[TrackerSpec], skipped: list[str]) -> Comparison:
    bench = config.benchmark
    frame_counts = _frame_counts(experiment, sequences)
    earlier = earlier_trackers(bench, trackers, sequences, frame_counts, warn) if config.resume else []
    skipped = [name for name in skipped if name not in {t.name for t in earlier}]
    names = [t.name for t in [*earlier, *trackers]]
    baseline = None if config.baseline is None else find_tracker(config.baseline, names)  # checked before any run
    if config.baseline is not None and baseline is None:
        why = " (skipped: not available here)" if find_tracker(config.baseline, skipped) else ""
        raise SiamFCError(f"--baseline {config.baseline!r}: not one of the evaluated trackers{why} "
                          f"({', '.join(names)})", "--baseline")
    todo = set(to_run(config, trackers, sequences, frame_counts, warn))

    lengths = {s: max(1, n) * bench.repetitions for s, n in frame_counts.items()}
    tasks = [Task(bench, spec, seq, config.device, config.nano_dir)
             for seq in sorted(sequences, key=lambda s: -lengths[s]) for spec in trackers if (spec.name, seq) in todo]
    if tasks:
        with tqdm(total=sum(lengths[t.seq] for t in tasks), unit="frame", desc="tracking",
                  disable=not config.progress, dynamic_ncols=True) as bar:
            run_tasks(tasks, config.workers, lambda task: bar.update(lengths[task.seq]))

    comparison = Comparison(bench, sequences, [*earlier, *trackers], skipped_trackers=skipped)
    with only_sequences(experiment.dataset, sequences):
        zips = benchmark_for(bench).submissions(experiment, [t.name for t in comparison.trackers])
        if zips is not None:
            comparison.submissions = zips
            for spec in comparison.trackers:  # fps only: the ground truth is withheld
                times = [read_time(bench, spec.name, seq) for seq in sequences]
                frames, seconds = sum(f for f, _ in times), sum(s for _, s in times)
                comparison.overall[spec.name] = {"fps": frames / seconds if seconds else math.nan,
                                                 "frames": frames, "seconds": seconds}
        else:
            _figures(comparison, bench, experiment, warn)
            if baseline is not None:
                comparison.baseline = baseline
                aucs = {name: {s: f["auc"] for s, f in rows.items()} for name, rows in comparison.per_sequence.items()}
                comparison.differences = {name: asdict(paired_difference(aucs[name], aucs[baseline]))
                                          for name in aucs if name != baseline}
            comparison.toolkit_report = _toolkit_report(bench, experiment, comparison, warn)
    return comparison


def _figures(comparison: Comparison, bench: BenchmarkSpec, experiment, warn: Callable[[str], None]) -> None:
    """Every tracker's figures, per sequence and overall, from its result files; the VOT-LT measures
    (:func:`~.metrics.f_score`) of one that writes its confidence, left out with a warning when a
    confidence file is missing or damaged."""
    truths = {seq: benchmark_for(bench).truth(experiment, seq) for seq in comparison.sequences}
    for spec in comparison.trackers:
        per_seq, curves = {}, [] if spec.has_confidence else None
        for seq, truth in truths.items():
            boxes = read_boxes(bench, spec.name, seq, truth.anno[0], len(truth.anno))
            per_seq[seq] = sequence_figures(boxes, truth, *read_time(bench, spec.name, seq))
            scores = None if curves is None else read_confidence(bench, spec.name, seq, len(truth.anno), warn)
            if scores is not None:
                curves.append(truth_curves(boxes[-1], truth.anno, truth.visible, truth.bound, scores))
            curves = None if scores is None else curves
        comparison.overall[spec.name] = overall_figures(per_seq)
        comparison.per_sequence[spec.name] = {seq: f.summary() for seq, f in per_seq.items()}
        if curves is not None:
            comparison.overall[spec.name]["longterm"] = f_score(curves)
        aucs = [f["auc"] for f in comparison.per_sequence[spec.name].values()]
        comparison.overall[spec.name]["auc_ci95"] = asdict(bootstrap_mean(aucs))


def _frame_counts(experiment, names: list[str]) -> dict[str, int]:
    """Each sequence's frame count as the toolkit reads it (a whole result's lines), before anything runs."""
    counts = {}
    for name in names:
        try:
            counts[name] = len(experiment.dataset[name][0])
        except Exception as exc:  # the toolkit raises bare AssertionErrors, ValueErrors...
            raise SiamFCError(f"sequence {name}: the got10k toolkit cannot read it ({first_line(exc, 120)})",
                              name) from exc
    return counts


def _toolkit_report(bench: BenchmarkSpec, experiment, comparison: Comparison, warn: Callable[[str], None]) -> dict:
    """The toolkit's own figures where it has a report, for the JSON and a consistency check."""
    adapter = benchmark_for(bench)
    if not adapter.has_report:
        return {}
    names = [t.name for t in comparison.trackers]
    try:
        with contextlib.redirect_stdout(io.StringIO()), numpy_nan_alias():
            performance = experiment.report(names)
    except Exception as exc:  # its report is a bonus: never lose the run for it
        warn(f"the toolkit's own report failed ({str(exc).strip()[:120] or type(exc).__name__}); figures are ours")
        return {}
    return {name: adapter.report_figures(performance.get(name, {}), comparison.overall[name],
                                         lambda message, name=name: warn(f"{name}: {message}"))
            for name in names}


@dataclass(frozen=True)
class Task:
    bench: BenchmarkSpec
    tracker: TrackerSpec
    seq: str
    device: str
    nano_dir: str | None


def run_task(task: Task) -> tuple[Task, str | None]:
    """Run the toolkit's experiment for one tracker on one sequence; returns (task, error)."""
    try:
        experiment = _experiment(task.bench)
        tracker = make_tracker(task.tracker, task.device, task.nano_dir, task.bench.repetitions)
        tracker.scores = []  # never the sequence before's: the toolkit skips a sequence whose record exists
        with (only_sequences(experiment.dataset, [task.seq]), numpy_nan_alias(),
              contextlib.redirect_stdout(io.StringIO())):
            experiment.run(tracker)
        if tracker.scores:  # the tracker's confidence on this sequence, for the long-term measures
            write_confidence(confidence_file(task.bench, task.tracker.name, task.seq), tracker.scores)
        return task, None
    except Exception as exc:  # which tracker failed where, in one line (a Ctrl-C is no Exception: it stops all)
        return task, f"{task.tracker.name} failed on sequence {task.seq}: {first_line(exc)}"


_experiment = cache(open_experiment)  # a worker opens each benchmark once


def write_confidence(path: Path, scores: list[float]) -> None:
    """One value a line, written whole or not at all (a temporary file renamed into place)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, "".join(f"{v:.5f}\n" for v in scores))


def init_worker(threads: int) -> None:
    """Bound a worker's threads (torch's and OpenCV's; OpenMP/BLAS's from the variables it inherits,
    :func:`run_tasks`). A worker ignores Ctrl-C: the parent stops the pool and says how to resume."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    import torch

    torch.set_num_threads(threads)
    with contextlib.suppress(RuntimeError):
        torch.set_num_interop_threads(1)
    cv2.setNumThreads(threads)
    quiet_opencv()


def quiet_opencv() -> None:
    """Keep OpenCV's DNN warnings (NanoTrack) off stderr."""
    with contextlib.suppress(Exception):
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)


def run_tasks(tasks: list[Task], workers: int, on_done: Callable[[Task], None]) -> None:
    """Run ``tasks`` inline (``workers == 1``) or in ``workers`` processes, longest first."""
    errors: list[str] = []
    with contextlib.ExitStack() as stack:
        results = map(run_task, tasks)
        if workers > 1:
            cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
            threads = max(1, cores // workers)
            variables = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS")
            # while the workers start (they inherit both): the thread-count variables set, and SIGINT ignored,
            # so that a Ctrl-C before init_worker runs cannot print a worker's traceback
            previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
            try:
                with mock.patch.dict(os.environ, dict.fromkeys(variables, str(threads))):
                    pool = multiprocessing.get_context("spawn").Pool(workers, init_worker, (threads,))
            finally:
                signal.signal(signal.SIGINT, previous)
            results = stack.enter_context(pool).imap_unordered(run_task, tasks)
        for task, error in results:
            errors += [error] if error else []
            on_done(task)
    if errors:
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise SiamFCError(errors[0] + more, "--tracker")
