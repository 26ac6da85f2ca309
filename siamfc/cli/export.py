"""siamfc export: write a model as ONNX graphs for ONNX Runtime and other runtimes."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from ..errors import SiamFCError
from ..io.writers import make_output_folder
from .common import add_weights_argument

HELP = """Export a model to ONNX: the graphs ONNX Runtime runs on the CPU, and their manifest.

exemplar.onnx, search.onnx, head.onnx, search_taps.onnx (what ONNX Runtime runs; docs/speed.md), siamfc_onnx.json (with
the checkpoint's SHA-256). SiamFCTracker(weights=OUT, backend="onnxruntime") runs them; written beside the checkpoint
as NAME.onnx/ for NAME.pth, the tracker uses them for that checkpoint on the CPU without PyTorch."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ..settings import option
    from ..tracking.config import TrackerConfig

    parser.add_argument("--format", default="onnx", choices=("onnx",), help="only onnx for now")
    add_weights_argument(parser)
    parser.add_argument("--out", required=True, metavar="DIR", help="folder to write (created if missing)")
    parser.add_argument("--opset", type=int, choices=range(11, 22), default=17, metavar="11..21",
                        help="ONNX opset (default 17)")
    parser.add_argument("--exemplar-size", type=option(TrackerConfig, "exemplar_size"), default=127, metavar="PX",
                        help="side of the exemplar crop the graphs take (default 127; the tracker's exemplar_size)")
    parser.add_argument("--search-size", type=option(TrackerConfig, "search_size"), default=255, metavar="PX",
                        help="side of the search crops the graphs take (default 255; the tracker's search_size)")
    parser.add_argument("--no-check", action="store_true", help="skip checking the graphs with onnx.checker")
    parser.add_argument("--quiet", "-q", action="store_true", help="no list of the files written")


def run(args: argparse.Namespace) -> int:
    from ..models.checkpoint import load_model
    from ..tracking.config import TrackerConfig, check_crop_sizes
    from ..tracking.engines.choose import is_box_model, resolve_weights
    from ..tracking.export import export_onnx

    TrackerConfig.from_kwargs(exemplar_size=args.exemplar_size, search_size=args.search_size)  # their ranges
    weights = resolve_weights(args.weights)
    if args.weights is None and is_box_model(weights, None):
        raise SiamFCError("siamfc export writes SiamFC models, and the default, a box-head model, ships its export "
                          "beside it: give --model or --weights (e.g. --model siamfc_mobile_lite)", "--weights")
    net = load_model(weights, "cpu")
    check_crop_sizes(args.exemplar_size, args.search_size, net.stride)
    out = Path(args.out)
    created = not out.exists()
    make_output_folder(out, "--out")  # only now: a bad input leaves no empty folder behind
    try:
        paths = export_onnx(net, out, args.exemplar_size, args.search_size, opset=args.opset, checkpoint=weights)
    except OSError as exc:  # a full disk: the files already there are whole (each is written, then renamed)
        raise SiamFCError(f"--out {out}: cannot write {exc.filename or 'the graphs'} ({exc.strerror or exc})",
                          "--out") from exc
    finally:
        if created and not any(out.iterdir()):
            out.rmdir()
    if not args.no_check:
        import onnx

        for path in (p for p in paths if p.suffix == ".onnx"):
            onnx.checker.check_model(os.fspath(path))
    for path in [] if args.quiet else paths:
        print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KiB)")
    return 0
