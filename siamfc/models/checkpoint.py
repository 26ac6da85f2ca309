"""Checkpoints: a plain dict ``{"format": "siamfc", "version": 1, "model": config dict, "state_dict": ...}``
(training adds its state; the box-head family's config has ``family: "boxnet"``), and the PyTorch SiamFC
port's layout. Everything is loaded with ``torch.load(..., weights_only=True)``. Averaging checkpoints of one
network: the last epochs of one run, or a uniform "model soup" (Wortsman et al., 2022) of fine-tuning runs
from the same pretrained weights; SiamFC or box-head checkpoints, never a mix."""

from __future__ import annotations

import errno
import os
import pickle
import re
import tempfile
import zipfile
from collections.abc import Mapping, Sequence
from itertools import chain
from pathlib import Path

import torch
from torch import nn

from ..errors import CheckpointError, first_line
from ..io.writers import new_file_mode
from .boxnet import BoxNetConfig, BoxTrackNet
from .network import SiamFCNet, build_model

FORMAT = "siamfc"
VERSION = 1
_PORT_CONVS = [f"backbone.conv{i}.0.weight" for i in range(1, 6)]
_TEMP_NAME = re.compile(r"\..+\.pth\.[a-z0-9_]{8}")  # what atomic_save's mkstemp names look like


def save_checkpoint(path: str | os.PathLike, model: SiamFCNet | BoxTrackNet, **extra) -> None:
    """Write ``model`` (and any extra entries) atomically: a temp file, then a rename."""
    atomic_save({"format": FORMAT, "version": VERSION, "model": model.config.to_dict(),
                 "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()}, **extra}, path)


def atomic_save(obj: object, path: str | os.PathLike) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, new_file_mode())
        with os.fdopen(fd, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)  # a failed save's temp file (after the rename there is none)


def read_checkpoint(path: str | os.PathLike) -> dict:
    """Load a file safely (``weights_only=True``), turning every failure into CheckpointError."""
    path = Path(path)
    head, data, error, why = b"", None, None, ""
    if path.is_file():
        with path.open("rb") as file:
            head = file.read(2)
    zipped = zipfile.is_zipfile(path)  # torch.save writes a zip archive, or else a legacy pickle (b"\x80")
    if zipped or head[:1] == b"\x80":
        try:
            data = torch.load(path, map_location="cpu", weights_only=True)
        except pickle.UnpicklingError as exc:
            error, why = exc, "not plain tensors and data: garbage, or pickled objects, which are refused for safety"
        except Exception as exc:  # torch raises many types for truncated or foreign files
            cut = isinstance(exc, OSError) and exc.errno == errno.EINVAL  # what a zip archive cut short gives
            error, why = exc, ("damaged or cut short; " if cut else "") + first_line(exc)
    reason = next((text for test, text in (
        (path.is_dir(), "a folder, not a checkpoint file"),
        (not path.is_file(), "no such checkpoint file"),
        (not head, "an empty file, not a checkpoint"),
        (head == b"PK" and not zipped,
         "not a readable PyTorch checkpoint (damaged or cut short: a zip archive without its end)"),
        (not zipped and head[:1] != b"\x80", "not a PyTorch checkpoint (neither the zip archive torch.save writes "
                                             "nor a legacy pickle: a text, image or other file)"),
        (error is not None, f"not a readable PyTorch checkpoint ({why[:160]})"),
        (not isinstance(data, dict), f"expected a dict, found {type(data).__name__}")) if test), None)
    if reason is not None:
        raise CheckpointError(f"{path}: {reason}", str(path)) from error
    return data


def load_model(path: str | os.PathLike, device: str | torch.device = "cpu") -> SiamFCNet:
    """Build the SiamFC model a checkpoint describes and load its weights, in eval mode."""
    data = read_checkpoint(path)
    if data.get("format") == FORMAT:
        if not isinstance(data.get("model"), dict) or "state_dict" not in data:
            raise CheckpointError(f"{path}: siamfc checkpoint without 'model' or 'state_dict' ('model' a config dict, "
                                  f"found {type(data.get('model')).__name__})", str(path))
        config, state = data["model"], data["state_dict"]
    else:  # the PyTorch port's state dict, bare or as {"state_dict": ...}; its widths inferred from its shapes
        state = next((d for d in (data, data.get("state_dict")) if isinstance(d, dict) and all(
            isinstance(d.get(k), torch.Tensor) and d[k].ndim == 4 for k in _PORT_CONVS)), None)
        if state is None:
            raise CheckpointError(f"{path}: not a SiamFC checkpoint (keys: {', '.join(list(map(str, data))[:4])}...)",
                                  str(path))
        config = {"channels": [int(state[k].shape[0]) for k in _PORT_CONVS], "bn_eps": 1e-6, "out_scale": 0.001}
    try:
        model = build_model(**config)
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"{path}: cannot build its model ({exc})", str(path)) from exc
    return _load_weights(model, state, path).to(device)


def _load_weights(model: SiamFCNet | BoxTrackNet, state: object, path: str | os.PathLike) -> nn.Module:
    """``model`` with ``state`` loaded, in eval mode; a CheckpointError when the weights do not fit it, or for the
    first tensor that holds a NaN or an infinity, a layer's weights or bias of integers (loading would cast them
    silently), or a layer's weights all zero (flat maps)."""
    tensors = state if isinstance(state, dict) and all(isinstance(v, torch.Tensor) for v in state.values()) else {}
    expected = model.state_dict()
    unfit = [f"{len(ks)} {what}: {', '.join(ks[:3])}" for what, ks in (
        ("missing", [k for k in expected if k not in tensors]),
        ("unexpected", [k for k in tensors if k not in expected]),
        ("of other shape", [k for k in expected if k in tensors and tensors[k].shape != expected[k].shape])) if ks]
    kinds = {name: name.rsplit(".", 1)[-1] for name in tensors}
    broken = (f"tensor {name} {text}" for name, t in tensors.items() for test, text in (
        (kinds[name] in ("weight", "bias") and not t.is_floating_point(), f"holds {t.dtype} values: a layer's "
         f"{kinds[name]} must be floating-point (a quantised or converted file?)"),
        (kinds[name] == "weight" and t.ndim >= 2 and t.numel() and not bool(t.any()),
         "is all zero: a layer that gives flat maps, not trained weights"),
        (not bool(torch.isfinite(t).all()), f"holds {int((~torch.isfinite(t)).sum())} non-finite value(s) (NaN or "
         "inf): the weights are broken (a diverged training run?)")) if test)
    reason = next(chain(["'state_dict' should map names to tensors"] if tensors is not state else [],
                        [f"weights do not fit the model ({'; '.join(unfit)})"] if unfit else [], broken), None)
    if reason is not None:
        raise CheckpointError(f"{path}: {reason}", str(path))
    model.load_state_dict(tensors)
    return model.eval()


def is_box_checkpoint(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a readable checkpoint of the box-head family."""
    try:
        config = read_checkpoint(path).get("model") if Path(path).suffix == ".pth" else None
    except CheckpointError:
        return False
    return isinstance(config, dict) and config.get("family") == "boxnet"


def load_box_checkpoint(path: str | os.PathLike) -> BoxTrackNet:
    data = read_checkpoint(path)
    config = data.get("model")
    if not isinstance(config, dict) or config.get("family") != "boxnet" or set(config) - set(
            BoxNetConfig.__dataclass_fields__):
        raise CheckpointError(f"{path}: not a box-head checkpoint (model config {config!r:.80})", str(path))
    return _load_weights(BoxTrackNet(BoxNetConfig(**config)), data.get("state_dict"), path)


def remove_stale_temps(folder: str | os.PathLike) -> list[Path]:
    """Delete (and return) the temp files a killed :func:`atomic_save` leaves; call it where no save is running."""
    removed = [tmp for tmp in Path(folder).glob(".*.pth.*") if tmp.is_file() and _TEMP_NAME.fullmatch(tmp.name)]
    for tmp in removed:
        tmp.unlink(missing_ok=True)
    return removed


def average_states(states: Sequence[Mapping[str, torch.Tensor]], counters_from: int = -1) -> dict[str, torch.Tensor]:
    """The elementwise mean (in float64) of every floating-point tensor of ``states``; integer tensors
    (BatchNorm's step counters) are taken from ``states[counters_from]``."""
    first = states[0]
    for i, state in enumerate(states[1:], 1):
        if state.keys() != first.keys() or any(state[k].shape != first[k].shape for k in first):
            raise CheckpointError(f"checkpoint {i + 1} holds other tensors than the first; "
                                  "only checkpoints of one network can be averaged")
    kept = states[counters_from]
    return {k: (sum(s[k].double() for s in states) / len(states)).to(v.dtype) if v.is_floating_point()
            else kept[k].clone() for k, v in first.items()}


def average_checkpoints(paths: Sequence[str | os.PathLike], counters_from: int = -1) -> SiamFCNet | BoxTrackNet:
    """The network of ``paths[0]`` with the average of all ``paths``' weights (:func:`average_states`); each
    checkpoint of the same family and config (another family's config never equals it)."""
    if not paths:
        raise CheckpointError("no checkpoints to average")
    models = [load_box_checkpoint(p) if is_box_checkpoint(p) else load_model(p) for p in paths]
    for path, model in zip(paths[1:], models[1:], strict=True):
        if model.config != models[0].config:
            raise CheckpointError(f"{path}: another model ({model.config.to_dict()}) than {paths[0]} "
                                  f"({models[0].config.to_dict()}); only checkpoints of one network can be averaged",
                                  str(path))
    models[0].load_state_dict(average_states([m.state_dict() for m in models], counters_from))
    return models[0].eval()
