"""BatchNorm statistics recomputed on training pairs (SWA's last step): the running mean and variance
are the plain averages over every exemplar and search pass, checked against a hand computation."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.utils.data import Dataset

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "experiments"))
from swa import recompute_batchnorm  # noqa: E402


class OneBatchNorm(nn.Module):
    """A stand-in network: the exemplar and the search crops go through one BatchNorm layer."""

    def __init__(self) -> None:
        super().__init__()
        self.bn = nn.BatchNorm2d(1, momentum=0.1)
        self.conv = nn.Conv2d(1, 1, 1)

    def embed_exemplar(self, z: torch.Tensor) -> torch.Tensor:
        return self.bn(z)

    def embed_search(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(x)


class Pairs(Dataset):
    """Pair i: an exemplar of constant value i and a 2x1 search crop holding (i, i + 2)."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int):
        z = torch.full((1, 1, 1), float(i))
        x = torch.tensor([[[float(i)], [float(i + 2)]]])
        return z, x, torch.zeros(2), torch.tensor(1.0)


def test_statistics_are_the_average_over_passes() -> None:
    model = OneBatchNorm()
    model.bn.running_mean.fill_(50.0)
    model.bn.running_var.fill_(50.0)
    weight = model.conv.weight.clone()
    assert recompute_batchnorm(model, Pairs(4), batches=2, batch_size=2) == 1
    # passes: z (0, 1), x (0, 2, 1, 3), z (2, 3), x (2, 4, 3, 5)
    # means 0.5, 1.5, 2.5, 3.5 -> 2.0; unbiased variances 0.5, 5/3, 0.5, 5/3 -> 13/12
    assert model.bn.running_mean.item() == pytest.approx(2.0)
    assert model.bn.running_var.item() == pytest.approx(13 / 12)
    assert model.bn.momentum == 0.1 and not model.training
    assert torch.equal(model.conv.weight, weight)


def test_too_few_pairs_is_an_error() -> None:
    with pytest.raises(ValueError):
        recompute_batchnorm(OneBatchNorm(), Pairs(4), batches=3, batch_size=2)
