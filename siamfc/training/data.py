"""From a DataConfig to a PairDataset: read each source, cache its crops, mix with weights."""

from __future__ import annotations

from ..data import registry
from ..data.crop_cache import build_crop_cache
from ..data.pairs import PairDataset, PairSource
from ..data.sequences import Sequence
from ..data.transforms import PairAugment
from ..errors import SettingError, SiamFCError
from .config import DataConfig, DatasetConfig, default_crop_cache_dir


def read_sequences(ds: DatasetConfig, where: str = "dataset") -> list[Sequence]:
    """The sequences of source ``ds`` (its reader checks its root); errors say which source (``where``)."""
    try:
        return registry.get(ds.kind)(ds.root, ds.subset)
    except ValueError as exc:  # a DatasetError names its file
        raise SiamFCError(f"{where} ({ds.kind}): {exc}", getattr(exc, "key", None) or where) from exc


def build_pair_dataset(cfg: DataConfig, seed: int, quiet: bool = False) -> PairDataset:
    sources = []
    cache_dir = cfg.cache_dir or default_crop_cache_dir()
    for i, ds in enumerate(cfg.datasets):
        key = f"data.datasets[{i}]"
        sequences = read_sequences(ds, key)
        try:
            cache = build_crop_cache(sequences, cache_dir, size=cfg.cache_size, filt=cfg.filter,
                                     exemplar_size=cfg.exemplar_size, workers=max(1, cfg.num_workers), quiet=quiet,
                                     frame_stride=ds.frame_stride)
        except OSError as exc:
            what = "data.cache_dir" if cfg.cache_dir else "the crop cache (data.cache_dir, default $SIAMFC_CACHE/crops)"
            raise SettingError(f"{what} {cache_dir}: cannot be written ({exc.strerror or exc})",
                               "data.cache_dir") from exc
        if len(cache.sizes) == 0:
            why = f", and {cache.unreadable} of its frames cannot be read as images (e.g. {cache.first_unreadable})"
            raise SettingError(f"{key}: {ds.kind} dataset at {ds.root} ({ds.subset}) has no usable frame after "
                               f"filtering{why if cache.unreadable else ''}", key)
        sources.append(PairSource(cache, ds.weight, ds.max_gap))
    augment = PairAugment(cfg.augment, cfg.exemplar_size, cfg.search_size)
    return PairDataset(sources, augment, cfg.pairs_per_epoch, seed, cfg.negative_prob)
