"""Losses over response maps: the paper's balanced logistic loss, a contrastive variant, the
triplet loss of Dong & Shen (ECCV 2018), and distillation from a teacher's response maps."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F


def make_labels(offsets: torch.Tensor, size: int, stride: int, radius: float) -> torch.Tensor:
    """1 where a response cell lies within ``radius`` search pixels of the target, else 0.

    ``offsets`` (B, 2) is the target's (dy, dx) from the search crop's centre, in pixels.
    """
    cells = torch.arange(size, dtype=offsets.dtype, device=offsets.device) - (size - 1) / 2
    dy = cells[None, :, None] * stride - offsets[:, 0, None, None]
    dx = cells[None, None, :] * stride - offsets[:, 1, None, None]
    return (dy.square() + dx.square() <= radius**2).to(offsets.dtype).unsqueeze(1)


def _balance(labels: torch.Tensor) -> torch.Tensor:
    """Per-sample weights: positives share 1/2, negatives the other 1/2 (a map with no positive,
    from a negative pair, gives its negatives 1/2 as well)."""
    pos = labels.sum(dim=(1, 2, 3), keepdim=True)
    neg = labels[0].numel() - pos
    return torch.where(labels > 0, 0.5 / pos.clamp(min=1), 0.5 / neg.clamp(min=1))


def _hardest_negatives(losses: torch.Tensor, labels: torch.Tensor, count: int) -> torch.Tensor:
    """Weights that keep, in each map, the positives (sharing 1/2) and only its ``count`` negatives of
    highest loss (sharing the other 1/2): online hard-negative mining."""
    flat_loss, flat_labels = losses.detach().flatten(1), labels.flatten(1)
    k = min(count, flat_loss.shape[1])
    top = flat_loss.masked_fill(flat_labels > 0, -torch.inf).topk(k, dim=1).indices
    hard = torch.zeros_like(flat_loss).scatter_(1, top, 1.0) * (flat_labels <= 0)
    pos = flat_labels.sum(dim=1, keepdim=True)
    weights = flat_labels * 0.5 / pos.clamp(min=1) + hard * 0.5 / hard.sum(dim=1, keepdim=True).clamp(min=1)
    return weights.view_as(losses)


def _weigh(losses: torch.Tensor, labels: torch.Tensor, hard_negatives: int) -> torch.Tensor:
    weights = _hardest_negatives(losses, labels, hard_negatives) if hard_negatives > 0 else _balance(labels)
    return (losses * weights).sum(dim=(1, 2, 3)).mean()


def logistic_loss(logits: torch.Tensor, labels: torch.Tensor, hard_negatives: int = 0) -> torch.Tensor:
    """The paper's loss: logistic loss per cell, positives and negatives weighted equally;
    ``hard_negatives`` > 0 keeps only that many hardest negatives per map."""
    losses = F.binary_cross_entropy_with_logits(logits, labels, reduction="none")
    return _weigh(losses, labels, hard_negatives)


def contrastive_loss(logits: torch.Tensor, labels: torch.Tensor, hard_negatives: int = 0,
                     margin: float = 1.0) -> torch.Tensor:
    """Contrastive (margin) loss per cell: positives pulled above ``+margin``, negatives pushed
    below ``-margin``, squared hinge, balanced as in the logistic loss."""
    pos = F.relu(margin - logits).square()
    neg = F.relu(logits + margin).square()
    losses = torch.where(labels > 0, pos, neg)
    return _weigh(losses, labels, hard_negatives)


def triplet_loss(logits: torch.Tensor, labels: torch.Tensor, hard_negatives: int = 0) -> torch.Tensor:
    """Dong & Shen: every (positive, negative) cell pair of a map is a triplet with the exemplar;
    loss = mean over pairs of -log(e^{v+} / (e^{v+} + e^{v-})) = softplus(v- - v+)."""
    flat_logits = logits.flatten(1)
    flat_labels = labels.flatten(1) > 0
    total = logits.new_zeros(())
    for scores, positive in zip(flat_logits, flat_labels, strict=True):
        vp, vn = scores[positive], scores[~positive]
        if not len(vp):  # a negative pair has no triplet: push its whole map down
            total = total + F.softplus(vn).mean()
            continue
        if hard_negatives > 0:
            vn = vn.topk(min(hard_negatives, len(vn))).values
        total = total + F.softplus(vn[None, :] - vp[:, None]).mean()
    return total / len(flat_logits)


def distillation_loss(logits: torch.Tensor, teacher_logits: torch.Tensor, kind: str = "mse") -> torch.Tensor:
    """Distance from a teacher's response map: it carries the whole map, distractors included, not
    only where the target is. ``"mse"``: mean squared difference of the maps (a SiamFC teacher's raw
    responses); ``"bce"``: mean cross-entropy of the student's sigmoid against the teacher's, i.e.
    the teacher's probabilities as soft labels (a classifier's logits, e.g. NanoTrack's, whose
    +-14 would swamp a squared difference). A teacher of another stride (same crops, so the same
    span of displacements) is resampled onto the student's grid, corner cells on corner cells."""
    if teacher_logits.shape[-2:] != logits.shape[-2:]:
        teacher_logits = F.interpolate(teacher_logits, size=logits.shape[-2:], mode="bilinear", align_corners=True)
    if kind == "bce":
        return F.binary_cross_entropy_with_logits(logits, torch.sigmoid(teacher_logits))
    if kind != "mse":
        raise ValueError(f"unknown distillation kind {kind!r}; known: mse, bce")
    return F.mse_loss(logits, teacher_logits)


LOSSES: dict[str, Callable[..., torch.Tensor]] = {
    "logistic": logistic_loss,
    "contrastive": contrastive_loss,
    "triplet": triplet_loss,
}


def get_loss(name: str) -> Callable[..., torch.Tensor]:
    try:
        return LOSSES[name]
    except KeyError:
        raise ValueError(f"unknown loss {name!r}; known: {', '.join(LOSSES)}") from None
