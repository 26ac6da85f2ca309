"""Checkpoint averaging: each float tensor is the mean of the inputs (checked against a hand
computation), step counters are kept, other networks are refused, and the tool runs as a user runs it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from siamfc import CheckpointError, ModelConfig, build_model, load_model, save_checkpoint
from siamfc.models.checkpoint import average_checkpoints

TOOL = Path(__file__).resolve().parents[1] / "tools" / "average_checkpoints.py"
SWA = Path(__file__).resolve().parents[1] / "experiments" / "swa.py"
CONFIG = ModelConfig(backbone="mobile", channels=[8, 8, 8, 8, 8, 8])


def filled(value: float, steps: int, config: ModelConfig = CONFIG):
    """A model whose every float tensor holds ``value`` and whose BatchNorm step counters hold ``steps``."""
    model = build_model(config)
    with torch.no_grad():
        for t in model.state_dict().values():
            t.fill_(value if t.is_floating_point() else steps)
    return model


def test_average_is_the_mean_of_each_tensor(tmp_path: Path) -> None:
    paths = []
    for i, (value, steps) in enumerate([(1.0, 10), (2.0, 20), (6.0, 30)]):
        paths.append(tmp_path / f"model_e{i}.pth")
        save_checkpoint(paths[-1], filled(value, steps))
    state = average_checkpoints(paths).state_dict()
    floats = [t for t in state.values() if t.is_floating_point()]
    counters = [t for t in state.values() if not t.is_floating_point()]
    assert floats and counters
    assert all(torch.all(t == 3.0) for t in floats)  # (1 + 2 + 6) / 3
    assert all(torch.all(t == 30) for t in counters)  # the last checkpoint's count


def test_other_networks_are_refused(tmp_path: Path) -> None:
    save_checkpoint(tmp_path / "a.pth", filled(1.0, 1))
    save_checkpoint(tmp_path / "b.pth", filled(1.0, 1, ModelConfig(backbone="mobile", channels=[8, 8, 8, 8, 8, 16])))
    with pytest.raises(CheckpointError, match="only checkpoints of one network"):
        average_checkpoints([tmp_path / "a.pth", tmp_path / "b.pth"])


def run_tool(*args: str, tool: Path = TOOL) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(tool), *args], capture_output=True, text=True, timeout=120)


def test_tool_writes_a_loadable_checkpoint(tmp_path: Path) -> None:
    for name, value in (("a.pth", 1.0), ("b.pth", 4.0)):
        save_checkpoint(tmp_path / name, filled(value, 1))
    out = tmp_path / "avg" / "model_avg.pth"
    result = run_tool(str(tmp_path / "a.pth"), str(tmp_path / "b.pth"), "--out", str(out))
    assert result.returncode == 0, result.stderr
    weight = next(t for t in load_model(out).state_dict().values() if t.is_floating_point())
    assert torch.all(weight == 2.5)


def test_tool_bad_input_is_one_line(tmp_path: Path) -> None:
    save_checkpoint(tmp_path / "a.pth", filled(1.0, 1))
    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint")
    result = run_tool(str(tmp_path / "a.pth"), str(tmp_path / "junk.pth"), "--out", str(tmp_path / "o.pth"))
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "junk.pth" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "o.pth").exists()
    same = run_tool(str(tmp_path / "a.pth"), str(tmp_path / "a.pth"), "--out", str(tmp_path / "a.pth"))
    assert same.returncode == 2 and "is one of the inputs" in same.stderr


def test_swa_recomputes_batchnorm_on_a_configs_pairs(tmp_path: Path) -> None:
    """experiments/swa.py: the average's BatchNorm statistics come from pairs of the config's data (a
    tiny YOLO image set here), not from the inputs' (filled with 1.0 and 4.0)."""
    from PIL import Image

    images, labels = tmp_path / "data" / "images" / "train2017", tmp_path / "data" / "labels" / "train2017"
    images.mkdir(parents=True)
    labels.mkdir(parents=True)
    rng = torch.Generator().manual_seed(0)
    for i in range(3):
        pixels = (torch.rand(96, 128, 3, generator=rng) * 255).to(torch.uint8).numpy()
        Image.fromarray(pixels).save(images / f"{i:03d}.jpg")
        (labels / f"{i:03d}.txt").write_text("0 0.5 0.5 0.3 0.4\n")
    config = tmp_path / "train.yaml"
    config.write_text(f"data:\n  datasets:\n    - {{kind: yolo, root: {tmp_path / 'data'}, subset: train2017}}\n"
                      f"  cache_dir: {tmp_path / 'cache'}\n  pairs_per_epoch: 8\n  num_workers: 0\n"
                      "optim: {batch_size: 2}\n")
    for name, value in (("a.pth", 1.0), ("b.pth", 4.0)):
        save_checkpoint(tmp_path / name, filled(value, 1))
    out = tmp_path / "swa.pth"
    result = run_tool(str(tmp_path / "a.pth"), str(tmp_path / "b.pth"), "--out", str(out),
                      "--config", str(config), "--bn-batches", "2", tool=SWA)
    assert result.returncode == 0, result.stderr
    assert "BatchNorm recomputed" in result.stdout
    state = load_model(out).state_dict()
    means = [v for k, v in state.items() if k.endswith("running_mean")]
    assert means and all(not torch.all(m == 2.5) for m in means)
    assert all(torch.all(v == 2.5) for k, v in state.items() if k.endswith(".weight"))
    too_many = run_tool(str(tmp_path / "a.pth"), str(tmp_path / "b.pth"), "--out", str(tmp_path / "x.pth"),
                        "--config", str(config), "--bn-batches", "9", tool=SWA)
    assert too_many.returncode == 1 and too_many.stderr.count("\n") == 1 and "only 4 batches" in too_many.stderr


def random_box_net(seed: int, config=None):
    """A box-head network (NanoTrack v2's shape) with random weights of ``seed``."""
    from siamfc.models.boxnet import BoxNetConfig, BoxTrackNet

    torch.manual_seed(seed)
    net = BoxTrackNet(config or BoxNetConfig(channel_order="bgr"))
    with torch.no_grad():
        for t in net.state_dict().values():
            if t.is_floating_point():
                t.copy_(torch.randn_like(t))
    return net


def test_box_soup_is_the_hand_computed_mean(tmp_path: Path) -> None:
    """Two box-head checkpoints: the tool's output (read back with weights_only, as the tracker reads
    it) holds (a + b) / 2 in every tensor, in the inputs' family and config."""
    from siamfc.models.checkpoint import load_box_checkpoint, save_checkpoint

    nets = [random_box_net(0), random_box_net(1)]
    for i, net in enumerate(nets):
        save_checkpoint(tmp_path / f"s{i}.pth", net)
    out = tmp_path / "soup" / "model.pth"
    result = run_tool(str(tmp_path / "s0.pth"), str(tmp_path / "s1.pth"), "--counters-from", "first", "--out", str(out))
    assert result.returncode == 0, result.stderr
    soup = load_box_checkpoint(out)
    assert soup.config == nets[0].config
    a, b = (n.state_dict() for n in nets)
    state = soup.state_dict()
    assert state.keys() == a.keys()
    for key, value in state.items():
        torch.testing.assert_close(value, (a[key] + b[key]) / 2, rtol=0, atol=0)


def test_average_states_means_floats_and_keeps_the_chosen_counters() -> None:
    from siamfc.models.checkpoint import average_states

    states = [{"w": torch.tensor([1.0, 2.0]), "n": torch.tensor(5)},
              {"w": torch.tensor([3.0, 8.0]), "n": torch.tensor(7)}]
    first = average_states(states, counters_from=0)
    assert torch.equal(first["w"], torch.tensor([2.0, 5.0])) and first["w"].dtype == torch.float32
    assert int(first["n"]) == 5
    assert int(average_states(states)["n"]) == 7
    with pytest.raises(CheckpointError):
        average_states([states[0], {"w": torch.zeros(3), "n": torch.tensor(1)}])


def test_other_architectures_are_refused_for_box_checkpoints(tmp_path: Path) -> None:
    """A box-head checkpoint with a SiamFC one, or with a box-head one of another config: a
    CheckpointError naming the odd file, and the tool says it in one line and writes nothing."""
    from siamfc.models.boxnet import BoxNetConfig
    from siamfc.models.checkpoint import save_checkpoint

    save_checkpoint(tmp_path / "box.pth", random_box_net(0))
    save_checkpoint(tmp_path / "rgb.pth", random_box_net(1, BoxNetConfig(channel_order="rgb")))
    save_checkpoint(tmp_path / "siamfc.pth", filled(1.0, 1))
    for other in ("siamfc.pth", "rgb.pth"):
        with pytest.raises(CheckpointError) as caught:
            average_checkpoints([tmp_path / "box.pth", tmp_path / other])
        assert other in str(caught.value)
        result = run_tool(str(tmp_path / "box.pth"), str(tmp_path / other), "--out", str(tmp_path / "o.pth"))
        assert result.returncode == 1 and result.stderr.count("\n") == 1 and other in result.stderr
        assert not (tmp_path / "o.pth").exists()
