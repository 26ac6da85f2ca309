"""Time a tracking step while tracking and while lost (re-detection on), and the confidence's own
cost inside a tracking step.

    OMP_WAIT_POLICY=PASSIVE python tools/bench_lost.py [--sequence DIR] [--frames 150] [--backend auto]

Tracking: the first box of ``--sequence`` (default: GOT-10k-mini val/bag) tracked over its frames.
Lost: the same target, then frames of the same size where it is not (grey noise), timed once the
lost state and the re-detection's grid are at their steady size (the grid covers the frame,
``redetect_tiles`` tiles + 1 check a frame). Medians of per-frame times, decoding excluded; the
confidence's share is the time spent in ``LostMonitor.after_step``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from siamfc.data.sequences import frame_files, read_boxes  # noqa: E402
from siamfc.evaluation.toolkit import read_rgb  # noqa: E402
from siamfc.tracking.tracker import SiamFCTracker  # noqa: E402


def timed_run(tracker: SiamFCTracker, first: np.ndarray, box: np.ndarray, frames: list[np.ndarray]) -> tuple[
        np.ndarray, np.ndarray, list[bool]]:
    monitor = tracker.tracker.monitor
    spent: list[float] = []
    original = monitor.after_step

    def after_step(image, maps):
        tic = time.perf_counter()
        out = original(image, maps)
        spent.append(time.perf_counter() - tic)
        return out

    monitor.after_step = after_step
    tracker.init(first, box)
    times, present = [], []
    for image in frames:
        tic = time.perf_counter()
        tracker.update(image)
        times.append(time.perf_counter() - tic)
        present.append(tracker.present)
    monitor.after_step = original
    return np.array(times), np.array(spent), present


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sequence", default=str(ROOT.parent / "shared" / "data" / "GOT-10k-mini" / "val" / "bag"))
    parser.add_argument("--frames", type=int, default=150)
    parser.add_argument("--backend", default="auto")
    args = parser.parse_args()
    seq = Path(args.sequence)
    gt = read_boxes(seq / "groundtruth.txt", columns=(4, 8))[:, :4]
    frames = [read_rgb(p) for p in frame_files(seq)[:len(gt)]]
    tracked = (frames[1:] * (args.frames // max(len(frames) - 1, 1) + 1))[:args.frames]
    rng = np.random.default_rng(0)
    away = [rng.normal(120, 20, f.shape).clip(0, 255).astype(np.uint8) for f in tracked[:20]] * (len(tracked) // 20 + 2)
    tracker = SiamFCTracker(backend=args.backend)
    times, spent, _ = timed_run(tracker, frames[0], gt[0], tracked)
    print(f"tracking: {1e3 * np.median(times):.2f} ms/frame ({1 / np.median(times):.0f} fps); confidence and lost "
          f"state {1e6 * np.median(spent):.0f} us of it")
    cfg = tracker.cfg
    skip = cfg.lost_patience + cfg.redetect_delay + 12  # lost, past the delay, the grid grown
    times, _, present = timed_run(tracker, frames[0], gt[0], away[:args.frames + skip])
    lost = times[skip:][~np.array(present[skip:])]
    print(f"lost (re-detection on, {cfg.redetect_tiles} tiles + 1 a frame): {1e3 * np.median(lost):.2f} ms/frame "
          f"({1 / np.median(lost):.0f} fps), {len(lost)} frames; while lost before re-detection starts: "
          f"{1e3 * np.median(times[cfg.lost_patience + 1:cfg.lost_patience + cfg.redetect_delay]):.2f} ms/frame")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
