"""Training pairs: deterministic in (seed, epoch, index), and the returned offset is where the
object really is in the search view (shift, stretch and flip included)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from siamfc.data.crop_cache import CropCache
from siamfc.data.pairs import AugmentConfig, PairAugment, PairDataset, PairSource
from siamfc.errors import SettingError
from siamfc.training.losses import make_labels

SIZE = 255


def square_crops(n: int, half: int = 12) -> np.ndarray:
    """``n`` cached crops with a bright square centred on the crop centre (where the cache puts the
    target), on a dark textured background; each crop's square has a different colour."""
    rng = np.random.default_rng(0)
    crops = rng.integers(0, 40, size=(n, SIZE, SIZE, 3), dtype=np.uint8)
    c = (SIZE - 1) // 2
    for k in range(n):
        crops[k, c - half:c + half + 1, c - half:c + half + 1] = (255, 200 + 10 * k, 180)
    return crops


def make_dataset(n_frames: int = 4, seed: int = 0, pairs: int = 32, groups: int = 1, negative_prob: float = 0.0,
                 **augment) -> PairDataset:
    crops = square_crops(n_frames)
    cache = CropCache(crops=crops, sizes=np.full((n_frames, 2), 25, np.float32),
                      groups=np.arange(n_frames, dtype=np.int32) % groups,
                      frame_ids=np.arange(n_frames, dtype=np.int32))
    cfg = AugmentConfig(**augment)
    return PairDataset([PairSource(cache, 1.0, 100)], PairAugment(cfg, 127, 239), pairs, seed, negative_prob)


def bright_centre(view: torch.Tensor) -> np.ndarray:
    """(row, col) centroid of the bright pixels of a (3, H, W) uint8 view."""
    mask = view.float().mean(0).numpy() > 120
    rows, cols = np.nonzero(mask)
    return np.array([rows.mean(), cols.mean()])


def test_same_seed_epoch_index_same_pair() -> None:
    a, b = make_dataset(seed=5), make_dataset(seed=5)
    for index in (0, 7, 31):
        for x, y in zip(a[index], b[index], strict=True):
            assert torch.equal(x, y)
    # the order in which samples are drawn does not matter
    first = [a[i] for i in range(4)]
    for i in reversed(range(4)):
        assert all(torch.equal(x, y) for x, y in zip(a[i], first[i], strict=True))
    # another epoch, index or seed draws something else
    a.set_epoch(1)
    assert not torch.equal(a[0][1], first[0][1])
    assert not torch.equal(b[1][1], b[0][1])
    assert not torch.equal(make_dataset(seed=6)[0][1], b[0][1])
    a.set_epoch(0)
    assert torch.equal(a[0][1], first[0][1])


def test_loader_workers_do_not_change_the_pairs() -> None:
    dataset = make_dataset(pairs=8)
    alone = [torch.cat([z.flatten(), x.flatten(), o.flatten()]) for z, x, o, _ in DataLoader(dataset, batch_size=4)]
    workers = [torch.cat([z.flatten(), x.flatten(), o.flatten()])
               for z, x, o, _ in DataLoader(dataset, batch_size=4, num_workers=2)]
    assert all(torch.equal(p, q) for p, q in zip(alone, workers, strict=True))


@pytest.mark.parametrize("flip", [0.0, 1.0])
def test_offset_is_where_the_object_is(flip: float) -> None:
    dataset = make_dataset(pairs=24, flip=flip, shift=24.0, stretch=0.1, grayscale=0.0, blur=0.5)
    centre = (239 - 1) / 2
    offsets = []
    for index in range(len(dataset)):
        z, x, offset, _ = dataset[index]
        assert z.shape == (3, 127, 127) and x.shape == (3, 239, 239)
        assert z.dtype == torch.uint8 and x.dtype == torch.uint8
        np.testing.assert_allclose(bright_centre(z), [63, 63], atol=1.0)  # exemplar: target centred
        np.testing.assert_allclose(bright_centre(x), centre + offset.numpy(), atol=1.0)
        offsets.append(offset.numpy())
    offsets = np.array(offsets)
    assert np.abs(offsets).max() > 12  # shifts really happen, in both directions
    assert (offsets[:, 1] > 0).any() and (offsets[:, 1] < 0).any()


def test_flip_mirrors_the_offset_and_both_views() -> None:
    plain, flipped = make_dataset(flip=0.0, shift=24.0, color_jitter=0.0, blur=0.0), \
        make_dataset(flip=1.0, shift=24.0, color_jitter=0.0, blur=0.0)
    for index in range(6):
        z0, x0, o0, _ = plain[index]
        z1, x1, o1, _ = flipped[index]
        torch.testing.assert_close(o1, o0 * torch.tensor([1.0, -1.0]))
        assert torch.equal(x1, x0.flip(-1)) and torch.equal(z1, z0.flip(-1))


def test_labels_are_positive_around_the_object() -> None:
    dataset = make_dataset(pairs=8, shift=24.0)
    for index in range(len(dataset)):
        _, x, offset, _ = dataset[index]
        labels = make_labels(offset[None], size=15, stride=8, radius=8)[0, 0].numpy()
        # cell (r, c) of the 15x15 training map looks at (r - 7, c - 7) * 8 px from the 239 view's centre
        target = bright_centre(x)
        nearest = np.round((target - (239 - 1) / 2) / 8).astype(int) + 7
        assert labels[nearest[0], nearest[1]] == 1
        cells = np.argwhere(labels > 0)
        distance = np.linalg.norm((cells - 7) * 8 + (239 - 1) / 2 - target, axis=1)
        assert distance.max() <= 8 + 1.5


@pytest.mark.parametrize("flip", [0.0, 1.0])
def test_offset_is_right_under_rotation_and_aspect_change(flip: float) -> None:
    dataset = make_dataset(pairs=16, flip=flip, shift=24.0, rotate=15.0, aspect=0.3,
                           color_jitter=0.0, blur=0.0, grayscale=0.0)
    for index in range(len(dataset)):
        z, x, offset, positive = dataset[index]
        assert positive == 1.0
        np.testing.assert_allclose(bright_centre(z), [63, 63], atol=1.0)
        np.testing.assert_allclose(bright_centre(x), (239 - 1) / 2 + offset.numpy(), atol=1.0)


def test_negative_pairs_come_from_another_sequence_and_are_all_negative() -> None:
    dataset = make_dataset(n_frames=6, groups=3, pairs=24, negative_prob=0.5, color_jitter=0.0, blur=0.0,
                           grayscale=0.0, flip=0.0, stretch=0.0, shift=0.0)
    flags = []
    for index in range(len(dataset)):
        z, x, offset, positive = dataset[index]
        # crop k has green 200 + 10 k and is in group k % 3: read both views' groups off their squares
        group_z, group_x = (round((float(v[1, c, c]) - 200) / 10) % 3 for v, c in ((z, 63), (x, 119)))
        same = group_z == group_x
        assert same == bool(positive)
        labels = make_labels(offset[None], 15, 8, 16) * positive
        assert (labels.sum() > 0) == bool(positive)
        flags.append(float(positive))
    assert 0 < sum(flags) < len(flags)  # both kinds are drawn


def test_negative_prob_is_checked() -> None:
    from siamfc.training.config import DataConfig

    with pytest.raises(SettingError) as info:  # its declaration checks it wherever it comes from
        DataConfig(negative_prob=1.5)
    assert info.value.key == "negative_prob"


def test_low_light_darkens_the_views() -> None:
    plain = make_dataset(pairs=6, color_jitter=0.0, blur=0.0, grayscale=0.0)
    dark = make_dataset(pairs=6, color_jitter=0.0, blur=0.0, grayscale=0.0, low_light=1.0)
    for index in range(len(plain)):
        for a, b in zip(plain[index][:2], dark[index][:2], strict=True):
            assert b.float().mean() < 0.8 * a.float().mean()
