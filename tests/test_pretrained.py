"""Starting training from pretrained weights: NanoTrack's ONNX trunk or a siamfc checkpoint, and the
pretrained trunk's own learning rate."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from siamfc.errors import CheckpointError, SettingError
from siamfc.models.checkpoint import save_checkpoint
from siamfc.models.network import build_model
from siamfc.training.build import freeze, init_from_pretrained, parameter_groups


def test_parameter_groups_give_the_trunk_its_rate() -> None:
    model = build_model(backbone="nanotrack_v2_s8", channels=[64], head_bias=True)
    groups = parameter_groups(model, 1e-3, 0.1)
    assert [g["lr"] for g in groups] == [1e-3, pytest.approx(1e-4)]
    ids = [id(p) for g in groups for p in g["params"]]
    assert sorted(ids) == sorted(id(p) for p in model.parameters())  # each parameter exactly once
    trunk = {id(p) for p in model.backbone.trunk_parameters()}
    assert {id(p) for p in groups[1]["params"]} == trunk
    assert {id(p) for p in groups[0]["params"]} == {id(p) for p in model.backbone.neck.parameters()} | {
        id(model.head.bias)}
    # scale 1 (or a backbone without a pretrained trunk): one group
    assert len(parameter_groups(model, 1e-3, 1.0)) == 1
    assert len(parameter_groups(build_model(backbone="mobile"), 1e-3, 0.1)) == 1


def test_init_from_a_siamfc_checkpoint(tmp_path: Path) -> None:
    source = build_model(backbone="mobile", width=0.5)
    save_checkpoint(tmp_path / "a.pth", source)
    target = build_model(backbone="mobile", width=0.5)
    init_from_pretrained(target, tmp_path / "a.pth")
    for a, b in zip(source.state_dict().values(), target.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    with pytest.raises(CheckpointError) as info:
        init_from_pretrained(build_model(backbone="mobile", width=1.0), tmp_path / "a.pth")
    assert info.value.key == str(tmp_path / "a.pth")
    with pytest.raises(SettingError) as info:
        init_from_pretrained(target, tmp_path / "missing.pth")
    assert info.value.key == "pretrained"


def test_init_from_nanotrack_onnx(shared_dir: Path) -> None:
    path = shared_dir / "weights" / "nanotrack_v2" / "nanotrack_backbone_sim.onnx"
    if not path.is_file():
        pytest.skip(f"NanoTrack's backbone not found at {path}")
    import onnx
    from onnx import numpy_helper

    model = build_model(backbone="nanotrack_v2_s8", channels=[64])
    init_from_pretrained(model, path)
    first = next(numpy_helper.to_array(t) for t in onnx.load(str(path)).graph.initializer if t.dims == [16, 3, 3, 3])
    assert torch.equal(model.backbone.stem[0].weight, torch.from_numpy(first[:, ::-1].copy()))  # BGR -> RGB
    with pytest.raises(SettingError) as info:
        init_from_pretrained(build_model(backbone="mobile"), path)
    assert info.value.key == "pretrained"


def test_freeze_by_prefix_spares_the_backward_pass() -> None:
    model = build_model(backbone="nanotrack_v2_s8", channels=[64])
    count = freeze(model, ["backbone.stem", "backbone.blocks.0."])
    assert count == 2 + sum(1 for _ in model.backbone.blocks[0].parameters())
    assert not any(p.requires_grad for p in model.backbone.stem.parameters())
    assert all(p.requires_grad for p in model.backbone.blocks[1].parameters())
    out = model(torch.rand(1, 3, 127, 127), torch.rand(1, 3, 239, 239))
    out.sum().backward()
    assert model.backbone.stem[0].weight.grad is None and model.backbone.blocks[1].project.weight.grad is not None
    with pytest.raises(SettingError) as info:
        freeze(model, ["backbone.nope"])
    assert info.value.key == "optim.freeze"
