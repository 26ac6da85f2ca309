"""Resuming a run: which checkpoint ``--resume`` means, whether it was written by the run the config
describes, and its training state read back with every failure one :class:`CheckpointError` line.

A run continues exactly only with the settings that shaped it (model, data, optimizer and its
schedule, loss, seed): the sample position is ``step x batch_size`` and every pair depends on
``(seed, epoch, index)``. Settings that do not change what is computed may differ (:data:`FREE`)."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from ..models.checkpoint import FORMAT, CheckpointError, read_checkpoint
from .config import TrainConfig, config_to_dict

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .trainer import Trainer

#: config keys (and sections) a resumed run may change: where and how fast it runs, what it logs
FREE = ("out_dir", "device", "threads", "amp", "tensorboard", "checkpoint_minutes", "pretrained",
        "data.num_workers", "data.cache_dir", "val")


def resume_path(given: str | Path | None, out_dir: str | Path) -> Path:
    """The checkpoint ``--resume [given]`` means: ``out_dir/last.pth`` without ``given``, a run
    folder's ``last.pth``, or the file ``given``; a CheckpointError when there is none."""
    path = Path(given) if given else Path(out_dir) / "last.pth"
    if path.is_dir():
        if not (path / "last.pth").is_file():
            raise CheckpointError(f"--resume {path}: a folder without last.pth (nothing to resume; give a run "
                                  "folder or a checkpoint file)")
        return path / "last.pth"
    if not path.exists():
        raise CheckpointError(f"--resume: {path} does not exist (nothing to resume)")
    return path


def read_training_checkpoint(path: Path) -> dict:
    """The checkpoint at ``path``, which must hold a training state (``train``)."""
    data = read_checkpoint(path)
    if data.get("format") != FORMAT or not isinstance(data.get("train"), dict):
        raise CheckpointError(f"{path}: not a siamfc training checkpoint (nothing to resume)")
    return data


def _flat(data: object, prefix: str = "") -> dict[str, object]:
    """Nested mappings as dotted keys; lists and other values are leaves."""
    if not isinstance(data, dict):
        return {prefix.rstrip("."): data}
    flat: dict[str, object] = {}
    for key, value in data.items():
        flat.update(_flat(value, f"{prefix}{key}."))
    return flat


def _free(key: str) -> bool:
    return any(key == f or key.startswith(f"{f}.") for f in FREE)


def config_differences(saved: dict, current: dict) -> list[str]:
    """The keys (dotted) whose values differ between two configs as dicts, apart from :data:`FREE`
    ones; keys the saved config lacks (settings added since) are not compared."""
    old, new = _flat(saved), _flat(json.loads(json.dumps(current)))
    return sorted(k for k in old.keys() & new.keys() if not _free(k) and old[k] != new[k])


def _show(value: object) -> str:
    text = json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."


def check_same_run(path: Path, train: dict, cfg: TrainConfig) -> None:
    """A CheckpointError naming the keys when the config that wrote ``train`` (a checkpoint's
    training state) differs from ``cfg`` in a setting that shapes the run."""
    if "config" not in train:
        return  # written before checkpoints kept their config
    try:
        saved = json.loads(train["config"])
    except (TypeError, ValueError):
        saved = None
    if not isinstance(saved, dict):
        raise CheckpointError(f"{path}: damaged training state (its config is not a JSON mapping)")
    current = config_to_dict(cfg)
    keys = config_differences(saved, current)
    if not keys:
        return
    flat_old, flat_new = _flat(saved), _flat(json.loads(json.dumps(current)))
    shown = "; ".join(f"{k}: {_show(flat_old[k])} there, {_show(flat_new[k])} now" for k in keys[:3])
    more = f" (and {len(keys) - 3} more)" if len(keys) > 3 else ""
    raise CheckpointError(f"{path}: written by a run with other settings ({shown}{more}); resume with that "
                          "run's settings, or start a new run in another --out-dir")


def training_state(trainer: Trainer) -> dict:
    """What ``last.pth`` holds beside the model's weights: all a resumed run needs to go on exactly."""
    adapter = trainer.feature_adapter
    return {
        "epoch": trainer.epoch, "step": trainer.step,
        "optimizer": trainer.optimizer.state_dict(), "scheduler": trainer.scheduler.state_dict(),
        "scaler": trainer.scaler.state_dict(), "torch_rng": torch.get_rng_state(),
        "history": json.dumps(trainer.history), "best_auc": trainer.best_auc,
        "epoch_loss": json.dumps(trainer.epoch_loss),
        "config": json.dumps(config_to_dict(trainer.cfg)),
        **({"feature_adapter": adapter.state_dict()} if adapter is not None else {}),
    }


def restore_training_state(trainer: Trainer, path: Path) -> None:
    """``trainer`` as the run that wrote ``path`` left it; a CheckpointError when it is not a training
    checkpoint, was written with settings that shape the run differently, or is damaged."""
    data = read_training_checkpoint(path)
    state = data["train"]
    check_same_run(path, state, trainer.cfg)
    try:
        _load_states(trainer, data["state_dict"], state)
    except (RuntimeError, ValueError, KeyError, TypeError) as exc:
        raise CheckpointError(f"{path}: does not match this config ({str(exc).splitlines()[0][:120]})") from None
    try:
        _load_progress(trainer, state)
    except KeyError as exc:
        raise CheckpointError(f"{path}: damaged training state (no {exc.args[0]!r})") from None
    except (RuntimeError, ValueError, TypeError) as exc:
        raise CheckpointError(f"{path}: damaged training state ({str(exc).splitlines()[0][:120]})") from None


def _load_states(trainer: Trainer, weights: dict, state: dict) -> None:
    trainer.model.load_state_dict(weights)
    if trainer.feature_adapter is not None:
        trainer.feature_adapter.load_state_dict(state["feature_adapter"])
    trainer.optimizer.load_state_dict(state["optimizer"])
    trainer.scheduler.load_state_dict(state["scheduler"])
    trainer.scaler.load_state_dict(state["scaler"])


def _load_progress(trainer: Trainer, state: dict) -> None:
    rng = state["torch_rng"]
    epoch, step = int(state["epoch"]), int(state["step"])
    history = json.loads(state["history"])
    if not isinstance(history, list):
        raise ValueError("its history is not a list")
    epoch_loss = json.loads(state.get("epoch_loss", "[0.0, 0]"))  # absent in checkpoints before 2026-12-02
    if not (isinstance(epoch_loss, list) and len(epoch_loss) == 2):
        raise ValueError("its epoch_loss is not [sum, count]")
    best_auc = float(state.get("best_auc", state.get("best_ao", -1.0)))  # "best_ao" before 2026-12-02
    torch.set_rng_state(rng)
    trainer.epoch, trainer.step, trainer.history, trainer.best_auc = epoch, step, history, best_auc
    trainer.epoch_loss = [float(epoch_loss[0]), int(epoch_loss[1])]
