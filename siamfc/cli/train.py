"""``siamfc train``: train a SiamFC model from a YAML config (also under ``torchrun``)."""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path

import yaml

from ..errors import UserError

HELP = "Train a model from a YAML config (single process, or many under torchrun)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, help="YAML file (see configs/)")
    parser.add_argument("--resume", nargs="?", const="", default=None, metavar="CKPT",
                        help="continue from OUT_DIR/last.pth, or from CKPT")
    parser.add_argument("--data", action="append", default=[], metavar="KIND:ROOT[:SUBSET]",
                        help="replace the config's datasets (repeatable), e.g. got10k:/data/GOT-10k:train")
    parser.add_argument("--val-root", help="GOT-10k-layout root to validate on (its 'val' subset)")
    parser.add_argument("--out-dir", help="where checkpoints and logs go")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override any config key, e.g. --set optim.lr=0.005 (value parsed as YAML)")
    parser.add_argument("--max-steps", type=int, help="stop after this many optimizer steps (smoke tests)")
    parser.add_argument("--quiet", action="store_true")


def _overrides(args: argparse.Namespace) -> dict:
    overrides: dict = {}
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UserError(f"--set expects KEY=VALUE, got {item!r}")
        try:
            overrides[key] = yaml.safe_load(value)
        except yaml.YAMLError as exc:
            raise UserError(f"--set {item}: not a YAML value ({str(exc).splitlines()[0]})") from None
    if args.data:
        datasets = []
        for spec in args.data:
            kind, sep, rest = spec.partition(":")
            if not sep:
                raise UserError(f"--data expects KIND:ROOT[:SUBSET], got {spec!r}")
            root, _, subset = rest.rpartition(":") if rest.count(":") else (rest, "", "")
            datasets.append({"kind": kind, "root": root or rest, "subset": subset or "train"})
        overrides["data.datasets"] = datasets
    for key, value in (("val.root", args.val_root), ("out_dir", args.out_dir),
                       ("optim.epochs", args.epochs), ("device", args.device)):
        if value is not None:
            overrides[key] = value
    return overrides


def run(args: argparse.Namespace) -> int:
    from ..models.checkpoint import CheckpointError
    from ..training.config import load_config
    from ..training.run_control import OtherRankFailed
    from ..training.trainer import Trainer

    if args.max_steps is not None and args.max_steps < 1:
        raise UserError(f"--max-steps {args.max_steps}: must be 1 or more")
    try:
        cfg = load_config(args.config, _overrides(args))
    except (ValueError, TypeError) as exc:
        raise UserError(str(exc)) from None
    resume = _checked_resume(args, cfg)  # before any slow setup
    new_out_dir = not Path(cfg.out_dir).exists()
    try:
        trainer = Trainer(cfg, quiet=args.quiet)
    except OtherRankFailed:
        return 2  # rank 0 says why
    except (ValueError, FileNotFoundError, CheckpointError, OSError) as exc:
        _remove_if_empty(Path(cfg.out_dir), new_out_dir)  # a refused setup leaves no empty run folder
        if isinstance(exc, CheckpointError):
            raise
        if isinstance(exc, OSError):
            raise UserError(f"{exc.filename or cfg.out_dir}: {exc.strerror or exc}") from None
        raise UserError(str(exc)) from None
    try:
        if resume is not None:
            trainer.resume(resume)
            if trainer.main:
                print(f"resumed from {resume} at epoch {trainer.epoch + 1}, step {trainer.step}")
        history = trainer.fit(max_steps=args.max_steps)
    except CheckpointError:
        raise
    except OSError as exc:  # a full or read-only disk while saving: the previous checkpoint is intact
        where = exc.filename or cfg.out_dir
        raise UserError(f"{where}: cannot be written ({exc.strerror or exc}); the previous checkpoint is "
                        "kept") from None
    finally:
        trainer.close()
    if trainer.stopped_by is not None:
        return _interrupted(trainer)
    if trainer.main:
        last = history[-1] if history else {}
        print(f"checkpoint: {trainer.last_path}  epochs done: {trainer.epoch}  last: {json.dumps(last)}")
    return 0


def _checked_resume(args: argparse.Namespace, cfg) -> Path | None:
    """The checkpoint to resume from (None: a new run), checked against the config; a new run in an
    out_dir that already holds one is refused rather than overwriting it."""
    from ..training.resume import check_same_run, read_training_checkpoint, resume_path

    last = Path(cfg.out_dir) / "last.pth"
    if args.resume is None:
        if last.is_file():
            raise UserError(f"out_dir {cfg.out_dir} already holds a run ({_progress(last)}): add --resume to "
                            "continue it, or choose another --out-dir")
        return None
    path = resume_path(args.resume, cfg.out_dir)
    check_same_run(path, read_training_checkpoint(path)["train"], cfg)
    return path


def _progress(last: Path) -> str:
    """Where the run saved in ``last`` stands, in words."""
    from ..models.checkpoint import read_checkpoint

    try:
        train = read_checkpoint(last).get("train") or {}
        epoch, step = int(train["epoch"]), int(train["step"])
    except (ValueError, KeyError, TypeError):
        return f"{last.name}"
    if step == 0 and epoch > 0:
        return f"{last.name} after epoch {epoch}"
    return f"{last.name} at epoch {epoch + 1}, step {step}"


def _remove_if_empty(folder: Path, created: bool) -> None:
    """Remove ``folder`` if this run created it and left nothing in it but empty folders."""
    if not created or not folder.is_dir():
        return
    if any(p.is_file() for p in folder.rglob("*")):
        return
    for sub in sorted(folder.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        sub.rmdir()
    folder.rmdir()


def _interrupted(trainer) -> int:
    """One line saying where the interrupted run is saved; 130 for SIGINT, 143 for SIGTERM."""
    name = signal.Signals(trainer.stopped_by).name
    if trainer.main:
        print(f"train: interrupted by {name} at epoch {trainer.epoch + 1}, step {trainer.step}: saved to "
              f"{trainer.last_path}; continue with --resume", file=sys.stderr, flush=True)
    return 128 + int(trainer.stopped_by)
