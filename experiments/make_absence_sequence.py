"""Make a sequence where the target leaves the view and comes back: a moving crop of a real one.

    python experiments/make_absence_sequence.py SEQ_DIR OUT_ROOT [--away 40] [--size 0.5]

A window of ``--size`` times the frame's width and height follows the target (centred on its
ground-truth box) until a third of the way through the sequence; then it pans away from the
target, to the far side of the frame, over 10 frames, stays there ``--away`` frames, and pans
back, following the target again to the end. Frames are the window's contents (JPEG); the ground
truth is the box in window coordinates, ``nan`` where less than a quarter of the box is inside
the window (the target counts as absent there, as GOT-10k's labels have it). Writes
``OUT_ROOT/<name>_away/`` (frames, ``groundtruth.txt``, ``absence.label``) and adds the name to
``OUT_ROOT/list.txt``, so ``siamfc eval --dataset folder --root OUT_ROOT`` and
``experiments/eval_lost.py --root OUT_ROOT`` read it. Made from val sequences, these are for measuring,
never for tuning.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from siamfc.data.sequences import frame_files, read_boxes  # noqa: E402


def window_centers(gt: np.ndarray, shape: tuple[int, int], size: tuple[int, int], away: int) -> np.ndarray:
    """(N, 2) window centres (cx, cy): on the target, then away and back."""
    h, w = shape
    ww, wh = size
    n = len(gt)
    visible = np.all(np.isfinite(gt), axis=1)
    centers = np.where(visible[:, None], gt[:, :2] + gt[:, 2:] / 2, np.nan)
    for i in range(n):  # carry the last known centre over absent frames
        if not visible[i]:
            centers[i] = centers[i - 1] if i else [w / 2, h / 2]
    lo, hi = np.array([ww / 2, wh / 2]), np.array([w - ww / 2, h - wh / 2])
    centers = np.clip(centers, lo, hi)
    start = n // 3
    pan = 10
    far = np.where(centers[start] < np.array([w, h]) / 2, hi, lo)  # the far corner
    for i in range(start, min(n, start + 2 * pan + away)):
        t = i - start
        share = min(t / pan, 1.0) if t < pan + away else max(0.0, 1 - (t - pan - away) / pan)
        centers[i] = (1 - share) * centers[i] + share * far
    return centers


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("seq", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--away", type=int, default=40)
    parser.add_argument("--size", type=float, default=0.5)
    args = parser.parse_args()
    gt = read_boxes(args.seq / "groundtruth.txt", columns=(4, 8))[:, :4]
    paths = frame_files(args.seq)[:len(gt)]
    first = cv2.imread(str(paths[0]))
    h, w = first.shape[:2]
    ww, wh = int(w * args.size), int(h * args.size)
    centers = window_centers(gt, (h, w), (ww, wh), args.away)
    out = args.out / f"{args.seq.name}_away"
    out.mkdir(parents=True, exist_ok=True)
    rows, absent = [], []
    for i, path in enumerate(paths):
        x0, y0 = int(round(centers[i][0] - ww / 2)), int(round(centers[i][1] - wh / 2))
        frame = cv2.imread(str(path))[y0:y0 + wh, x0:x0 + ww]
        cv2.imwrite(str(out / f"{i + 1:08d}.jpg"), frame, [cv2.IMWRITE_JPEG_QUALITY, 90])
        box = gt[i] - [x0, y0, 0, 0]
        inside = 0.0
        if np.all(np.isfinite(box)):
            ix = max(0.0, min(box[0] + box[2], ww) - max(box[0], 0))
            iy = max(0.0, min(box[1] + box[3], wh) - max(box[1], 0))
            inside = ix * iy / max(box[2] * box[3], 1e-9)
        gone = inside < 0.25
        if i == 0 and gone:
            raise SystemExit(f"{args.seq.name}: the target is not in the first window")
        rows.append("nan,nan,nan,nan" if gone else ",".join(f"{v:.2f}" for v in box))
        absent.append("1" if gone else "0")
    (out / "groundtruth.txt").write_text("\n".join(rows) + "\n")
    (out / "absence.label").write_text("\n".join(absent) + "\n")
    listing = args.out / "list.txt"
    names = listing.read_text().split() if listing.is_file() else []
    if out.name not in names:
        listing.write_text("\n".join([*names, out.name]) + "\n")
    print(f"{out}: {len(rows)} frames, {absent.count('1')} absent")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
