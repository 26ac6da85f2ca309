"""Measure the lost state and re-detection on the val sequences, several settings side by side.

    nice -n 10 python experiments/eval_lost.py [--variant NAME:key=value,key=value ...] [--json out.json]

Every variant runs on the same decoded frames (one sequence at a time). Per sequence: the OTB
success AUC (frame 1 and absent frames excluded, IoU with boxes clipped to the image, as
``siamfc eval`` computes it); over all sequences: the mean AUC with a 95% bootstrap interval over
sequences, the paired difference with the first variant, the VOT-LT F-score
(siamfc.evaluation.metrics), the fps of the steps that start tracking vs lost, and the false "lost":
frames whose box overlaps the ground truth with IoU >= 0.5 while the tracker says lost (present False).
Default variants: plain (no lost state), lost (no re-detection), redetect (the defaults).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from siamfc.data.registry import folder_sequences  # noqa: E402
from siamfc.data.sequences import frame_files, read_boxes  # noqa: E402
from siamfc.evaluation.got10k_compat import read_rgb  # noqa: E402
from siamfc.evaluation.metrics import f_score, sequence_curves, success_auc  # noqa: E402
from siamfc.evaluation.specs import parse_params  # noqa: E402
from siamfc.tracking.tracker import SiamFCTracker  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
VAL = [DATA / "GOT-10k-mini" / "val", DATA / "extra" / "val"]
DEFAULT_VARIANTS = ["plain:lost_threshold=0", "lost:redetect=False", "redetect:"]


def parse_variant(text: str) -> tuple[str, dict]:
    name, _, rest = text.partition(":")
    return name, parse_params(rest)


def run_sequence(tracker: SiamFCTracker, frames: list[np.ndarray], first_box: np.ndarray) -> dict:
    n = len(frames)
    boxes, scores = np.zeros((n, 4)), np.ones(n)
    present, lost_step = np.ones(n, bool), np.zeros(n, bool)
    times = np.zeros(n)
    tracker.init(frames[0], first_box)
    boxes[0] = first_box
    for f in range(1, n):
        lost_step[f] = not tracker.present
        tic = time.perf_counter()
        boxes[f] = tracker.update(frames[f])
        times[f] = time.perf_counter() - tic
        scores[f], present[f] = tracker.score, tracker.present
    return {"boxes": boxes, "scores": scores, "present": present, "lost_step": lost_step, "times": times}


def figures(run: dict, gt: np.ndarray, image_size: tuple[int, int]) -> dict:
    from got10k.utils.metrics import rect_iou

    visible = np.all(np.isfinite(gt), axis=1)
    ious = np.zeros(len(gt))
    w, h = image_size
    ious[visible] = rect_iou(run["boxes"][visible].copy(), gt[visible].copy(), bound=np.array([w, h]))
    keep = visible[1:]
    tracked = visible[1:] & (ious[1:] >= 0.5)
    return {"auc": success_auc(ious[1:][keep]), "curves": sequence_curves(ious[1:], visible[1:], run["scores"][1:]),
            "tracked": int(tracked.sum()), "lost_while_tracked": int((tracked & ~run["present"][1:]).sum()),
            "absent_reported": float(np.mean(~run["present"][1:][~visible[1:]])) if (~visible[1:]).any() else None}


def bootstrap(values: np.ndarray, rounds: int = 10000, seed: int = 0) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, len(values), (rounds, len(values)))].mean(axis=1)
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variant", action="append", help="NAME:key=value,... (TrackerConfig fields)")
    parser.add_argument("--weights", default=None)
    parser.add_argument("--sequences", default=None, help="comma-separated subset")
    parser.add_argument("--root", action="append", type=Path,
                        help="folder with list.txt and sequence folders (repeatable); default: the 12 val sequences")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    variants = [parse_variant(v) for v in (args.variant or DEFAULT_VARIANTS)]
    trackers = {name: SiamFCTracker(args.weights, **params) for name, params in variants}
    seqs = [root / seq.name for root in (args.root or VAL) for seq in folder_sequences(root)]
    if args.sequences:
        wanted = set(args.sequences.split(","))
        seqs = [s for s in seqs if s.name in wanted]
    per_seq: dict[str, dict] = {name: {} for name in trackers}
    timing = {name: {"track": [0, 0.0], "lost": [0, 0.0]} for name in trackers}
    for seq in seqs:
        gt = read_boxes(seq / "groundtruth.txt", columns=(4, 8))[:, :4]
        paths = frame_files(seq)[:len(gt)]
        frames = [read_rgb(p) for p in paths]
        size = (frames[0].shape[1], frames[0].shape[0])
        for name, tracker in trackers.items():
            run = run_sequence(tracker, frames, gt[0])
            per_seq[name][seq.name] = figures(run, gt, size)
            for key, sel in (("track", ~run["lost_step"][1:]), ("lost", run["lost_step"][1:])):
                timing[name][key][0] += int(sel.sum())
                timing[name][key][1] += float(run["times"][1:][sel].sum())
        line = "  ".join(f"{name} {per_seq[name][seq.name]['auc']:.3f}" for name in trackers)
        print(f"{seq.name:20s} {line}", flush=True)
    base = list(trackers)[0]
    names = list(per_seq[base])
    report = {}
    for name in trackers:
        aucs = np.array([per_seq[name][s]["auc"] for s in names])
        diff = aucs - np.array([per_seq[base][s]["auc"] for s in names])
        lt = f_score([per_seq[name][s]["curves"] for s in names])
        t = timing[name]
        tracked = sum(per_seq[name][s]["tracked"] for s in names)
        false_lost = sum(per_seq[name][s]["lost_while_tracked"] for s in names)
        fps = {k: (v[0] / v[1] if v[1] > 0 else None) for k, v in t.items()}
        report[name] = {"params": dict(variants)[name], "auc": dict(zip(names, aucs.tolist(), strict=True)),
                        "mean_auc": float(aucs.mean()), "mean_auc_ci": bootstrap(aucs),
                        "diff_vs_" + base: float(diff.mean()), "diff_ci": bootstrap(diff), "lt": lt,
                        "tracked_frames": tracked, "lost_while_tracked": false_lost,
                        "fps_tracking": fps["track"], "fps_lost": fps["lost"], "lost_steps": t["lost"][0],
                        "absent_reported": {s: per_seq[name][s]["absent_reported"] for s in names
                                            if per_seq[name][s]["absent_reported"] is not None}}
        ci, dci = report[name]["mean_auc_ci"], report[name]["diff_ci"]
        print(f"{name}: mean AUC {aucs.mean():.3f} [{ci[0]:.3f}, {ci[1]:.3f}]  diff vs {base} {diff.mean():+.4f} "
              f"[{dci[0]:+.4f}, {dci[1]:+.4f}]  F {lt['f_score']:.3f} (Pr {lt['precision']:.3f} Re {lt['recall']:.3f} "
              f"@ {lt['threshold']:.2f})  fps tracking {fps['track'] or 0:.0f}, lost {fps['lost'] or 0:.0f} "
              f"({t['lost'][0]} lost steps)  said lost on {false_lost} of {tracked} frames with IoU >= 0.5  "
              f"absent reported {report[name]['absent_reported']}")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
