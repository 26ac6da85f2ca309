"""Checkpoint averaging: each float tensor is the mean of the inputs (checked against a hand
computation), step counters are kept, other networks are refused, and the tool runs as a user runs it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from siamfc import CheckpointError, ModelConfig, build_model, load_model, save_checkpoint
from siamfc.models.averaging import average_checkpoints

TOOL = Path(__file__).resolve().parents[1] / "tools" / "average_checkpoints.py"
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


def run_tool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(TOOL), *args], capture_output=True, text=True, timeout=120)


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


def test_tool_recomputes_batchnorm_on_a_configs_pairs(tmp_path: Path) -> None:
    """--recompute-bn: the average's BatchNorm statistics come from pairs of the config's data (a
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
                      "--recompute-bn", str(config), "--bn-batches", "2")
    assert result.returncode == 0, result.stderr
    assert "BatchNorm recomputed" in result.stdout
    state = load_model(out).state_dict()
    means = [v for k, v in state.items() if k.endswith("running_mean")]
    assert means and all(not torch.all(m == 2.5) for m in means)
    assert all(torch.all(v == 2.5) for k, v in state.items() if k.endswith(".weight"))
    too_many = run_tool(str(tmp_path / "a.pth"), str(tmp_path / "b.pth"), "--out", str(tmp_path / "x.pth"),
                        "--recompute-bn", str(config), "--bn-batches", "9")
    assert too_many.returncode == 1 and too_many.stderr.count("\n") == 1 and "only 4 batches" in too_many.stderr
