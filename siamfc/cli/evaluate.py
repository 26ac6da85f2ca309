"""``siamfc eval``: benchmark one or more trackers through the got10k toolkit and compare them."""

from __future__ import annotations

import argparse
import os
import sys

from ..errors import SiamFCError
from .common import add_device_argument, add_lost_arguments, add_weights_argument, lost_params, resolve_device, warn

HELP = """Evaluate trackers on GOT-10k, OTB, VOT, LaSOT or a folder of sequences (AO, SR0.5, SR0.75, fps).

Several --tracker options give one comparison: a table on stdout, success and precision plots
(PNG) and comparison.json with every figure, per sequence too, in OUT/<benchmark>/."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ..evaluation.benchmarks import BENCHMARKS

    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = (
        "examples:\n"
        "  siamfc eval --dataset got10k --root data/GOT-10k --subset val\n"
        "  siamfc eval --dataset got10k --root ../shared/data/GOT-10k-mini --subset val --workers 2 \\\n"
        "      --tracker siamfc:../shared/weights/fdsiamfc_30.pth --tracker nano \\\n"
        "      --nano-dir ../shared/weights/nanotrack_v2 --tracker mil\n"
        "  siamfc eval --dataset folder --root my_sequences --tracker siamfc --sequences a,b\n"
        "  siamfc eval --dataset lasot --root data/LaSOT --subset test --tracker siamfc\n"
        "  siamfc eval --dataset folder --root my_sequences --tracker siamfc --tracker siamfc@redetect=false \\\n"
        "      --baseline SiamFC@redetect=False\n"
        "  siamfc eval --dataset folder --root ../shared/data/GOT-10k-mini/val --root ../shared/data/extra/val \\\n"
        "      --tracker siamfc --tracker nano --nano-dir ../shared/weights/nanotrack_v2 --baseline NanoTrack")
    parser.add_argument("--dataset", required=True, choices=tuple(BENCHMARKS),
                        help="; ".join(f"{name}: {b.layout}" for name, b in BENCHMARKS.items()))
    parser.add_argument("--root", required=True, metavar="DIR", action="append",
                        help="the dataset's folder; with --dataset folder, repeat it to evaluate several "
                             "sets as one (e.g. the 12 val sequences: ../shared/data/GOT-10k-mini/val and "
                             "../shared/data/extra/val)")
    parser.add_argument("--baseline", default=None, metavar="NAME",
                        help="a tracker's name as the table shows it (e.g. NanoTrack; case and the order of "
                             "@ options aside): every other tracker gets its AUC difference, paired by "
                             "sequence, with a 95%% bootstrap interval")
    parser.add_argument("--subset", default=None, metavar="NAME",
                        help="which sequences: GOT-10k val or test (test writes the zip the evaluation server "
                             "takes); LaSOT test (testing_set.txt) or all; folder: the subfolder every root has, "
                             "or all (default: val where a root has it, else the whole root; LaSOT: test); "
                             "OTB and VOT have none")
    parser.add_argument("--version", default=None, metavar="V",
                        help="OTB version (2013, 2015, tb50, tb100; default 2015) or VOT version "
                             "(2013..2018, LT2018; default 2018)")
    parser.add_argument("--tracker", action="append", metavar="NAME",
                        help="siamfc (the shipped model, or --weights), siamfc:WEIGHTS (a checkpoint or a "
                             "folder written by siamfc export), csrt, kcf, mil or nano; repeat for a "
                             "comparison (default: siamfc). A siamfc tracker takes "
                             "options of its own after @ (tracker parameters, e.g. "
                             "siamfc@redetect=false,template_update=true; they end its name). csrt and kcf "
                             "need OpenCV's contrib build: without it they are skipped with a warning (an "
                             "error if alone)")
    add_weights_argument(parser)
    parser.add_argument("--nano-dir", default=None, metavar="DIR",
                        help="folder with nanotrack_backbone_sim.onnx and nanotrack_head_sim.onnx (for nano)")
    parser.add_argument("--repetitions", type=int, default=1, metavar="N",
                        help="runs per sequence (GOT-10k's protocol asks 3 for non-deterministic trackers; "
                             "default: 1)")
    parser.add_argument("--out", default="results", metavar="DIR",
                        help="results folder: OUT/<benchmark>/<tracker>/ (default: results)")
    stale = parser.add_mutually_exclusive_group()
    stale.add_argument("--overwrite", action="store_true", help="delete existing results of these trackers "
                       "on these sequences and recompute them")
    stale.add_argument("--resume", action="store_true", help="keep complete existing results (e.g. of an "
                       "interrupted run, or of trackers run from another environment) and compute the rest")
    parser.add_argument("--workers", type=int, default=1, metavar="N",
                        help="worker processes sharing the sequences, each with cores/N threads (default: 1)")
    parser.add_argument("--sequences", default=None, metavar="A,B",
                        help="evaluate only these sequences (comma-separated names)")
    add_device_argument(parser)
    add_lost_arguments(parser)
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bar")


def _with_lost_options(specs: list, args: argparse.Namespace) -> list:
    """``--no-redetect`` / ``--lost-threshold`` for every siamfc tracker (a tracker's own
    ``@key=value`` options win); a setting other than the default is in the tracker's name (results
    of different settings never mix), unless the tracker's own option overrides it (that one is in
    its name already)."""
    params = lost_params(args)
    return [_with_lost(s, params) if s.kind == "siamfc" else s for s in specs]


def _with_lost(spec, params: dict):
    from dataclasses import replace

    own = dict(spec.params)
    redetect = "" if params["redetect"] or "redetect" in own else "-noredetect"
    threshold = params["lost_threshold"]
    lost = "" if threshold == 0.5 or "lost_threshold" in own else f"-lost{threshold:g}"
    return replace(spec, name=spec.name + redetect + lost, params=tuple({**params, **own}.items()))


def run(args: argparse.Namespace) -> int:
    os.environ.setdefault("MPLBACKEND", "Agg")  # the toolkit's report uses pyplot
    from .. import evaluation as ev

    device = resolve_device(args.device)
    sequences = [s.strip() for s in args.sequences.split(",") if s.strip()] if args.sequences else None
    if args.sequences is not None and not sequences:
        raise SiamFCError("--sequences: give at least one sequence name")
    roots = [os.path.expanduser(r) for r in args.root]
    benchmark = ev.benchmark_for(args.dataset)
    bench = ev.BenchmarkSpec(dataset=args.dataset, root=roots[0], subset=benchmark.parse_subset(args.subset, roots),
                             version=benchmark.parse_version(args.version), out=os.path.expanduser(args.out),
                             repetitions=args.repetitions, more_roots=tuple(roots[1:]))
    config = ev.EvalConfig(
        benchmark=bench,
        trackers=_with_lost_options(ev.parse_trackers(args.tracker, args.weights), args),
        sequences=sequences,
        overwrite=args.overwrite,
        resume=args.resume,
        workers=args.workers,
        device=str(device),
        nano_dir=args.nano_dir,
        progress=not args.quiet,
        baseline=args.baseline,
    )
    try:
        comparison = ev.evaluate(config, warn)
    except KeyboardInterrupt:
        print(f"siamfc eval: interrupted; the sequences done are kept in {ev.result_root(bench)}: run the same "
              "command with --resume to do the rest", file=sys.stderr)
        return 130
    files = comparison.files
    print(ev.format_table(comparison))
    from ..evaluation.longterm import format_longterm

    longterm = format_longterm(comparison.overall)
    if longterm:
        print()
        print(longterm)
    per_seq = ev.format_per_sequence(comparison)
    if per_seq:
        print()
        print(per_seq)
    print()
    for key, path in files.items():
        print(f"{key}: {path}")
    sys.stdout.flush()
    return 0
