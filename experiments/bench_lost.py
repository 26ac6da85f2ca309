"""Time a tracking step while tracking and while lost (re-detection on), and the confidence's own
cost inside a tracking step.

    OMP_WAIT_POLICY=PASSIVE python experiments/bench_lost.py [--sequence DIR] [--frames 150] [--backend auto]

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
sys.path.insert(0, str(ROOT / "tools"))  # tool_errors

from tool_errors import failer, shared_dir  # noqa: E402

from siamfc.data.sequences import frame_files, read_boxes  # noqa: E402
from siamfc.evaluation.got10k_compat import read_rgb  # noqa: E402
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


fail = failer(__file__)


def read_sequence(seq: Path, count: int) -> tuple[list[np.ndarray], np.ndarray]:
    """The first box and up to ``count`` frames of ``seq`` (a one-line error when they are not there)."""
    if not seq.is_dir():
        fail(f"--sequence {seq}: no such folder")
    try:
        gt = read_boxes(seq / "groundtruth.txt", columns=(4, 8))[:, :4]
        paths = frame_files(seq)[:min(len(gt), count)]
        frames = [read_rgb(p) for p in paths]
    except (OSError, ValueError) as exc:
        fail(f"--sequence {seq}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}")
    if len(frames) < 2:
        fail(f"--sequence {seq}: needs 2 or more frames with boxes (found {len(frames)})")
    return frames, gt


def ms(times: np.ndarray) -> str:
    """The median of ``times`` (s) as ms/frame and fps, or n/a for none."""
    if len(times) == 0:
        return "n/a (no such frames)"
    median = float(np.median(times))
    return f"{1e3 * median:.2f} ms/frame ({1 / median:.0f} fps)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    shared = shared_dir()
    parser.add_argument("--sequence", type=Path, default=shared / "data" / "GOT-10k-mini" / "val" / "bag",
                        help="a sequence folder with groundtruth.txt (default: GOT-10k-mini val/bag in the shared "
                             "data beside the repository, or $SIAMFC_SHARED)")
    parser.add_argument("--frames", type=int, default=150, help="timed frames, tracking and lost (default 150)")
    parser.add_argument("--backend", default="auto", choices=("auto", "torch", "onnxruntime"))
    args = parser.parse_args(argv)
    if args.frames < 1:
        fail(f"--frames {args.frames}: must be 1 or more")
    frames, gt = read_sequence(args.sequence, args.frames + 1)
    tracked = (frames[1:] * (args.frames // (len(frames) - 1) + 1))[:args.frames]
    try:
        tracker = SiamFCTracker(backend=args.backend)
    except ValueError as exc:  # e.g. no shipped model, or a backend this machine cannot run
        fail(str(exc).splitlines()[0])
    times, spent, _ = timed_run(tracker, frames[0], gt[0], tracked)
    print(f"tracking: {ms(times)}; confidence and lost state {1e6 * np.median(spent):.0f} us of it")
    cfg = tracker.cfg
    skip = cfg.lost_patience + cfg.redetect_delay + 12  # lost, past the delay, the grid grown
    # grey noise of the frames' size, cycled: the lost run times --frames frames after the first ``skip``
    rng = np.random.default_rng(0)
    noise = [rng.normal(120, 20, f.shape).clip(0, 255).astype(np.uint8) for f in tracked[:20]]
    away = [noise[i % len(noise)] for i in range(args.frames + skip)]
    times, _, present = timed_run(tracker, frames[0], gt[0], away)
    lost = times[skip:][~np.array(present[skip:], dtype=bool)]
    waiting = times[cfg.lost_patience + 1:cfg.lost_patience + cfg.redetect_delay]
    print(f"lost (re-detection on, {cfg.redetect_tiles} tiles + 1 a frame): {ms(lost)}, {len(lost)} frames; "
          f"while lost before re-detection starts: {ms(waiting)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
