"""Benchmark evaluation through the got10k toolkit, and comparison of several trackers.

The toolkit's experiments run the trackers and write their result files (a folder per tracker
under ``out/<benchmark>/``); the sequences are shared among worker processes, each running the
toolkit's loop on one sequence at a time with a bounded thread count. The figures are then
computed from the result files, the same way for every benchmark:

- IoU of the box with the ground truth clipped to the image, frame 1 and frames where the target
  is absent excluded (the GOT-10k toolkit's rule); repetitions pooled.
- AO = mean IoU over all frames of all sequences; SR0.5, SR0.75 = share of frames with IoU above
  0.5, 0.75 (points of the success curve); AUC = mean over sequences of the OTB success score
  (mean over thresholds 0, 0.05, ..., 1); P@20 = share of frames whose centre error is at most
  20 pixels (averaged over sequences, as OTB does); fps = frames / total tracking time.
- Where the toolkit has its own report (GOT-10k val, OTB, VOT) its figures go in the JSON too.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path

import numpy as np
from PIL import Image

from .errors import UserError
from .toolkit import (
    FolderSequences,
    check_sequences,
    folder_experiment,
    import_got10k,
    local_experiment_otb,
    local_experiment_vot,
    numpy_nan_alias,
    only_sequences,
    read_list,
)

DATASETS = ("got10k", "otb", "vot", "folder")
SUCCESS_THRESHOLDS = np.linspace(0, 1, 101)
AUC_THRESHOLDS = np.linspace(0, 1, 21)
PRECISION_THRESHOLDS = np.arange(0, 51)
THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS")


# --------------------------------------------------------------------------- configuration


@dataclass(frozen=True)
class TrackerSpec:
    """One tracker to evaluate: ``kind`` is ``siamfc`` or an OpenCV tracker (``csrt``, ...)."""

    kind: str
    name: str
    weights: str | None = None


@dataclass(frozen=True)
class BenchmarkSpec:
    """Which data, where the results go, and how the toolkit runs (hashable: cached in workers)."""

    dataset: str
    root: str
    subset: str = "val"
    version: str | int | None = None
    out: str = "results"
    repetitions: int = 1


@dataclass
class EvalConfig:
    benchmark: BenchmarkSpec
    trackers: list[TrackerSpec]
    sequences: list[str] | None = None
    overwrite: bool = False
    resume: bool = False
    workers: int = 1
    device: str = "cpu"
    nano_dir: str | None = None
    progress: bool = True


def parse_tracker(text: str, weights: str | None = None) -> TrackerSpec:
    """``siamfc``, ``siamfc:WEIGHTS``, ``csrt``, ``kcf``, ``mil`` or ``nano``.

    A bare ``siamfc`` uses ``weights`` (``--weights``) when given, else the shipped model.
    """
    from .baselines import OPENCV_TRACKERS

    kind, _, arg = str(text).strip().partition(":")
    kind = kind.lower()
    if kind == "siamfc":
        path = arg or weights
        name = "SiamFC" if not path else f"SiamFC-{Path(path).stem}"
        return TrackerSpec("siamfc", name, path or None)
    if kind in OPENCV_TRACKERS and not arg:
        return TrackerSpec(kind, OPENCV_TRACKERS[kind])
    known = ", ".join(["siamfc", "siamfc:WEIGHTS", *OPENCV_TRACKERS])
    raise UserError(f"--tracker {text!r}: unknown tracker; choose from {known}")


def parse_trackers(texts: Sequence[str] | None, weights: str | None = None) -> list[TrackerSpec]:
    specs = [parse_tracker(t, weights) for t in (texts or ["siamfc"])]
    names = [s.name for s in specs]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise UserError(f"--tracker: {', '.join(duplicates)} given more than once")
    return specs


# --------------------------------------------------------------------------- benchmarks


def result_root(bench: BenchmarkSpec) -> Path:
    """``out/<benchmark>``: the toolkit's folder, holding a folder per tracker."""
    if bench.dataset == "got10k":
        tag = "GOT-10k"
    elif bench.dataset == "otb":
        tag = f"OTB{bench.version}"
    elif bench.dataset == "vot":
        tag = f"VOT{bench.version}"
    else:
        tag = f"folder-{Path(bench.root).resolve().name}"
    return Path(bench.out) / tag


def open_experiment(bench: BenchmarkSpec):
    """The toolkit experiment for ``bench``, after checking the data's layout (one-line errors)."""
    import_got10k()
    root = Path(bench.root)
    if not root.is_dir():
        raise UserError(f"dataset folder {root} does not exist")
    out = os.fspath(bench.out)
    reports = os.path.join(out, "reports")
    if bench.dataset == "got10k":
        from got10k.experiments import ExperimentGOT10k

        if bench.subset not in ("val", "test"):
            raise UserError(f"--subset {bench.subset}: GOT-10k evaluation runs on val or test")
        list_file = root / bench.subset / "list.txt"
        if not list_file.is_file():
            raise UserError(f"{root}: wrong layout for GOT-10k: no {bench.subset}/list.txt "
                            "(expected ROOT/{val,test}/list.txt; --dataset folder reads plain folders)")
        names = read_list(list_file)
        check_sequences(root / bench.subset, names, "first" if bench.subset == "test" else "exact")
        if bench.subset == "val":
            for name in names:
                for meta in ("meta_info.ini", "cover.label"):
                    if not (root / bench.subset / name / meta).is_file():
                        raise UserError(f"{root / bench.subset / name}: no {meta} (the GOT-10k report needs "
                                        "meta_info.ini and cover.label; --dataset folder reads plain sequences)")
        with contextlib.redirect_stdout(io.StringIO()):
            experiment = ExperimentGOT10k(os.fspath(root), subset=bench.subset, result_dir=out, report_dir=reports)
    elif bench.dataset == "otb":
        experiment = _open_otb(bench, root, out, reports)
    elif bench.dataset == "vot":
        experiment = local_experiment_vot(os.fspath(root), bench.version, out, reports)
        check_sequences(root, experiment.dataset.seq_names, "exact")
    elif bench.dataset == "folder":
        dataset = FolderSequences(root, bench.subset)
        experiment = folder_experiment(dataset, out, result_root(bench).name)
    else:
        raise UserError(f"--dataset {bench.dataset!r}: choose one of {', '.join(DATASETS)}")
    experiment.repetitions = bench.repetitions
    return experiment


def _open_otb(bench: BenchmarkSpec, root: Path, out: str, reports: str):
    from got10k.datasets import OTB

    versions = OTB._OTB__version_dict  # the toolkit's per-version sequence lists
    if bench.version not in versions:
        raise UserError(f"--version {bench.version}: OTB versions are {', '.join(map(str, versions))}")
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            experiment = local_experiment_otb(os.fspath(root), bench.version, out, reports)
    except Exception as exc:  # the toolkit raises a bare Exception for an empty folder
        raise UserError(f"{root}: wrong layout for OTB ({exc})") from None
    if not experiment.dataset.seq_names:
        raise UserError(f"{root}: wrong layout for OTB: no <Sequence>/groundtruth_rect.txt of OTB{bench.version}")
    for name in experiment.dataset.seq_names:
        try:
            img_files, anno = experiment.dataset[name]
        except AssertionError:
            raise UserError(f"{root / name.split('.')[0]}: frames and ground-truth lines differ in number") from None
    return experiment


def missing_otb_sequences(bench: BenchmarkSpec) -> list[str]:
    from got10k.datasets import OTB

    names = OTB._OTB__version_dict[bench.version]
    return [n for n in names if not (Path(bench.root) / n).is_dir()]


@dataclass
class Truth:
    """Ground truth of one sequence as the metrics need it."""

    anno: np.ndarray  # N x 4, x, y, w, h
    visible: np.ndarray  # N bools
    bound: tuple[int, int]  # image width, height


def sequence_truth(bench: BenchmarkSpec, experiment, name: str) -> Truth:
    dataset = experiment.dataset
    if bench.dataset == "got10k":
        dataset.return_meta = True
        img_files, anno, meta = dataset[name]
        import ast

        bound = tuple(int(v) for v in ast.literal_eval(meta["resolution"]))
        visible = np.asarray(meta["cover"]) > 0
        return Truth(anno, visible, bound)
    if bench.dataset == "vot":
        img_files, anno, _ = dataset[name]
        if anno.shape[1] == 8:
            anno = dataset._corner2rect(anno)
    else:
        img_files, anno = dataset[name]
    with Image.open(img_files[0]) as image:
        bound = image.size
    visible = np.all(np.isfinite(anno), axis=1) & (np.nan_to_num(anno[:, 2]) > 0) & (np.nan_to_num(anno[:, 3]) > 0)
    seq_dir = Path(dataset.seq_dirs[dataset.seq_names.index(name)])
    for label, keep in (("cover.label", lambda v: v > 0), ("absence.label", lambda v: v == 0)):
        if (seq_dir / label).is_file():
            values = np.loadtxt(seq_dir / label, ndmin=1)
            if len(values) == len(visible):
                visible &= keep(values)
    return Truth(anno, visible, bound)


# --------------------------------------------------------------------------- result files


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


# --------------------------------------------------------------------------- metrics


@dataclass
class SequenceFigures:
    ious: np.ndarray
    center_errors: np.ndarray
    frames: int
    seconds: float

    def summary(self) -> dict:
        return {
            "ao": _mean(self.ious),
            "sr50": _mean(self.ious > 0.5),
            "sr75": _mean(self.ious > 0.75),
            "auc": success_auc(self.ious),
            "precision20": _mean(self.center_errors <= 20),
            "fps": self.frames / self.seconds if self.seconds > 0 else math.nan,
            "frames": self.frames,
            "evaluated_frames": int(self.ious.size),
        }


def _mean(values: np.ndarray) -> float:
    return float(np.mean(values)) if np.size(values) else math.nan


def success_auc(ious: np.ndarray) -> float:
    """OTB success score: mean over thresholds 0, 0.05, ..., 1 of the share of IoUs above each."""
    if not np.size(ious):
        return math.nan
    return float(np.mean(ious[:, None] > AUC_THRESHOLDS[None, :]))


def sequence_figures(boxes: list[np.ndarray], truth: Truth, frames: int, seconds: float) -> SequenceFigures:
    from got10k.utils.metrics import center_error, rect_iou

    keep = truth.visible[1:]
    ious, errors = [], []
    for b in boxes:
        if b.shape != truth.anno.shape:
            raise UserError(f"a result file has {len(b)} boxes for {len(truth.anno)} frames; rerun with --overwrite")
        # rect_iou clips its arguments in place: give it copies
        ious.append(rect_iou(b[1:].copy(), truth.anno[1:].copy(), bound=truth.bound)[keep])
        errors.append(center_error(b[1:], truth.anno[1:])[keep])
    return SequenceFigures(np.concatenate(ious), np.concatenate(errors), frames, seconds)


def overall_figures(per_seq: dict[str, SequenceFigures]) -> dict:
    ious = np.concatenate([f.ious for f in per_seq.values()]) if per_seq else np.zeros(0)
    frames = sum(f.frames for f in per_seq.values())
    seconds = sum(f.seconds for f in per_seq.values())
    aucs = [success_auc(f.ious) for f in per_seq.values() if f.ious.size]
    seq_aos = [float(np.mean(f.ious)) for f in per_seq.values() if f.ious.size]
    precision = [np.mean(f.center_errors[:, None] <= PRECISION_THRESHOLDS[None, :], axis=0)
                 for f in per_seq.values() if f.center_errors.size]
    precision_curve = np.mean(precision, axis=0) if precision else np.full(len(PRECISION_THRESHOLDS), np.nan)
    success_curve = (np.mean(ious[:, None] > SUCCESS_THRESHOLDS[None, :], axis=0) if ious.size
                     else np.full(len(SUCCESS_THRESHOLDS), np.nan))
    return {
        "ao": _mean(ious),
        "ao_seq_mean": float(np.mean(seq_aos)) if seq_aos else math.nan,
        "sr50": _mean(ious > 0.5),
        "sr75": _mean(ious > 0.75),
        "auc": float(np.mean(aucs)) if aucs else math.nan,
        "precision20": float(precision_curve[20]),
        "fps": frames / seconds if seconds > 0 else math.nan,
        "frames": frames,
        "seconds": seconds,
        "success_curve": success_curve.tolist(),
        "precision_curve": precision_curve.tolist(),
    }


# --------------------------------------------------------------------------- running


@dataclass(frozen=True)
class Task:
    bench: BenchmarkSpec
    tracker: TrackerSpec
    seq: str
    device: str
    nano_dir: str | None


def make_tracker(spec: TrackerSpec, device: str = "cpu", nano_dir: str | None = None, repetitions: int = 1):
    """A got10k ``Tracker`` for ``spec``, timing the tracker only (frames decoded first)."""
    if spec.kind == "siamfc":
        from .toolkit import DecodeBeforeTiming
        from .tracker import SiamFCTracker

        class EvalSiamFC(DecodeBeforeTiming, SiamFCTracker):
            pass

        tracker = EvalSiamFC(weights=spec.weights, device=device, name=spec.name)
    else:
        from .baselines import OpenCVTracker

        tracker = OpenCVTracker(spec.kind, nano_dir, name=spec.name)
    # the toolkit runs repetitions only for trackers that say they are not deterministic
    tracker.is_deterministic = repetitions == 1
    return tracker


@cache
def _cached_experiment(bench: BenchmarkSpec):
    return open_experiment(bench)


@cache
def _cached_tracker(spec: TrackerSpec, device: str, nano_dir: str | None, repetitions: int):
    return make_tracker(spec, device, nano_dir, repetitions)


def run_task(task: Task) -> tuple[Task, int, str | None]:
    """Run the toolkit's experiment for one tracker on one sequence; returns (task, frames, error)."""
    try:
        experiment = _cached_experiment(task.bench)
        tracker = _cached_tracker(task.tracker, task.device, task.nano_dir, task.bench.repetitions)
        with only_sequences(experiment.dataset, [task.seq]), contextlib.redirect_stdout(io.StringIO()):
            subset = getattr(experiment, "subset", None)
            if subset == "test":
                experiment.subset = "val"  # run() reads it only to print a notice and sleep 2 s
            try:
                experiment.run(tracker)
            finally:
                if subset == "test":
                    experiment.subset = subset
        frames, _ = read_time(task.bench, task.tracker.name, task.seq)
        return task, frames, None
    except KeyboardInterrupt:
        raise
    except Exception as exc:  # report which tracker failed where, in one line
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return task, 0, f"{task.tracker.name} failed on sequence {task.seq}: {message}"


def init_worker(threads: int) -> None:
    """Bound a worker's threads: torch's intra-op pool, OpenCV's, and OpenMP/BLAS via the env."""
    for name in THREAD_ENV:
        os.environ[name] = str(threads)
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


@contextlib.contextmanager
def thread_env(threads: int) -> Iterator[None]:
    """Set the thread-count variables while worker processes start (they inherit them)."""
    saved = {name: os.environ.get(name) for name in THREAD_ENV}
    os.environ.update({name: str(threads) for name in THREAD_ENV})
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def run_tasks(tasks: list[Task], workers: int, on_done: Callable[[Task, int], None]) -> None:
    """Run ``tasks`` inline (``workers == 1``) or in ``workers`` processes, longest first."""
    errors: list[str] = []

    def handle(result: tuple[Task, int, str | None]) -> None:
        task, frames, error = result
        if error:
            errors.append(error)
        on_done(task, frames)

    if workers <= 1:
        for task in tasks:
            handle(run_task(task))
    else:
        threads = max(1, available_cores() // workers)
        context = multiprocessing.get_context("spawn")
        with thread_env(threads), context.Pool(workers, initializer=init_worker, initargs=(threads,)) as pool:
            for result in pool.imap_unordered(run_task, tasks):
                handle(result)
    if errors:
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise UserError(errors[0] + more)


# --------------------------------------------------------------------------- the whole evaluation


@dataclass
class Comparison:
    """Everything one call computed; ``to_json()`` is what goes in ``comparison.json``."""

    benchmark: BenchmarkSpec
    sequences: list[str]
    trackers: list[TrackerSpec]
    overall: dict[str, dict] = field(default_factory=dict)
    per_sequence: dict[str, dict[str, dict]] = field(default_factory=dict)
    toolkit_report: dict = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    submissions: dict[str, str] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict:
        return {
            "benchmark": asdict(self.benchmark),
            "sequences": self.sequences,
            "trackers": [asdict(t) for t in self.trackers],
            "metrics": {
                "ao": "mean IoU over all evaluated frames (frame 1 and absent frames excluded)",
                "ao_seq_mean": "mean over sequences of each sequence's mean IoU",
                "sr50": "share of frames with IoU > 0.5", "sr75": "share of frames with IoU > 0.75",
                "auc": "mean over sequences of the OTB success score (thresholds 0:0.05:1)",
                "precision20": "share of frames with centre error <= 20 px, averaged over sequences",
                "fps": "frames / total tracking time (frame decoding excluded)",
            },
            "overall": self.overall,
            "per_sequence": self.per_sequence,
            "toolkit_report": self.toolkit_report,
            "skipped_trackers": self.skipped,
            "submissions": self.submissions,
            "files": self.files,
        }


def usable_trackers(specs: list[TrackerSpec], nano_dir: str | None, warn: Callable[[str], None]) -> tuple[
        list[TrackerSpec], list[str]]:
    """Check every tracker can be built here. CSRT/KCF without OpenCV contrib: skipped with a
    warning among others, an error when nothing else is left. Any other problem is an error."""
    from .baselines import TrackerUnavailable, opencv_factory
    from .checkpoint import default_weights_path, load_model
    from .tracker import resolve_weights

    usable, skipped = [], []
    for spec in specs:
        if spec.kind == "siamfc":
            if spec.weights is None and not default_weights_path().is_file():
                raise UserError(f"tracker 'siamfc': the package ships no trained model yet ({default_weights_path()});"
                                " use --tracker siamfc:WEIGHTS or --weights PATH")
            load_model(resolve_weights(spec.weights))  # CheckpointError: one line naming the file
            usable.append(spec)
            continue
        try:
            opencv_factory(spec.kind, nano_dir)
        except TrackerUnavailable as exc:
            if len(specs) == 1:
                raise
            warn(f"skipping {exc}")
            skipped.append(spec.name)
            continue
        usable.append(spec)
    if not usable:
        raise UserError("none of the requested trackers is available here")
    return usable, skipped


def select_sequences(bench: BenchmarkSpec, experiment, wanted: list[str] | None) -> list[str]:
    names = list(experiment.dataset.seq_names)
    if bench.dataset == "otb" and not wanted:
        missing = missing_otb_sequences(bench)
        if missing:
            shown = ", ".join(missing[:5]) + (", ..." if len(missing) > 5 else "")
            raise UserError(f"{bench.root}: {len(missing)} sequence(s) of OTB{bench.version} missing ({shown}); "
                            "pass --sequences to evaluate those present")
    if not wanted:
        return names
    unknown = [n for n in wanted if n not in names]
    if unknown:
        shown = ", ".join(names[:8]) + (", ..." if len(names) > 8 else "")
        raise UserError(f"--sequences: unknown sequence(s) {', '.join(unknown)} (known: {shown})")
    return list(dict.fromkeys(wanted))


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


def evaluate(config: EvalConfig, warn: Callable[[str], None]) -> Comparison:
    """Run every tracker on every sequence (what is not done yet), then compute the figures."""
    bench = config.benchmark
    quiet_opencv()
    if config.workers < 1:
        raise UserError(f"--workers {config.workers}: must be at least 1")
    if bench.repetitions < 1:
        raise UserError(f"--repetitions {bench.repetitions}: must be at least 1")
    if bench.dataset == "vot" and bench.repetitions != 1:
        raise UserError("--repetitions: VOT runs are done once per sequence here")
    experiment = open_experiment(bench)
    sequences = select_sequences(bench, experiment, config.sequences)
    trackers, skipped = usable_trackers(config.trackers, config.nano_dir, warn)
    result_root(bench).mkdir(parents=True, exist_ok=True)
    todo = set(check_stale(config, trackers, sequences))

    lengths = {s: _sequence_length(experiment, s) for s in sequences}
    tasks = [Task(bench, spec, seq, config.device, config.nano_dir)
             for seq in sorted(sequences, key=lambda s: -lengths[s]) for spec in trackers if (spec.name, seq) in todo]
    total = sum(lengths[t.seq] * bench.repetitions for t in tasks)
    if tasks:
        from tqdm import tqdm

        with tqdm(total=total, unit="frame", desc="tracking", disable=not config.progress, dynamic_ncols=True) as bar:
            run_tasks(tasks, config.workers,
                      lambda task, frames: bar.update(lengths[task.seq] * bench.repetitions))

    comparison = Comparison(bench, sequences, trackers, skipped=skipped)
    with only_sequences(experiment.dataset, sequences):
        if bench.dataset == "got10k" and bench.subset == "test":
            comparison.submissions = _submission_zips(experiment, [t.name for t in trackers])
            for spec in trackers:
                frames = seconds = 0
                for seq in sequences:
                    f, s = read_time(bench, spec.name, seq)
                    frames, seconds = frames + f, seconds + s
                comparison.overall[spec.name] = {"fps": frames / seconds if seconds else math.nan,
                                                 "frames": frames, "seconds": seconds}
            return comparison
        truths = {seq: sequence_truth(bench, experiment, seq) for seq in sequences}
        for spec in trackers:
            per_seq = {}
            for seq in sequences:
                boxes = read_boxes(bench, spec.name, seq, truths[seq].anno[0])
                frames, seconds = read_time(bench, spec.name, seq)
                per_seq[seq] = sequence_figures(boxes, truths[seq], frames, seconds)
            comparison.overall[spec.name] = overall_figures(per_seq)
            comparison.per_sequence[spec.name] = {seq: f.summary() for seq, f in per_seq.items()}
        comparison.toolkit_report = _toolkit_report(bench, experiment, [t.name for t in trackers], warn, comparison)
    return comparison


def _sequence_length(experiment, name: str) -> int:
    dataset = experiment.dataset
    from .toolkit import frame_files

    return max(1, len(frame_files(dataset.seq_dirs[dataset.seq_names.index(name)])))


def _submission_zips(experiment, names: list[str]) -> dict[str, str]:
    """The toolkit's GOT-10k test report: a zip per tracker, for the evaluation server."""
    with contextlib.redirect_stdout(io.StringIO()):
        experiment.report(names)
    return {name: os.fspath(Path(experiment.result_dir) / f"{name}.zip") for name in names}


def _toolkit_report(bench: BenchmarkSpec, experiment, names: list[str], warn, comparison: Comparison) -> dict:
    """The toolkit's own figures (GOT-10k val: AO, SR0.5, SR0.75 from its success curve; OTB:
    success and precision scores; VOT: accuracy, robustness), for the JSON and a consistency check."""
    if bench.dataset == "folder":
        return {}
    try:
        with contextlib.redirect_stdout(io.StringIO()), numpy_nan_alias():
            performance = experiment.report(names)
    except Exception as exc:  # its report is a bonus: never lose the run for it
        warn(f"the toolkit's own report failed ({str(exc).strip()[:120] or type(exc).__name__}); figures are ours")
        return {}
    report: dict[str, dict] = {}
    for name in names:
        perf = performance.get(name, {})
        if bench.dataset == "got10k":
            overall = perf["overall"]
            report[name] = {"ao": float(overall["ao"]), "sr50": float(overall["sr"]),
                            "sr75": float(overall["succ_curve"][75]), "speed_fps": float(overall["speed_fps"])}
            ours = comparison.overall[name]["ao"]
            if not math.isclose(report[name]["ao"], ours, abs_tol=1e-9):
                warn(f"{name}: the toolkit's AO {report[name]['ao']:.6f} differs from ours {ours:.6f}")
        elif bench.dataset == "otb":
            overall = perf["overall"]
            report[name] = {"success_score": float(overall["success_score"]),
                            "precision_score": float(overall["precision_score"]),
                            "speed_fps": float(overall["speed_fps"])}
        else:
            report[name] = {k: float(v) for k, v in perf.items()}
    return report


# --------------------------------------------------------------------------- output


COLUMNS = (("AO", "ao"), ("SR0.5", "sr50"), ("SR0.75", "sr75"), ("AUC", "auc"), ("P@20", "precision20"))


def _fmt(value: float, digits: int = 3) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def format_table(comparison: Comparison) -> str:
    bench = comparison.benchmark
    names = [t.name for t in comparison.trackers]
    width = max(12, *(len(n) for n in names)) + 2
    title = f"{result_root(bench).name} {bench.subset if bench.dataset in ('got10k', 'folder') else ''}".strip()
    lines = [f"{title}: {len(comparison.sequences)} sequence(s)"]
    if bench.dataset == "got10k" and bench.subset == "test":
        lines.append(f"{'tracker':<{width}}{'fps':>8}  submission zip")
        for name in names:
            lines.append(f"{name:<{width}}{_fmt(comparison.overall[name]['fps'], 1):>8}  "
                         f"{comparison.submissions.get(name, '')}")
        return "\n".join(lines)
    extra = []
    if bench.dataset == "vot":
        extra = [("Acc", "accuracy"), ("Rob", "robustness")]
    header = f"{'tracker':<{width}}" + "".join(f"{c:>8}" for c, _ in COLUMNS + tuple(extra)) + f"{'fps':>8}"
    lines.append(header)
    for name in names:
        row = comparison.overall[name]
        cells = [_fmt(row[k]) for _, k in COLUMNS]
        cells += [_fmt(comparison.toolkit_report.get(name, {}).get(k, math.nan)) for _, k in extra]
        lines.append(f"{name:<{width}}" + "".join(f"{c:>8}" for c in cells) + f"{_fmt(row['fps'], 1):>8}")
    return "\n".join(lines)


def format_per_sequence(comparison: Comparison) -> str:
    """Per-sequence AO, a column per tracker."""
    names = [t.name for t in comparison.trackers]
    if not comparison.per_sequence:
        return ""
    width = max(10, *(len(s) for s in comparison.sequences)) + 2
    col = max(8, *(len(n) + 2 for n in names))
    lines = [f"{'AO per sequence':<{width}}" + "".join(f"{n:>{col}}" for n in names)]
    for seq in comparison.sequences:
        cells = [_fmt(comparison.per_sequence[n][seq]["ao"]) for n in names]
        lines.append(f"{seq:<{width}}" + "".join(f"{c:>{col}}" for c in cells))
    return "\n".join(lines)


def write_outputs(comparison: Comparison) -> dict[str, str]:
    """``comparison.json``, ``per_sequence.csv``, ``success_plot.png``, ``precision_plot.png``
    in ``out/<benchmark>/``; returns their paths."""
    folder = result_root(comparison.benchmark)
    folder.mkdir(parents=True, exist_ok=True)
    files = {"json": os.fspath(folder / "comparison.json")}
    if comparison.per_sequence:
        files["csv"] = os.fspath(folder / "per_sequence.csv")
        files["success_plot"] = os.fspath(folder / "success_plot.png")
        files["precision_plot"] = os.fspath(folder / "precision_plot.png")
        _write_csv(comparison, Path(files["csv"]))
        plot_curves(comparison, Path(files["success_plot"]), Path(files["precision_plot"]))
    comparison.files = files
    _atomic_write_text(Path(files["json"]), json.dumps(_finite(comparison.to_json()), indent=2))
    return files


def _finite(value):
    """JSON has no NaN: write null instead."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    if isinstance(value, np.generic):
        return _finite(value.item())
    return value


def _atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _write_csv(comparison: Comparison, path: Path) -> None:
    keys = ["ao", "sr50", "sr75", "auc", "precision20", "fps", "frames", "evaluated_frames"]
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["tracker", "sequence", *keys])
        for name, seqs in comparison.per_sequence.items():
            for seq, row in seqs.items():
                writer.writerow([name, seq, *(row[k] if isinstance(row[k], int) else f"{row[k]:.6f}" for k in keys)])
    os.replace(tmp, path)


def plot_curves(comparison: Comparison, success_png: Path, precision_png: Path) -> None:
    """Success and precision plots with every tracker (matplotlib without pyplot: no display needed)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    title = f"{result_root(comparison.benchmark).name} ({len(comparison.sequences)} sequences)"
    overall = comparison.overall
    plots = (
        (success_png, SUCCESS_THRESHOLDS, "success_curve", "ao", "AO", "Overlap threshold", "Success rate"),
        (precision_png, PRECISION_THRESHOLDS, "precision_curve", "precision20", "P@20",
         "Location error threshold (px)", "Precision"),
    )
    styles = ["-", "--", "-.", ":"]
    for path, x, curve, key, label, xlabel, ylabel in plots:
        fig = Figure(figsize=(5.5, 4.2))
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        names = sorted(overall, key=lambda n: -np.nan_to_num(overall[n][key], nan=-1.0))
        for i, name in enumerate(names):
            ax.plot(x, overall[name][curve], styles[(i // 10) % len(styles)], linewidth=1.6,
                    label=f"{name} [{label} {_fmt(overall[name][key])}]")
        kind = "Success" if curve == "success_curve" else "Precision"
        ax.set(xlabel=xlabel, ylabel=ylabel, xlim=(x[0], x[-1]), ylim=(0, 1.0), title=f"{kind} plot: {title}")
        ax.grid(True, alpha=0.4)
        ax.legend(loc="lower left" if curve == "success_curve" else "lower right", fontsize=8)
        fig.tight_layout()
        tmp = path.with_name(f".{path.stem}.tmp.png")
        fig.savefig(tmp, dpi=110)
        os.replace(tmp, path)
