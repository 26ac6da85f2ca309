"""NanoTrack v2's trunk as a feature teacher: where its cells fall on the student's map (hand-computed),
the cosine hint loss (hand-computed), and on real weights an adapter that learns to match the trunk."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from siamfc.training.feature_teacher import cosine_hint_loss, teacher_cells_in_student
from siamfc.training.nanotrack_teacher import sample_at


def test_teacher_cells_on_the_student_grid() -> None:
    """255-px crop: the student's 22 cells of 8 px lie at 127 + (i - 10.5) * 8 = 43 .. 211 px; the
    teacher's cell j at 16 j px. Inside: j = 3 (48 px, student cell 0.625) .. 13 (208 px, 20.625)."""
    j, at = teacher_cells_in_student(255, 22, 8, 16)
    assert j.tolist() == list(range(3, 14))
    assert at[0].item() == pytest.approx(0.625)
    assert at[-1].item() == pytest.approx(20.625)
    assert torch.allclose(at[1:] - at[:-1], torch.full((10,), 2.0))  # 16 px = two student cells
    j, at = teacher_cells_in_student(127, 6, 8, 8)  # exemplar: 43 .. 83 px; teacher 48, 64, 80
    assert j.tolist() == [3, 4, 5]
    assert at.tolist() == pytest.approx([0.625, 2.625, 4.625])


def test_sample_at_interpolates_between_cells() -> None:
    features = torch.arange(16.0).view(1, 1, 4, 4)  # value = 4 * row + col
    out = sample_at(features, torch.tensor([0.0, 2.5]), torch.tensor([1.0, 3.0]))
    assert torch.allclose(out[0, 0], torch.tensor([[1.0, 3.0], [11.0, 13.0]]))


def test_cosine_hint_loss_by_hand() -> None:
    """Per cell 1 - cos: aligned (any scale) 0, orthogonal 1, opposite 2; the mean over cells."""
    teacher = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]).T.reshape(1, 2, 1, 3)
    student = torch.tensor([[5.0, 0.0], [1.0, 0.0], [-2.0, -2.0]]).T.reshape(1, 2, 1, 3)
    assert cosine_hint_loss(student, teacher).item() == pytest.approx((0 + 1 + 2) / 3)
    assert cosine_hint_loss(teacher * 3, teacher).item() == pytest.approx(0.0, abs=1e-6)


def test_adapter_learns_to_match_the_trunk(shared_dir: Path) -> None:
    """With the NanoTrack trunk's own stride-8 twin as the 'student' (so a 1x1 adapter can match it), a
    few steps on the adapter alone lower the hint loss a lot; the trunk gets no gradient and stays in
    eval mode."""
    from siamfc.models.mobilenetv3 import NanoTrackTrunk, load_nanotrack_onnx
    from siamfc.training.feature_teacher import FeatureTeacher

    folder = shared_dir / "weights" / "nanotrack_v2"
    if not (folder / "nanotrack_backbone_sim.onnx").is_file():
        pytest.skip(f"{folder}: no NanoTrack v2 model")
    torch.manual_seed(0)
    teacher = FeatureTeacher(folder, student_channels=48, student_stride=8).train()
    assert not teacher.trunk.training and not any(p.requires_grad for p in teacher.trunk.parameters())
    student = NanoTrackTrunk(stride=8)
    load_nanotrack_onnx(student, folder / "nanotrack_backbone_sim.onnx")
    crops = torch.rand(2, 3, 127, 127) * 255
    with torch.no_grad():
        features = student.eval()(crops)[..., 4:-4, 4:-4]  # padded 16x16 -> the middle 8x8, 8 px per cell
    optimizer = torch.optim.Adam(teacher.adapter.parameters(), lr=0.05)
    losses = []
    for _ in range(60):
        loss = teacher(features, crops)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
    assert all(p.grad is None for p in teacher.trunk.parameters())
