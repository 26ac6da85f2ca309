"""Running the toolkit's experiment on (tracker, sequence) tasks, inline or in worker processes with
a bounded thread count each (``run_task`` and ``init_worker`` module-level: workers unpickle them)."""

from __future__ import annotations

import contextlib
import io
import multiprocessing
import os
import signal
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from unittest import mock

from ..errors import SiamFCError, first_line
from ..files import write_text_atomic
from .benchmarks import open_experiment
from .got10k_compat import numpy_nan_alias, only_sequences
from .results import confidence_file
from .specs import BenchmarkSpec, TrackerSpec
from .trackers import make_tracker

THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS")


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
    import cv2
    import torch

    torch.set_num_threads(threads)
    with contextlib.suppress(RuntimeError):
        torch.set_num_interop_threads(1)
    cv2.setNumThreads(threads)
    quiet_opencv()


def quiet_opencv() -> None:
    """Keep OpenCV's DNN warnings (NanoTrack) off stderr."""
    import cv2

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
            # while the workers start (they inherit both): the thread-count variables set, and SIGINT ignored,
            # so that a Ctrl-C before init_worker runs cannot print a worker's traceback
            previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
            try:
                with mock.patch.dict(os.environ, dict.fromkeys(THREAD_ENV, str(threads))):
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
