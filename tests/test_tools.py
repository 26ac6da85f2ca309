"""The scripts in tools/: each one's --help (whole description, no traceback), and the faults a
new user met: bench_train_throughput against the current pair loader and training step,
bench_lost with few --frames, and the tools' default config found from any working folder."""

from __future__ import annotations

import ast
import os
import runpy
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from test_speed_paths import small_sequence

REPO = Path(__file__).resolve().parents[1]
TOOLS = sorted(p for folder in ("tools", "experiments") for p in (REPO / folder).glob("*.py")
               if p.name not in ("tool_errors.py", "teachers.py"))  # modules, not scripts


def first_paragraph(path: Path) -> str:
    """The first paragraph of a tool's docstring, whitespace collapsed."""
    doc = ast.get_docstring(ast.parse(path.read_text())) or ""
    return " ".join(doc.split("\n\n")[0].split())


def run_tool(name: str, *args: str, cwd: Path = REPO, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    script = REPO / "tools" / name if (REPO / "tools" / name).is_file() else REPO / "experiments" / name
    return subprocess.run([sys.executable, str(script), *args], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout, env=env)


def one_line_error(proc: subprocess.CompletedProcess) -> str:
    """The stderr of a refused run: exit 2, one line, no traceback."""
    err = proc.stderr.strip()
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    return err




# --- --help ------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", TOOLS, ids=[p.name for p in TOOLS])
def test_help_shows_the_whole_first_paragraph(path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture) -> None:
    """``description=__doc__.splitlines()[0]`` cut several descriptions mid-sentence ("...and through")."""
    monkeypatch.setattr(sys, "argv", [str(path), "--help"])
    monkeypatch.setattr(sys, "path", [str(path.parent), *sys.path])  # as `python tools/x.py` runs it
    monkeypatch.setenv("COLUMNS", "100")
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_path(str(path), run_name="__main__")
    assert exit_info.value.code in (0, None)
    help_text = " ".join(capsys.readouterr().out.split())
    assert help_text.startswith("usage:"), help_text[:200]
    if path.name == "train.py":  # siamfc train's own help
        return
    paragraph = first_paragraph(path)
    assert paragraph[-1] in ".?)", f"{path.name}: its docstring's first paragraph ends mid-sentence: {paragraph!r}"
    assert paragraph in help_text, f"{path.name}: --help lacks its description {paragraph!r}"


# --- bench_train_throughput.py and compare_losses.py ----------------------------------------------

def tiny_config(tmp_path: Path, **loss) -> Path:
    """A config over 3 tiny synthetic sequences (crop cache in tmp_path); ``loss``: its loss section."""
    for name in ("a", "b", "c"):
        small_sequence(tmp_path / "seqs" / name, frames=6)
    cfg = {
        "model": {"backbone": "alexnet", "width": 0.1},
        "data": {"datasets": [{"kind": "folder", "root": str(tmp_path / "seqs"), "subset": "all"}],
                 "cache_dir": str(tmp_path / "cache"), "pairs_per_epoch": 16, "num_workers": 0,
                 "negative_prob": 0.5},
        "optim": {"name": "adamw", "lr": 0.001, "final_lr": 0.0001, "batch_size": 2, "epochs": 1, "grad_clip": 1.0},
        "loss": loss,
        "out_dir": str(tmp_path / "run"),
        "threads": 1,
        "tensorboard": False,
        "device": "cpu",
    }
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_train_throughput_runs_the_current_training_step(tmp_path: Path) -> None:
    """The pair loader yields (z, x, offsets, positive): the tool unpacked three ('too many values to
    unpack'). Its step is now the trainer's: the config's objective (here with a distillation teacher)
    and optimizer."""
    import torch

    from siamfc.models.checkpoint import save_checkpoint
    from siamfc.models.network import build_model

    torch.manual_seed(0)
    save_checkpoint(tmp_path / "teacher.pth", build_model(backbone="alexnet", width=0.1))
    config = tiny_config(tmp_path, teacher=str(tmp_path / "teacher.pth"), distill_weight=0.25)
    out = tmp_path / "figures.json"
    proc = run_tool("bench_train_throughput.py", "--config", str(config), "--batch-size", "2", "--steps", "1",
                    "--loader-batches", "1", "--workers", "0", "--rounds", "1", "--threads", "1", "--json", str(out))
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = set(yaml.safe_load(out.read_text())["median_pairs_per_s"])
    assert rows == {"step: classic AlexNet (width 1.0)", "step: light AlexNet (width 0.3)",
                    "step: light + distillation teacher", "loader alone, 0 worker(s)",
                    "loader + light step, 0 worker(s)"}, rows


def test_train_throughput_step_matches_the_trainer(tmp_path: Path) -> None:
    """One StepBench step changes the weights as one Trainer._train_step does (same model, objective,
    optimizer and batch)."""
    import torch

    sys.path.insert(0, str(REPO / "experiments"))
    try:
        import bench_train_throughput as tool
    finally:
        sys.path.remove(str(REPO / "experiments"))
    from siamfc.training.build import build_pair_dataset
    from siamfc.training.config import load_config
    from siamfc.training.trainer import Trainer

    cfg = load_config(tiny_config(tmp_path), {"model.width": 0.3})
    batch = next(iter(tool.make_loader(build_pair_dataset(cfg.data, cfg.seed, quiet=True), 2, 0, 1)))
    threads = torch.get_num_threads()
    try:
        trainer = Trainer(cfg, quiet=True)
        bench = tool.StepBench(cfg, 0.3, cfg.loss, cfg.experiment)
        bench.model.load_state_dict(trainer.model.state_dict())
        trainer._train_step(*batch)
        bench.step(*batch)
        trainer.close()
    finally:
        torch.set_num_threads(threads)
    for (name, a), b in zip(trainer.model.state_dict().items(), bench.model.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, msg=name)


@pytest.mark.parametrize("tool", ["bench_train_throughput.py", "compare_losses.py"])
def test_default_config_is_found_from_another_folder(tool: str, tmp_path: Path) -> None:
    """The default --config was 'configs/alexnet_w30_mini.yaml' from the working folder: a traceback
    anywhere else. Now it is the repository's; what it names relative to the working folder (the
    shared data) is then a one-line error that says so."""
    args = ["--steps", "1", "--batch-size", "2"] + (["--rounds", "1", "--workers", "0", "--loader-batches", "1"]
                                                    if tool.startswith("bench") else ["--val-sequences", "1"])
    err = one_line_error(run_tool(tool, *args, cwd=tmp_path))
    assert "../shared/data/GOT-10k-mini" in err and "relative paths in a config" in err, err


@pytest.mark.parametrize("tool", ["bench_train_throughput.py", "compare_losses.py"])
def test_missing_config_is_one_line(tool: str, tmp_path: Path) -> None:
    err = one_line_error(run_tool(tool, "--config", str(tmp_path / "nope.yaml"), cwd=tmp_path))
    assert f"--config {tmp_path / 'nope.yaml'}: no such file" in err, err


# --- bench_lost.py --------------------------------------------------------------------------------

def test_bench_lost_with_few_frames(tmp_path: Path) -> None:
    """--frames 10 made fewer 'away' frames than the 27 skipped before timing: an empty slice and a
    TypeError. The away frames now always number --frames after the skipped ones."""
    seq = small_sequence(tmp_path / "seq")
    proc = run_tool("bench_lost.py", "--sequence", str(seq), "--frames", "10")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "tracking:" in proc.stdout and "lost (re-detection on" in proc.stdout, proc.stdout
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(("args", "message"), [
    (["--frames", "0"], "--frames 0: must be 1 or more"),
    (["--sequence", "/nonexistent"], "--sequence /nonexistent: no such folder"),
])
def test_bench_lost_bad_input_is_one_line(args: list[str], message: str) -> None:
    assert message in one_line_error(run_tool("bench_lost.py", *args))


# --- bad input to the speed tools ------------------------------------------------------------------

@pytest.mark.parametrize(("tool", "args", "message"), [
    ("bench_levers.py", ["--weights", "/nonexistent.pth"], "/nonexistent.pth: no such checkpoint file"),
    ("bench_levers.py", ["--backbone", "alexnet", "--sequence", "/nonexistent"], "/nonexistent: no such file"),
    ("bench_equivalence.py", ["--weights", "/nonexistent.pth", "--root", "/nonexistent"],
     "--root /nonexistent: no list.txt"),
    ("bench_tracking_speed.py", ["--sequence", "/nonexistent"], "--sequence /nonexistent: no such folder"),
])
def test_speed_tools_bad_input_is_one_line(tool: str, args: list[str], message: str) -> None:
    assert message in one_line_error(run_tool(tool, *args))
