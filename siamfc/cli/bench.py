"""siamfc bench: frames/s of our trackers next to OpenCV's, on the same frames in one run; what it times
(models, backends, sequence, NanoTrack's folder) is each checked before anything is timed."""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
from pathlib import Path

from ..errors import SiamFCError
from .common import add_weights_argument, at_least

HELP = """Benchmark: frames/s of our tracker next to OpenCV's trackers, on the same frames in one run.

Per model, backend and device, next to OpenCV's NanoTrack, MIL, CSRT and KCF, as ratios to NanoTrack; startup time,
memory (RSS; GPU memory on a GPU); optional N-target MultiTracker timing and a long-run memory check.
Decoding is never timed."""

#: the most threads ``--threads`` takes: 4 per core (10^5 crash PyTorch's and OpenCV's thread pools)
MAX_THREADS = 4 * (os.cpu_count() or 1)


def shared(*parts: str) -> Path:
    """A path in the shared data: ``$SIAMFC_SHARED``, else ``shared/`` beside the project."""
    return Path(os.environ.get("SIAMFC_SHARED") or Path(__file__).resolve().parents[3] / "shared", *parts)


default_sequence = functools.partial(shared, "data", "GOT-10k-mini", "val", "bag")
default_nano_dir = functools.partial(shared, "weights", "nanotrack_v2")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ..tracking.config import CROP_BACKENDS, DTYPE_NAMES
    add_weights_argument(parser, append=True)
    parser.add_argument("--backbones", default="", metavar="NAMES",
                        help="comma list of registered backbones to time with untrained weights (speed only), e.g. "
                             "alexnet (the classic full-width AlexNet),alexnet_w30")
    parser.add_argument("--backends", default="auto", metavar="LIST",
                        help="comma list of auto (the tracker's default: onnxruntime on the CPU, torch on a GPU), "
                             "torch, onnxruntime; default: auto")
    parser.add_argument("--device", default="cpu", metavar="{cpu,cuda,auto}", help="default: cpu")
    parser.add_argument("--eager", action="store_true",
                        help="also time the plain eager path of each model (reports optimized/eager)")
    parser.add_argument("--dtype", default="float32", choices=DTYPE_NAMES,
                        help="autocast our network (torch backend); default float32")
    parser.add_argument("--crop-backend", default=None, choices=CROP_BACKENDS,
                        help="where crops are made (default: torch on CUDA, cv2 on the CPU)")
    parser.add_argument("--frames", type=at_least(10), default=300,
                        help="timed frames per tracker (default 300, at least 10)")
    parser.add_argument("--sequence", default=None, metavar="DIR",
                        help="a folder of frames with groundtruth.txt (its first box starts the trackers); default: "
                             f"{default_sequence()}, or the demo clip shipped with the package where that is absent")
    parser.add_argument("--nano-dir", default=None, metavar="DIR",
                        help="folder with nanotrack_backbone_sim.onnx and nanotrack_head_sim.onnx (OpenCV's NanoTrack, "
                             f"the reference row); default: {default_nano_dir()}, its row skipped when absent")
    parser.add_argument("--no-opencv", action="store_true", help="time our trackers only")
    parser.add_argument("--targets", type=at_least(0), default=0, metavar="N",
                        help="also time N targets: one MultiTracker (one batch) vs N separate trackers")
    parser.add_argument("--long", type=at_least(0), default=0, metavar="FRAMES",
                        help="then track FRAMES frames with the first model (cycling the sequence), sampling RSS")
    parser.add_argument("--threads", type=at_least(0, MAX_THREADS), default=0, metavar=f"0..{MAX_THREADS}",
                        help="CPU threads for torch and OpenCV: 0 = all, else at most 4 per core (default: all)")
    parser.add_argument("--json", default=None, metavar="PATH", help="write every figure to this JSON file")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bars")


def models(args: argparse.Namespace) -> list[tuple[str, object, object]]:
    """``(label, source, net)`` for each model to time: a checkpoint's path and its network, an export folder's or
    a box-head model's (no net), or an untrained SiamFCNet (twice); each file read now (a bad one is an error before
    anything is timed). Same file names are labelled ``folder/name``; an export folder in full (``model.onnx``)."""
    from ..files import distinct_stems
    from ..models.checkpoint import load_model
    from ..models.network import ModelConfig, build_model
    from ..models.shipped import default_weights_path
    from ..tracking.engines.choose import is_box_model, load_box_model
    from ..tracking.onnx_format import export_folder, read_manifest

    backbones = [b.strip() for b in args.backbones.split(",") if b.strip()]
    sources = []  # (the path whose stem is the label, the path, the network)
    for path in map(os.fspath, args.weights or ([] if backbones else [default_weights_path()])):
        named, net = path, None
        if is_box_model(path, None):  # a NanoTrack v2 folder or a box-head checkpoint
            load_box_model(path)
        elif (folder := export_folder(path)) is not None:
            read_manifest(folder)
            path, named = os.fspath(folder), os.fspath(folder.parent / f"{folder.name}.export")
        elif not Path(path).is_file():
            raise SiamFCError(f"--weights {path}: no such file or export folder", "--weights")
        else:
            net = load_model(path)
        sources.append((named, path, net))
    labels = distinct_stems([named for named, *_ in sources], "/")
    return [*((label, path, net) for label, (_, path, net) in zip(labels, sources, strict=True)),
            *((f"{name} (untrained)", *[build_model(ModelConfig(backbone=name))] * 2) for name in backbones)]


def _sequence(args: argparse.Namespace) -> tuple[Path, Path | None]:
    """The frames and their ground truth (None: the folder's): ``--sequence``, the shared default or the demo clip."""
    if args.sequence is not None:
        if not Path(args.sequence).is_dir():
            raise SiamFCError(f"--sequence {args.sequence}: no such folder", "--sequence")
        return Path(args.sequence), None
    if default_sequence().is_dir():
        return default_sequence(), None
    assets = Path(__file__).resolve().parents[1] / "assets"
    print(f"note: no --sequence and no shared data at {shared()} ($SIAMFC_SHARED): timing on the "
          "demo clip shipped with the package", file=sys.stderr)
    return assets / "demo_clip.mp4", assets / "demo_groundtruth.txt"


def _our_candidates(args: argparse.Namespace, models: list[tuple[str, object, object]], backends: list[str], frames,
                    device) -> tuple[list, dict[str, dict[str, str]]]:
    """A candidate per model and backend (and eager path), and the names of each model's."""
    import copy

    from ..evaluation.speed import tracker_candidate
    from ..tracking.config import RuntimeOptions
    from ..tracking.onnx_format import export_folder
    from ..tracking.tracker import SiamFCTracker

    torch_options = {"dtype": args.dtype, "crop_backend": args.crop_backend}
    candidates, pairs = [], {}
    for label, source, net in models:
        export = isinstance(source, str) and export_folder(source) is not None
        boxes = net is None and not export  # (a box-head model's export folder runs as an export)
        variants = {b: {"optimize": True, "backend": b, **({} if b == "onnxruntime" else torch_options)}
                    for b in backends}
        if args.eager:
            variants["eager"] = {"optimize": False, "backend": "torch"}
        model = {"weights": source} if isinstance(source, str) else {"model": source}
        for variant, kwargs in variants.items():
            probe = RuntimeOptions(**kwargs)
            backend = "onnxruntime" if export else probe.resolved_backend(device, net)
            if boxes:  # box-head models: ONNX Runtime wherever the options allow it on the CPU
                on_onnx = probe.onnx_eligible(device) or kwargs["backend"] == "onnxruntime"
                backend = "onnxruntime" if on_onnx else "torch"
            shown = {"auto": f"default: {backend}", "eager": "torch"}.get(variant, backend)
            name = f"ours {label} [{shown}, {device.type}{' eager' if variant == 'eager' else ''}]"
            info = {"model": label, "backend": backend, "device": device.type,
                    **{k: v for k, v in kwargs.items() if k != "backend"}}
            candidates.append(tracker_candidate(
                name, lambda model=model, kwargs=kwargs: SiamFCTracker(device=device, **copy.deepcopy(model), **kwargs),
                frames.rgb, frames.box, info))
            pairs.setdefault(label, {})[variant] = name
    return candidates, pairs


def run(args: argparse.Namespace) -> int:
    import cv2
    import torch

    from ..devices import resolve_device
    from ..evaluation import speed
    from ..evaluation.compare import quiet_opencv
    from ..evaluation.trackers import nano_files
    from ..files import write_text_atomic
    from ..io.writers import check_writable
    from ..tracking.config import BACKENDS
    from ..tracking.onnx_format import export_folder

    quiet_opencv()  # OpenCV 5's NanoTrack warns that its DNN engine ignores the target it is given
    device = resolve_device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
        cv2.setNumThreads(args.threads)
    # the arguments the user gave are checked before any default
    backends = list(dict.fromkeys(b.strip() for b in args.backends.split(",") if b.strip()))
    if not backends or not set(backends) <= set(BACKENDS):
        raise SiamFCError(f"--backends {args.backends!r}: choose from {','.join(BACKENDS)}", "--backends")
    if "onnxruntime" in backends and device.type != "cpu":
        raise SiamFCError("--backends onnxruntime runs on the CPU only: use --device cpu", "--backends")
    json_path = check_writable(args.json, "--json") if args.json else None
    models_ = models(args)
    exports = [source for _, source, _ in models_ if isinstance(source, str) and export_folder(source) is not None]
    needs_torch = [flag for flag, on in (
        ("--backends torch", "torch" in backends), ("--eager", args.eager),
        (f"--device {args.device}", device.type != "cpu"), (f"--dtype {args.dtype}", args.dtype != "float32"),
        ("--crop-backend torch", args.crop_backend == "torch")) if on]
    if exports and needs_torch:  # an export folder runs only with ONNX Runtime's float32 CPU step
        raise SiamFCError(f"--weights {exports[0]}: an ONNX export folder runs only with ONNX Runtime on the CPU, "
                          f"not with {', '.join(needs_torch)}; give its checkpoint for PyTorch", "--weights")
    if args.nano_dir is not None and not args.no_opencv:
        nano_files(args.nano_dir)  # one given must hold the model; the default may be absent (its row is skipped)
    sequence, groundtruth = _sequence(args)
    frames = speed.load_frames(sequence, max(args.frames + 2, 50), groundtruth)
    candidates, pairs = _our_candidates(args, models_, backends, frames, device)
    unavailable: dict[str, str] = {}
    if not args.no_opencv:
        cv_candidates, unavailable = speed.opencv_trackers(frames, args.nano_dir or default_nano_dir())
        candidates += cv_candidates
    if args.targets:
        candidates += speed.multi_target_candidates(models_[0][:2], args.targets, frames, device)
    print(f"{len(candidates)} trackers, {args.frames} timed frames each, on {len(frames.rgb)} frames of "
          f"{frames.name} ({frames.rgb[0].shape[1]}x{frames.rgb[0].shape[0]}), {device}, "
          f"{torch.get_num_threads()} torch threads")
    passive = os.environ.get("OMP_WAIT_POLICY", "").upper() == "PASSIVE"
    if device.type == "cpu" and torch.get_num_threads() > 1 and not passive:
        print("note: if another process loads the CPU, run with OMP_WAIT_POLICY=PASSIVE (set before Python starts): "
              "spinning OpenMP threads slow PyTorch several times over on a shared CPU (docs/speed.md)")
    results = speed.time_candidates(candidates, len(frames.rgb), args.frames, device=device, progress=not args.quiet)
    reference = next((r for r in results if r.name == "OpenCV NanoTrack"), None)
    for r in results:
        r.ratio_to_reference = r.fps / reference.fps if reference else None
    _print_table(results, unavailable)
    speedups = _speedups(results, pairs) if args.eager else {}
    multi = {}
    if args.targets:  # one MultiTracker against separate trackers: the last two candidates
        batched, separate = results[-2], results[-1]
        multi = {"targets": args.targets, "batched_ms": batched.ms_median, "separate_ms": separate.ms_median,
                 "separate_over_batched": separate.ms_median / batched.ms_median}
        print(f"{args.targets} targets: {batched.ms_median:.1f} ms/frame batched vs {separate.ms_median:.1f} "
              f"ms/frame separate: {_faster_or_slower(multi['separate_over_batched'], 'batched')}")
    long = speed.long_run(candidates[0], len(frames.rgb), args.long, progress=not args.quiet) if args.long else None
    peak = speed.peak_rss_mb()
    print(f"peak RSS of this process: {peak:.0f} MB")
    if json_path:
        report = {"machine": speed.machine_info(device), "sequence": os.fspath(sequence),
                  "frames_loaded": len(frames.rgb), "frames_timed": args.frames,
                  "reference": reference and reference.name, "results": [vars(r) for r in results],
                  "unavailable": unavailable, "optimized_over_eager": speedups, "multi_target": multi,
                  "long_run": long, "peak_rss_mb": peak}
        write_text_atomic(json_path, json.dumps(report, indent=2) + "\n")  # a full disk: one line, the file as it was
        print(f"wrote {json_path}")
    return 0


def _print_table(results: list, unavailable: dict[str, str]) -> None:
    print(f"\n{'tracker':64s} {'ms/frame':>9s} {'best':>7s} {'fps':>7s} {'x Nano':>7s} {'start s':>8s} {'RSS+ MB':>8s}")
    for r in results:
        ratio = f"{r.ratio_to_reference:7.2f}" if r.ratio_to_reference is not None else "      -"
        gpu = f"  GPU peak {r.gpu_peak_mb:.0f} MB" if r.gpu_peak_mb is not None else ""
        print(f"{r.name:64s} {r.ms_median:9.2f} {r.ms_min:7.2f} {r.fps:7.1f} {ratio} {r.startup_s:8.2f} "
              f"{r.rss_delta_mb:8.1f}{gpu}")
    for name, why in unavailable.items():
        print(f"{name:64s} {why}")


def _speedups(results: list, pairs: dict[str, dict[str, str]]) -> dict:
    """Each optimized path's speed-up over its model's eager path (with ``--eager``)."""
    by_name = {r.name: r for r in results}
    speedups: dict = {}
    for label, names in pairs.items():
        eager = by_name[names.pop("eager")]
        for variant, name in names.items():
            opt = by_name[name]
            speedups.setdefault(label, {})[variant] = {
                "name": name, "optimized_over_eager": opt.fps / eager.fps,
                "best_optimized_over_best_eager": eager.ms_min / opt.ms_min}
            print(f"{name}: / eager = {opt.fps / eager.fps:.2f}x (median), "
                  f"{eager.ms_min / opt.ms_min:.2f}x (best chunks)")
    return speedups


def _faster_or_slower(ratio: float, name: str) -> str:
    """``ratio`` (the other's time over ``name``'s) in words true on either side of 1."""
    return f"{name} is {ratio:.2f}x faster" if ratio >= 1 else f"{name} is {1 / ratio:.2f}x slower"
