"""Training configuration: typed dataclasses filled from a YAML file."""

from __future__ import annotations

import copy
import dataclasses
import os
import typing
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ..data.crop_cache import PairFilter
from ..data.transforms import AugmentConfig
from ..models.network import ModelConfig
from .checks import check_bounds, check_value


@dataclass
class DatasetConfig:
    """One training source. ``kind``: got10k | otb | vot | lasot | folder | yolo | coco | curated
    (SiamFC search-region crops, see :mod:`siamfc.data.curated`). ``max_gap`` counts frames of the
    original video."""

    kind: str = "got10k"
    root: str = ""
    subset: str = "train"  # GOT-10k subset, or the YOLO/COCO split
    weight: float = 1.0
    max_gap: int = 100
    frame_stride: int = 1  # cache every n-th frame only (large datasets)


@dataclass
class DataConfig:
    datasets: list[DatasetConfig] = field(default_factory=list)
    filter: PairFilter = field(default_factory=PairFilter)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    cache_dir: str | None = None  # None: default_crop_cache_dir(), never the working folder
    exemplar_size: int = 127
    search_size: int = 239  # response 15x15 in training, 17x17 at 255 when tracking
    # side of the cached crops at the tracker's pixel scale: 255 holds the search region; larger ones
    # leave room for large shifts (a padded backbone must see targets away from the centre)
    cache_size: int = 255
    pairs_per_epoch: int = 8000
    num_workers: int = 2
    negative_prob: float = 0.0  # share of pairs whose search view shows another object (all-negative map)


def default_crop_cache_dir() -> Path:
    """Where crop caches go when ``data.cache_dir`` is not set: ``$SIAMFC_CACHE/crops``, else
    ``$XDG_CACHE_HOME/siamfc/crops``, else ``~/.cache/siamfc/crops``. Runs with the same data and
    filter share a cache (its folder is keyed by them)."""
    if os.environ.get("SIAMFC_CACHE"):
        return Path(os.environ["SIAMFC_CACHE"]) / "crops"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "siamfc" / "crops"


@dataclass
class OptimConfig:
    name: str = "sgd"  # sgd | adamw
    lr: float = 1e-2
    final_lr: float = 1e-5  # log-linear decay from lr to final_lr over the run
    momentum: float = 0.9
    weight_decay: float = 5e-4
    batch_size: int = 8
    epochs: int = 50
    grad_clip: float = 0.0  # 0: off
    backbone_lr_scale: float = 1.0  # learning rate of a pretrained trunk relative to lr (see ``pretrained``)
    # parameters kept as they are (name prefixes, e.g. backbone.stem): a pretrained trunk's first layers,
    # which also spares their backward pass, the costliest part at full resolution
    freeze: list[str] = field(default_factory=list)


@dataclass
class LossConfig:
    name: str = "logistic"  # logistic | contrastive | triplet
    positive_radius: float = 16.0  # search-crop pixels
    # whose response maps to distil (optional): a checkpoint (any stride), or a NanoTrack v2 folder
    # (nanotrack_backbone_sim.onnx + nanotrack_head_sim.onnx; its classification map, see nanotrack_teacher.py)
    teacher: str | None = None
    distill_weight: float = 0.0
    distill: str = "mse"  # mse (a SiamFC teacher's raw maps) | bce (a classifier's probabilities as soft labels)
    hard_negatives: int = 0  # >0: only the n hardest negative cells of each map count (online mining)
    # a NanoTrack v2 folder whose pretrained trunk's features the student's embeddings are pulled towards
    # (through a trained 1x1 adapter, cosine distance per cell; see feature_teacher.py); optional
    feature_teacher: str | None = None
    feature_weight: float = 0.0


@dataclass
class ValConfig:
    root: str | None = None  # GOT-10k layout root; validation tracks its sequences
    more_roots: list[str] = field(default_factory=list)  # more GOT-10k-layout roots (same subset) joining root's
    subset: str = "val"
    every: int = 1  # epochs
    max_frames: int = 0  # per sequence; 0 = all


@dataclass
class TrainConfig:
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    val: ValConfig = field(default_factory=ValConfig)
    out_dir: str = "runs/siamfc"
    # start from these weights: NanoTrack's backbone ONNX (nanotrack_v2 backbone), or a siamfc checkpoint
    pretrained: str | None = None
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda
    amp: bool = True  # mixed precision on GPU (ignored on CPU)
    threads: int = 0  # torch threads on CPU; 0 = torch's default
    checkpoint_minutes: float = 5.0
    tensorboard: bool = True


def _build(cls: type, data: object, where: str, prefix: str = "", overridden: frozenset[str] = frozenset()) -> object:
    """Recursively turn plain YAML data into dataclass ``cls``; unknown keys and values of the wrong
    type or range are errors naming the file (``where``) and the key (``prefix`` + name; said to come
    from the command line when it is in ``overridden``)."""
    if not dataclasses.is_dataclass(cls):
        return data
    if data is None:
        return cls()
    if not isinstance(data, dict):
        section = f" {prefix.rstrip('.')}" if prefix else ""
        raise ValueError(f"{where}:{section} expected a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        given = sorted(o for key in unknown for o in overridden
                       if o == f"{prefix}{key}" or o.startswith(f"{prefix}{key}."))
        if given:
            raise ValueError(f"--set {given[0]}: no such setting; known in {prefix.rstrip('.') or 'the config'}: "
                             f"{', '.join(sorted(names))}")
        section = f" {prefix.rstrip('.')}:" if prefix else ""
        raise ValueError(f"{where}:{section} unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(names))}")
    values = {}
    for key, value in data.items():
        hint = hints[key]
        origin = typing.get_origin(hint)
        args = typing.get_args(hint)
        name = f"{prefix}{key}"
        if origin is list and args and dataclasses.is_dataclass(args[0]):
            if not isinstance(value, list | None):
                raise ValueError(f"{_label(where, name, overridden)} = {value!r}: expected a list")
            values[key] = [_build(args[0], v, where, f"{name}[{i}].", overridden) for i, v in enumerate(value or [])]
        elif dataclasses.is_dataclass(hint):
            values[key] = _build(hint, value, where, f"{name}.", overridden)
        else:
            values[key] = check_value(key, hint, value, _label(where, name, overridden), name)
    section = cls(**values)
    check_bounds(section, prefix, lambda key: _label(where, key, overridden))
    return section


def _label(where: str, name: str, overridden: frozenset[str]) -> str:
    return f"{name} (from the command line)" if name in overridden else f"{where}: {name}"


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML's safe loader, but a key given twice in one mapping is an error: plain YAML loading
    keeps the last one silently, so a stray second ``model:`` would replace the first unnoticed."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, typing.Hashable):
                continue  # the safe loader's own error follows
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} given twice (line {key_node.start_mark.line + 1})")
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def load_config(path: str | Path, overrides: dict | None = None) -> TrainConfig:
    """Read a YAML config into a TrainConfig; ``overrides`` maps dotted keys to values."""
    path = Path(path)
    try:
        data = yaml.load(path.read_text(), Loader=_UniqueKeyLoader) or {}
    except OSError as exc:
        raise ValueError(f"{path}: cannot read ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    data = apply_overrides(data, overrides or {}, str(path))
    return config_from_dict(data, str(path), frozenset(overrides or {}))


def apply_overrides(data: dict, overrides: dict, where: str) -> dict:
    """A copy of config ``data`` with each dotted key of ``overrides`` set (``optim.lr``: ``data["optim"]["lr"]``);
    ``where`` names the config in the error for a key under a value that is not a section."""
    data = copy.deepcopy(data)
    for dotted, value in overrides.items():
        node = data
        *parents, last = dotted.split(".")
        for key in parents:
            node = node.setdefault(key, {}) if isinstance(node, dict) else None
        if not isinstance(node, dict):
            raise ValueError(f"{dotted} (from the command line): {'.'.join(parents) or where} is not a section")
        node[last] = value
    return data


def config_from_dict(data: dict, where: str = "config", overridden: frozenset[str] = frozenset()) -> TrainConfig:
    cfg = _build(TrainConfig, data, where, "", overridden)
    if cfg.data.datasets and not any(d.weight > 0 for d in cfg.data.datasets):
        raise ValueError(f"{where}: data.datasets: every weight is 0; at least one must be more than 0")
    return cfg


def config_to_dict(cfg: TrainConfig) -> dict:
    return dataclasses.asdict(cfg)
