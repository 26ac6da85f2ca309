"""Write the weight average of several checkpoints of one network as a new checkpoint.

    python tools/average_checkpoints.py runs/NAME/model_e026.pth ... runs/NAME/model_e030.pth \
        --out runs/NAME/model_avg26-30.pth
    python tools/average_checkpoints.py runs/box_s0/model.pth runs/box_s1/model.pth runs/box_s2/model.pth \
        --counters-from first --out runs/box_soup/model.pth      # the box-head seeds' uniform soup

Every checkpoint must hold the same network (siamfc.models.checkpoint), SiamFC or box-head; the output
is of the inputs' family. Integer buffers (BatchNorm's step counters) come from the last input, or the
first with ``--counters-from first`` (SWA, with BatchNorm recomputed: experiments/swa.py). The output is
an ordinary model checkpoint (``siamfc track --weights``, ``siamfc eval --tracker siamfc:PATH``) whose
meta names the files averaged.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

from torch import nn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from siamfc.errors import CheckpointError  # noqa: E402
from siamfc.models.checkpoint import average_checkpoints, save_checkpoint  # noqa: E402


def average_into(parser: argparse.ArgumentParser, args: argparse.Namespace,
                 make: Callable[[], tuple[nn.Module, dict]], done: str) -> int:
    """Check ``args.checkpoints`` and ``args.out``, then save ``make()``'s model with its meta at ``--out``;
    a bad input or an unwritable output is one line and exit status 1 (also for experiments/swa.py)."""
    out = Path(args.out)
    if len(args.checkpoints) < 2:
        parser.error("give two or more checkpoints to average")
    if out.resolve() in {Path(p).resolve() for p in args.checkpoints}:
        parser.error(f"--out {out}: is one of the inputs; write the average to a new file")
    try:
        model, meta = make()
        save_checkpoint(out, model, meta=json.dumps({"averaged": [str(p) for p in args.checkpoints], **meta}))
    except (CheckpointError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"error: --out {out}: cannot write it ({exc.strerror or exc})", file=sys.stderr)
        return 1
    print(f"{out}: the average of {len(args.checkpoints)} checkpoints{done}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkpoints", nargs="+", metavar="CKPT", help="checkpoints of one run (two or more)")
    parser.add_argument("--out", required=True, metavar="PATH", help="the averaged checkpoint to write")
    parser.add_argument("--counters-from", choices=["first", "last"], default="last",
                        help="the input whose integer buffers (BatchNorm's step counters) are kept (default last)")
    args = parser.parse_args(argv)

    def make() -> tuple[nn.Module, dict]:
        model = average_checkpoints(args.checkpoints, 0 if args.counters_from == "first" else -1)
        return model, {"counters_from": args.counters_from}

    return average_into(parser, args, make, "")


if __name__ == "__main__":
    raise SystemExit(main())
