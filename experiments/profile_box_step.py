"""Per-part time of one siamfc_box tracking step on the CPU, next to OpenCV's TrackerNano on the same frames.

python experiments/profile_box_step.py [--frames 300] [--sequence DIR] [--nano-dir DIR] [--cprofile] [--sleeping-pool]

Parts (ms per frame, medians over rounds, ours and NanoTrack interleaved in chunks of 5 frames): the
whole ``update`` (as ``siamfc bench`` times it), and inside it the crop, the search graph, the decode
(decide + move), the lost-state monitor, the rest (checks, lock, boxes dict)."""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import time

import cv2

from siamfc.cli.bench import default_nano_dir, default_sequence
from siamfc.evaluation.speed import load_frames
from siamfc.evaluation.trackers import nano_factory
from siamfc.tracking import pipeline as pl
from siamfc.tracking import tracker as tr
from siamfc.tracking.engines import onnx_engines as oe


def instrument(parts: dict[str, float]) -> None:
    """Wrap the step's parts to add their time to ``parts`` (seconds)."""

    def timed(name, fn):
        def run(*a, **k):
            t0 = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                parts[name] = parts.get(name, 0.0) + time.perf_counter() - t0
        return run

    pl.geometry.crop_whole_pixels = timed("crop", pl.geometry.crop_whole_pixels)
    oe.BoxOnnxEngine.heads = timed("engine", oe.BoxOnnxEngine.heads)
    pl.decide = timed("decide", pl.decide)
    pl.move = timed("move", pl.move)
    pl.BoxPipeline.update = timed("pipeline", pl.BoxPipeline.update)
    tr.LostMonitor.after_step = timed("monitor", tr.LostMonitor.after_step)
    tr.check_finite = timed("check_finite", tr.check_finite)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--sequence", default=str(default_sequence()))
    parser.add_argument("--nano-dir", default=str(default_nano_dir()))
    parser.add_argument("--cprofile", action="store_true")
    parser.add_argument("--sleeping-pool", action="store_true",
                        help="the search session as before (pool threads that never spin: allow_spinning 0)")
    parser.add_argument("--no-parts", action="store_true", help="time whole updates only (no wrappers)")
    args = parser.parse_args()
    frames = load_frames(args.sequence, 100)
    parts: dict[str, float] = {}
    if not args.no_parts:
        instrument(parts)
    ours = tr.SiamFCTracker(model="siamfc_box")
    if args.sleeping_pool:
        from bench_box_levers import SEARCH, make_session

        ours.tracker.engine.sessions["search"] = make_session(SEARCH)
    nano = nano_factory(f"{args.nano_dir}/nanotrack_backbone_sim.onnx", f"{args.nano_dir}/nanotrack_head_sim.onnx")()
    box = tuple(int(round(v)) for v in frames.box)
    n = len(frames.rgb)
    times = {"ours": [], "nano": []}
    per_part: dict[str, list[float]] = {}
    ours.init(frames.rgb[0], frames.box)
    nano.init(frames.bgr[0], box)
    ours.update(frames.rgb[1])
    nano.update(frames.bgr[1])
    pos = 2
    prof = cProfile.Profile() if args.cprofile else None
    for _ in range(args.frames // 5):
        if pos + 5 > n:
            ours.init(frames.rgb[0], frames.box)
            nano.init(frames.bgr[0], box)
            pos = 1
        idx = range(pos, pos + 5)
        pos += 5
        parts.clear()
        if prof:
            prof.enable()
        t0 = time.perf_counter()
        for i in idx:
            ours.update(frames.rgb[i])
        t1 = time.perf_counter()
        if prof:
            prof.disable()
        times["ours"].append((t1 - t0) * 200)
        for k, v in parts.items():
            per_part.setdefault(k, []).append(v * 200)
        t0 = time.perf_counter()
        for i in idx:
            nano.update(frames.bgr[i])
        times["nano"].append((time.perf_counter() - t0) * 200)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"cv2 threads {cv2.getNumThreads()}, ORT intra threads {oe.default_threads()}")
    print(f"whole update ms: ours {med['ours']:.3f}  nano {med['nano']:.3f}  ratio (nano/ours, fps ratio) "
          f"{med['nano'] / med['ours']:.3f}")
    for k, v in per_part.items():
        print(f"  {k:14s} {statistics.median(v):.3f} ms")
    if prof:
        pstats.Stats(prof).sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    main()
