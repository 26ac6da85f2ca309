"""Checkpoints of the box-head family: siamfc's checkpoint dict whose ``model`` config has
``family: "boxnet"`` (:class:`siamfc.models.boxnet.BoxNetConfig`), read with ``weights_only=True``."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import CheckpointError
from .boxnet import BoxNetConfig, BoxTrackNet
from .checkpoint import FORMAT, VERSION, _compare, atomic_save, check_finite, read_checkpoint


def save_box_checkpoint(path: str | os.PathLike, net: BoxTrackNet, **extra) -> None:
    state = {"format": FORMAT, "version": VERSION, "model": net.config.to_dict(),
             "state_dict": {k: v.detach().cpu() for k, v in net.state_dict().items()}, **extra}
    atomic_save(state, path)


def is_box_checkpoint(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a readable checkpoint of the box-head family (False for anything else:
    the SiamFC loader then reports what is wrong with it)."""
    if not Path(path).is_file() or Path(path).suffix != ".pth":
        return False
    try:
        data = read_checkpoint(path)
    except CheckpointError:
        return False
    return isinstance(data.get("model"), dict) and data["model"].get("family") == "boxnet"


def load_box_checkpoint(path: str | os.PathLike) -> BoxTrackNet:
    data = read_checkpoint(path)
    fields = BoxNetConfig.__dataclass_fields__
    config = data.get("model")
    if not isinstance(config, dict) or config.get("family") != "boxnet" or set(config) - set(fields):
        raise CheckpointError(f"{path}: not a box-head checkpoint (model config {config!r:.80})")
    net = BoxTrackNet(BoxNetConfig(**config))
    state = data.get("state_dict")
    missing, unexpected, mismatched = _compare(net.state_dict(), state if isinstance(state, dict) else {})
    if missing or unexpected or mismatched:
        raise CheckpointError(f"{path}: weights do not fit the box-head model ({len(missing)} missing, "
                              f"{len(unexpected)} unexpected, {len(mismatched)} of other shape)")
    check_finite(state, path)
    net.load_state_dict(state)
    return net.eval()
