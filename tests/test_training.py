"""Training end to end on a tiny synthetic dataset with a 10%-width AlexNet: a short run with
validation, SIGTERM mid-epoch then ``--resume`` landing on the very weights of an uninterrupted run
(``siamfc train`` called in-process: ``main([...])``), and 2-process DDP (gloo) under ``torchrun``,
which needs processes of its own."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
import yaml

from siamfc.models.checkpoint import load_model, read_checkpoint
from siamfc.models.network import build_model
from siamfc.training.config import load_config

REPO = Path(__file__).resolve().parents[1]
SIAMFC = [sys.executable, "-m", "siamfc.cli.main"]


def make_sequences(root: Path, names: list[str], n: int = 10, got10k: bool = False) -> Path:
    """Sequences of a textured square moving over a noisy background (160x120 frames)."""
    rng = np.random.default_rng(len(names))
    for k, name in enumerate(names):
        folder = root / name
        folder.mkdir(parents=True)
        texture = rng.integers(0, 255, size=(30, 40, 3), dtype=np.uint8)
        boxes = []
        for i in range(n):
            image = rng.integers(0, 90, size=(120, 160, 3), dtype=np.uint8)
            x, y = 20 + 6 * i + 3 * k, 30 + 3 * i
            image[y:y + 30, x:x + 40] = texture
            cv2.imwrite(str(folder / f"{i + 1:08d}.jpg"), image)
            boxes.append(f"{x},{y},40,30")
        (folder / "groundtruth.txt").write_text("\n".join(boxes) + "\n")
    if got10k:
        (root / "list.txt").write_text("\n".join(names) + "\n")
    return root


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("train_data")
    make_sequences(base / "seqs", ["a", "b", "c"])
    make_sequences(base / "got" / "val", ["v1"], n=6, got10k=True)
    return base


def write_config(path: Path, data_dir: Path, out_dir: Path, **sections) -> Path:
    cfg = {
        "model": {"backbone": "alexnet", "width": 0.1},
        "data": {"datasets": [{"kind": "folder", "root": str(data_dir / "seqs"), "subset": "all"}],
                 "cache_dir": str(data_dir / "cache"), "pairs_per_epoch": 16, "num_workers": 0},
        "optim": {"name": "sgd", "lr": 0.01, "final_lr": 0.001, "batch_size": 4, "epochs": 1},
        "out_dir": str(out_dir),
        "threads": 1,
        "tensorboard": False,
        "device": "cpu",
    }
    for key, value in sections.items():
        if isinstance(value, dict):
            cfg.setdefault(key, {}).update(value)
        else:
            cfg[key] = value
    path.write_text(yaml.safe_dump(cfg))
    return path


def run(args: list[str], timeout: float = 120, **kwargs) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}
    return subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=timeout, env=env, **kwargs)


def params(path: Path) -> dict[str, torch.Tensor]:
    return read_checkpoint(path)["state_dict"]


def train(capsys: pytest.CaptureFixture, *args: str) -> tuple[int, str, str]:
    """``siamfc train ARGS`` in-process: exit code, stdout, stderr."""
    from siamfc.cli.main import main

    capsys.readouterr()
    code = main(["train", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_short_run_with_validation_and_tensorboard(tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture,
                                                   keep_torch_threads: None) -> None:
    out = tmp_path / "run"
    config = write_config(tmp_path / "c.yaml", data_dir, out, tensorboard=True,
                          val={"root": str(data_dir / "got"), "subset": "val", "max_frames": 6})
    code, stdout, stderr = train(capsys, "--config", str(config))
    assert code == 0, stderr[-2000:]
    assert "checkpoint:" in stdout and "epochs done: 1" in stdout
    for name in ("last.pth", "best.pth", "model_e001.pth", "history.json"):
        assert (out / name).is_file(), name
    history = yaml.safe_load((out / "history.json").read_text())
    assert history[0]["epoch"] == 1 and 0.0 <= history[0]["val_auc"] <= 1.0 and np.isfinite(history[0]["loss"])
    assert list((out / "tensorboard").glob("events.out.tfevents.*"))
    model = load_model(out / "last.pth", "cpu")  # the checkpoint is a usable tracker model
    assert model.config.width == 0.1
    state = read_checkpoint(out / "last.pth")["train"]
    assert state["epoch"] == 1 and state["step"] == 0
    # training moved the weights away from the seeded initialisation
    cfg = load_config(config)
    torch.manual_seed(cfg.seed)
    initial = build_model(cfg.model).state_dict()
    assert any(not torch.equal(v, initial[k]) for k, v in params(out / "last.pth").items())


def test_max_steps(tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture, keep_torch_threads: None) -> None:
    out = tmp_path / "run"
    config = write_config(tmp_path / "c.yaml", data_dir, out, optim={"epochs": 3})
    code, _, stderr = train(capsys, "--config", str(config), "--max-steps", "2", "--set", "optim.lr=0.02")
    assert code == 0, stderr[-2000:]
    state = read_checkpoint(out / "last.pth")["train"]
    assert (state["epoch"], state["step"]) == (0, 2)


def test_cli_errors_are_one_line(tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture,
                                 keep_torch_threads: None) -> None:
    from siamfc.cli.main import main

    config = write_config(tmp_path / "c.yaml", data_dir, tmp_path / "run")
    bad = write_config(tmp_path / "bad.yaml", data_dir, tmp_path / "run", optim={"lr": 0.01, "learning_rate": 1})
    missing = write_config(tmp_path / "missing.yaml", data_dir, tmp_path / "nowhere",
                           data={"datasets": [{"kind": "otb", "root": str(tmp_path / "no_such_root")}]})
    fresh = write_config(tmp_path / "fresh.yaml", data_dir, tmp_path / "nowhere")
    for args, message in (
        (["--config", str(bad)], "optim.learning_rate"),
        (["--config", str(missing)], "data.datasets[0]"),
        (["--config", str(config), "--data", f"imagenet:{tmp_path}"], "imagenet"),
        (["--config", str(fresh), "--resume", "--quiet"], "nothing to resume"),
        (["--config", str(config), "--set", "nosuch.key=1"], "--set nosuch"),
        (["--config", str(fresh), "--set", f"loss.teacher={tmp_path / 't.pth'}", "--set", "loss.distill_weight=1"],
         "loss.teacher"),
    ):
        assert main(["train", *args]) == 2, args
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "nowhere").exists()  # a refused setup leaves no empty run folder behind
    with pytest.raises(SystemExit) as info:  # refused by the option's parser
        main(["train", "--config", str(config), "--max-steps", "-1"])
    assert info.value.code == 2


def test_hooks_see_every_step_and_epoch(tmp_path: Path, data_dir: Path, keep_torch_threads: None) -> None:
    from siamfc.training.trainer import Trainer

    cfg = load_config(write_config(tmp_path / "c.yaml", data_dir, tmp_path / "run", optim={"epochs": 2}))
    steps: list[tuple[int, int, float]] = []
    records: list[dict] = []
    trainer = Trainer(cfg, quiet=True, on_step=[lambda t, loss: steps.append((t.epoch, t.step, loss))],
                      on_epoch=[lambda t, record: records.append(record)])
    try:
        history = trainer.fit()
    finally:
        trainer.close()
    per_epoch = cfg.data.pairs_per_epoch // cfg.optim.batch_size
    assert [(e, s) for e, s, _ in steps] == [(e, s) for e in (0, 1) for s in range(1, per_epoch + 1)]
    assert records == history and [r["epoch"] for r in records] == [1, 2]
    for epoch, record in enumerate(records):
        losses = [loss for e, _, loss in steps if e == epoch]
        assert record["loss"] == pytest.approx(np.mean(losses))


def test_sigterm_mid_epoch_then_resume_matches_uninterrupted_run(tmp_path: Path, data_dir: Path,
                                                                  capsys: pytest.CaptureFixture,
                                                                  keep_torch_threads: None) -> None:
    """SIGTERM at step 3 of epoch 1 (sent to this process by a step hook; the trainer's handler turns
    it into a stop at the next step boundary), ``siamfc train --resume``, and an uninterrupted run
    end on the same weights, optimizer and scheduler state. The exit code 143 of an interrupted
    ``siamfc train``: tests/test_loud_failures.py::test_sigterm_exits_143_after_saving."""
    from siamfc.training.trainer import Trainer

    # 2 epochs of 8 steps; AdamW so that the optimizer state (moments) must be restored too
    sections = {"optim": {"name": "adamw", "lr": 0.002, "final_lr": 0.0002, "epochs": 2, "batch_size": 4},
                "data": {"pairs_per_epoch": 32}}
    reference = write_config(tmp_path / "ref.yaml", data_dir, tmp_path / "ref", **sections)
    interrupted = write_config(tmp_path / "int.yaml", data_dir, tmp_path / "int", **sections)

    def sigterm_at_step_3(trainer: Trainer, loss: float) -> None:
        if (trainer.epoch, trainer.step) == (0, 3):
            os.kill(os.getpid(), signal.SIGTERM)

    trainer = Trainer(load_config(interrupted), quiet=True, on_step=[sigterm_at_step_3])
    try:
        trainer.fit()
    finally:
        trainer.close()
    assert trainer.stopped_by == signal.SIGTERM
    state = read_checkpoint(tmp_path / "int" / "last.pth")["train"]
    assert (state["epoch"], state["step"]) == (0, 3), f"stopped at {state['epoch']}/{state['step']}"

    code, stdout, stderr = train(capsys, "--config", str(interrupted), "--resume", "--quiet")
    assert code == 0, stderr[-2000:]
    assert f"resumed from {tmp_path / 'int' / 'last.pth'} at epoch 1, step 3" in stdout
    code, _, stderr = train(capsys, "--config", str(reference), "--quiet")
    assert code == 0, stderr[-2000:]

    a, b = params(tmp_path / "ref" / "last.pth"), params(tmp_path / "int" / "last.pth")
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(b[key], a[key], rtol=0, atol=1e-6, msg=lambda m, k=key: f"{k}: {m}")
    sa, sb = (read_checkpoint(tmp_path / d / "last.pth")["train"] for d in ("ref", "int"))
    assert (sa["epoch"], sa["step"]) == (sb["epoch"], sb["step"]) == (2, 0)
    assert sa["scheduler"]["last_epoch"] == sb["scheduler"]["last_epoch"] == 16
    # the epoch-2 model of both runs is the same too (epoch 1 was split across the two runs)
    for key, value in params(tmp_path / "ref" / "model_e002.pth").items():
        torch.testing.assert_close(params(tmp_path / "int" / "model_e002.pth")[key], value, rtol=0, atol=1e-6)
    # and epoch 1's loss in history.json covers its steps before the interruption too
    ha, hb = (json.loads((tmp_path / d / "history.json").read_text()) for d in ("ref", "int"))
    assert [r["loss"] for r in hb] == pytest.approx([r["loss"] for r in ha], abs=1e-6)


DDP_SCRIPT = """
import os, sys, torch
from siamfc.training import trainer as T
close = T.Trainer.close
def dump_then_close(self):
    weights = {k: v.detach().clone() for k, v in self.model.named_parameters()}
    torch.save({"weights": weights, "world": self.world, "steps_per_epoch": self.steps_per_epoch,
                "step": self.step}, os.path.join(sys.argv[1], f"rank{self.rank}.pt"))
    close(self)
T.Trainer.close = dump_then_close
from siamfc.cli.main import main
sys.exit(main(["train", *sys.argv[2:]]))
"""


def test_ddp_two_processes_gloo(tmp_path: Path, data_dir: Path) -> None:
    out = tmp_path / "ddp"
    config = write_config(tmp_path / "ddp.yaml", data_dir, out, data={"pairs_per_epoch": 16},
                          optim={"epochs": 2, "batch_size": 2})
    script = tmp_path / "ddp_train.py"
    script.write_text(DDP_SCRIPT)
    result = run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
                  str(script), str(tmp_path), "--config", str(config), "--max-steps", "5"], timeout=180)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    ranks = [torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in (0, 1)]
    assert [r["world"] for r in ranks] == [2, 2]
    assert ranks[0]["steps_per_epoch"] == 16 // 2 // 2  # each rank takes half of every epoch
    # DDP averaged the gradients, so both ranks hold the same parameters after 5 steps
    for key, value in ranks[0]["weights"].items():
        torch.testing.assert_close(ranks[1]["weights"][key], value, rtol=0, atol=0)
    # rank 0 wrote the checkpoint (5 steps = epoch 1 done + 1 step of epoch 2), and it holds those weights
    state = read_checkpoint(out / "last.pth")
    assert (state["train"]["epoch"], state["train"]["step"]) == (1, 1)
    for key, value in ranks[0]["weights"].items():
        torch.testing.assert_close(state["state_dict"][key], value, rtol=0, atol=0)
    assert (out / "model_e001.pth").is_file()


def test_shipped_and_experiment_configs_load() -> None:
    """configs/ and experiments/configs/ (with experiments/teachers.py's terms registered) load."""
    sys.path.insert(0, str(REPO / "experiments"))
    try:
        import teachers  # noqa: F401
    finally:
        sys.path.remove(str(REPO / "experiments"))
    from siamfc.registry import names

    configs = sorted([*(REPO / "configs").glob("*.yaml"), *(REPO / "experiments" / "configs").glob("*.yaml")])
    assert len(configs) >= 15
    losses = set()
    for path in configs:
        cfg = load_config(path)
        assert cfg.data.datasets and set(cfg.experiment) <= set(names("term")), path
        losses.add(cfg.loss.name)
    assert losses == {"logistic", "contrastive", "triplet"}


def test_crop_cache_goes_to_the_user_cache_not_the_working_folder(tmp_path: Path, data_dir: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from siamfc.training.build import build_pair_dataset
    from siamfc.training.config import default_crop_cache_dir

    cfg = load_config(write_config(tmp_path / "c.yaml", data_dir, tmp_path / "run"), {"data.cache_dir": None})
    assert cfg.data.cache_dir is None
    work, user_cache = tmp_path / "work", tmp_path / "user_cache"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("SIAMFC_CACHE", str(user_cache))
    build_pair_dataset(cfg.data, cfg.seed, quiet=True)
    assert list((user_cache / "crops").iterdir()) and not list(work.iterdir())
    monkeypatch.delenv("SIAMFC_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_crop_cache_dir() == tmp_path / "xdg" / "siamfc" / "crops"
