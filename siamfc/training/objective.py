"""What one training step minimises: the pair loss on the labelled response map, plus the optional
teachers (a teacher's response maps, distilled; a pretrained trunk's features, as hints)."""

from __future__ import annotations

import os

import torch

from ..models.checkpoint import CheckpointError, load_model
from .config import LossConfig
from .feature_teacher import FeatureTeacher
from .losses import distillation_loss, get_loss, make_labels


def load_teacher(path: str, device: torch.device, student_stride: int) -> torch.nn.Module:
    """A checkpoint's model, or NanoTrack v2 from its folder (:mod:`siamfc.training.nanotrack_teacher`)."""
    from .nanotrack_teacher import NanoTrackTeacher, is_nanotrack_folder

    if is_nanotrack_folder(path):
        return NanoTrackTeacher(path, student_stride)
    if os.path.isdir(path):
        raise CheckpointError(f"loss.teacher {path}: a folder without nanotrack_backbone_sim.onnx and "
                              "nanotrack_head_sim.onnx (the teacher is a checkpoint or a NanoTrack v2 folder)")
    try:
        return load_model(path, device)
    except CheckpointError as exc:
        raise CheckpointError(f"loss.teacher: {exc}") from None


class Objective:
    """The loss of ``loss:`` in the config for a student of ``stride`` whose embeddings have
    ``channels`` channels. Its only trainable part is the feature teacher's adapter
    (:attr:`parameters`), which the trainer optimises and checkpoints beside the model."""

    def __init__(self, cfg: LossConfig, stride: int, channels: int, device: torch.device) -> None:
        self.cfg = cfg
        self.stride = stride
        self.pair_loss = get_loss(cfg.name)
        self.teacher = load_teacher(cfg.teacher, device, stride) if cfg.teacher and cfg.distill_weight else None
        self.feature_teacher = FeatureTeacher(cfg.feature_teacher, channels, stride).to(device) if (
            cfg.feature_teacher and cfg.feature_weight) else None

    @property
    def parameters(self) -> list[torch.nn.Parameter]:
        return [] if self.feature_teacher is None else list(self.feature_teacher.adapter.parameters())

    def __call__(self, logits: torch.Tensor, offsets: torch.Tensor, positive: torch.Tensor | None,
                 z: torch.Tensor, x: torch.Tensor, zf: torch.Tensor, xf: torch.Tensor) -> torch.Tensor:
        """``logits``: the student's maps of exemplars ``z`` in searches ``x`` (``zf``, ``xf``: its
        embeddings); ``offsets``: where each target is from the search's centre, in pixels;
        ``positive``: 0 for a negative pair (the whole map is background), or None."""
        labels = make_labels(offsets, logits.shape[-1], self.stride, self.cfg.positive_radius)
        if positive is not None:
            labels = labels * positive.to(labels).view(-1, 1, 1, 1)
        loss = self.pair_loss(logits, labels, self.cfg.hard_negatives)
        if self.teacher is not None:
            with torch.no_grad():
                teacher_logits = self.teacher(z, x).float()
            loss = loss + self.cfg.distill_weight * distillation_loss(logits, teacher_logits, self.cfg.distill)
        if self.feature_teacher is not None:
            hint = (self.feature_teacher(zf.float(), z) + self.feature_teacher(xf.float(), x)) / 2
            loss = loss + self.cfg.feature_weight * hint
        return loss
