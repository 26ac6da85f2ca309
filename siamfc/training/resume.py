"""Resuming a run: which checkpoint ``--resume`` means, and whether the run the config describes wrote it
(a run continues exactly only with the settings that shaped it; those in :data:`FREE` may differ)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from ..errors import SiamFCError
from ..models.checkpoint import FORMAT, CheckpointError, read_checkpoint
from .config import TrainConfig

#: config keys (and sections) a resumed run may change: where and how fast it runs, what it logs
FREE = ("out_dir", "device", "threads", "amp", "tensorboard", "checkpoint_minutes", "pretrained",
        "data.num_workers", "data.cache_dir", "val")


def resume_from(given: str | None, cfg: TrainConfig) -> Path | None:
    """The checkpoint ``--resume [given]`` means (``out_dir/last.pth``, a run folder's, or ``given``) if ``cfg``'s run
    wrote it; None without ``--resume``: a new run, refused in an out_dir that holds one rather than overwrite it."""
    last = Path(cfg.out_dir) / "last.pth"
    if given is None and last.is_file():
        raise SiamFCError(f"out_dir {cfg.out_dir} already holds a run ({_progress(last)}): add --resume to "
                          "continue it, or choose another --out-dir", "--resume")
    if given is None:
        return None
    path = Path(given) if given else last
    path = path / "last.pth" if path.is_dir() else path
    if not path.exists():
        raise CheckpointError(f"--resume: {path} does not exist (nothing to resume)", "--resume")
    check_same_run(path, read_training_checkpoint(path)["train"], cfg)
    return path


def _progress(last: Path) -> str:
    """Where the run saved in ``last`` stands (``last.pth at epoch 2, step 40``)."""
    try:
        train = read_checkpoint(last)["train"]
        epoch, step = int(train["epoch"]), int(train["step"])
    except (ValueError, KeyError, TypeError):
        return last.name
    if step == 0 and epoch > 0:
        return f"{last.name} after epoch {epoch}"
    return f"{last.name} at epoch {epoch + 1}, step {step}"


def read_training_checkpoint(path: Path) -> dict:
    """The checkpoint at ``path``, which must hold a training state (``train``)."""
    data = read_checkpoint(path)
    if data.get("format") != FORMAT or not isinstance(data.get("train"), dict):
        raise CheckpointError(f"{path}: not a siamfc training checkpoint (nothing to resume)", str(path))
    return data


def _flat(data: object, prefix: str = "") -> dict[str, object]:
    """Nested mappings as dotted keys; lists and other values are leaves."""
    if not isinstance(data, dict):
        return {prefix.rstrip("."): data}
    return {key: value for k, v in data.items() for key, value in _flat(v, f"{prefix}{k}.").items()}


def _show(value: object) -> str:
    text = json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."


def check_same_run(path: Path, train: dict, cfg: TrainConfig) -> None:
    """A CheckpointError when the config that wrote ``train`` (a training state) differs from ``cfg`` in a
    setting that shapes the run (not in :data:`FREE`; keys the saved config lacks are not compared)."""
    try:  # "{}": written before checkpoints kept their config
        old = _flat(dict(json.loads(train.get("config", "{}"))))
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"{path}: damaged training state (its config is not a JSON mapping)", str(path)) from exc
    new = _flat(json.loads(json.dumps(dataclasses.asdict(cfg))))
    changed = [f"{k}: {_show(old[k])} there, {_show(new[k])} now" for k in sorted(old.keys() & new.keys())
               if old[k] != new[k] and not any(k == f or k.startswith(f"{f}.") for f in FREE)]
    if changed:
        more = f" (and {len(changed) - 3} more)" if len(changed) > 3 else ""
        raise CheckpointError(f"{path}: written by a run with other settings ({'; '.join(changed[:3])}{more}); "
                              "resume with that run's settings, or start a new run in another --out-dir", str(path))
