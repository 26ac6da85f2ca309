"""NanoTrack v2 as a distillation teacher: its classification map, resampled onto the student's
response grid, as logits (issue 11: the stronger tracker's map may teach more than a SiamFC's).

NanoTrack scores a 255-pixel search crop on a 16x16 grid of stride 16 whose cell ``j`` sits at
``(j - 8) * 16`` pixels from the crop's centre (pysot's ``generate_points``, OpenCV's
``TrackerNano``); a SiamFC map of size R and stride s has cell ``i`` at ``(i - (R - 1) / 2) * s``.
The teacher's logit (foreground minus background channel) is sampled bilinearly at the student's
cells. Training search crops smaller than 255 are padded to 255 with their mean colour (the
student's cells all lie well inside the crop). The backbone runs in PyTorch
(:class:`siamfc.models.mobilenetv3.NanoTrackTrunk`, weights read from the ONNX file, so any input
size works); the head, whose ONNX graph takes one pair at a time, in ONNX Runtime. Both run on
the CPU whatever the student's device (the maps come back to it).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..models.mobilenetv3 import NanoTrackTrunk, load_nanotrack_onnx

BACKBONE, HEAD = "nanotrack_backbone_sim.onnx", "nanotrack_head_sim.onnx"
SEARCH, GRID, STRIDE = 255, 16, 16


def is_nanotrack_folder(path: str | os.PathLike) -> bool:
    return Path(path).is_dir() and (Path(path) / BACKBONE).is_file() and (Path(path) / HEAD).is_file()


class NanoTrackTeacher(nn.Module):
    """``teacher(z, x)`` -> (N, 1, R, R) logits on the grid of a student of ``student_stride``
    (z: 127-pixel exemplars, x: search crops up to 255 pixels, RGB 0-255 as siamfc's crops)."""

    def __init__(self, folder: str | os.PathLike, student_stride: int = 8) -> None:
        super().__init__()
        import onnxruntime as ort

        folder = Path(folder)
        if not is_nanotrack_folder(folder):
            raise ValueError(f"{folder}: no {BACKBONE} and {HEAD} in it (a NanoTrack v2 folder)")
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
            raise ValueError(f"search crops of {size} px: the NanoTrack teacher takes at most {SEARCH}")
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


def resample(logits: torch.Tensor, response: int, stride: int) -> torch.Tensor:
    """(N, 1, 16, 16) NanoTrack logits -> (N, 1, R, R) at the cells of a stride-``stride`` map."""
    offsets = (torch.arange(response, dtype=torch.float32) - (response - 1) / 2) * stride
    cells = offsets / STRIDE + GRID // 2  # fractional NanoTrack cell of each student cell
    return sample_at(logits, cells, cells)


def sample_at(features: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor) -> torch.Tensor:
    """Bilinear samples of (N, C, H, W) ``features`` at fractional cell ``rows`` x ``cols``."""
    h, w = features.shape[-2:]
    gy = rows / max(h - 1, 1) * 2 - 1  # grid_sample's [-1, 1] with align_corners=True
    gx = cols / max(w - 1, 1) * 2 - 1
    yy, xx = torch.meshgrid(gy, gx, indexing="ij")
    grid = torch.stack([xx, yy], dim=-1).to(features)
    return F.grid_sample(features, grid.expand(len(features), -1, -1, -1), mode="bilinear", align_corners=True)
