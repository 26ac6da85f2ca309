"""Research loss terms on NanoTrack v2 (Apache-2.0, a local folder with its two ONNX graphs), registered as
``experiment:`` terms of a training config (:class:`siamfc.training.losses.Objective`); import this module
before training (``experiments/train.py`` does). Results: docs/experiments.md (issue 11).

- ``nanotrack_teacher: {folder, weight}``: NanoTrack's classification map, resampled onto the student's
  response grid, distilled as soft labels.
- ``feature_teacher: {folder, weight}``: the student's embeddings, through a trained 1x1 adapter, pulled
  towards NanoTrack's pretrained trunk's features of the same crops at the same places (cosine distance).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from siamfc.errors import SettingError
from siamfc.models.backbones import NanoTrackTrunk, load_nanotrack_onnx
from siamfc.registry import register
from siamfc.training.losses import distillation_loss

BACKBONE, HEAD = "nanotrack_backbone_sim.onnx", "nanotrack_head_sim.onnx"
SEARCH, GRID, STRIDE = 255, 16, 16


def is_nanotrack_folder(path: str | os.PathLike) -> bool:
    return Path(path).is_dir() and (Path(path) / BACKBONE).is_file() and (Path(path) / HEAD).is_file()


def sample_at(features: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor) -> torch.Tensor:
    """Bilinear samples of (N, C, H, W) ``features`` at fractional cell ``rows`` x ``cols``."""
    h, w = features.shape[-2:]
    gy = rows / max(h - 1, 1) * 2 - 1  # grid_sample's [-1, 1] with align_corners=True
    gx = cols / max(w - 1, 1) * 2 - 1
    yy, xx = torch.meshgrid(gy, gx, indexing="ij")
    grid = torch.stack([xx, yy], dim=-1).to(features)
    return F.grid_sample(features, grid.expand(len(features), -1, -1, -1), mode="bilinear", align_corners=True)


def resample(logits: torch.Tensor, response: int, stride: int) -> torch.Tensor:
    """(N, 1, 16, 16) NanoTrack logits (cell ``j`` at ``(j - 8) * 16`` px from the crop's centre) -> (N, 1, R, R)
    at the cells of a stride-``stride`` map (cell ``i`` at ``(i - (R - 1) / 2) * stride``)."""
    offsets = (torch.arange(response, dtype=torch.float32) - (response - 1) / 2) * stride
    cells = offsets / STRIDE + GRID // 2
    return sample_at(logits, cells, cells)


class NanoTrackTeacher(nn.Module):
    """``teacher(z, x)`` -> (N, 1, R, R) logits on the grid of a student of ``student_stride`` (search crops
    up to 255 px, padded to 255 with their mean colour). The trunk runs in PyTorch, the head (one pair at a
    time) in ONNX Runtime, both on the CPU."""

    def __init__(self, folder: str | os.PathLike, student_stride: int = 8) -> None:
        super().__init__()
        import onnxruntime as ort

        folder = Path(folder)
        if not is_nanotrack_folder(folder):
            raise SettingError(f"{folder}: no {BACKBONE} and {HEAD} in it (a NanoTrack v2 folder)", "folder")
        self.backbone = NanoTrackTrunk(stride=16)
        load_nanotrack_onnx(self.backbone, folder / BACKBONE)
        self.backbone.eval().requires_grad_(False)
        options = ort.SessionOptions()
        options.intra_op_num_threads = torch.get_num_threads()
        self.head = ort.InferenceSession(os.fspath(folder / HEAD), options, providers=["CPUExecutionProvider"])
        self.student_stride = student_stride

    def train(self, mode: bool = True) -> NanoTrackTeacher:  # always in eval mode
        return super().train(False)

    @torch.no_grad()
    def forward(self, z: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        size = x.shape[-1]
        if size > SEARCH:
            raise SettingError(f"search crops of {size} px: the NanoTrack teacher takes at most {SEARCH}",
                               "data.search_size")
        response = (size - z.shape[-1]) // self.student_stride + 1
        pad = (SEARCH - size) // 2
        if pad:
            mean = x.mean(dim=(2, 3), keepdim=True)
            x = F.pad(x - mean, (pad, SEARCH - size - pad, pad, SEARCH - size - pad)) + mean
        zf = self.backbone(z.cpu().float()).numpy()
        xf = self.backbone(x.cpu().float()).numpy()
        cls = np.concatenate([self.head.run(None, {"input1": zf[i:i + 1], "input2": xf[i:i + 1]})[0]
                              for i in range(len(zf))])
        logits = torch.from_numpy(cls[:, 1:2] - cls[:, 0:1])  # pysot: channel 1 is the target
        return resample(logits, response, self.student_stride).to(z.device)


def teacher_cells_in_student(size: int, student_cells: int, student_stride: int,
                             teacher_cells: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(teacher cell indices inside the student's span, their fractional student cell indices): the student
    (unpadded) has cell ``i`` at ``(size - 1) / 2 + (i - (n - 1) / 2) * s`` px, the padded trunk cell ``j`` at
    ``16 * j``."""
    j = torch.arange(teacher_cells, dtype=torch.float32)
    fractional = (j * STRIDE - (size - 1) / 2) / student_stride + (student_cells - 1) / 2
    inside = (fractional >= 0) & (fractional <= student_cells - 1)
    return j[inside].long(), fractional[inside]


def cosine_hint_loss(student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
    """Mean over cells of 1 - cos(student, teacher), channels as the vector."""
    return (1 - F.cosine_similarity(student, teacher, dim=1, eps=1e-6)).mean()


class FeatureTeacher(nn.Module):
    """``teacher(student_features, crops)`` -> the hint loss of one batch of crops: the frozen trunk and the
    trainable ``adapter``."""

    def __init__(self, folder: str | os.PathLike, student_channels: int, student_stride: int) -> None:
        super().__init__()
        path = Path(folder) / BACKBONE
        if not path.is_file():
            raise SettingError(f"{folder}: no {BACKBONE} in it (a NanoTrack v2 folder)", "folder")
        self.trunk = NanoTrackTrunk(stride=STRIDE)
        load_nanotrack_onnx(self.trunk, path)
        self.trunk.eval().requires_grad_(False)
        self.adapter = nn.Conv2d(student_channels, self.trunk.out_channels, 1)
        self.student_stride = student_stride

    def train(self, mode: bool = True) -> FeatureTeacher:
        super().train(mode)
        self.trunk.eval()  # frozen, BatchNorm folded: always in eval mode
        return self

    def forward(self, student_features: torch.Tensor, crops: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            target = self.trunk(crops.float())
        size, n = crops.shape[-1], student_features.shape[-1]
        j, at = teacher_cells_in_student(size, n, self.student_stride, target.shape[-1])
        if not len(j):
            raise SettingError(f"{size}-pixel crops: no NanoTrack cell inside the student's {n}x{n} map",
                               "data.exemplar_size")
        student = self.adapter(sample_at(student_features, at, at))  # a 1x1 conv commutes with sampling
        return cosine_hint_loss(student, target[:, :, j][:, :, :, j])


@register("term", "nanotrack_teacher")
class NanoTrackDistillation(nn.Module):
    def __init__(self, folder: str, weight: float, stride: int, channels: int) -> None:
        super().__init__()
        self.teacher, self.weight = NanoTrackTeacher(folder, stride), float(weight)

    def forward(self, logits, z, x, zf, xf) -> torch.Tensor:
        return self.weight * distillation_loss(logits, self.teacher(z, x).float(), "bce")


@register("term", "feature_teacher")
class FeatureHint(nn.Module):
    def __init__(self, folder: str, weight: float, stride: int, channels: int) -> None:
        super().__init__()
        self.teacher, self.weight = FeatureTeacher(folder, channels, stride), float(weight)

    def forward(self, logits, z, x, zf, xf) -> torch.Tensor:
        return self.weight * (self.teacher(zf.float(), z) + self.teacher(xf.float(), x)) / 2
