"""ONNX Runtime levers for the siamfc_box step, next to OpenCV's TrackerNano in the same run.

python experiments/bench_box_levers.py --variants NAME [--frames 300]

for v in base spinstop10 t1 spinstop; do python experiments/bench_box_levers.py --variants $v --frames 200; done

"base" is the session as it was before (2 threads that sleep between operators), "spinstop10" the
shipped one (siamfc/tracking/engines/onnx_engines.py: spin at most 10 us, stop when the run returns).
Time one variant per process: the spinning pools of several sessions in one process take the cores
from each other. Every variant is the whole tracker update (SiamFCTracker(model="siamfc_box")) with its search
session swapped for one built with other options; all variants and NanoTrack are timed round-robin
on the same frames, 5 frames a turn; the figures are NanoTrack's median ms over ours (x Nano, as
``siamfc bench`` reports it) and the same of the best chunks (the nearest to idle cores on a busy machine)."""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort

from siamfc.cli.bench import default_nano_dir, default_sequence
from siamfc.evaluation.speed import load_frames
from siamfc.evaluation.trackers import nano_factory
from siamfc.tracking.tracker import SiamFCTracker

SEARCH = str(Path(__file__).resolve().parents[1] / "siamfc/weights/siamfc_box.onnx/search.onnx")


def static_graph(path: str, batch: int = 1) -> bytes:
    """The graph with its batch dimension fixed (shape ops can then be folded)."""
    import onnx

    model = onnx.load(path)
    for value in list(model.graph.input) + list(model.graph.output):
        dim = value.type.tensor_type.shape.dim[0]
        dim.Clear()
        dim.dim_value = batch
    return model.SerializeToString()


def make_session(model, threads=2, spin="0", inter=1, mode=None, denormal=False, level="all", stop=False,
                 spin_us=None):
    options = ort.SessionOptions()
    if threads is not None:
        options.intra_op_num_threads = threads
    options.inter_op_num_threads = inter
    options.graph_optimization_level = {"all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
                                        "ext": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED}[level]
    if spin is not None:
        options.add_session_config_entry("session.intra_op.allow_spinning", spin)
    if spin_us is not None:  # how long an idle pool thread spins before it sleeps
        options.add_session_config_entry("session.intra_op.spin_duration_us", str(spin_us))
    if stop:  # spin between a run's operators, sleep once the run returns
        options.add_session_config_entry("session.force_spinning_stop", "1")
    if denormal:
        options.add_session_config_entry("session.set_denormal_as_zero", "1")
    if mode == "parallel":
        options.execution_mode = ort.ExecutionMode.ORT_PARALLEL
    options.log_severity_level = 4
    return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])


VARIANTS = {
    "base": lambda: make_session(SEARCH),
    "spin": lambda: make_session(SEARCH, spin="1"),
    "t1": lambda: make_session(SEARCH, threads=1),
    "t0": lambda: make_session(SEARCH, threads=0, spin=None),  # ORT's defaults (threads = cores, spinning)
    "denormal": lambda: make_session(SEARCH, denormal=True),
    "parallel": lambda: make_session(SEARCH, mode="parallel", inter=2),
    "extended": lambda: make_session(SEARCH, level="ext"),
    "static": lambda: make_session(static_graph(SEARCH)),
    "static_spin": lambda: make_session(static_graph(SEARCH), spin="1"),
    "spinstop": lambda: make_session(SEARCH, spin="1", stop=True),
    "static_spinstop": lambda: make_session(static_graph(SEARCH), spin="1", stop=True),
    **{f"spinstop{us}": (lambda us=us: make_session(SEARCH, spin="1", stop=True, spin_us=us))
       for us in (5, 10, 20, 50, 200, 1000)},
    "static_t1": lambda: make_session(static_graph(SEARCH), threads=1),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--variants", default="base,spin,t1,t0,static,static_spin")
    parser.add_argument("--sequence", default=str(default_sequence()))
    parser.add_argument("--nano-dir", default=str(default_nano_dir()))
    args = parser.parse_args()
    frames = load_frames(args.sequence, 100)
    n = len(frames.rgb)
    box = tuple(int(round(v)) for v in frames.box)
    runners = {}
    for name in args.variants.split(","):
        t = SiamFCTracker(model="siamfc_box")
        t.tracker.engine.sessions["search"] = VARIANTS[name]()
        runners[name] = (lambda i, t=t: t.init(frames.rgb[i], frames.box), lambda i, t=t: t.update(frames.rgb[i]))
    nano = {}
    make_nano = nano_factory(f"{args.nano_dir}/nanotrack_backbone_sim.onnx", f"{args.nano_dir}/nanotrack_head_sim.onnx")

    def nano_start(i):
        nano["t"] = make_nano()
        nano["t"].init(frames.bgr[i], box)

    runners["nano"] = (nano_start, lambda i: nano["t"].update(frames.bgr[i]))
    times = {k: [] for k in runners}
    out = {}
    for start, step in runners.values():
        start(0)
        step(1)
    pos = 2
    for _ in range(args.frames // 5):
        if pos + 5 > n:
            for start, _ in runners.values():
                start(0)
            pos = 1
        for name, (_, step) in runners.items():
            t0 = time.perf_counter()
            for i in range(pos, pos + 5):
                r = step(i)
            times[name].append((time.perf_counter() - t0) * 200)
            if name != "nano":
                out.setdefault(name, []).append(np.asarray(r))
        pos += 5
    nano_ms, nano_best = statistics.median(times["nano"]), min(times["nano"])
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"{name:12s} best {min(ts):6.3f} ms  x Nano (best) {nano_best / min(ts):5.3f}", end="  ")
        same = "" if name in ("nano", "base") or "base" not in out else \
            f"  max |box - base's| {np.abs(np.array(out[name]) - np.array(out['base'])).max():.2e} px"
        print(f"{name:12s} {med:6.3f} ms  x Nano {nano_ms / med:5.3f}{same}")


if __name__ == "__main__":
    main()
