"""``siamfc eval``: benchmark one or more trackers through the got10k toolkit and compare them."""

from __future__ import annotations

import argparse
import os
import sys

from ..devices import resolve_device
from ..errors import SiamFCError
from .common import add_tracker_arguments, warn

HELP = """Evaluate trackers on GOT-10k, OTB, VOT, LaSOT or a folder of sequences (AO, SR0.5, SR0.75, fps).

Several --tracker options give one comparison: a table on stdout, success and precision plots
(PNG) and comparison.json with every figure, per sequence too, in OUT/<benchmark>/."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ..evaluation.benchmarks import BENCHMARKS
    from ..evaluation.specs import BenchmarkSpec, EvalConfig
    from ..settings import option

    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = (
        "examples:\n"
        "  siamfc eval --dataset got10k --root data/GOT-10k --subset val\n"
        "  siamfc eval --dataset folder --root ../shared/data/GOT-10k-mini/val --root ../shared/data/extra/val \\\n"
        "      --tracker siamfc --tracker nano --nano-dir ../shared/weights/nanotrack_v2 --baseline NanoTrack\n"
        "  siamfc eval --dataset folder --root my_sequences --sequences a,b --tracker siamfc:run/model_e030.pth \\\n"
        "      --tracker siamfc@redetect=false --baseline SiamFC@redetect=False\n"
        "  siamfc eval --dataset lasot --root data/LaSOT --subset test --tracker mil --workers 2")
    parser.add_argument("--dataset", required=True, choices=tuple(BENCHMARKS),
                        help="; ".join(f"{name}: {b.layout}" for name, b in BENCHMARKS.items()))
    parser.add_argument("--root", required=True, metavar="DIR", action="append",
                        help="the dataset's folder; with --dataset folder, repeat it to evaluate several sets as one "
                             "(e.g. the 12 val sequences: ../shared/data/GOT-10k-mini/val, ../shared/data/extra/val)")
    parser.add_argument("--baseline", default=None, metavar="NAME",
                        help="a tracker's name as the table shows it (e.g. NanoTrack; case and the order of @ options "
                             "aside): every other tracker gets its AUC difference, paired by sequence, with a 95%% "
                             "bootstrap interval")
    parser.add_argument("--subset", default=None, metavar="NAME",
                        help="which sequences: GOT-10k val or test (test writes the zip the evaluation server "
                             "takes); LaSOT test (testing_set.txt) or all; folder: the subfolder every root has, "
                             "or all (default: val where a root has it, else the whole root; LaSOT: test); "
                             "OTB and VOT have none")
    parser.add_argument("--version", default=None, metavar="V",
                        help="OTB version (2013, 2015, tb50, tb100; default 2015) or VOT version "
                             "(2013..2018, LT2018; default 2018)")
    parser.add_argument("--tracker", action="append", metavar="NAME",
                        help="siamfc (the shipped model, or --weights), siamfc:WEIGHTS (a checkpoint or an export "
                             "folder), csrt, kcf, mil or nano; repeat to compare (default: siamfc). siamfc@key=value,"
                             "... sets tracker parameters (e.g. siamfc@redetect=false; they end its name). csrt and "
                             "kcf need OpenCV's contrib build: without it they are skipped with a warning (an error "
                             "if alone)")
    add_tracker_arguments(parser, backend=False)
    parser.add_argument("--nano-dir", default=None, metavar="DIR",
                        help="folder with nanotrack_backbone_sim.onnx and nanotrack_head_sim.onnx (for nano)")
    parser.add_argument("--repetitions", type=option(BenchmarkSpec, "repetitions"), default=1, metavar="N",
                        help="runs per sequence (GOT-10k's protocol asks 3 for non-deterministic trackers; default: 1)")
    parser.add_argument("--out", default="results", metavar="DIR",
                        help="results folder: OUT/<benchmark>/<tracker>/ (default: results)")
    stale = parser.add_mutually_exclusive_group()
    stale.add_argument("--overwrite", action="store_true", help="delete existing results of these trackers "
                       "on these sequences and recompute them")
    stale.add_argument("--resume", action="store_true", help="keep complete existing results (e.g. of an "
                       "interrupted run, or of trackers run from another environment) and compute the rest")
    parser.add_argument("--workers", type=option(EvalConfig, "workers"), default=1, metavar="N",
                        help="worker processes sharing the sequences, each with cores/N threads (default: 1)")
    parser.add_argument("--sequences", metavar="A,B", help="evaluate only these sequences (comma-separated names)")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bar")


def _with_lost_options(spec, args: argparse.Namespace):
    """``--no-redetect`` / ``--lost-threshold`` for a siamfc tracker (its own ``@key=value`` options win);
    a value other than the default goes into the tracker's name, so results never mix."""
    from dataclasses import replace

    if spec.kind != "siamfc":
        return spec
    own = dict(spec.params)
    redetect = "" if args.redetect or "redetect" in own else "-noredetect"
    lost = "" if args.lost_threshold == 0.5 or "lost_threshold" in own else f"-lost{args.lost_threshold:g}"
    params = {"redetect": args.redetect, "lost_threshold": args.lost_threshold, **own}
    return replace(spec, name=spec.name + redetect + lost, params=tuple(params.items()))


def run(args: argparse.Namespace) -> int:
    os.environ.setdefault("MPLBACKEND", "Agg")  # the toolkit's report uses pyplot
    from ..evaluation.benchmarks import benchmark_for, result_root
    from ..evaluation.compare import evaluate
    from ..evaluation.results import format_longterm, format_per_sequence, format_table
    from ..evaluation.specs import BenchmarkSpec, EvalConfig, parse_trackers

    device = resolve_device(args.device)
    sequences = [s.strip() for s in args.sequences.split(",") if s.strip()] if args.sequences else None
    if args.sequences is not None and not sequences:
        raise SiamFCError("--sequences: give at least one sequence name", "--sequences")
    roots = [os.path.expanduser(r) for r in args.root]
    benchmark = benchmark_for(args.dataset)
    bench = BenchmarkSpec(dataset=args.dataset, root=roots[0], subset=benchmark.parse_subset(args.subset, roots),
                          version=benchmark.parse_version(args.version), out=os.path.expanduser(args.out),
                          repetitions=args.repetitions, more_roots=tuple(roots[1:]))
    trackers = [_with_lost_options(spec, args) for spec in parse_trackers(args.tracker, args.weights)]
    config = EvalConfig(benchmark=bench, trackers=trackers,
                        sequences=sequences, overwrite=args.overwrite, resume=args.resume, workers=args.workers,
                        device=str(device), nano_dir=args.nano_dir, progress=not args.quiet, baseline=args.baseline)
    try:
        comparison = evaluate(config, warn)
    except KeyboardInterrupt:
        print(f"siamfc eval: interrupted; the sequences done are kept in {result_root(bench)}: run the same "
              "command with --resume to do the rest", file=sys.stderr)
        return 130
    print(format_table(comparison))
    for part in (format_longterm(comparison.overall), format_per_sequence(comparison)):
        if part:
            print(f"\n{part}")
    print()
    for key, path in comparison.files.items():
        print(f"{key}: {path}")
    sys.stdout.flush()
    return 0
