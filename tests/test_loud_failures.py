"""Faults that used to give wrong results with exit 0 (issue 14): each must now be loud (one line,
non-zero exit) and lose no work. In-process CLI calls where possible (subprocesses cost seconds)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
import torch
from test_training import make_sequences, write_config

from siamfc import CheckpointError, ModelConfig, build_model, load_model, save_checkpoint
from siamfc.checkpoint import read_checkpoint
from siamfc.cli.main import main


def one_line_error(capsys: pytest.CaptureFixture, *needles: str) -> str:
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


# ------------------------------------------------------------------------------ non-finite weights


def test_one_nan_weight_is_refused_naming_the_tensor(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    model = build_model(ModelConfig(width=0.1))
    name = "backbone.conv3.0.weight"
    with torch.no_grad():
        model.state_dict()[name].view(-1)[5] = float("nan")
    save_checkpoint(tmp_path / "nan.pth", model)
    with pytest.raises(CheckpointError, match=rf"{name} holds 1 non-finite value"):
        load_model(tmp_path / "nan.pth")
    frames = tmp_path / "frames"
    frames.mkdir()
    import cv2
    import numpy as np

    for i in range(2):
        cv2.imwrite(str(frames / f"{i}.png"), np.full((64, 64, 3), 80 + i, np.uint8))
    assert main(["track", str(frames), "--init-box", "10,10,20,20", "--weights", str(tmp_path / "nan.pth"),
                 "-q"]) == 2
    one_line_error(capsys, name, "non-finite")


# --------------------------------------------------------------------------------------- training


@pytest.fixture(scope="module")
def train_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("train_data")
    make_sequences(base / "seqs", ["a", "b"], n=6)
    return base


@pytest.fixture
def keep_torch_threads():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def test_diverging_training_stops_with_one_line_and_no_nan_checkpoint(
        tmp_path: Path, train_data: Path, capsys: pytest.CaptureFixture, keep_torch_threads: None) -> None:
    out = tmp_path / "run"
    config = write_config(tmp_path / "c.yaml", train_data, out, optim={"epochs": 3})
    code = main(["train", "--config", str(config), "--quiet", "--set", "optim.lr=1e30",
                 "--set", "optim.final_lr=1e29"])
    assert code == 2
    one_line_error(capsys, "training diverged", "optim.lr")
    for path in out.glob("*.pth"):  # whatever was written holds finite weights
        load_model(path)


def test_sigterm_exits_143_after_saving(tmp_path: Path, train_data: Path, capsys: pytest.CaptureFixture,
                                        monkeypatch: pytest.MonkeyPatch, keep_torch_threads: None) -> None:
    from siamfc.training.trainer import Trainer

    step = Trainer._train_step

    def step_then_signal(self, *args):
        loss = step(self, *args)
        if self.step == 1:
            os.kill(os.getpid(), signal.SIGTERM)  # caught by the trainer's handler: a flag, not a kill
        return loss

    monkeypatch.setattr(Trainer, "_train_step", step_then_signal)
    out = tmp_path / "run"
    config = write_config(tmp_path / "c.yaml", train_data, out, optim={"epochs": 2})
    (out).mkdir()
    stale = out / ".last.pth.k2j4h5x1"  # left by a run killed while saving
    stale.write_bytes(b"half a checkpoint")
    assert main(["train", "--config", str(config), "--quiet"]) == 143
    captured = capsys.readouterr()
    assert "interrupted by SIGTERM" in captured.err and "--resume" in captured.err, captured.err
    assert "checkpoint:" not in captured.out  # not the closing line of a finished run
    state = read_checkpoint(out / "last.pth")["train"]
    assert (state["epoch"], state["step"]) == (0, 2)
    assert not stale.exists()


@pytest.mark.parametrize("override, needles", [
    ("optim.lr=fast", ["optim.lr", "'fast'", "number"]),
    ("optim.batch_size=0", ["optim.batch_size", "more than 0"]),
    ("optim.epochs=ten", ["optim.epochs", "whole number"]),
    ("data.num_workers=-1", ["data.num_workers", "0 or more"]),
    ("amp='no'", ["amp", "true or false"]),  # YAML's bare `no` is false; the string "no" is not a bool
    ("optim.final_lr=-1e-5", ["optim.final_lr", "more than 0"]),
    ("optim.lr.x=1", ["optim.lr.x", "not a section"]),
])
def test_bad_set_values_are_one_line_naming_the_key(override: str, needles: list[str], tmp_path: Path,
                                                   train_data: Path, capsys: pytest.CaptureFixture) -> None:
    config = write_config(tmp_path / "c.yaml", train_data, tmp_path / "run")
    assert main(["train", "--config", str(config), "--set", override]) == 2
    one_line_error(capsys, *needles)
    assert not (tmp_path / "run").exists()


def test_bad_yaml_values_name_file_and_key(tmp_path: Path, train_data: Path, capsys: pytest.CaptureFixture) -> None:
    config = write_config(tmp_path / "c.yaml", train_data, tmp_path / "run", optim={"lr": "fast"})
    assert main(["train", "--config", str(config)]) == 2
    one_line_error(capsys, str(config), "optim.lr = 'fast'")
    zero = write_config(tmp_path / "z.yaml", train_data, tmp_path / "run",
                        data={"datasets": [{"kind": "folder", "root": str(train_data / "seqs"), "weight": 0}]})
    assert main(["train", "--config", str(zero)]) == 2
    one_line_error(capsys, "every weight is 0")


def test_training_out_dir_that_cannot_be_written_is_one_line(tmp_path: Path, train_data: Path,
                                                             capsys: pytest.CaptureFixture) -> None:
    config = write_config(tmp_path / "c.yaml", train_data, Path("/dev/full/run"))
    assert main(["train", "--config", str(config)]) == 2
    one_line_error(capsys, "/dev/full/run", "cannot be written")
