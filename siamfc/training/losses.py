"""What one training step minimises: a loss over response maps (the paper's balanced logistic loss, a
contrastive variant, Dong & Shen's triplet loss), distillation from a teacher checkpoint's maps, and the
loss terms an experiment registers (:mod:`siamfc.registry`, kind ``term``)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .. import registry
from ..errors import CheckpointError, SettingError
from ..models.checkpoint import load_model
from .config import LossConfig


def make_labels(offsets: torch.Tensor, size: int, stride: int, radius: float) -> torch.Tensor:
    """1 where a cell lies within ``radius`` search pixels of the target ((dy, dx) ``offsets`` (B, 2) from
    the crop's centre), else 0."""
    cells = torch.arange(size, dtype=offsets.dtype, device=offsets.device) - (size - 1) / 2
    dy = cells[None, :, None] * stride - offsets[:, 0, None, None]
    dx = cells[None, None, :] * stride - offsets[:, 1, None, None]
    return (dy.square() + dx.square() <= radius**2).to(offsets.dtype).unsqueeze(1)


def _weigh(losses: torch.Tensor, labels: torch.Tensor, hard_negatives: int) -> torch.Tensor:
    """The mean over maps of ``losses`` with the positives sharing 1/2 and the negatives the other 1/2;
    ``hard_negatives`` > 0: only each map's that many negatives of highest loss count."""
    flat_loss, flat_labels = losses.detach().flatten(1), labels.flatten(1)
    k = min(hard_negatives or flat_loss.shape[1], flat_loss.shape[1])
    top = flat_loss.masked_fill(flat_labels > 0, -torch.inf).topk(k, dim=1).indices
    negatives = torch.zeros_like(flat_loss).scatter_(1, top, 1.0) * (flat_labels <= 0)
    pos = flat_labels.sum(dim=1, keepdim=True)
    weights = flat_labels * 0.5 / pos.clamp(min=1) + negatives * 0.5 / negatives.sum(dim=1, keepdim=True).clamp(min=1)
    return (losses * weights.view_as(losses)).sum(dim=(1, 2, 3)).mean()


def logistic_loss(logits: torch.Tensor, labels: torch.Tensor, hard_negatives: int = 0) -> torch.Tensor:
    """The paper's balanced logistic loss; ``hard_negatives`` > 0 keeps that many hardest negatives per map."""
    return _weigh(F.binary_cross_entropy_with_logits(logits, labels, reduction="none"), labels, hard_negatives)


def contrastive_loss(logits: torch.Tensor, labels: torch.Tensor, hard_negatives: int = 0,
                     margin: float = 1.0) -> torch.Tensor:
    """Squared hinge per cell: positives above ``+margin``, negatives below ``-margin``, balanced."""
    losses = torch.where(labels > 0, F.relu(margin - logits).square(), F.relu(logits + margin).square())
    return _weigh(losses, labels, hard_negatives)


def triplet_loss(logits: torch.Tensor, labels: torch.Tensor, hard_negatives: int = 0) -> torch.Tensor:
    """Dong & Shen: the mean over (positive, negative) cell pairs of softplus(v- - v+)."""
    total = logits.new_zeros(())
    for scores, positive in zip(logits.flatten(1), labels.flatten(1) > 0, strict=True):
        vp, vn = scores[positive], scores[~positive]
        if hard_negatives > 0 and len(vp):
            vn = vn.topk(min(hard_negatives, len(vn))).values
        # a negative pair has no triplet: push its whole map down
        total = total + (F.softplus(vn[None, :] - vp[:, None]).mean() if len(vp) else F.softplus(vn).mean())
    return total / len(logits)


def distillation_loss(logits: torch.Tensor, teacher_logits: torch.Tensor, kind: str = "mse") -> torch.Tensor:
    """``"mse"``: the mean squared difference of the maps; ``"bce"``: the teacher's probabilities as soft
    labels. A teacher map of another size is resampled onto the student's, corner cells on corner cells."""
    if teacher_logits.shape[-2:] != logits.shape[-2:]:
        teacher_logits = F.interpolate(teacher_logits, size=logits.shape[-2:], mode="bilinear", align_corners=True)
    if kind == "bce":
        return F.binary_cross_entropy_with_logits(logits, torch.sigmoid(teacher_logits))
    return F.mse_loss(logits, teacher_logits)


LOSSES = {"logistic": logistic_loss, "contrastive": contrastive_loss, "triplet": triplet_loss}


class Objective:
    """The loss of ``loss:`` and the terms of ``experiment:`` for a student of ``stride`` whose embeddings
    have ``channels`` channels. A term is a module ``term(logits, z, x, zf, xf) -> loss``; its trainable
    parameters (:attr:`parameters`) train with the model and are kept in ``last.pth`` (:attr:`trained`)."""

    def __init__(self, cfg: LossConfig, stride: int, channels: int, device: torch.device,
                 experiment: dict | None = None) -> None:
        self.cfg, self.stride, self.teacher = cfg, stride, None
        if cfg.teacher and cfg.distill_weight:  # a folder teacher is an experiment's term
            try:
                self.teacher = load_model(cfg.teacher, device)
            except CheckpointError as exc:
                raise CheckpointError(f"loss.teacher: {exc}", "loss.teacher") from exc
        self.terms: dict[str, torch.nn.Module] = {}
        for name, settings in (experiment or {}).items():  # registry.build names the known terms
            key = f"experiment.{name}"
            try:
                term = registry.build("term", name, key=key, stride=stride, channels=channels, **settings)
            except TypeError as exc:  # a setting missing or unknown, or settings that are not a mapping
                raise SettingError(f"{key}: {exc}", key) from exc
            self.terms[name] = term.to(device)
        self.trained = {name: t for name, t in self.terms.items() if any(p.requires_grad for p in t.parameters())}
        self.parameters = [p for term in self.trained.values() for p in term.parameters() if p.requires_grad]

    def __call__(self, logits: torch.Tensor, offsets: torch.Tensor, positive: torch.Tensor,
                 z: torch.Tensor, x: torch.Tensor, zf: torch.Tensor, xf: torch.Tensor) -> torch.Tensor:
        """``logits``: the maps of exemplars ``z`` in searches ``x`` (``zf``, ``xf``: their embeddings);
        ``offsets``: each target's (dy, dx) from the search's centre; ``positive``: 0 for a negative pair."""
        labels = make_labels(offsets, logits.shape[-1], self.stride, self.cfg.positive_radius)
        labels = labels * positive.to(labels).view(-1, 1, 1, 1)
        loss = LOSSES[self.cfg.name](logits, labels, self.cfg.hard_negatives)
        if self.teacher is not None:
            with torch.no_grad():
                teacher_logits = self.teacher(z, x).float()
            loss = loss + self.cfg.distill_weight * distillation_loss(logits, teacher_logits, self.cfg.distill)
        for term in self.terms.values():
            loss = loss + term(logits, z, x, zf, xf)
        return loss
