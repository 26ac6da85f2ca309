"""NanoTrack v2 as a distillation teacher: its 16x16 stride-16 map resampled onto a SiamFC grid
(scripted maps), and on a real frame its peak where the target is (the weights from ../shared)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from siamfc.training.config import config_from_dict
from siamfc.training.nanotrack_teacher import resample


def test_resample_puts_nanotrack_cells_on_siamfc_cells() -> None:
    """NanoTrack's cell (j, k) sits at ((j - 8) * 16, (k - 8) * 16) px from the crop's centre; a
    15x15 stride-8 map's cell (i, l) at ((i - 7) * 8, (l - 7) * 8). A peak at NanoTrack's (10, 7):
    (+32, -16) px, so the student's cell (11, 5); halfway between two NanoTrack cells the value is
    their mean."""
    logits = torch.zeros(1, 1, 16, 16)
    logits[0, 0, 10, 7] = 4.0
    out = resample(logits, 15, 8)
    assert out.shape == (1, 1, 15, 15)
    assert divmod(int(out.argmax()), 15) == (11, 5)
    assert out[0, 0, 11, 5].item() == pytest.approx(4.0)
    assert out[0, 0, 11, 6].item() == pytest.approx(2.0)  # -8 px: halfway between cells 7 and 8
    assert out[0, 0, 7, 7].item() == pytest.approx(0.0)


def test_distill_kind_is_checked() -> None:
    with pytest.raises(ValueError, match="loss.distill = 'kl': one of mse, bce"):
        config_from_dict({"loss": {"distill": "kl"}})
    assert config_from_dict({"loss": {"distill": "bce"}}).loss.distill == "bce"


def test_teacher_peaks_where_the_target_is(shared_dir: Path) -> None:
    """bag's first frame: search crops whose centre is moved by (dy, dx) crop pixels from the
    target's show the teacher's peak at (-dy, -dx), to NanoTrack's 16-pixel cell."""
    from siamfc import geometry
    from siamfc.training.nanotrack_teacher import NanoTrackTeacher
    from tests.conftest import read_rgb

    folder = shared_dir / "weights" / "nanotrack_v2"
    if not (folder / "nanotrack_head_sim.onnx").is_file():
        pytest.skip(f"{folder}: no NanoTrack v2 model")
    seq = shared_dir / "data" / "GOT-10k-mini" / "val" / "bag"
    image = read_rgb(seq / "00000001.jpg")
    box = np.loadtxt(seq / "groundtruth.txt", delimiter=",")[0]
    center, size = geometry.box_to_center(box)
    z_size = geometry.exemplar_size(size, 0.5)
    x_size, color = z_size * 255 / 127, geometry.mean_color(image)
    z = torch.from_numpy(geometry.crop(image, center, z_size, 127, color)).permute(2, 0, 1)[None].float()
    teacher = NanoTrackTeacher(folder, student_stride=8)
    for dy, dx in [(0, 0), (0, 32), (-24, -40)]:
        moved = center + np.array([dy, dx]) * x_size / 255
        x = torch.from_numpy(geometry.crop(image, moved, x_size, 239, color)).permute(2, 0, 1)[None].float()
        out = teacher(z, x)[0, 0]  # 239 -> 15x15 cells of 8 px
        assert out.shape == (15, 15)
        i, j = divmod(int(out.argmax()), 15)
        assert abs((i - 7) * 8 + dy) <= 16 and abs((j - 7) * 8 + dx) <= 16, (dy, dx, i, j)
        assert out.max().item() > 5 and out.min().item() < -5  # a confident classifier's logits
