"""``siamfc train``: train on your own data (``--data PATH``) or from a YAML config (also under torchrun)."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import sys
from pathlib import Path

from ..errors import SiamFCError, first_line
from .common import at_least

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..training.config import TrainConfig

HELP = """Train a model on your own sequences (--data PATH) or from a YAML config (also under torchrun).

--data PATH alone trains the shipped model's recipe (configs/mobile_lite_mini.yaml without its
teacher and validation) on PATH, whose layout is recognised: GOT-10k, OTB, LaSOT, VOT, or a folder
of sequence folders (frames + groundtruth.txt, one x,y,w,h line a frame). Before the crops are cut, it
says where their cache goes and how big it is (default ~/.cache/siamfc/crops; --cache-dir moves it).
After a stop (Ctrl-C, a crash), the same command with --resume continues the run exactly.
"""

#: the recipe of ``--data PATH`` without ``--config``: the shipped model's (configs/mobile_lite_mini.yaml)
#: less what lives beside the project (its data, its distillation teacher, its validation sequences)
RECIPE: dict = {
    "model": {"backbone": "mobile", "channels": [16, 16, 32, 64, 128, 128]},
    "data": {"filter": {"min_size": 10, "min_area_ratio": 0.001}, "pairs_per_epoch": 5000, "num_workers": 1},
    "optim": {"name": "adamw", "lr": 0.002, "final_lr": 0.00002, "weight_decay": 0.0001, "batch_size": 8, "epochs": 30},
    "loss": {"name": "logistic"}, "checkpoint_minutes": 3}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--data", action="append", default=[], metavar="PATH", help="training sequences (repeatable): "
                        "a folder in a layout siamfc reads (recognised from its files), or KIND:ROOT[:SUBSET] to name "
                        "it, e.g. got10k:/data/GOT-10k:train; replaces a config's datasets")
    parser.add_argument("--config", help="YAML file (see configs/); default: the recipe above, with --data")
    parser.add_argument("--resume", nargs="?", const="", metavar="CKPT",
                        help="continue from OUT_DIR/last.pth, or from CKPT")
    parser.add_argument("--cache-dir", metavar="DIR", help="where the crop cache goes (default: "
                        "$XDG_CACHE_HOME/siamfc/crops or ~/.cache/siamfc/crops; $SIAMFC_CACHE/crops when set)")
    parser.add_argument("--val-root", help="GOT-10k-layout root to validate on (its 'val' subset)")
    parser.add_argument("--out-dir", help="where checkpoints and logs go (default with --data alone: runs/NAME)")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override any config key, e.g. --set optim.lr=0.005 (value parsed as YAML)")
    parser.add_argument("--max-steps", type=at_least(1), help="stop after this many optimizer steps (smoke tests)")
    parser.add_argument("--quiet", "-q", action="store_true",
                        help="no progress bars and no notes (data, cache, checkpoints); warnings and errors still show")


def _dataset(spec: str) -> dict:
    """``--data`` as a ``data.datasets`` entry: a folder whose layout is recognised, or KIND:ROOT[:SUBSET]."""
    from ..data.registry import detect_layout

    kind, sep, rest = spec.partition(":")
    if sep and kind.isidentifier() and not Path(spec).exists():
        root, _, subset = rest.rpartition(":") if rest.count(":") else (rest, "", "")
        return {"kind": kind, "root": root or rest, "subset": subset or "train"}
    layout = detect_layout(spec)
    return {"kind": layout.kind, "root": layout.root, "subset": layout.subset}


def _config(args: argparse.Namespace) -> TrainConfig:
    """The run's config: ``--config`` or the recipe, with the command line's settings by dotted key; its errors
    name the option that gave one (``--data``, ``--epochs``, ...; else ``--set``)."""
    import yaml

    from ..training.config import load_config

    overrides, flags = {}, {}
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SiamFCError(f"--set expects KEY=VALUE, got {item!r}", "--set")
        try:
            overrides[key] = yaml.safe_load(value)
        except yaml.YAMLError as exc:
            raise SiamFCError(f"--set {item}: not a YAML value ({first_line(exc)})", key) from exc
    for key, dest in (("data.datasets", "data"), ("val.root", "val_root"), ("out_dir", "out_dir"),
                      ("optim.epochs", "epochs"), ("device", "device"), ("data.cache_dir", "cache_dir")):
        value = [_dataset(spec) for spec in args.data] if dest == "data" else getattr(args, dest)
        if value not in (None, []):
            overrides[key], flags[key] = value, "--" + dest.replace("_", "-")
    if args.config is not None:
        return load_config(args.config, overrides, flags)
    if not args.data:
        raise SiamFCError("give --data PATH (your training sequences) or --config FILE (see configs/)", "--data")
    name = Path(str(overrides["data.datasets"][0]["root"])).resolve().name or "data"
    return load_config({**RECIPE, "out_dir": str(Path("runs") / name)}, overrides, flags)


def _announce(cfg: TrainConfig) -> None:
    """Before any crop is cut: the data read, where the crop cache goes and its size, how to resume."""
    from ..training.build import read_sequences
    from ..training.config import default_crop_cache_dir

    total_frames = 0
    for i, ds in enumerate(cfg.data.datasets):
        sequences = read_sequences(ds, f"data.datasets[{i}]")
        # the cache holds one square RGB crop a usable frame at most
        frames = sum(int((seq.visible & ~seq.cut)[::ds.frame_stride].sum()) for seq in sequences)
        total_frames += frames
        print(f"data: {ds.root} as {ds.kind} (subset {ds.subset}): {len(sequences)} sequences, {frames} "
              "annotated frames", flush=True)
    side, cache = cfg.data.cache_size, cfg.data.cache_dir or default_crop_cache_dir()
    print(f"crop cache: {cache}: up to {total_frames * side**2 * 3 / 1e6:,.0f} MB ({total_frames} crops of "
          f"{side}x{side}), cut once and reused by later runs on the same data; --cache-dir DIR puts it elsewhere",
          flush=True)
    argv = sys.argv[2:] if sys.argv[1:2] == ["train"] else sys.argv[1:]  # past siamfc train, or python -m ...
    again = shlex.join(["siamfc", "train", *(a for a in argv if a != "--resume")])
    print(f"checkpoints: {cfg.out_dir}/last.pth (every epoch and every {cfg.checkpoint_minutes:g} min); after a "
          f"stop, continue with: {again} --resume", flush=True)


def run(args: argparse.Namespace) -> int:
    from ..training.config import resume_from
    from ..training.trainer import OtherRankFailed, Trainer

    cfg = _config(args)
    resume = resume_from(args.resume, cfg)  # before any slow setup
    if resume is None and not args.quiet and os.environ.get("RANK", "0") == "0":
        _announce(cfg)  # with -q, the data's errors come from the Trainer's setup instead
    try:
        trainer = Trainer(cfg, quiet=args.quiet)
    except OtherRankFailed:
        return 2  # rank 0 says why
    except SiamFCError:
        raise
    except (ValueError, OSError) as exc:  # a library's own error while setting up (a file in the way, ...)
        raise SiamFCError(f"cannot set up the run: {first_line(exc)}", getattr(exc, "filename", None)) from exc
    try:
        if resume is not None:
            trainer.resume(resume)
            if trainer.main:
                print(f"resumed from {resume} at epoch {trainer.epoch + 1}, step {trainer.step}")
        history = trainer.fit(max_steps=args.max_steps)
    except OSError as exc:  # a full or read-only disk while saving: the previous checkpoint is intact
        raise SiamFCError(f"{exc.filename or cfg.out_dir}: cannot be written ({exc.strerror or exc}); the previous "
                          "checkpoint is kept", str(exc.filename or cfg.out_dir)) from exc
    finally:
        trainer.close()
    if trainer.stopped_by is not None:  # 130 for SIGINT, 143 for SIGTERM
        if trainer.main:
            print(f"train: interrupted by {signal.Signals(trainer.stopped_by).name} at epoch {trainer.epoch + 1}, "
                  f"step {trainer.step}: saved to {trainer.last_path}; continue with --resume", file=sys.stderr,
                  flush=True)
        return 128 + int(trainer.stopped_by)
    if trainer.main:
        last = history[-1] if history else {}
        print(f"checkpoint: {trainer.last_path}  epochs done: {trainer.epoch}  last: {json.dumps(last)}")
    return 0
