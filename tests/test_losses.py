"""Losses over response maps checked against values worked out by hand."""

from __future__ import annotations

import math

import pytest
import torch

from siamfc.training.losses import (
    contrastive_loss,
    distillation_loss,
    logistic_loss,
    make_labels,
    triplet_loss,
)


def softplus(v: float) -> float:
    return math.log1p(math.exp(v))


def test_make_labels_centred() -> None:
    # 5x5 map, stride 8: cells sit at -16, -8, 0, 8, 16 px; radius 16 keeps i^2 + j^2 <= 4 (in cells)
    labels = make_labels(torch.zeros(1, 2), size=5, stride=8, radius=16)
    expected = torch.tensor([[0, 0, 1, 0, 0],
                             [0, 1, 1, 1, 0],
                             [1, 1, 1, 1, 1],
                             [0, 1, 1, 1, 0],
                             [0, 0, 1, 0, 0]], dtype=torch.float32)
    assert labels.shape == (1, 1, 5, 5)
    torch.testing.assert_close(labels[0, 0], expected)


def test_make_labels_known_offset() -> None:
    # target 8 px below and 16 px right of the centre = cell (row 3, col 4); radius 8 = one cell,
    # so its 4-neighbours that exist on the map are positive too (col 5 would be off the map)
    labels = make_labels(torch.tensor([[8.0, 16.0], [0.0, 0.0]]), size=5, stride=8, radius=8)
    expected = torch.zeros(5, 5)
    for r, c in ((3, 4), (2, 4), (4, 4), (3, 3)):
        expected[r, c] = 1
    torch.testing.assert_close(labels[0, 0], expected)
    assert labels[1, 0].sum() == 5  # the plain centre cross for the second sample
    # the paper's 17x17 map at stride 8 with radius 16: 13 positives around the centre
    assert make_labels(torch.zeros(1, 2), 17, 8, 16).sum() == 13


# A 3x3 response map with one positive (the centre) used by the next three tests.
LOGITS = torch.tensor([[[[0.0, 1.0, 0.0],
                         [-1.0, 2.0, 0.0],
                         [0.0, 0.0, -2.0]]]])
LABELS = torch.zeros(1, 1, 3, 3)
LABELS[0, 0, 1, 1] = 1


def test_logistic_loss_balanced_by_hand() -> None:
    # positive: weight 1/2 on log(1 + e^-2); 8 negatives: weight 1/16 each on log(1 + e^v)
    # negatives v = 0 (five times), 1, -1, -2
    positive = 0.5 * softplus(-2.0)
    negatives = (5 * math.log(2) + softplus(1.0) + softplus(-1.0) + softplus(-2.0)) / 16
    expected = positive + negatives
    assert expected == pytest.approx(0.389663, abs=1e-6)
    assert logistic_loss(LOGITS, LABELS).item() == pytest.approx(expected, rel=1e-6)
    # batch mean: an all-zero map with any positives costs 1/2 ln 2 + 1/2 ln 2 = ln 2
    zeros = torch.zeros(1, 1, 3, 3)
    labels2 = torch.zeros(1, 1, 3, 3)
    labels2[0, 0, 0, :2] = 1
    both = logistic_loss(torch.cat([LOGITS, zeros]), torch.cat([LABELS, labels2]))
    assert both.item() == pytest.approx((expected + math.log(2)) / 2, rel=1e-6)


def test_logistic_loss_gradient_raises_positive_lowers_negatives() -> None:
    logits = LOGITS.clone().requires_grad_(True)
    logistic_loss(logits, LABELS).backward()
    grad = logits.grad[0, 0]
    assert grad[1, 1] < 0  # descending the loss raises the positive's score
    assert (grad.flatten()[[0, 1, 2, 3, 5, 6, 7, 8]] > 0).all()
    # the positive's gradient is 1/2 (sigmoid(2) - 1)
    assert grad[1, 1].item() == pytest.approx(0.5 * (torch.sigmoid(torch.tensor(2.0)).item() - 1), rel=1e-6)


def test_contrastive_loss_by_hand() -> None:
    # margin 1: positive 2 is above +1 -> 0; negatives max(0, v + 1)^2: 1 (five times), 4, 0, 0
    # balanced: 1/2 * 0 + 1/16 * 9
    assert contrastive_loss(LOGITS, LABELS).item() == pytest.approx(9 / 16, rel=1e-6)
    # a larger margin: positive (3 - 2)^2 = 1 at weight 1/2; negatives (v + 3)^2: 9 x5, 16, 4, 1
    assert contrastive_loss(LOGITS, LABELS, margin=3.0).item() == pytest.approx(0.5 + (45 + 16 + 4 + 1) / 16)


def test_triplet_loss_dong_shen_by_hand() -> None:
    # Dong & Shen (ECCV 2018): every (positive p, negative n) pair is a triplet with the exemplar;
    # prob(p, n) = e^vp / (e^vp + e^vn), loss = -mean log prob = mean softplus(vn - vp).
    # vp = 2, vn = 0 (x5), 1, -1, -2
    expected = (5 * softplus(-2) + softplus(-1) + softplus(-3) + softplus(-4)) / 8
    assert expected == pytest.approx(0.126830, abs=1e-6)
    assert triplet_loss(LOGITS, LABELS).item() == pytest.approx(expected, rel=1e-6)
    # two positives: 1, 0 and two negatives 0, -1 make 4 triplets
    logits = torch.tensor([[[[1.0, 0.0], [0.0, -1.0]]]])
    labels = torch.tensor([[[[1.0, 1.0], [0.0, 0.0]]]])
    expected2 = (softplus(0 - 1) + softplus(-1 - 1) + softplus(0 - 0) + softplus(-1 - 0)) / 4
    assert triplet_loss(logits, labels).item() == pytest.approx(expected2, rel=1e-6)
    # batch: the mean over samples
    both = triplet_loss(torch.cat([LOGITS[..., :2, :2], logits]), torch.cat([LABELS[..., :2, :2], labels]))
    first = (softplus(0 - 2) + softplus(1 - 2) + softplus(-1 - 2)) / 3  # vp = 2; vn = 0, 1, -1
    assert both.item() == pytest.approx((first + expected2) / 2, rel=1e-6)


def test_distillation_loss_by_hand() -> None:
    teacher = LOGITS + torch.tensor([[[[1.0, 0, 0], [0, -2.0, 0], [0, 0, 0]]]])
    # squared differences 1 and 4 over 9 cells
    assert distillation_loss(LOGITS, teacher).item() == pytest.approx(5 / 9, rel=1e-6)
    assert distillation_loss(LOGITS, LOGITS).item() == 0.0


def test_soft_label_distillation_by_hand() -> None:
    """``bce``: the teacher's sigmoid as soft labels. One cell: student logit 0 (p = 1/2), teacher
    logit ln 3 (p = 3/4): -(3/4 ln 1/2 + 1/4 ln 1/2) = ln 2; student ln 3 against teacher 0:
    -(1/2 ln 3/4 + 1/2 ln 1/4) = (ln 16 - ln 3) / 2."""
    student = torch.tensor([[[[0.0, math.log(3)]]]])
    teacher = torch.tensor([[[[math.log(3), 0.0]]]])
    expected = (math.log(2) + (math.log(16) - math.log(3)) / 2) / 2
    assert distillation_loss(student, teacher, "bce").item() == pytest.approx(expected, rel=1e-6)


def test_losses_registry() -> None:
    from siamfc.errors import SettingError
    from siamfc.training.config import LossConfig
    from siamfc.training.losses import LOSSES

    assert LOSSES["logistic"] is logistic_loss and LOSSES["triplet"] is triplet_loss
    for key, value in (("name", "hinge"), ("distill", "kl")):
        with pytest.raises(SettingError) as info:
            LossConfig(**{key: value})
        assert info.value.key == key


def test_losses_prefer_a_peak_at_the_target() -> None:
    labels = make_labels(torch.tensor([[8.0, 16.0]]), size=5, stride=8, radius=8)
    good = labels * 4 - 2  # high where the target is, low elsewhere
    bad = -good
    for loss in (logistic_loss, contrastive_loss, triplet_loss):
        assert loss(good, labels) < loss(bad, labels)


def test_hard_negative_mining_by_hand() -> None:
    # one 1x2x2 map: a positive (logit 0) and negatives with logits -3, 1, 2; keep the 2 hardest negatives
    logits = torch.tensor([[[[0.0, -3.0], [1.0, 2.0]]]])
    labels = torch.tensor([[[[1.0, 0.0], [0.0, 0.0]]]])
    expected = 0.5 * math.log(2) + 0.25 * (softplus(1.0) + softplus(2.0))
    assert logistic_loss(logits, labels, hard_negatives=2).item() == pytest.approx(expected, rel=1e-6)
    # all negatives: the paper's balanced loss
    everything = 0.5 * math.log(2) + (softplus(-3.0) + softplus(1.0) + softplus(2.0)) / 6
    assert logistic_loss(logits, labels).item() == pytest.approx(everything, rel=1e-6)


def test_negative_pair_map_is_all_background() -> None:
    # a negative pair: no positive cell; its negatives get the weight 1/2 between them
    logits = torch.tensor([[[[1.0, -1.0]]]])
    labels = torch.zeros_like(logits)
    expected = 0.25 * (math.log1p(math.exp(1.0)) + math.log1p(math.exp(-1.0)))
    assert logistic_loss(logits, labels).item() == pytest.approx(expected, rel=1e-6)
    assert math.isfinite(triplet_loss(logits, labels).item())


def test_distillation_resamples_a_teacher_of_another_stride() -> None:
    # a stride-16 teacher (8x8) over the same crops as a stride-8 student (15x15): corners meet corners
    teacher = torch.arange(64.0).view(1, 1, 8, 8)
    student = torch.zeros(1, 1, 15, 15)
    resampled = torch.nn.functional.interpolate(teacher, size=(15, 15), mode="bilinear", align_corners=True)
    assert resampled[0, 0, 0, 0] == 0 and resampled[0, 0, -1, -1] == 63 and resampled[0, 0, 0, 14] == 7
    assert distillation_loss(student, teacher).item() == pytest.approx(resampled.square().mean().item())


def test_the_config_choices_are_what_the_training_code_builds() -> None:
    import dataclasses

    from siamfc.training.build import build_optimizer
    from siamfc.training.config import LossConfig, OptimConfig
    from siamfc.training.losses import LOSSES

    choices = {f"{cls.__name__}.{f.name}": f.metadata.get("choices") for cls in (LossConfig, OptimConfig)
               for f in dataclasses.fields(cls)}
    assert set(choices["LossConfig.name"]) == set(LOSSES)
    model = torch.nn.Linear(2, 2)
    kinds = {type(build_optimizer(model, OptimConfig(name=name), [])) for name in choices["OptimConfig.name"]}
    assert kinds == {torch.optim.SGD, torch.optim.AdamW}
    logits = torch.zeros(1, 1, 3, 3)
    for kind in choices["LossConfig.distill"]:
        distillation_loss(logits, logits, kind)
