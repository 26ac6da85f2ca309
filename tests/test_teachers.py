"""The research terms of experiments/teachers.py: NanoTrack v2's map resampled onto a SiamFC grid and its
trunk as a feature teacher (hand-computed geometry and losses), and both in a training run (weights from
../shared)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from test_training import write_config

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "experiments"))

from teachers import (  # noqa: E402
    FeatureTeacher,
    NanoTrackTeacher,
    cosine_hint_loss,
    resample,
    sample_at,
    teacher_cells_in_student,
)

from siamfc.errors import SettingError  # noqa: E402
from siamfc.models.checkpoint import read_checkpoint  # noqa: E402
from siamfc.training.config import load_config  # noqa: E402


def nanotrack(shared_dir: Path) -> Path:
    folder = shared_dir / "weights" / "nanotrack_v2"
    if not (folder / "nanotrack_head_sim.onnx").is_file():
        pytest.skip(f"{folder}: no NanoTrack v2 model")
    return folder


def test_resample_puts_nanotrack_cells_on_siamfc_cells() -> None:
    """A peak at NanoTrack's cell (10, 7), (+32, -16) px from the centre, lands on a 15x15 stride-8 map's
    cell (11, 5); halfway between two NanoTrack cells the value is their mean."""
    logits = torch.zeros(1, 1, 16, 16)
    logits[0, 0, 10, 7] = 4.0
    out = resample(logits, 15, 8)
    assert out.shape == (1, 1, 15, 15)
    assert divmod(int(out.argmax()), 15) == (11, 5)
    assert out[0, 0, 11, 5].item() == pytest.approx(4.0)
    assert out[0, 0, 11, 6].item() == pytest.approx(2.0)
    assert out[0, 0, 7, 7].item() == pytest.approx(0.0)


def test_teacher_cells_on_the_student_grid() -> None:
    """255-px crop: the student's 22 cells of 8 px lie at 43 .. 211 px, the teacher's cell j at 16 j px."""
    j, at = teacher_cells_in_student(255, 22, 8, 16)
    assert j.tolist() == list(range(3, 14))
    assert at[0].item() == pytest.approx(0.625)
    assert at[-1].item() == pytest.approx(20.625)
    assert torch.allclose(at[1:] - at[:-1], torch.full((10,), 2.0))
    j, at = teacher_cells_in_student(127, 6, 8, 8)
    assert j.tolist() == [3, 4, 5]
    assert at.tolist() == pytest.approx([0.625, 2.625, 4.625])


def test_sample_at_interpolates_between_cells() -> None:
    features = torch.arange(16.0).view(1, 1, 4, 4)  # value = 4 * row + col
    out = sample_at(features, torch.tensor([0.0, 2.5]), torch.tensor([1.0, 3.0]))
    assert torch.allclose(out[0, 0], torch.tensor([[1.0, 3.0], [11.0, 13.0]]))


def test_cosine_hint_loss_by_hand() -> None:
    teacher = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]).T.reshape(1, 2, 1, 3)
    student = torch.tensor([[5.0, 0.0], [1.0, 0.0], [-2.0, -2.0]]).T.reshape(1, 2, 1, 3)
    assert cosine_hint_loss(student, teacher).item() == pytest.approx((0 + 1 + 2) / 3)
    assert cosine_hint_loss(teacher * 3, teacher).item() == pytest.approx(0.0, abs=1e-6)


def test_teacher_peaks_where_the_target_is(shared_dir: Path) -> None:
    """Search crops moved by (dy, dx) from the target show the teacher's peak at (-dy, -dx), to a cell."""
    from conftest import read_rgb

    from siamfc import geometry

    teacher = NanoTrackTeacher(nanotrack(shared_dir), student_stride=8)
    seq = shared_dir / "data" / "GOT-10k-mini" / "val" / "bag"
    image = read_rgb(seq / "00000001.jpg")
    center, size = geometry.box_to_center(np.loadtxt(seq / "groundtruth.txt", delimiter=",")[0])
    z_size = geometry.exemplar_size(size, 0.5)
    x_size, color = z_size * 255 / 127, geometry.mean_color(image)
    z = torch.from_numpy(geometry.crop(image, center, z_size, 127, color)).permute(2, 0, 1)[None].float()
    for dy, dx in [(0, 0), (0, 32), (-24, -40)]:
        moved = center + np.array([dy, dx]) * x_size / 255
        x = torch.from_numpy(geometry.crop(image, moved, x_size, 239, color)).permute(2, 0, 1)[None].float()
        out = teacher(z, x)[0, 0]
        i, j = divmod(int(out.argmax()), 15)
        assert abs((i - 7) * 8 + dy) <= 16 and abs((j - 7) * 8 + dx) <= 16, (dy, dx, i, j)
        assert out.max().item() > 5 and out.min().item() < -5


def test_adapter_learns_to_match_the_trunk(shared_dir: Path) -> None:
    from siamfc.models.backbones import NanoTrackTrunk, load_nanotrack_onnx

    folder = nanotrack(shared_dir)
    torch.manual_seed(0)
    teacher = FeatureTeacher(folder, student_channels=48, student_stride=8).train()
    assert not teacher.trunk.training and not any(p.requires_grad for p in teacher.trunk.parameters())
    student = NanoTrackTrunk(stride=8)
    load_nanotrack_onnx(student, folder / "nanotrack_backbone_sim.onnx")
    crops = torch.rand(2, 3, 127, 127) * 255
    with torch.no_grad():
        features = student.eval()(crops)[..., 4:-4, 4:-4]  # the middle 8x8, 8 px per cell
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


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from test_training import make_sequences

    base = tmp_path_factory.mktemp("teacher_data")
    make_sequences(base / "seqs", ["a", "b", "c"])
    return base


@pytest.mark.parametrize("term", ["nanotrack_teacher", "feature_teacher"])
def test_terms_in_a_run(term: str, tmp_path: Path, data_dir: Path, shared_dir: Path,
                        keep_torch_threads: None) -> None:
    """The term adds to the loss (same seed, weights and first pairs); a trained adapter is kept in last.pth
    and a resumed run gets it back; a folder without the graphs is a SettingError."""
    from siamfc.training.trainer import Trainer

    folder = nanotrack(shared_dir)
    model = {"backbone": "mobile", "channels": [8, 8, 16, 16, 16, 16]}
    losses = {}
    for name, experiment in [("plain", {}), ("taught", {term: {"folder": str(folder), "weight": 1.0}})]:
        cfg = load_config(write_config(tmp_path / f"{name}.yaml", data_dir, tmp_path / name, model=model,
                                       experiment=experiment))
        steps: list[float] = []
        trainer = Trainer(cfg, quiet=True, on_step=[lambda t, value, steps=steps: steps.append(value)])
        try:
            trainer.fit()
        finally:
            trainer.close()
        losses[name] = steps
    assert all(np.isfinite(losses["taught"])) and losses["taught"][0] > losses["plain"][0]
    if term == "feature_teacher":
        adapter = trainer.objective.terms[term].teacher.adapter.weight.detach()
        saved = read_checkpoint(tmp_path / "taught" / "last.pth")["train"]["terms"][term]
        assert torch.equal(saved["teacher.adapter.weight"], adapter)
        resumed = Trainer(cfg, quiet=True)
        resumed.resume()
        assert torch.equal(resumed.objective.terms[term].teacher.adapter.weight, adapter)
        resumed.close()
    bad = write_config(tmp_path / "bad.yaml", data_dir, tmp_path / "bad", model=model,
                       experiment={term: {"folder": str(tmp_path), "weight": 1.0}})
    with pytest.raises(SettingError) as info:
        Trainer(load_config(bad), quiet=True)
    assert info.value.key == "folder"


def test_an_unregistered_term_names_its_key(tmp_path: Path, data_dir: Path) -> None:
    from siamfc.training.trainer import Trainer

    cfg = load_config(write_config(tmp_path / "c.yaml", data_dir, tmp_path / "run", experiment={"nope": {}}))
    with pytest.raises(SettingError) as info:
        Trainer(cfg, quiet=True)
    assert info.value.key == "experiment.nope"
