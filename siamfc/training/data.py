"""From a DataConfig to a PairDataset: read each source, cache its crops, mix with weights."""

from __future__ import annotations

from pathlib import Path

from ..data import registry
from ..data.crop_cache import CropCache, build_crop_cache
from ..data.pairs import PairDataset, PairSource
from ..data.sequences import Sequence
from ..data.transforms import PairAugment
from ..errors import SettingError, SiamFCError
from .config import DataConfig, DatasetConfig, default_crop_cache_dir


def read_sequences(ds: DatasetConfig) -> list[Sequence]:
    reader = registry.get(ds.kind)
    if not Path(ds.root).exists():
        raise SettingError(f"dataset root {ds.root} does not exist", "root")
    return reader(ds.root, ds.subset)


def build_pair_dataset(cfg: DataConfig, seed: int, quiet: bool = False) -> PairDataset:
    sources = []
    for i, ds in enumerate(cfg.datasets):
        key = f"data.datasets[{i}]"
        try:
            sequences = read_sequences(ds)
        except SettingError as exc:
            raise SettingError(f"{key} ({ds.kind}): {exc}", f"{key}.{exc.key}") from exc
        except ValueError as exc:  # a DatasetError names its file
            raise SiamFCError(f"{key} ({ds.kind}): {exc}", getattr(exc, "key", None) or key) from exc
        cache = _cache(cfg, ds, sequences, quiet)
        if len(cache.sizes) == 0:
            unreadable = f", and {cache.unreadable} of its frames cannot be read as images (e.g. " \
                         f"{cache.first_unreadable})" if cache.unreadable else ""
            raise SettingError(f"{key}: {ds.kind} dataset at {ds.root} ({ds.subset}) has no usable frame after "
                               f"filtering{unreadable}", key)
        sources.append(PairSource(cache, ds.weight, ds.max_gap))
    augment = PairAugment(cfg.augment, cfg.exemplar_size, cfg.search_size)
    return PairDataset(sources, augment, cfg.pairs_per_epoch, seed, cfg.negative_prob)


def _cache(cfg: DataConfig, ds: DatasetConfig, sequences: list[Sequence], quiet: bool) -> CropCache:
    cache_dir = cfg.cache_dir or default_crop_cache_dir()
    try:
        return build_crop_cache(sequences, cache_dir, size=cfg.cache_size, filt=cfg.filter,
                                exemplar_size=cfg.exemplar_size, workers=max(1, cfg.num_workers), quiet=quiet,
                                frame_stride=ds.frame_stride)
    except OSError as exc:
        key = "data.cache_dir" if cfg.cache_dir else "the crop cache (data.cache_dir, default $SIAMFC_CACHE/crops)"
        raise SettingError(f"{key} {cache_dir}: cannot be written ({exc.strerror or exc})", "data.cache_dir") from exc
