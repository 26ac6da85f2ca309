"""The whole evaluation: run what is not done yet, then compute every tracker's figures.

Where the toolkit has its own report (GOT-10k val, OTB, VOT) its figures go in the JSON too."""

from __future__ import annotations

import contextlib
import io
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from ..errors import UserError
from ..io.writers import make_output_folder
from .benchmarks import benchmark_for
from .bootstrap import bootstrap_mean, paired_difference
from .experiments import open_experiment, result_root, select_sequences, sequence_truth
from .got10k_compat import numpy_nan_alias
from .metrics import overall_figures, sequence_figures
from .results import check_stale, confidence_file, read_boxes, read_time
from .runner import Task, quiet_opencv, run_tasks
from .specs import BenchmarkSpec, EvalConfig, TrackerSpec
from .toolkit import only_sequences
from .trackers import usable_trackers


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
    baseline: str | None = None
    differences: dict[str, dict] = field(default_factory=dict)  # tracker -> AUC minus the baseline's, paired

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
                "longterm": "VOT-LT tracking precision, recall and F-score at the confidence threshold of "
                            "the best F (trackers that give a confidence; absent frames count)",
                "auc_ci95": "95% percentile-bootstrap interval of auc, resampling sequences",
                "differences": "auc minus the baseline's, paired by sequence, with its 95% bootstrap interval; "
                               "a tracker is better only when the interval excludes 0",
            },
            "baseline": self.baseline,
            "differences": self.differences,
            "overall": self.overall,
            "per_sequence": self.per_sequence,
            "toolkit_report": self.toolkit_report,
            "skipped_trackers": self.skipped,
            "submissions": self.submissions,
            "files": self.files,
        }


def evaluate(config: EvalConfig, warn: Callable[[str], None]) -> Comparison:
    """Run every tracker on every sequence (what is not done yet), then compute the figures."""
    bench = config.benchmark
    quiet_opencv()
    if config.workers < 1:
        raise UserError(f"--workers {config.workers}: must be at least 1")
    if bench.repetitions < 1:
        raise UserError(f"--repetitions {bench.repetitions}: must be at least 1")
    experiment = open_experiment(bench)
    sequences = select_sequences(bench, experiment, config.sequences)
    trackers, skipped = usable_trackers(config.trackers, config.nano_dir, warn)
    make_output_folder(result_root(bench), "--out")
    frame_counts = _frame_counts(experiment, sequences)
    todo = set(check_stale(config, trackers, sequences, frame_counts if config.resume else None, warn))

    lengths = {s: max(1, n) for s, n in frame_counts.items()}
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
        zips = benchmark_for(bench).submissions(experiment, [t.name for t in trackers])
        if zips is not None:
            comparison.submissions = zips
            _speed_only(comparison, bench, sequences)
        else:
            _figures(comparison, bench, experiment)
            _compare_with_baseline(comparison, config.baseline)
            comparison.toolkit_report = _toolkit_report(bench, experiment, comparison, warn)
    return comparison


def _speed_only(comparison: Comparison, bench: BenchmarkSpec, sequences: list[str]) -> None:
    """fps of each tracker where the ground truth is withheld (an evaluation server's test set)."""
    for spec in comparison.trackers:
        frames = seconds = 0
        for seq in sequences:
            f, s = read_time(bench, spec.name, seq)
            frames, seconds = frames + f, seconds + s
        comparison.overall[spec.name] = {"fps": frames / seconds if seconds else math.nan,
                                         "frames": frames, "seconds": seconds}


def _figures(comparison: Comparison, bench: BenchmarkSpec, experiment) -> None:
    """Every tracker's figures, per sequence and overall, from its result files."""
    truths = {seq: sequence_truth(bench, experiment, seq) for seq in comparison.sequences}
    for spec in comparison.trackers:
        per_seq = {}
        for seq in comparison.sequences:
            boxes = read_boxes(bench, spec.name, seq, truths[seq].anno[0], len(truths[seq].anno))
            frames, seconds = read_time(bench, spec.name, seq)
            per_seq[seq] = sequence_figures(boxes, truths[seq], frames, seconds)
        comparison.overall[spec.name] = overall_figures(per_seq)
        comparison.per_sequence[spec.name] = {seq: f.summary() for seq, f in per_seq.items()}
        _longterm(comparison, bench, spec.name, truths)
        aucs = [f["auc"] for f in comparison.per_sequence[spec.name].values()]
        comparison.overall[spec.name]["auc_ci95"] = bootstrap_mean(aucs).to_dict()


def _longterm(comparison: Comparison, bench: BenchmarkSpec, name: str, truths: dict) -> None:
    """The VOT-LT precision, recall and F-score of a tracker that wrote its confidence on every
    sequence (see :mod:`siamfc.evaluation.longterm`)."""
    import numpy as np

    from .longterm import f_score, truth_curves

    files = {seq: confidence_file(bench, name, seq) for seq in truths}
    if not all(p.is_file() for p in files.values()):
        return
    curves = []
    for seq, truth in truths.items():
        scores = np.loadtxt(files[seq], ndmin=1)
        boxes = read_boxes(bench, name, seq, truth.anno[0])[-1]
        if len(scores) != len(boxes):
            return
        curves.append(truth_curves(boxes, truth.anno, truth.visible, truth.bound, scores))
    comparison.overall[name]["longterm"] = f_score(curves)


def _compare_with_baseline(comparison: Comparison, baseline: str | None) -> None:
    if baseline is None:
        return
    names = [t.name for t in comparison.trackers]
    if baseline not in names:
        raise UserError(f"--baseline {baseline!r}: not one of the evaluated trackers ({', '.join(names)})")
    comparison.baseline = baseline
    theirs = {s: f["auc"] for s, f in comparison.per_sequence[baseline].items()}
    for name in names:
        if name != baseline:
            ours = {s: f["auc"] for s, f in comparison.per_sequence[name].items()}
            comparison.differences[name] = paired_difference(ours, theirs).to_dict()


def _frame_counts(experiment, names: list[str]) -> dict[str, int]:
    """Each sequence's frame count as the toolkit runs it (so, the lines of a whole result file)."""
    return {name: len(experiment.dataset[name][0]) for name in names}


def _toolkit_report(bench: BenchmarkSpec, experiment, comparison: Comparison, warn: Callable[[str], None]) -> dict:
    """The toolkit's own figures where it has a report (see each benchmark's ``report_figures``),
    for the JSON and a consistency check."""
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
