"""A run's parts from its config: the model (checked against the crop sizes before the slow setup), its optimizer
and schedule, its pairs (each source read, its crops cached, the sources mixed with their weights) and its
validation sequences."""

from __future__ import annotations

import math
import os
from pathlib import Path

import torch
from torch import nn

from ..data import registry
from ..data.crop_cache import build_crop_cache
from ..data.pairs import PairAugment, PairDataset, PairSource
from ..data.sequences import Sequence, got10k_sequences
from ..errors import CheckpointError, SettingError, SiamFCError, first_line, os_error
from ..models.backbones import NanoTrackTrunk, load_nanotrack_onnx
from ..models.checkpoint import load_model
from ..models.network import SiamFCNet, build_model
from .config import DataConfig, DatasetConfig, OptimConfig, TrainConfig, ValConfig, default_crop_cache_dir


def build_checked_model(cfg: TrainConfig) -> SiamFCNet:
    """``build_model(cfg.model)``, its errors naming the keys that describe the network, after one dry forward pass
    of a blank pair of the crop sizes (eval mode: no statistics change; the declarations keep the exemplar smaller
    than the search crop, so the response is never empty); then ``pretrained`` loaded and ``optim.freeze`` frozen."""
    net = cfg.model
    try:
        model = build_model(net)
    except (ValueError, TypeError, RuntimeError) as exc:  # a SettingError names the field at fault
        name = exc.key if isinstance(exc, SettingError) and exc.key else "width" if net.channels is None else "channels"
        raise SettingError(f"model.{name} = {getattr(net, name, None)}: the {net.backbone} backbone cannot be built "
                           f"from it ({first_line(exc, 160)})", f"model.{name}") from exc
    e, s = cfg.data.exemplar_size, cfg.data.search_size
    try:
        with torch.no_grad():
            model.eval()(torch.zeros(1, 3, e, e), torch.zeros(1, 3, s, s))
    except RuntimeError as exc:
        raise SettingError(f"data.exemplar_size = {e}, data.search_size = {s}: the {net.backbone} backbone cannot "
                           f"take these crop sizes ({first_line(exc, 160)})", "data.exemplar_size") from exc
    if cfg.pretrained:
        init_from_pretrained(model, cfg.pretrained)
    freeze(model, cfg.optim.freeze)
    return model.train()


def init_from_pretrained(model: SiamFCNet, path: str | os.PathLike) -> None:
    """Load NanoTrack v2's backbone ONNX into a ``nanotrack_v2`` backbone, or a siamfc checkpoint of the
    same architecture into the whole network."""
    path = Path(path)
    if not path.is_file():
        raise SettingError(f"pretrained: {path} not found", "pretrained")
    if path.suffix == ".onnx":
        backbones = [b for b in (model.backbone, model.search_backbone) if b is not None]
        if not all(isinstance(b, NanoTrackTrunk) for b in backbones):
            raise SettingError(f"pretrained: {path}: an ONNX backbone starts only the nanotrack_v2 backbone, "
                               f"not {model.config.backbone!r}", "pretrained")
        for backbone in backbones:
            load_nanotrack_onnx(backbone, path)
        return
    try:
        model.load_state_dict(load_model(path).state_dict())
    except RuntimeError as exc:
        raise CheckpointError(f"{path}: does not fit this model ({first_line(exc, 120)})", str(path)) from exc


def freeze(model: nn.Module, prefixes: list[str]) -> int:
    """Stop training the parameters whose names start with one of ``prefixes``; returns how many."""
    names = [name for name, _ in model.named_parameters()]
    for prefix in prefixes:
        if not any(name.startswith(prefix) for name in names):
            raise SettingError(f"optim.freeze: no parameter starts with {prefix!r} (e.g. {names[0]!r})", "optim.freeze")
    frozen = [param for name, param in model.named_parameters() if name.startswith(tuple(prefixes))]
    for param in frozen:
        param.requires_grad_(False)
    return len(frozen)


def parameter_groups(model: nn.Module, lr: float, backbone_lr_scale: float) -> list[dict]:
    """Optimizer groups: the pretrained trunks at ``lr * backbone_lr_scale``, everything else at ``lr``."""
    trunk_ids = {id(p) for module in model.modules() if isinstance(module, NanoTrackTrunk) and backbone_lr_scale != 1.0
                 for p in module.trunk_parameters()}
    trainable = [p for p in model.parameters() if p.requires_grad]
    groups = [{"params": [p for p in trainable if id(p) not in trunk_ids], "lr": lr},
              {"params": [p for p in trainable if id(p) in trunk_ids], "lr": lr * backbone_lr_scale}]
    return [g for g in groups if g["params"]]


def build_optimizer(model: nn.Module, cfg: OptimConfig, extra: list[nn.Parameter]) -> torch.optim.Optimizer:
    """SGD or AdamW over ``model`` and the ``extra`` parameters that train beside it (an experiment's terms)."""
    terms = [{"params": extra, "lr": cfg.lr}] if extra else []
    params = parameter_groups(model, cfg.lr, cfg.backbone_lr_scale) + terms
    if cfg.name == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)


def build_schedule(optimizer: torch.optim.Optimizer, cfg: OptimConfig,
                   total_steps: int) -> torch.optim.lr_scheduler.LambdaLR:
    """The rate falls log-linearly from ``lr`` at step 0 to ``final_lr`` at ``total_steps``, then stays."""
    decay = math.log(cfg.final_lr / cfg.lr)
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: math.exp(decay * min(step, total_steps) / total_steps))


def read_sequences(ds: DatasetConfig, where: str = "dataset") -> list[Sequence]:
    """The sequences of source ``ds`` (its reader checks its root); errors say which source (``where``)."""
    try:
        return registry.get(ds.kind)(ds.root, ds.subset)
    except ValueError as exc:  # a DatasetError names its file
        raise SiamFCError(f"{where} ({ds.kind}): {exc}", getattr(exc, "key", None) or where) from exc


def build_pair_dataset(cfg: DataConfig, seed: int, quiet: bool = False) -> PairDataset:
    sources, cache_dir = [], cfg.cache_dir or default_crop_cache_dir()
    what = "data.cache_dir" if cfg.cache_dir else "the crop cache (data.cache_dir, default $SIAMFC_CACHE/crops)"
    for i, ds in enumerate(cfg.datasets):
        key = f"data.datasets[{i}]"
        sequences = read_sequences(ds, key)
        with os_error(f"{what} {cache_dir}", "data.cache_dir", kind=SettingError):
            cache = build_crop_cache(sequences, cache_dir, size=cfg.cache_size, filt=cfg.filter,
                                     exemplar_size=cfg.exemplar_size, workers=max(1, cfg.num_workers), quiet=quiet,
                                     frame_stride=ds.frame_stride)
        if len(cache.sizes) == 0:
            why = f", and {cache.unreadable} of its frames cannot be read as images (e.g. {cache.first_unreadable})"
            raise SettingError(f"{key}: {ds.kind} dataset at {ds.root} ({ds.subset}) has no usable frame after "
                               f"filtering{why if cache.unreadable else ''}", key)
        sources.append(PairSource(cache, ds.weight, ds.max_gap))
    augment = PairAugment(cfg.augment, cfg.exemplar_size, cfg.search_size)
    return PairDataset(sources, augment, cfg.pairs_per_epoch, seed, cfg.negative_prob)


def read_val_sequences(val: ValConfig) -> list[Sequence] | None:
    """The sequences of ``val.root`` and ``val.more_roots`` (None without ``val.root``)."""
    if not val.root:
        return None
    sequences = []
    for i, root in enumerate([val.root, *val.more_roots]):
        key = f"val.more_roots[{i - 1}]" if i else "val.root"
        try:
            sequences += got10k_sequences(root, val.subset)
        except ValueError as exc:
            raise SettingError(f"{key}: {exc}", key) from exc
    return sequences
