"""The speed and memory benchmark of ``siamfc bench``: our trackers next to OpenCV's on the same
decoded frames, timed in turns of a few frames each, so that a background load hits all alike."""

from __future__ import annotations

import contextlib
import functools
import gc
import itertools
import os
import platform
import resource
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import torch

from ..data.sequences import read_boxes
from ..errors import SiamFCError
from .benchmarks import check_first_box
from .trackers import TrackerUnavailable, cv_constructor, nano_factory, nano_files


@dataclass
class Frames:
    """Decoded frames, RGB and BGR (OpenCV's trackers take BGR), and the first frame's box."""

    name: str
    rgb: list[np.ndarray]
    bgr: list[np.ndarray]
    box: np.ndarray


def load_frames(source: str | os.PathLike, count: int, groundtruth: str | os.PathLike | None = None) -> Frames:
    """The first ``count`` frames of a sequence folder or a video (its undecodable frames skipped) and the first
    box of ``groundtruth`` (default: the ``groundtruth.txt`` in the folder, or beside the video)."""
    from ..io.video import open_source

    source = Path(source)
    gt = Path(groundtruth) if groundtruth else (source.parent if source.is_file() else source) / "groundtruth.txt"
    with open_source(os.fspath(source)) as video:
        frames = list(itertools.islice(video.frames(), count))
        bad = [video.files[f.index] for f in frames if f.image is None and source.is_dir()]
    if bad:
        raise SiamFCError(f"{bad[0]}: cannot decode the image", bad[0])
    rgb = [f.image for f in frames if f.image is not None]
    if len(rgb) < 3:  # a start, a first update, and at least one timed frame
        raise SiamFCError(f"{source}: {len(rgb)} decodable frame(s); a benchmark needs at least 3", str(source))
    box = read_boxes(gt)[0, :4]
    check_first_box(box, str(gt))
    bgr = [cv2.cvtColor(image, cv2.COLOR_RGB2BGR) for image in rgb]
    return Frames(source.stem if source.is_file() else source.name, rgb, bgr, box)


def rss_mb() -> float:
    """Current resident memory of this process (MiB; the peak so far where there is no /proc)."""
    try:
        return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return peak_rss_mb()


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (MiB)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 / (1024 if platform.system() == "Darwin" else 1)


@dataclass
class Candidate:
    """A tracker to time: ``start(frame_index)`` then ``step(frame_index)`` for each next frame."""

    name: str
    start: Callable[[int], None]
    step: Callable[[int], None]
    info: dict = field(default_factory=dict)


def tracker_candidate(name: str, make: Callable[[], object], images: list[np.ndarray], box: object, info: dict,
                      fresh: bool = False) -> Candidate:
    """The tracker ``make()`` builds (once, or at each start when ``fresh``): ``init(images[i], box)``, ``update``."""
    held: dict[str, object] = {}

    def start(i: int) -> None:
        if fresh or not held:
            held["t"] = make()
        held["t"].init(images[i], box)

    return Candidate(name, start, lambda i: held["t"].update(images[i]), info)


@dataclass
class Result:
    name: str
    ms_median: float
    ms_min: float
    fps: float
    frames_timed: int
    startup_s: float
    rss_delta_mb: float
    gpu_peak_mb: float | None = None
    info: dict = field(default_factory=dict)
    ratio_to_reference: float | None = None


def opencv_trackers(frames: Frames, nano_dir: str | os.PathLike) -> tuple[list[Candidate], dict[str, str]]:
    """OpenCV's NanoTrack (its model in ``nano_dir``), MIL, CSRT and KCF (where built), and why any is left out."""
    makers = {f"OpenCV {name}": cv_constructor(name.lower()) for name in ("MIL", "CSRT", "KCF")}
    missing = {name: "not available in this OpenCV build" for name, make in makers.items() if make is None}
    try:
        makers = {"OpenCV NanoTrack": nano_factory(*nano_files(nano_dir)), **makers}
    except TrackerUnavailable:
        missing = {"OpenCV NanoTrack": "not available in this OpenCV build", **missing}
    except SiamFCError:
        missing = {"OpenCV NanoTrack": f"model files not found in {nano_dir}", **missing}
    box = tuple(int(round(v)) for v in frames.box)
    info = {"library": f"opencv {cv2.__version__}"}
    return [tracker_candidate(name, make, frames.bgr, box, info, fresh=True)
            for name, make in makers.items() if make is not None], missing


def time_candidates(candidates: list[Candidate], n_frames: int, total: int, chunk: int = 5,
                    device: torch.device | None = None, progress: bool = True) -> list[Result]:
    """Round-robin timing: ``total`` timed frames per candidate, ``chunk`` frames per turn, the
    frames cycling through ``1 .. n_frames - 1`` (the tracker is restarted when they wrap)."""
    from tqdm import tqdm

    cuda = device is not None and device.type == "cuda"
    sync = functools.partial(torch.cuda.synchronize, device) if cuda else (lambda: None)  # a GPU's queued work timed
    setup: dict[str, tuple[float, float, float | None]] = {}
    for c in candidates:
        gc.collect()
        before = rss_mb()
        if cuda:
            torch.cuda.reset_peak_memory_stats(device)
        t0 = time.perf_counter()
        c.start(0)
        c.step(1)  # first update: warms caches, allocators, lazy initialisations
        sync()
        startup = time.perf_counter() - t0
        setup[c.name] = (startup, rss_mb() - before, torch.cuda.max_memory_allocated(device) / 2**20 if cuda else None)
    times: dict[str, list[float]] = {c.name: [] for c in candidates}
    order = {c.name: itertools.islice(itertools.cycle(range(1, n_frames)), 1, None) for c in candidates}
    rounds = max(1, total // chunk)
    for _ in tqdm(range(rounds), desc="benchmark", unit="round", disable=not progress, leave=False):
        for c in candidates:
            indices = list(itertools.islice(order[c.name], chunk))
            for _ in range(indices.count(1)):  # the frames wrapped: a restart, not timed
                c.start(0)
            t0 = time.perf_counter()
            for i in indices:
                c.step(i)
            sync()
            times[c.name].append((time.perf_counter() - t0) * 1000 / chunk)
    return [Result(c.name, (med := statistics.median(times[c.name])), min(times[c.name]), 1000 / med, rounds * chunk,
                   *setup[c.name], c.info) for c in candidates]


def long_run(candidate: Candidate, n_frames: int, total: int, samples: int = 20, progress: bool = True) -> dict:
    """Track ``total`` frames cycling through the sequence, sampling the RSS, and say so; flat when the last
    sample exceeds the first after warm-up by under 5% + 16 MiB."""
    from tqdm import tqdm

    every = max(1, total // samples)
    candidate.start(0)
    rss = []
    t0 = time.perf_counter()
    steps = tqdm(range(total), desc="long run", unit="frame", disable=not progress, leave=False)
    for k, i in zip(steps, itertools.cycle(range(1, n_frames)), strict=False):
        if i == 1 and k:  # the frames wrapped
            candidate.start(0)
        candidate.step(i)
        if k % every == 0 or k == total - 1:
            rss.append((k, rss_mb()))
    elapsed = time.perf_counter() - t0
    start, end = rss[1][1] if len(rss) > 1 else rss[0][1], rss[-1][1]
    flat = bool(end - start < 0.05 * start + 16)
    print(f"long run, {candidate.name}: {total} frames at {total / elapsed:.1f} fps; RSS {start:.1f} MB after "
          f"warm-up -> {end:.1f} MB at the end (max {max(v for _, v in rss):.1f}): {'flat' if flat else 'GROWING'}")
    return {"frames": total, "seconds": elapsed, "fps": total / elapsed, "rss_start_mb": start, "rss_end_mb": end,
            "rss_max_mb": max(v for _, v in rss), "flat": flat, "samples": rss}


def machine_info(device: torch.device) -> dict:
    info = {
        "platform": platform.platform(), "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(), "torch": torch.__version__,
        "opencv": cv2.__version__, "opencv_threads": cv2.getNumThreads(), "device": str(device),
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
        "load_average_1min": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
    }
    with contextlib.suppress(OSError, StopIteration), open("/proc/cpuinfo") as f:
        info["cpu_model"] = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    with contextlib.suppress(ImportError):
        import onnxruntime

        info["onnxruntime"] = onnxruntime.__version__
    return info


def multi_target_candidates(model: tuple[str, object], targets: int, frames: Frames, device) -> list[Candidate]:
    """``targets`` targets: one MultiTracker vs as many SiamFCTrackers of ``model`` (a label, a path or a network)."""
    from ..tracking.tracker import MultiTracker, SiamFCTracker

    label, source = model
    h, w = frames.rgb[0].shape[:2]
    x, y, bw, bh = frames.box
    shifts = [((k % 3 - 1) * bw * 0.5, (k // 3 % 3 - 1) * bh * 0.5) for k in range(targets)]
    boxes = [np.array([min(max(x + dx, 0), w - bw), min(max(y + dy, 0), h - bh), bw, bh])
             for dx, dy in shifts]  # the first box and shifted copies, kept inside the frame
    kwargs = {"device": device, "weights" if isinstance(source, str) else "model": source}
    batched = functools.cache(lambda: MultiTracker(**kwargs))  # made at the first start
    separate = functools.cache(lambda: [SiamFCTracker(**kwargs) for _ in boxes])

    def start_batched(i: int) -> None:
        for t in list(batched().targets):
            batched().remove(t)
        for b in boxes:
            batched().add(frames.rgb[i], b)

    def start_separate(i: int) -> None:
        for t, b in zip(separate(), boxes, strict=True):
            t.init(frames.rgb[i], b)

    def step_separate(i: int) -> None:
        for t in separate():
            t.update(frames.rgb[i])

    return [
        Candidate(f"ours {label} x{targets} targets: one MultiTracker", start_batched,
                  lambda i: batched().update(frames.rgb[i]), {"targets": targets}),
        Candidate(f"ours {label} x{targets} targets: {targets} SiamFCTrackers", start_separate, step_separate,
                  {"targets": targets}),
    ]
