"""Fit the confidence calibration of a model on training sequences (never on val).

    python experiments/calibrate_confidence.py [--weights CKPT] [--root ../shared/data/GOT-10k-mini]
                                         [--subset train] [--write]

For every frame of every sequence the tracker runs (lost state off, so its boxes are the plain
SiamFC's) and records the two statistics of its response map (siamfc.tracking.confidence); the label is
whether the box is on the target (IoU >= ``--iou``, 0.5, with the ground truth; an absent target counts as
missed). Training sequences are mostly tracked well, so every ``--every``-th frame also adds
the map of a search region placed off the target (two tile steps away, inside the frame) as a
miss: that is what the map looks like while the target is gone. A logistic fit of the label on
the statistics gives the weights; with ``--write`` they go beside the checkpoint in
``<checkpoint>.confidence.json``, which the tracker reads (else it uses the built-in weights
``siamfc.tracking.confidence.DEFAULT_CALIBRATION``). Prints the weights and a reliability table (mean
confidence vs share of hits per bin) to check that 0.5 means what it says.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from siamfc.data.registry import folder_sequences  # noqa: E402
from siamfc.data.sequences import frame_files, read_boxes  # noqa: E402
from siamfc.evaluation.got10k_compat import read_rgb  # noqa: E402
from siamfc.geometry import iou  # noqa: E402
from siamfc.tracking.confidence import Calibration, map_statistics, sidecar_path  # noqa: E402
from siamfc.tracking.lost import tile_step  # noqa: E402
from siamfc.tracking.tracker import SiamFCTracker, resolve_weights  # noqa: E402


def fit_logistic(features: np.ndarray, labels: np.ndarray, weights: np.ndarray | None = None,
                 l2: float = 1e-3, steps: int = 50) -> np.ndarray:
    """Logistic regression by Newton's method: (F + 1,) coefficients, the bias first."""
    x = np.hstack([np.ones((len(features), 1)), np.asarray(features, np.float64)])
    y = np.asarray(labels, np.float64)
    sw = np.ones(len(y)) if weights is None else np.asarray(weights, np.float64)
    beta = np.zeros(x.shape[1])
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-np.clip(x @ beta, -40, 40)))
        grad = x.T @ (sw * (p - y)) + l2 * beta
        hess = (x * (sw * p * (1 - p))[:, None]).T @ x + l2 * np.eye(x.shape[1])
        step = np.linalg.solve(hess, grad)
        beta -= step
        if np.max(np.abs(step)) < 1e-8:
            break
    return beta


def sequence_features(tracker: SiamFCTracker, seq_dir: Path, every: int, rng: np.random.Generator,
                      on_target: float) -> tuple[list, list]:
    frames = frame_files(seq_dir)
    gt = read_boxes(seq_dir / "groundtruth.txt", columns=(4, 8))[:, :4]
    first = int(np.argmax(np.all(np.isfinite(gt), axis=1)))
    multi = tracker.tracker
    feats, labels = [], []
    image = read_rgb(frames[first])
    tracker.init(image, gt[first])
    watch = multi.monitor.watches[0]
    search = multi.monitor.search
    for f in range(first + 1, min(len(frames), len(gt))):
        image = read_rgb(frames[f])
        box = tracker.update(image)
        psr, height, _ = map_statistics(multi.pipeline.maps)
        feats.append([psr[0], min(height[0] / watch.reference, 2.0)])
        visible = np.all(np.isfinite(gt[f]))
        labels.append(bool(visible and iou(box, gt[f])[0] >= on_target))
        if f % every == 0 and visible:  # a region off the target: a miss
            center, _, x_size = multi.pipeline.target(0)
            step = tile_step(x_size, search.search_size, search.response_size, search.stride)
            angle = rng.uniform(0, 2 * np.pi)
            gy, gx = gt[f][1] + gt[f][3] / 2, gt[f][0] + gt[f][2] / 2
            off = np.array([gy, gx]) + 2 * step * np.array([np.sin(angle), np.cos(angle)])
            off = np.clip(off, 0, np.array(image.shape[:2]) - 1)
            maps = search.maps(image, multi.pipeline.kernels[0], off[None], x_size, multi.pipeline.target_color(0))
            psr_n, height_n, _ = map_statistics(maps)
            feats.append([psr_n[0], min(height_n[0] / watch.reference, 2.0)])
            labels.append(False)
            del center
    return feats, labels


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--weights", default=None, help="checkpoint (default: the shipped model)")
    parser.add_argument("--root", default=str(ROOT.parent / "shared" / "data" / "GOT-10k-mini"))
    parser.add_argument("--subset", default="train")
    parser.add_argument("--every", type=int, default=3, help="an off-target map every N frames")
    parser.add_argument("--iou", type=float, default=0.5, help="IoU from which a box is on the target")
    parser.add_argument("--write", action="store_true", help="write <checkpoint>.confidence.json")
    args = parser.parse_args()
    root = Path(args.root) / args.subset
    if args.subset != "train":
        print("warning: calibrating on a subset other than train", file=sys.stderr)
    names = [seq.name for seq in folder_sequences(root)]
    tracker = SiamFCTracker(args.weights, lost_threshold=0.0, redetect=False)
    rng = np.random.default_rng(0)
    feats, labels = [], []
    for name in names:
        f, lab = sequence_features(tracker, root / name, args.every, rng, args.iou)
        feats += f
        labels += lab
        print(f"{name}: {len(lab)} maps, {np.mean(lab):.2f} on target", file=sys.stderr)
    x, y = np.array(feats), np.array(labels)
    beta = fit_logistic(x, y)
    weights = resolve_weights(args.weights)
    cal = Calibration(float(beta[0]), float(beta[1]), float(beta[2]), source="experiments/calibrate_confidence.py "
                      f"on {args.subset} of {Path(args.root).name}, {len(y)} maps, checkpoint {Path(weights).name}")
    conf = cal.confidence(x[:, 0], x[:, 1])
    print(f"Calibration(bias={cal.bias:.4f}, w_psr={cal.w_psr:.4f}, w_rel={cal.w_rel:.4f})  "
          f"{len(y)} maps, {y.mean():.2f} on target")
    print("confidence bin   maps   mean confidence   share on target")
    edges = np.linspace(0, 1, 11)
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        sel = (conf >= lo) & (conf < hi if hi < 1 else conf <= hi)
        if sel.any():
            print(f"[{lo:.1f}, {hi:.1f})     {sel.sum():5d}   {conf[sel].mean():.3f}             {y[sel].mean():.3f}")
    if args.write:
        path = sidecar_path(weights)
        path.write_text(cal.to_json())
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
