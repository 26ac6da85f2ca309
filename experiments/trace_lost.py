"""Per-frame trace of one sequence: IoU with the ground truth, confidence, lost state, for one or
more tracker settings side by side (to see what happens around an occlusion or an absence).

    nice -n 10 python experiments/trace_lost.py SEQ_FOLDER [--variant NAME:key=value,...] [--frames A:B]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from eval_lost import parse_variant, run_sequence  # noqa: E402

from siamfc.data.sequences import frame_files, read_boxes  # noqa: E402
from siamfc.evaluation.got10k_compat import read_rgb  # noqa: E402
from siamfc.tracking.tracker import SiamFCTracker  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sequence", type=Path)
    parser.add_argument("--variant", action="append", help="NAME:key=value,... (TrackerConfig fields)")
    parser.add_argument("--frames", default=None, help="A:B, the frames to print (default: all)")
    args = parser.parse_args()
    from got10k.utils.metrics import rect_iou

    gt = read_boxes(args.sequence / "groundtruth.txt", columns=(4, 8))[:, :4]
    frames = [read_rgb(p) for p in frame_files(args.sequence)[:len(gt)]]
    h, w = frames[0].shape[:2]
    visible = np.all(np.isfinite(gt), axis=1)
    columns = []
    for name, params in [parse_variant(v) for v in (args.variant or ["default:"])]:
        run = run_sequence(SiamFCTracker(**params), frames, gt[0])
        iou = np.full(len(gt), np.nan)
        iou[visible] = rect_iou(run["boxes"][visible].copy(), gt[visible].copy(), bound=np.array([w, h]))
        columns.append((name, run, iou))
    a, _, b = (args.frames or f"0:{len(gt)}").partition(":")
    print("frame vis " + "  ".join(f"{n:>8s}:iou  conf P  cx     cy" for n, _, _ in columns))
    for f in range(int(a), min(int(b), len(gt))):
        cells = []
        for _, run, iou in columns:
            x, y, bw, bh = run["boxes"][f]
            cells.append(f"{iou[f]:12.2f} {run['scores'][f]:5.2f} {'P' if run['present'][f] else '-'} "
                         f"{x + bw / 2:6.0f} {y + bh / 2:6.0f}")
        gx = gt[f, 0] + gt[f, 2] / 2 if visible[f] else np.nan
        gy = gt[f, 1] + gt[f, 3] / 2 if visible[f] else np.nan
        print(f"{f:5d} {'V' if visible[f] else '-'} " + "  ".join(cells) + f"   gt {gx:6.0f} {gy:6.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
