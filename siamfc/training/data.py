"""From a DataConfig to a PairDataset: read each source, cache its crops, mix with weights."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ..data.crop_cache import CropCache, build_crop_cache
from ..data.curated import curated_sequences
from ..data.pairs import PairDataset, PairSource
from ..data.readers import coco_images, folder_sequences, lasot_sequences, otb_sequences, vot_sequences
from ..data.sequences import Sequence, got10k_sequences, yolo_images
from ..data.transforms import PairAugment
from .config import DataConfig, DatasetConfig, default_crop_cache_dir

SequenceReader = Callable[[str, str], list[Sequence]]
READERS: dict[str, SequenceReader] = {
    "got10k": lambda root, subset: got10k_sequences(root, subset),
    "yolo": lambda root, subset: yolo_images(root, subset),
    "otb": otb_sequences,
    "vot": vot_sequences,
    "lasot": lasot_sequences,
    "folder": folder_sequences,
    "coco": coco_images,
    "curated": curated_sequences,
}


def read_sequences(ds: DatasetConfig) -> list[Sequence]:
    if ds.kind not in READERS:
        raise ValueError(f"unknown dataset kind {ds.kind!r}; known: {', '.join(sorted(READERS))}")
    if not Path(ds.root).exists():
        raise ValueError(f"dataset root {ds.root} does not exist")
    return READERS[ds.kind](ds.root, ds.subset)


def build_pair_dataset(cfg: DataConfig, seed: int, quiet: bool = False) -> PairDataset:
    sources = []
    for i, ds in enumerate(cfg.datasets):
        try:
            sequences = read_sequences(ds)
        except ValueError as exc:
            raise ValueError(f"data.datasets[{i}] ({ds.kind}): {exc}") from None
        cache = _cache(cfg, ds, sequences, quiet)
        if len(cache.sizes) == 0:
            unreadable = f", and {cache.unreadable} of its frames cannot be read as images (e.g. " \
                         f"{cache.first_unreadable})" if cache.unreadable else ""
            raise ValueError(f"data.datasets[{i}]: {ds.kind} dataset at {ds.root} ({ds.subset}) has no usable frame "
                             f"after filtering{unreadable}")
        sources.append(PairSource(cache, ds.weight, ds.max_gap))
    augment = PairAugment(cfg.augment, cfg.exemplar_size, cfg.search_size)
    return PairDataset(sources, augment, cfg.pairs_per_epoch, seed, cfg.negative_prob)


def _cache(cfg: DataConfig, ds: DatasetConfig, sequences: list[Sequence], quiet: bool) -> CropCache:
    """The crop cache of one source; a folder that cannot be written names ``data.cache_dir``."""
    cache_dir = cfg.cache_dir or default_crop_cache_dir()
    try:
        return build_crop_cache(sequences, cache_dir, size=cfg.cache_size, filt=cfg.filter,
                                exemplar_size=cfg.exemplar_size, workers=max(1, cfg.num_workers), quiet=quiet,
                                frame_stride=ds.frame_stride)
    except OSError as exc:
        key = "data.cache_dir" if cfg.cache_dir else "the crop cache (data.cache_dir, default $SIAMFC_CACHE/crops)"
        raise ValueError(f"{key} {cache_dir}: cannot be written ({exc.strerror or exc})") from None
