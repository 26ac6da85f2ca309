"""Training configuration: declared settings (:mod:`siamfc.settings`) filled from a YAML file; and resuming a run:
which checkpoint ``--resume`` means, and whether the run the config describes wrote it (a run continues exactly
only with the settings that shaped it; those in :data:`FREE` may differ)."""

from __future__ import annotations

import copy
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml

from ..data.crop_cache import PairFilter
from ..data.pairs import AugmentConfig
from ..data.registry import names as dataset_kinds
from ..errors import CheckpointError, SettingError, SiamFCError, first_line, os_error
from ..models.checkpoint import FORMAT, read_checkpoint
from ..models.network import ModelConfig
from ..settings import build, check, setting


class Section:
    """A settings section that checks its own fields when made (:func:`siamfc.settings.check`)."""

    def __post_init__(self) -> None:
        check(self)


@dataclass
class DatasetConfig(Section):
    """One training source; ``kind`` names a registered reader (:mod:`siamfc.data.registry`)."""

    kind: str = setting("got10k", choices=dataset_kinds())
    root: str = ""
    subset: str = "train"  # GOT-10k subset, or the YOLO/COCO split
    weight: float = setting(1.0, ge=0)
    max_gap: int = setting(100, gt=0)  # frames of the original video
    frame_stride: int = setting(1, gt=0)  # cache every n-th frame only (large datasets)


@dataclass
class DataConfig(Section):
    datasets: list[DatasetConfig] = setting(factory=list)
    filter: PairFilter = setting(factory=PairFilter)
    augment: AugmentConfig = setting(factory=AugmentConfig)
    cache_dir: str | None = None  # None: default_crop_cache_dir(), never the working folder
    exemplar_size: int = setting(127, gt=0, lt="search_size")
    search_size: int = setting(239, gt=0)  # response 15x15 in training, 17x17 at 255 when tracking
    cache_size: int = setting(255, ge="search_size")  # cached crops; larger leaves room for large shifts
    pairs_per_epoch: int = setting(8000, gt=0)
    num_workers: int = setting(2, ge=0)
    negative_prob: float = setting(0.0, ge=0, le=1)  # share of pairs whose search view shows another object

    def __post_init__(self) -> None:
        check(self)
        if self.datasets and not any(d.weight > 0 for d in self.datasets):
            raise SettingError("datasets: every weight is 0; at least one must be more than 0", "datasets")


def default_crop_cache_dir() -> Path:
    """``$SIAMFC_CACHE/crops``, else ``$XDG_CACHE_HOME/siamfc/crops``, else ``~/.cache/siamfc/crops``."""
    if os.environ.get("SIAMFC_CACHE"):
        return Path(os.environ["SIAMFC_CACHE"]) / "crops"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "siamfc" / "crops"


@dataclass
class OptimConfig(Section):
    name: str = setting("sgd", choices=("sgd", "adamw"))
    lr: float = setting(1e-2, gt=0)
    final_lr: float = setting(1e-5, gt=0, le="lr")  # log-linear decay from lr to final_lr over the run
    momentum: float = setting(0.9, ge=0)
    weight_decay: float = setting(5e-4, ge=0)
    batch_size: int = setting(8, gt=0)
    epochs: int = setting(50, gt=0)
    grad_clip: float = setting(0.0, ge=0)  # 0: off
    backbone_lr_scale: float = setting(1.0, ge=0)  # a pretrained trunk's learning rate relative to lr
    freeze: list[str] = setting(factory=list)  # parameter name prefixes kept as they are


@dataclass
class LossConfig(Section):
    name: str = setting("logistic", choices=("logistic", "contrastive", "triplet"))
    positive_radius: float = setting(16.0, gt=0)  # search-crop pixels
    teacher: str | None = None  # a checkpoint whose response maps are distilled
    distill_weight: float = setting(0.0, ge=0)
    distill: str = setting("mse", choices=("mse", "bce"))  # bce: the teacher's probabilities as soft labels
    hard_negatives: int = setting(0, ge=0)  # >0: only the n hardest negative cells of each map count


@dataclass
class ValConfig(Section):
    root: str | None = None  # GOT-10k layout root; validation tracks its sequences
    more_roots: list[str] = setting(factory=list)  # more roots (same subset) joining root's
    subset: str = "val"
    every: int = setting(1, gt=0)  # epochs
    max_frames: int = setting(0, ge=0)  # per sequence; 0 = all


@dataclass
class TrainConfig(Section):
    model: ModelConfig = setting(factory=ModelConfig)
    data: DataConfig = setting(factory=DataConfig)
    optim: OptimConfig = setting(factory=OptimConfig)
    loss: LossConfig = setting(factory=LossConfig)
    val: ValConfig = setting(factory=ValConfig)
    out_dir: str = "runs/siamfc"
    pretrained: str | None = None  # NanoTrack's backbone ONNX (nanotrack_v2 backbone), or a siamfc checkpoint
    seed: int = setting(0, ge=0)
    device: str = setting("auto", choices=("auto", "cpu", "cuda"))
    amp: bool = True  # mixed precision on GPU (ignored on CPU)
    threads: int = setting(0, ge=0)  # torch threads on CPU; 0 = torch's default
    checkpoint_minutes: float = setting(5.0, gt=0)
    tensorboard: bool = True
    # loss terms registered by experiments/ (name -> its settings); siamfc train alone registers none
    experiment: dict = setting(factory=dict)


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML's safe loader, but a key given twice in one mapping is an error (not the last one kept)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        keys = [self.construct_object(key_node, deep=deep) for key_node, _ in node.value]
        for i, key in enumerate(keys):
            if key in keys[:i]:  # a list: an unhashable key is left to the safe loader's own error
                line = node.value[i][0].start_mark.line + 1
                raise yaml.constructor.ConstructorError(None, None, f"key {key!r} given twice (line {line})")
        return super().construct_mapping(node, deep=deep)


def load_config(source: str | Path | dict, overrides: dict | None = None, flags: dict | None = None) -> TrainConfig:
    """A TrainConfig from a YAML file, or from plain data (``siamfc train``'s recipe), with each dotted key of
    ``overrides`` set to its value. Errors name the file, or for an overridden key the option in ``flags`` that gave
    it (``--data``), else ``--set``."""
    overrides, where, data = overrides or {}, "siamfc train (recipe)", source
    if not isinstance(source, dict):
        where = path = Path(source)
        with os_error(path, failed="cannot read", kind=SettingError):
            text = path.read_bytes()
        try:
            data = yaml.load(text, Loader=_UniqueKeyLoader) or {}
        except yaml.YAMLError as exc:
            raise SettingError(f"{path}: not valid YAML ({first_line(exc)})", str(path)) from exc
    data = copy.deepcopy(data)
    for dotted, value in overrides.items():  # optim.lr: data["optim"]["lr"]
        node = data
        *parents, last = dotted.split(".")
        for key in parents:
            node = node.setdefault(key, {}) if isinstance(node, dict) else None
        if not isinstance(node, dict):
            raise SettingError(f"--set {dotted}: {'.'.join(parents)} is not a section", dotted)
        node[last] = value
    try:
        return build(TrainConfig, data)
    except SettingError as exc:
        given = [k for k in overrides if exc.key and (f"{exc.key}.".startswith((f"{k}.", f"{k}[")) or
                                                      k.startswith(f"{exc.key}."))]
        raise SettingError(f"{(flags or {}).get(given[0], '--set') if given else f'{where}:'} {exc}", exc.key) from exc


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
    path = Path(given or last)
    path = path / "last.pth" if path.is_dir() else path
    if not path.exists():
        raise CheckpointError(f"--resume: {path} does not exist (nothing to resume)", "--resume")
    check_same_run(path, read_checkpoint(path), cfg)
    return path


def _progress(last: Path) -> str:
    """Where the run saved in ``last`` stands (``last.pth at epoch 2, step 40``)."""
    try:
        train = read_checkpoint(last)["train"]
        epoch, step = int(train["epoch"]), int(train["step"])
    except (ValueError, KeyError, TypeError):
        return last.name
    done = step == 0 and epoch > 0
    return f"{last.name} after epoch {epoch}" if done else f"{last.name} at epoch {epoch + 1}, step {step}"


def _flat(data: object, prefix: str = "") -> dict[str, object]:
    """Nested mappings as dotted keys; lists and other values are leaves."""
    if not isinstance(data, dict):
        return {prefix.rstrip("."): data}
    return {key: value for k, v in data.items() for key, value in _flat(v, f"{prefix}{k}.").items()}


def _show(value: object) -> str:
    text = json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."


def check_same_run(path: Path, data: dict, cfg: TrainConfig) -> None:
    """A CheckpointError when checkpoint ``data`` (read from ``path``) holds no training state (``train``), or when
    the config that wrote it differs from ``cfg`` in a setting that shapes the run (not in :data:`FREE`; keys the
    saved config lacks are not compared)."""
    if data.get("format") != FORMAT or not isinstance(data.get("train"), dict):
        raise CheckpointError(f"{path}: not a siamfc training checkpoint (nothing to resume)", str(path))
    try:  # "{}": written before checkpoints kept their config
        old = _flat(dict(json.loads(data["train"].get("config", "{}"))))
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"{path}: damaged training state (its config is not a JSON mapping)", str(path)) from exc
    new = _flat(json.loads(json.dumps(asdict(cfg))))
    changed = [f"{k}: {_show(old[k])} there, {_show(new[k])} now" for k in sorted(old.keys() & new.keys())
               if old[k] != new[k] and not any(k == f or k.startswith(f"{f}.") for f in FREE)]
    if changed:
        more = f" (and {len(changed) - 3} more)" if len(changed) > 3 else ""
        raise CheckpointError(f"{path}: written by a run with other settings ({'; '.join(changed[:3])}{more}); "
                              "resume with that run's settings, or start a new run in another --out-dir", str(path))
