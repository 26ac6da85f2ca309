"""Do the fast paths give the eager path's boxes? Tracks every sequence of a GOT-10k-layout subset
with the plain eager tracker and with each chosen variant, and prints the mean IoU between their
boxes (per sequence and over all frames) and each variant's frames/s in the same run.

    python experiments/bench_equivalence.py --weights ../shared/weights/fdsiamfc_30.pth \
        --root ../shared/data/GOT-10k-mini/val --variants default,torch,torch-crop
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from siamfc import SiamFCTracker, geometry
from siamfc.data.sequences import frame_files, read_boxes

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
from tool_errors import failer  # noqa: E402

VARIANTS = {
    "eager": {"optimize": False},
    "default": {},  # backend "auto": ONNX Runtime on the CPU
    "torch": {"backend": "torch"},  # the optimized PyTorch path
    "torch-crop": {"crop_backend": "torch"},
    "onnxruntime": {"backend": "onnxruntime"},
    "bfloat16": {"dtype": "bfloat16"},
    "compile": {"compile": True},
}


fail = failer(__file__)


def read(seq_dir: Path) -> tuple[list[np.ndarray], np.ndarray]:
    paths = frame_files(seq_dir)
    gt = read_boxes(seq_dir / "groundtruth.txt", columns=(4,))
    return [cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB) for p in paths], gt


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--weights", required=True)
    parser.add_argument("--root", required=True, help="a subset folder with list.txt (e.g. GOT-10k-mini/val)")
    parser.add_argument("--variants", default="default,torch,torch-crop", help=f"comma list of {', '.join(VARIANTS)}")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    variants = ["eager", *[v for v in args.variants.split(",") if v and v != "eager"]]
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        parser.error(f"unknown variant(s) {', '.join(unknown)}")
    root = Path(args.root)
    if not (root / "list.txt").is_file():
        fail(f"--root {root}: no list.txt in it (a GOT-10k-layout subset folder, e.g. GOT-10k-mini/val)")
    names = (root / "list.txt").read_text().split()
    try:
        SiamFCTracker(args.weights, **VARIANTS["eager"])  # a missing or bad checkpoint is refused before any run
        for name in names:
            read_boxes(root / name / "groundtruth.txt", columns=(4,))
    except (ValueError, OSError) as exc:
        fail(str(exc).splitlines()[0])
    ious: dict[str, list[np.ndarray]] = {v: [] for v in variants[1:]}
    seconds = dict.fromkeys(variants, 0.0)
    frames_total = 0
    per_sequence = {}
    for name in tqdm(names, desc="sequences"):
        frames, gt = read(root / name)
        boxes = {}
        for v in variants:
            tracker = SiamFCTracker(args.weights, **VARIANTS[v])
            tracker.init(frames[0], gt[0])
            t0 = time.perf_counter()
            boxes[v] = np.array([tracker.update(f) for f in frames[1:]])
            seconds[v] += time.perf_counter() - t0
        frames_total += len(frames) - 1
        per_sequence[name] = {}
        for v in variants[1:]:
            iou = geometry.iou(boxes[v], boxes["eager"])
            ious[v].append(iou)
            per_sequence[name][v] = float(iou.mean())
            print(f"{name:18s} {v:12s} mean IoU vs eager {iou.mean():.4f} (min {iou.min():.3f})")
    summary = {v: {"mean_iou_vs_eager": float(np.concatenate(ious[v]).mean()) if v != "eager" else 1.0,
                   "fps": frames_total / seconds[v], "speedup_vs_eager": seconds["eager"] / seconds[v]}
               for v in variants}
    for v, s in summary.items():
        print(f"{v:12s} mean IoU vs eager over {frames_total} frames: {s['mean_iou_vs_eager']:.4f}   "
              f"{s['fps']:6.1f} frames/s   x{s['speedup_vs_eager']:.2f} vs eager")
    if args.json:
        Path(args.json).write_text(json.dumps({"summary": summary, "per_sequence": per_sequence}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
