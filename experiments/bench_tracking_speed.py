#!/usr/bin/env python3
"""Per-frame CPU tracking time of SiamFC (3 scales): the classic AlexNet and the 30%-width one,
with 1 and 2 threads, side by side in one run.

Frames are real (a GOT-10k-mini val sequence), decoded before timing; only ``tracker.update``
is timed, warm-up frames excluded. The configurations are interleaved in rounds so that a
background load hits them alike; compare the ratios more than the absolute figures.

    python experiments/bench_tracking_speed.py [--frames 60] [--rounds 3] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from siamfc import CheckpointError, ModelConfig, SiamFCNet, SiamFCTracker, build_model, load_model
from siamfc.data.sequences import frame_files, read_boxes

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
from tool_errors import failer, shared_dir  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
fail = failer(__file__)


@dataclass
class Result:
    model: str
    channels: tuple[int, ...]
    threads: int
    frames: int
    median_ms: float
    mean_ms: float
    p90_ms: float
    fps: float  # 1000 / median


def read_sequence(seq_dir: Path, count: int) -> tuple[list[np.ndarray], np.ndarray]:
    if not seq_dir.is_dir():
        fail(f"--sequence {seq_dir}: no such folder (set SIAMFC_SHARED or pass --sequence)")
    try:
        paths = frame_files(seq_dir)[:count]
        box = read_boxes(seq_dir / "groundtruth.txt", columns=(4,))[0]
    except (ValueError, OSError) as exc:
        fail(str(exc).splitlines()[0])
    if not paths:
        fail(f"--sequence {seq_dir}: no frames in it")
    frames = []
    for p in paths:
        image = cv2.imread(os.fspath(p))
        if image is None:
            fail(f"{p}: cannot decode the image")
        frames.append(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
    return frames, box


def models(weights30: Path | None) -> dict[str, SiamFCNet]:
    torch.manual_seed(0)
    classic = build_model(ModelConfig(backbone="alexnet", width=1.0)).eval()
    if weights30 is not None and weights30.is_file():
        light, light_name = load_model(weights30), f"alexnet 30% ({weights30.name})"
    else:
        light, light_name = build_model(ModelConfig(backbone="alexnet_w30")).eval(), "alexnet 30% (random)"
    return {"alexnet 100% (random)": classic, light_name: light}


def time_updates(tracker: SiamFCTracker, frames: list[np.ndarray], box: np.ndarray, warmup: int) -> list[float]:
    """Milliseconds of each ``update`` after ``warmup`` untimed ones (frames cycle if too few)."""
    tracker.init(frames[0], box)
    times = []
    for i in range(1, len(frames)):
        start = time.perf_counter()
        tracker.update(frames[i])
        elapsed = (time.perf_counter() - start) * 1000
        if i > warmup:
            times.append(elapsed)
    return times


def run(args: argparse.Namespace) -> list[Result]:
    frames, box = read_sequence(args.sequence, args.frames + 1)
    nets = models(args.weights30)
    configs = [(name, t) for name in nets for t in args.threads]
    samples: dict[tuple[str, int], list[float]] = {c: [] for c in configs}
    saved_threads = torch.get_num_threads()
    try:
        for r in range(args.rounds):
            for name, threads in configs if r % 2 == 0 else reversed(configs):
                torch.set_num_threads(threads)
                tracker = SiamFCTracker(model=nets[name], name=name)
                samples[(name, threads)] += time_updates(tracker, frames, box, args.warmup)
                print(f"  round {r + 1}/{args.rounds}: {name}, {threads} thread(s) done", file=sys.stderr)
    finally:
        torch.set_num_threads(saved_threads)
    results = []
    for name, threads in configs:
        ms = np.array(samples[(name, threads)])
        median = float(np.median(ms))
        results.append(Result(name, tuple(nets[name].backbone.channels), threads, len(ms), median,
                              float(ms.mean()), float(np.percentile(ms, 90)), 1000.0 / median))
    return results


def table(results: list[Result]) -> str:
    header = f"{'model':<34} {'channels':<26} {'threads':>7} {'frames':>6} {'median ms':>9} " \
             f"{'mean ms':>8} {'p90 ms':>7} {'fps':>7}"
    lines = [header, "-" * len(header)]
    for r in results:
        lines.append(f"{r.model:<34} {','.join(map(str, r.channels)):<26} {r.threads:>7} {r.frames:>6} "
                     f"{r.median_ms:>9.2f} {r.mean_ms:>8.2f} {r.p90_ms:>7.2f} {r.fps:>7.1f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    default_seq = shared_dir() / "data" / "GOT-10k-mini" / "val" / "Crossing"
    default_w30 = shared_dir() / "weights" / "fdsiamfc_30.pth"
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sequence", type=Path, default=default_seq, help="GOT-10k-layout sequence folder")
    p.add_argument("--frames", type=int, default=60, help="tracked frames per round (after frame 1)")
    p.add_argument("--warmup", type=int, default=5, help="untimed updates at the start of each round")
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds over all configurations")
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--weights30", type=Path, default=default_w30,
                   help="weights of the 30%% model (random init when the file is absent)")
    p.add_argument("--json", type=Path, help="also write the results to this JSON file")
    args = p.parse_args(argv)
    if args.frames <= args.warmup or args.warmup < 0:
        fail(f"--frames {args.frames} must exceed --warmup {args.warmup} (0 or more)")
    if args.rounds < 1 or any(t < 1 for t in args.threads):
        fail("--rounds and --threads must be 1 or more")
    try:
        results = run(args)
    except CheckpointError as exc:
        fail(str(exc).splitlines()[0])
    print(f"SiamFC tracking speed, CPU ({platform.processor() or platform.machine()}, {os.cpu_count()} cores), "
          f"torch {torch.__version__}, 3 scales, {args.sequence.name}, decoding excluded")
    print(table(results))
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in results], indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
