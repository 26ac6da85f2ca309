"""NanoTrack v2's pretrained trunk as a feature teacher (issue 11: our backbones start from random
weights; NanoTrack's was trained on ImageNet and large tracking sets).

The student's embedding of each crop, mapped to 48 channels by a trained 1x1 ``adapter``, is pulled
towards the trunk's features of the same crop at the same places (FitNets' hint loss, as a cosine
distance per cell so that the scale of either embedding does not matter). The student keeps its
architecture and speed; only training sees the teacher.

Places: the student (unpadded, stride ``s``) has its cell ``i`` of ``n`` at ``(size - 1) / 2 +
(i - (n - 1) / 2) * s`` pixels of a ``size``-pixel crop; NanoTrack's trunk (padded, every strided
convolution of odd kernel ``k`` with padding ``k // 2``) has its cell ``j`` at ``16 * j``. The
student is sampled bilinearly at the teacher cells that lie inside its own span.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ..models.mobilenetv3 import NanoTrackTrunk, load_nanotrack_onnx
from .nanotrack_teacher import BACKBONE, sample_at

TEACHER_STRIDE = 16


def teacher_cells_in_student(size: int, student_cells: int, student_stride: int,
                             teacher_cells: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(teacher cell indices inside the student's span, their fractional student cell indices)."""
    j = torch.arange(teacher_cells, dtype=torch.float32)
    pixels = j * TEACHER_STRIDE
    fractional = (pixels - (size - 1) / 2) / student_stride + (student_cells - 1) / 2
    inside = (fractional >= 0) & (fractional <= student_cells - 1)
    return j[inside].long(), fractional[inside]


def cosine_hint_loss(student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
    """Mean over cells of 1 - cos(student, teacher), channels as the vector: 0 when aligned, 2 opposite."""
    return (1 - F.cosine_similarity(student, teacher, dim=1, eps=1e-6)).mean()


class FeatureTeacher(nn.Module):
    """``teacher(student_features, crops)`` -> the hint loss of one batch of crops (any size).

    Holds the frozen NanoTrack trunk and the trainable ``adapter``; the trainer optimises the
    adapter with the student and keeps its state in the training checkpoint."""

    def __init__(self, folder: str | os.PathLike, student_channels: int, student_stride: int) -> None:
        super().__init__()
        path = Path(folder) / BACKBONE
        if not path.is_file():
            raise ValueError(f"loss.feature_teacher {folder}: no {BACKBONE} in it (a NanoTrack v2 folder)")
        self.trunk = NanoTrackTrunk(stride=TEACHER_STRIDE)
        load_nanotrack_onnx(self.trunk, path)
        self.trunk.eval().requires_grad_(False)
        self.adapter = nn.Conv2d(student_channels, self.trunk.out_channels, 1)
        self.student_stride = student_stride

    def train(self, mode: bool = True) -> FeatureTeacher:
        super().train(mode)
        self.trunk.eval()  # frozen, BatchNorm already folded: always in eval mode
        return self

    def forward(self, student_features: torch.Tensor, crops: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            target = self.trunk(crops.float())
        size, n = crops.shape[-1], student_features.shape[-1]
        j, at = teacher_cells_in_student(size, n, self.student_stride, target.shape[-1])
        if not len(j):
            raise ValueError(f"{size}-pixel crops: no NanoTrack cell inside the student's {n}x{n} map")
        student = self.adapter(sample_at(student_features, at, at))  # a 1x1 conv commutes with sampling
        return cosine_hint_loss(student, target[:, :, j][:, :, :, j])
