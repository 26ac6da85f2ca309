"""What each speed lever buys: the tracking step of one model through the eager path and through
each optimization added in turn, timed round-robin on the same frames in one run.

    OMP_WAIT_POLICY=PASSIVE python experiments/bench_levers.py --weights ../shared/weights/fdsiamfc_30.pth
    python experiments/bench_levers.py --backbone alexnet        # the classic AlexNet, untrained (speed only)

Variants: eager (the reference); BN folded + channels-last (grouped-convolution head); + last conv
composed with the kernel and the matrix-product head (the optimized PyTorch path); the torch crop
path; onnxruntime (the same split, the CPU default); bfloat16 autocast. (torch.compile was a
variant until the tracker's compile option was dropped: docs/experiments.md.)
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
from pathlib import Path

import torch

from siamfc import SiamFCNet, SiamFCTracker, build_model, load_model
from siamfc.evaluation.speed import Candidate, load_frames, machine_info, time_candidates

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
from tool_errors import failer  # noqa: E402

fail = failer(__file__)


class GroupedHeadNet(SiamFCNet):
    """The same network, but with ``correlate`` overridden, so the engine keeps the model's own
    grouped-convolution head (BN folding and channels-last still apply)."""

    def correlate(self, kernels: torch.Tensor, search_features: torch.Tensor) -> torch.Tensor:
        return super().correlate(kernels, search_features)


def grouped_head(net: SiamFCNet) -> SiamFCNet:
    other = GroupedHeadNet(net.config)
    other.load_state_dict(net.state_dict())
    return other.eval()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--weights", default=None)
    parser.add_argument("--backbone", default=None, help="a registered backbone, untrained (instead of --weights)")
    parser.add_argument("--sequence", default=str(Path(__file__).resolve().parents[1].parent / "shared" / "data" /
                                                  "GOT-10k-mini" / "val" / "bag"))
    parser.add_argument("--frames", type=int, default=150)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    if (args.weights is None) == (args.backbone is None):
        parser.error("give one of --weights or --backbone")
    if args.frames < 1:
        fail(f"--frames {args.frames}: must be 1 or more")
    try:
        net = load_model(args.weights) if args.weights else build_model(backbone=args.backbone).eval()
        frames = load_frames(args.sequence, args.frames + 2)
    except (ValueError, OSError) as exc:  # a missing or bad checkpoint, an unknown backbone, no frames
        fail(str(exc).splitlines()[0])
    variants = {
        "eager (reference)": (net, {"optimize": False}),
        "BN folded + channels-last": (grouped_head(net), {"backend": "torch"}),
        "+ composed last conv, matmul head": (net, {"backend": "torch"}),
        "+ torch crops (device path)": (net, {"crop_backend": "torch"}),
        "onnxruntime (default)": (net, {"backend": "onnxruntime"}),
        "bfloat16 autocast": (net, {"dtype": "bfloat16"}),
    }
    candidates = []
    for name, (model, options) in variants.items():
        holder: dict = {}

        def start(i: int, model=model, options=options, holder=holder) -> None:
            if "t" not in holder:
                holder["t"] = SiamFCTracker(model=copy.deepcopy(model), **options)
            holder["t"].init(frames.rgb[i], frames.box)

        def step(i: int, holder=holder) -> None:
            holder["t"].update(frames.rgb[i])

        candidates.append(Candidate(name, start, step))
    results = time_candidates(candidates, len(frames.rgb), args.frames)
    eager = results[0]
    label = args.backbone or Path(args.weights).stem
    print(f"{label}, {frames.name}, {torch.get_num_threads()} threads, OMP_WAIT_POLICY="
          f"{os.environ.get('OMP_WAIT_POLICY')}")
    print(f"{'variant':36s} {'ms/frame':>9s} {'best':>7s} {'fps':>7s} {'x eager':>8s} {'x eager(best)':>14s} "
          f"{'start s':>8s}")
    for r in results:
        print(f"{r.name:36s} {r.ms_median:9.2f} {r.ms_min:7.2f} {r.fps:7.1f} {eager.ms_median / r.ms_median:8.2f} "
              f"{eager.ms_min / r.ms_min:14.2f} {r.startup_s:8.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": machine_info(torch.device("cpu")), "model": label,
                                               "results": [r.__dict__ for r in results]}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
