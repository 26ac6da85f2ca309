"""Resuming a run: which checkpoint ``--resume`` means, and whether the run the config describes wrote it
(a run continues exactly only with the settings that shaped it; those in :data:`FREE` may differ)."""

from __future__ import annotations

import json
from pathlib import Path

from ..models.checkpoint import FORMAT, CheckpointError, read_checkpoint
from .config import TrainConfig, config_to_dict

#: config keys (and sections) a resumed run may change: where and how fast it runs, what it logs
FREE = ("out_dir", "device", "threads", "amp", "tensorboard", "checkpoint_minutes", "pretrained",
        "data.num_workers", "data.cache_dir", "val")


def resume_path(given: str | Path | None, out_dir: str | Path) -> Path:
    """The checkpoint ``--resume [given]`` means: ``out_dir/last.pth``, a run folder's ``last.pth``, or ``given``."""
    path = Path(given) if given else Path(out_dir) / "last.pth"
    if path.is_dir():
        if not (path / "last.pth").is_file():
            raise CheckpointError(f"--resume {path}: a folder without last.pth (nothing to resume; give a run "
                                  "folder or a checkpoint file)", "--resume")
        return path / "last.pth"
    if not path.exists():
        raise CheckpointError(f"--resume: {path} does not exist (nothing to resume)", "--resume")
    return path


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
    flat: dict[str, object] = {}
    for key, value in data.items():
        flat.update(_flat(value, f"{prefix}{key}."))
    return flat


def _show(value: object) -> str:
    text = json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."


def check_same_run(path: Path, train: dict, cfg: TrainConfig) -> None:
    """A CheckpointError when the config that wrote ``train`` (a training state) differs from ``cfg`` in a
    setting that shapes the run (not in :data:`FREE`; keys the saved config lacks are not compared)."""
    if "config" not in train:
        return  # written before checkpoints kept their config
    try:
        saved = json.loads(train["config"])
    except (TypeError, ValueError):
        saved = None
    if not isinstance(saved, dict):
        raise CheckpointError(f"{path}: damaged training state (its config is not a JSON mapping)", str(path))
    old, new = _flat(saved), _flat(json.loads(json.dumps(config_to_dict(cfg))))
    keys = sorted(k for k in old.keys() & new.keys() if old[k] != new[k]
                  and not any(k == f or k.startswith(f"{f}.") for f in FREE))
    if not keys:
        return
    shown = "; ".join(f"{k}: {_show(old[k])} there, {_show(new[k])} now" for k in keys[:3])
    more = f" (and {len(keys) - 3} more)" if len(keys) > 3 else ""
    raise CheckpointError(f"{path}: written by a run with other settings ({shown}{more}); resume with that "
                          "run's settings, or start a new run in another --out-dir", str(path))
