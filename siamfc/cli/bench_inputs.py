"""What ``siamfc bench`` times, from its arguments (models, backends, sequence, NanoTrack's folder),
each checked before anything is timed."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ..errors import SiamFCError
from ..files import distinct_stems
from ..tracking.onnx_format import export_folder


def shared() -> Path:
    env = os.environ.get("SIAMFC_SHARED")
    return Path(env) if env else Path(__file__).resolve().parents[2].parent / "shared"


def default_sequence() -> Path:
    return shared() / "data" / "GOT-10k-mini" / "val" / "bag"


def default_nano_dir() -> Path:
    return shared() / "weights" / "nanotrack_v2"


NANO_FILES = ("nanotrack_backbone_sim.onnx", "nanotrack_head_sim.onnx")


def nano_dir(args: argparse.Namespace) -> str:
    """The NanoTrack folder of the reference row: one given must hold the model; the default (in the
    shared data) may be absent (the row is skipped, saying why)."""
    if args.nano_dir is None:
        return os.fspath(default_nano_dir())
    folder = Path(args.nano_dir)
    if not folder.is_dir():
        raise SiamFCError(f"--nano-dir {folder}: no such folder", "--nano-dir")
    missing = [name for name in NANO_FILES if not (folder / name).is_file()]
    if missing:
        raise SiamFCError(f"--nano-dir {folder}: no {' or '.join(missing)} in it (NanoTrack v2's model files)",
                          "--nano-dir")
    return os.fspath(folder)


def sequence(args: argparse.Namespace) -> tuple[Path, Path | None]:
    """The frames to time and their ground truth (None: the folder's ``groundtruth.txt``): ``--sequence``,
    else the shared data's default, else the demo clip shipped with the package."""
    if args.sequence is not None:
        folder = Path(args.sequence)
        if not folder.is_dir():
            raise SiamFCError(f"--sequence {folder}: no such folder", "--sequence")
        return folder, None
    folder = default_sequence()
    if folder.is_dir():
        return folder, None
    assets = Path(__file__).resolve().parents[1] / "assets"
    print(f"note: no --sequence and no shared data at {folder.parents[3]} ($SIAMFC_SHARED): timing on the "
          "demo clip shipped with the package", file=sys.stderr)
    return assets / "demo_clip.mp4", assets / "demo_groundtruth.txt"


def backends(args: argparse.Namespace, device) -> list[str]:
    from ..tracking.config import BACKENDS

    backends = list(dict.fromkeys(b.strip() for b in args.backends.split(",") if b.strip()))
    if not backends or not set(backends) <= set(BACKENDS):
        raise SiamFCError(f"--backends {args.backends!r}: choose from {','.join(BACKENDS)}", "--backends")
    if "onnxruntime" in backends and device.type != "cpu":
        raise SiamFCError("--backends onnxruntime runs on the CPU only: use --device cpu", "--backends")
    return backends


def models(args: argparse.Namespace) -> list[tuple[str, object]]:
    """``(label, source)`` for each model to time: a checkpoint's path, an export folder's, or an untrained
    SiamFCNet."""
    from ..models.checkpoint import load_model
    from ..models.network import ModelConfig, build_model
    from ..models.shipped import default_weights_path
    from ..tracking.engines.choose import is_box_model, load_box_model
    from ..tracking.onnx_format import read_manifest

    models: list[tuple[str, object]] = []
    for path in args.weights or []:
        # each file is read now: a bad one is a one-line error before anything is timed
        if is_box_model(path, None):  # a NanoTrack v2 folder or a box-head checkpoint
            load_box_model(path)
            models.append((Path(path).name, os.fspath(path)))
        elif (folder := export_folder(path)) is not None:
            read_manifest(folder)
            models.append((folder.name, os.fspath(folder)))
        elif not Path(path).is_file():
            raise SiamFCError(f"--weights {path}: no such file or export folder", "--weights")
        else:
            load_model(path)
            models.append((Path(path).stem, path))
    for name in [b.strip() for b in args.backbones.split(",") if b.strip()]:
        models.append((f"{name} (untrained)", build_model(ModelConfig(backbone=name))))
    if not models:
        models.append((default_weights_path().stem, os.fspath(default_weights_path())))
    return unique_labels(models)


def unique_labels(models: list[tuple[str, object]]) -> list[tuple[str, object]]:
    """Checkpoints with the same file name are labelled ``folder/name``; an export folder is named in
    full (``model.onnx``, apart from its checkpoint's ``model``)."""
    def named(source: str) -> str:  # the path whose stem is the label: an export folder's whole name
        folder = export_folder(source)
        return os.fspath(folder.parent / f"{folder.name}.export") if folder is not None else source

    stems = iter(distinct_stems([named(source) for _, source in models if isinstance(source, str)], "/"))
    return [(next(stems) if isinstance(source, str) else label, source) for label, source in models]


def check_exports(args: argparse.Namespace, models: list[tuple[str, object]], device) -> None:
    """An export folder runs only with ONNX Runtime's float32 CPU step: options that need PyTorch are an error."""
    exports = [source for _, source in models if isinstance(source, str) and export_folder(source) is not None]
    if not exports:
        return
    needs_torch = [flag for flag, on in (
        ("--backends torch", "torch" in backends(args, device)), ("--eager", args.eager),
        (f"--device {args.device}", device.type != "cpu"), (f"--dtype {args.dtype}", args.dtype != "float32"),
        ("--compile", args.compile), ("--crop-backend torch", args.crop_backend == "torch")) if on]
    if needs_torch:
        raise SiamFCError(f"--weights {exports[0]}: an ONNX export folder runs only with ONNX Runtime on the CPU, "
                          f"not with {', '.join(needs_torch)}; give its checkpoint for PyTorch", "--weights")
