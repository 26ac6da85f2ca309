"""Checkpoints: our format round trips, the PyTorch port's state dicts import, bad files get a
one-line CheckpointError naming the file."""

from __future__ import annotations

import pickle
from fractions import Fraction
from pathlib import Path

import pytest
import torch

from siamfc import CheckpointError, ModelConfig, SiamFCNet, build_model, load_model, save_checkpoint
from siamfc.models.checkpoint import read_checkpoint


def randomized(config: ModelConfig) -> SiamFCNet:
    """A model whose every parameter and BatchNorm statistic differs from a fresh one."""
    torch.manual_seed(0)
    model = build_model(config)
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if t.is_floating_point():
                t.copy_(torch.rand_like(t) + 0.5 if "running_var" in name else torch.randn_like(t) * 0.1)
    return model.eval()


@torch.no_grad()
def outputs(model: SiamFCNet) -> torch.Tensor:
    g = torch.Generator().manual_seed(1)
    z = torch.rand(1, 3, 127, 127, generator=g) * 255
    x = torch.rand(2, 3, 255, 255, generator=g) * 255
    return model.eval()(z, x)


@pytest.mark.parametrize("config", [
    ModelConfig(width=0.1),
    ModelConfig(channels=[8, 16, 24, 24, 16], head_bias=True),
    ModelConfig(width=0.1, pseudo_siamese=True),
    ModelConfig(backbone="alexnet_w30", out_scale=0.01),
], ids=["width", "channels+bias", "pseudo-siamese", "w30"])
def test_round_trip_rebuilds_the_same_model(tmp_path: Path, config: ModelConfig) -> None:
    model = randomized(config)
    path = tmp_path / "sub" / "model.pth"
    save_checkpoint(path, model, meta={"epoch": 3})
    assert [p.name for p in path.parent.iterdir()] == ["model.pth"]  # no temp file left behind
    loaded = load_model(path)
    assert loaded.config == config and not loaded.training
    assert (loaded.search_backbone is not None) == config.pseudo_siamese
    torch.testing.assert_close(outputs(loaded), outputs(model), rtol=0, atol=0)
    assert read_checkpoint(path)["meta"] == {"epoch": 3}


def test_pseudo_siamese_branches_are_stored_separately(tmp_path: Path) -> None:
    model = randomized(ModelConfig(width=0.1, pseudo_siamese=True))
    assert not torch.equal(model.backbone.conv1[0].weight, model.search_backbone.conv1[0].weight)
    save_checkpoint(tmp_path / "p.pth", model)
    loaded = load_model(tmp_path / "p.pth")
    torch.testing.assert_close(loaded.search_backbone.conv1[0].weight, model.search_backbone.conv1[0].weight)
    torch.testing.assert_close(loaded.backbone.conv1[0].weight, model.backbone.conv1[0].weight)


def test_port_weights_import_with_inferred_widths(fdsiamfc_weights: Path, tmp_path: Path) -> None:
    model = load_model(fdsiamfc_weights)
    assert model.backbone.channels == (28, 76, 114, 114, 76)
    assert model.config.out_scale == 0.001 and not model.config.head_bias
    state = torch.load(fdsiamfc_weights, map_location="cpu", weights_only=True)
    for key, value in state.items():
        torch.testing.assert_close(model.state_dict()[key], value)
    # The same weights wrapped as {"state_dict": ...}, and re-saved in our format.
    torch.save({"state_dict": state, "epoch": 50}, tmp_path / "wrapped.pth")
    torch.testing.assert_close(outputs(load_model(tmp_path / "wrapped.pth")), outputs(model))
    save_checkpoint(tmp_path / "ours.pth", model)
    torch.testing.assert_close(outputs(load_model(tmp_path / "ours.pth")), outputs(model), rtol=0, atol=0)


def assert_refused(path: Path, match: str) -> str:
    with pytest.raises(CheckpointError) as info:
        load_model(path)
    message = str(info.value)
    assert info.value.key == str(path) and "\n" not in message and str(path) in message, message
    assert len(message) < 400
    assert match.lower() in message.lower(), message
    return message


class Foreign:
    """Unpickling this would run ``Path.touch`` on a marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_bad_files_give_one_line_errors(tmp_path: Path) -> None:
    good = tmp_path / "good.pth"
    save_checkpoint(good, randomized(ModelConfig(width=0.1)))
    data = good.read_bytes()

    assert_refused(tmp_path / "missing.pth", "no such")

    truncated = tmp_path / "truncated.pth"
    truncated.write_bytes(data[: len(data) // 2])
    assert_refused(truncated, "not a readable")
    head = tmp_path / "head.pth"
    head.write_bytes(data[:5000])  # only the archive's first entries: torch's reason is "Invalid argument"
    assert_refused(head, "damaged or cut short")

    noise = tmp_path / "noise.pth"
    noise.write_bytes(torch.randint(0, 256, (5000,), generator=torch.Generator().manual_seed(0),
                                    dtype=torch.uint8).numpy().tobytes())
    assert_refused(noise, "not a PyTorch checkpoint")

    empty = tmp_path / "empty.pth"
    empty.write_bytes(b"")
    assert_refused(empty, "an empty file")

    text = tmp_path / "notes.txt"
    text.write_text("hello\n")  # torch.load's own reason was "(101)", a KeyError on the byte 'e'
    assert_refused(text, "neither the zip archive torch.save writes nor a legacy pickle")

    assert_refused(tmp_path, "a folder, not a checkpoint file")


def test_foreign_pickles_are_refused_without_running_them(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.pth"
    torch.save({"state_dict": Foreign(marker)}, evil)
    assert_refused(evil, "not a readable")
    assert not marker.exists()

    plain_pickle = tmp_path / "plain.pkl"
    plain_pickle.write_bytes(pickle.dumps({"a": Fraction(1, 3)}, protocol=2))
    assert_refused(plain_pickle, "not a readable")

    fraction = tmp_path / "fraction.pth"
    torch.save({"format": "siamfc", "x": Fraction(1, 2)}, fraction)
    assert_refused(fraction, "not a readable")


def test_wrong_contents_are_named(tmp_path: Path) -> None:
    unrelated = tmp_path / "unrelated.pth"
    torch.save({"fc.weight": torch.zeros(10, 4), "fc.bias": torch.zeros(10)}, unrelated)
    assert_refused(unrelated, "not a SiamFC checkpoint")

    a_list = tmp_path / "list.pth"
    torch.save([torch.zeros(3)], a_list)
    assert_refused(a_list, "expected a dict")

    # Our format, but weights of another width than its config says.
    small, other = randomized(ModelConfig(width=0.1)), randomized(ModelConfig(width=0.2))
    mixed = tmp_path / "mixed.pth"
    save_checkpoint(mixed, small)
    state = torch.load(mixed, weights_only=True)
    state["state_dict"] = other.state_dict()
    torch.save(state, mixed)
    assert_refused(mixed, "of other shape")

    # Port layout with a layer missing.
    port = {f"backbone.{k}": v for k, v in small.backbone.state_dict().items()}
    del port["backbone.conv3.1.running_mean"]
    holed = tmp_path / "holed.pth"
    torch.save(port, holed)
    assert_refused(holed, "missing")

    no_state = tmp_path / "no_state.pth"
    torch.save({"format": "siamfc", "version": 1, "model": ModelConfig().to_dict()}, no_state)
    assert_refused(no_state, "without 'model' or 'state_dict'")

    bad_config = tmp_path / "bad_config.pth"
    torch.save({"format": "siamfc", "version": 1, "model": {"backbone": "alexnet", "colour": 3},
                "state_dict": {}}, bad_config)
    assert_refused(bad_config, "colour")

    config = small.config.to_dict()
    for name, entry, match in [
        ("int_tensor", {"model": config, "state_dict": {**small.state_dict(), "head.x": 3}}, "map names to tensors"),
        ("list_state", {"model": config, "state_dict": [1, 2]}, "map names to tensors"),
        ("str_model", {"model": "alexnet", "state_dict": small.state_dict()}, "config dict"),
        ("short_channels", {"model": {"channels": [8, 16]}, "state_dict": {}}, "cannot build its model"),
        ("negative_width", {"model": {"width": -1.0}, "state_dict": {}}, "width"),
    ]:
        path = tmp_path / f"{name}.pth"
        torch.save({"format": "siamfc", "version": 1, **entry}, path)
        assert_refused(path, match)

    scalars = tmp_path / "scalars.pth"
    torch.save({f"backbone.conv{i}.0.weight": torch.zeros(()) for i in range(1, 6)}, scalars)
    assert_refused(scalars, "not a SiamFC checkpoint")

    unknown_backbone = tmp_path / "unknown_backbone.pth"
    torch.save({"format": "siamfc", "version": 1, "model": {"backbone": "resnet999"}, "state_dict": {}},
               unknown_backbone)
    assert_refused(unknown_backbone, "resnet999")


def test_a_failed_save_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "model.pth"
    model = randomized(ModelConfig(width=0.1))
    save_checkpoint(path, model)
    before = path.read_bytes()

    def broken_save(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, model)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.pth"]
