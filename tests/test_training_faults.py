"""Training faults from a new user's walkthrough: stop signals reaching data-loader workers, a new run
over an old one, resuming with other settings, config mistakes found only after the crop cache,
malformed or changed data, damaged checkpoints and caches, and rank 0 failing under ``torchrun``.
Each must be one line (or a clean stop) and lose no work."""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from test_training import make_sequences, run, write_config

from siamfc.cli.main import main
from siamfc.data.crop_cache import PairFilter, build_crop_cache
from siamfc.data.registry import coco_images, curated_sequences
from siamfc.data.sequences import DatasetError, got10k_sequences
from siamfc.errors import CheckpointError
from siamfc.models.checkpoint import read_checkpoint
from siamfc.training.config import load_config


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("fault_data")
    make_sequences(base / "seqs", ["a", "b"], n=8)
    return base


def one_line_error(capsys: pytest.CaptureFixture, *needles: str) -> str:
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip() and not line.startswith("warning:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def first_run(tmp_path: Path, data_dir: Path, **sections) -> tuple[Path, Path]:
    """A config and its out_dir after one step of training (last.pth at epoch 1, step 1)."""
    out = tmp_path / "run"
    config = write_config(tmp_path / "c.yaml", data_dir, out, **sections)
    assert main(["train", "--config", str(config), "--quiet", "--max-steps", "1"]) == 0
    return config, out


# --------------------------------------------------------------------------- 1: stop signals and workers

STOP_SCRIPT = """
import os, subprocess, sys, time
from siamfc.training import trainer as T
step = T.Trainer._train_step
def step_then_signal_the_group(self, *args):
    loss = step(self, *args)
    if self.step == 1:  # this step is the second
        # what `timeout` and batch schedulers do, from another process (as theirs)
        subprocess.run(["kill", "-TERM", "--", f"-{os.getpgrp()}"], start_new_session=True, check=True)
        time.sleep(1.0)  # a worker killed by it would be noticed meanwhile
    return loss
T.Trainer._train_step = step_then_signal_the_group
from siamfc.cli.main import cli
sys.argv = ["siamfc", "train", *sys.argv[1:]]
cli()
"""


def test_sigterm_to_the_process_group_with_loader_workers_saves(tmp_path: Path, data_dir: Path) -> None:
    """SIGTERM to every process of the group (the loader's worker too) while the run trains with
    ``data.num_workers: 1``: the worker ignores it, the run saves and exits 143 (no worker-killed
    traceback, no lost checkpoint)."""
    out = tmp_path / "run"
    config = write_config(tmp_path / "c.yaml", data_dir, out, data={"num_workers": 1, "pairs_per_epoch": 64})
    script = tmp_path / "stop.py"
    script.write_text(STOP_SCRIPT)
    result = run([sys.executable, str(script), "--config", str(config), "--quiet"], start_new_session=True)
    assert result.returncode == 143, result.stderr[-3000:]
    assert "Traceback" not in result.stderr and "interrupted by SIGTERM" in result.stderr, result.stderr
    state = read_checkpoint(out / "last.pth")["train"]
    assert (state["epoch"], state["step"]) == (0, 2)


def test_a_worker_killed_after_a_stop_request_loses_no_work(tmp_path: Path, data_dir: Path,
                                                             monkeypatch: pytest.MonkeyPatch,
                                                             keep_torch_threads: None) -> None:
    """The loader failing because the stop signal killed a worker (one that had not yet started
    ignoring it) is a stop like any other: the steps done are saved."""
    from siamfc.training.trainer import Trainer

    loader = Trainer._loader

    def dying_loader(self):
        batches = iter(loader(self))

        def generate():
            yield next(batches)
            yield next(batches)
            os.kill(os.getpid(), signal.SIGTERM)  # caught by the trainer: a flag
            raise RuntimeError("DataLoader worker (pid 1234) is killed by signal: Terminated. ")
        return generate()

    monkeypatch.setattr(Trainer, "_loader", dying_loader)
    trainer = Trainer(load_config(write_config(tmp_path / "c.yaml", data_dir, tmp_path / "run")), quiet=True)
    try:
        trainer.fit()
    finally:
        trainer.close()
    assert trainer.stopped_by == signal.SIGTERM
    state = read_checkpoint(tmp_path / "run" / "last.pth")["train"]
    assert (state["epoch"], state["step"]) == (0, 2)


def test_loader_workers_ignore_stop_signals() -> None:
    from siamfc.training.trainer import ignore_stop_signals, stop_signals_held

    before = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with stop_signals_held():
            assert {signal.SIGINT, signal.SIGTERM} <= signal.pthread_sigmask(signal.SIG_BLOCK, [])
            ignore_stop_signals(0)  # what a worker runs first
            assert not {signal.SIGINT, signal.SIGTERM} & signal.pthread_sigmask(signal.SIG_BLOCK, [])
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_IGN and signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)


# --------------------------------------------------------------------- 2, 3: a run's out_dir and --resume


def test_a_new_run_over_a_saved_one_is_refused(tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture,
                                               keep_torch_threads: None) -> None:
    config, out = first_run(tmp_path, data_dir)
    before = (out / "last.pth").read_bytes()
    capsys.readouterr()
    assert main(["train", "--config", str(config), "--quiet", "--max-steps", "1"]) == 2
    one_line_error(capsys, f"out_dir {out} already holds a run (last.pth at epoch 1, step 1)", "--resume",
                   "--out-dir")
    assert (out / "last.pth").read_bytes() == before
    assert main(["train", "--config", str(config), "--quiet", "--max-steps", "1", "--resume"]) == 0


@pytest.mark.parametrize("args, needles", [
    (["--set", "optim.name=adamw"], ["optim.name: \"sgd\" there, \"adamw\" now"]),
    (["--set", "optim.batch_size=2"], ["optim.batch_size: 4 there, 2 now"]),
    (["--set", "seed=3"], ["seed"]),
    (["--epochs", "5"], ["optim.epochs"]),
    (["--data", "folder:/elsewhere:all"], ["data.datasets"]),
])
def test_resume_with_settings_that_shape_the_run_is_refused(args: list[str], needles: list[str], tmp_path: Path,
                                                            data_dir: Path, capsys: pytest.CaptureFixture,
                                                            keep_torch_threads: None) -> None:
    config, out = first_run(tmp_path, data_dir)
    capsys.readouterr()
    assert main(["train", "--config", str(config), "--quiet", "--resume", *args]) == 2
    one_line_error(capsys, str(out / "last.pth"), "written by a run with other settings", *needles)


def test_resume_may_change_where_and_how_fast_it_runs(tmp_path: Path, data_dir: Path,
                                                      capsys: pytest.CaptureFixture, keep_torch_threads: None) -> None:
    config, out = first_run(tmp_path, data_dir)
    assert main(["train", "--config", str(config), "--quiet", "--max-steps", "1", "--resume", str(out),
                 "--set", "data.num_workers=1", "--set", "checkpoint_minutes=1", "--set", "threads=2"]) == 0
    assert "resumed from" in capsys.readouterr().out
    assert read_checkpoint(out / "last.pth")["train"]["step"] == 2
    from siamfc.training.config import resume_from

    with pytest.raises(CheckpointError) as info:  # a folder without last.pth
        resume_from(str(tmp_path), load_config(config))
    assert info.value.key == "--resume"


def test_damaged_training_state_is_one_line(tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture,
                                            keep_torch_threads: None) -> None:
    config, out = first_run(tmp_path, data_dir)
    good = read_checkpoint(out / "last.pth")
    for change, needle in ((lambda t: t.pop("torch_rng"), "no 'torch_rng'"),
                           (lambda t: t.update(history="not json"), "damaged training state"),
                           (lambda t: t.update(history='{"epoch": 1}'), "its history is not a list"),
                           (lambda t: t.update(config="{"), "its config is not a JSON mapping")):
        data = {**good, "train": dict(good["train"])}
        change(data["train"])
        torch.save(data, tmp_path / "damaged.pth")
        capsys.readouterr()
        assert main(["train", "--config", str(config), "--quiet", "--resume", str(tmp_path / "damaged.pth")]) == 2
        one_line_error(capsys, str(tmp_path / "damaged.pth"), needle)


# ------------------------------------------------------------------- 7, 8, 9: config mistakes, early


@pytest.fixture
def no_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """Building a crop cache fails the test: these mistakes must be found before it."""
    import siamfc.training.build

    def refuse(*args, **kwargs):
        raise AssertionError("the crop cache was built before the mistake was found")

    monkeypatch.setattr(siamfc.training.build, "build_crop_cache", refuse)


@pytest.mark.parametrize("args, needles", [
    (["--set", "optim.name=adam"], ["optim.name", "'adam'", "sgd, adamw"]),
    (["--set", "loss.name=hinge"], ["loss.name", "logistic"]),
    (["--set", "val.root=/nonexist"], ["val.root: ", "/nonexist"]),
    (["--resume", "/nonexist.pth"], ["/nonexist.pth does not exist"]),
    (["--set", "data.pairs_per_epoch=2"], ["data.pairs_per_epoch (2)", "optim.batch_size (4)"]),
    (["--set", "data.exemplar_size=300", "--set", "data.search_size=50"], ["data.exemplar_size", "search_size (50)"]),
    (["--set", "data.exemplar_size=8"], ["data.exemplar_size = 8", "data.search_size = 239", "alexnet"]),
    (["--set", "model.width=1000"], ["model.width", "at most 4"]),
    (["--set", "model.backbone=mobile", "--set", "model.channels=[16, 16]"],
     ["model.channels = [16, 16]", "mobile"]),
    (["--out-dir", "/proc/x"], ["out_dir /proc/x", "cannot be written"]),
    (["--data", "imagenet:/x"], ["--data data.datasets[0].kind = 'imagenet'", "got10k"]),
    (["--epochs", "0"], ["--epochs optim.epochs = 0"]),
])
def test_config_mistakes_are_found_before_the_crop_cache(args: list[str], needles: list[str], tmp_path: Path,
                                                        data_dir: Path, capsys: pytest.CaptureFixture,
                                                        no_cache: None, keep_torch_threads: None) -> None:
    config = write_config(tmp_path / "c.yaml", data_dir, tmp_path / "run")
    assert main(["train", "--config", str(config), "--quiet", *args]) == 2
    one_line_error(capsys, *needles)


def test_a_cache_dir_that_cannot_be_written_is_named(tmp_path: Path, data_dir: Path,
                                                    capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "file").write_text("not a folder")
    config = write_config(tmp_path / "c.yaml", data_dir, tmp_path / "run")
    cache_dir = tmp_path / "file" / "c"
    assert main(["train", "--config", str(config), "--quiet", "--set", f"data.cache_dir={cache_dir}"]) == 2
    one_line_error(capsys, f"data.cache_dir {cache_dir}: cannot be written")


def test_a_library_error_while_setting_up_is_one_line(tmp_path: Path, data_dir: Path,
                                                      capsys: pytest.CaptureFixture) -> None:
    """A plain OSError (a file where the tensorboard folder goes) or ValueError (a config that is not
    UTF-8) is one line and exit 2 too, not a traceback."""
    config = write_config(tmp_path / "c.yaml", data_dir, tmp_path / "run", tensorboard=True)
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "tensorboard").write_text("in the way")
    assert main(["train", "--config", str(config), "--quiet", "--max-steps", "1"]) == 2
    one_line_error(capsys, "tensorboard")
    (tmp_path / "latin1.yaml").write_bytes(b"out_dir: caf\xe9\n")
    assert main(["train", "--config", str(tmp_path / "latin1.yaml")]) == 2
    one_line_error(capsys, "latin1.yaml: not valid YAML")


# ---------------------------------------------------------------------------- 4, 5, 6, 10: the data


def test_got10k_and_curated_lines_of_other_than_4_values_are_refused(tmp_path: Path) -> None:
    make_sequences(tmp_path / "train", ["s"], n=3, got10k=True)
    gt = tmp_path / "train" / "s" / "groundtruth.txt"
    gt_lines = ("1,2,30,40\n1,2,30,40,0,0,0,0\n1,2,30,40\n", "1,2,30,40,1,2,3,4\n" * 3)
    for text, reader in [(gt_lines[0], got10k_sequences), (gt_lines[1], got10k_sequences),
                         (gt_lines[1], curated_sequences)]:  # the curated reader reads the same files
        gt.write_text(text)
        with pytest.raises(DatasetError) as info:
            reader(tmp_path, "train")
        assert info.value.key == str(gt)
    gt.write_text("1,2,30,40\nnan,nan,nan,nan\n1,2,30,40\n")  # absent: still 4 values
    (seq,) = got10k_sequences(tmp_path, "train")
    assert seq.visible.tolist() == [True, False, True]


def test_crop_cache_is_rebuilt_when_a_frame_changes(tmp_path: Path) -> None:
    from siamfc.data.registry import folder_sequences

    make_sequences(tmp_path / "seqs", ["a"], n=4)
    filt = PairFilter(min_size=10)
    build_crop_cache(folder_sequences(tmp_path / "seqs"), tmp_path / "cache", filt=filt, quiet=True)
    frame = tmp_path / "seqs" / "a" / "00000003.jpg"
    cv2.imwrite(str(frame), np.full((120, 160, 3), 200, np.uint8))  # same name, new pixels
    cache = build_crop_cache(folder_sequences(tmp_path / "seqs"), tmp_path / "cache", filt=filt, quiet=True)
    assert len(list((tmp_path / "cache").iterdir())) == 2
    assert (np.asarray(cache.crops[2]) > 150).mean() > 0.5  # the new frame's crop, not the old one's


def test_unreadable_frames_are_counted_and_named(tmp_path: Path) -> None:
    from siamfc.data.registry import folder_sequences

    make_sequences(tmp_path / "seqs", ["a"], n=4)
    for name in ("00000002.jpg", "00000004.jpg"):
        (tmp_path / "seqs" / "a" / name).write_bytes(b"not a jpeg")
    with pytest.warns(UserWarning, match=r"2 frame\(s\) cannot be read as images .*00000002.jpg"):
        cache = build_crop_cache(folder_sequences(tmp_path / "seqs"), tmp_path / "cache", filt=PairFilter(min_size=10),
                                 quiet=True)
    assert len(cache.sizes) == 2 and cache.unreadable == 2


def test_no_usable_frame_because_unreadable_says_so(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    make_sequences(tmp_path / "seqs", ["a"], n=3)
    for frame in (tmp_path / "seqs" / "a").glob("*.jpg"):
        frame.write_bytes(b"")
    config = write_config(tmp_path / "c.yaml", tmp_path, tmp_path / "run")
    assert main(["train", "--config", str(config), "--quiet"]) == 2
    one_line_error(capsys, "no usable frame", "3 of its frames cannot be read as images", "00000001.jpg")


def test_a_damaged_crop_cache_is_built_again(tmp_path: Path) -> None:
    from siamfc.data.registry import folder_sequences

    make_sequences(tmp_path / "seqs", ["a"], n=3)
    sequences = folder_sequences(tmp_path / "seqs")
    build_crop_cache(sequences, tmp_path / "cache", filt=PairFilter(min_size=10), quiet=True)
    (crops,) = (tmp_path / "cache").glob("*/crops.npy")
    crops.write_bytes(crops.read_bytes()[:5000])  # cut short
    with pytest.warns(UserWarning, match=rf"crop cache {crops.parent} is damaged .*building it again"):
        cache = build_crop_cache(sequences, tmp_path / "cache", filt=PairFilter(min_size=10), quiet=True)
    assert len(cache.sizes) == 3 and np.asarray(cache.crops[2]).any()


def test_coco_ids_that_are_not_numbers_and_the_standard_layout(tmp_path: Path) -> None:
    (tmp_path / "train2017").mkdir()
    cv2.imwrite(str(tmp_path / "train2017" / "1.jpg"), np.zeros((60, 80, 3), np.uint8))
    data = {"images": [{"id": 7, "file_name": "1.jpg"}],
            "annotations": [{"id": 1, "image_id": 7, "bbox": [1, 2, 30, 20]}]}
    json_path = tmp_path / "annotations" / "instances_train2017.json"
    json_path.parent.mkdir()
    json_path.write_text(json.dumps(data))
    (seq,) = coco_images(json_path, "train2017")  # ROOT/annotations/x.json beside ROOT/train2017/
    assert seq.frames == [tmp_path / "train2017" / "1.jpg"]
    for images, anns in (([{"id": [7], "file_name": "1.jpg"}], data["annotations"]),
                         (data["images"], [{"id": 1, "image_id": [7], "bbox": [1, 2, 3, 4]}])):
        json_path.write_text(json.dumps({"images": images, "annotations": anns}))
        with pytest.raises(DatasetError) as info:
            coco_images(json_path, "train2017")
        assert info.value.key == str(json_path)


# ------------------------------------------------------------------------------- 11: torchrun


def test_rank_0_setup_failure_under_torchrun_is_one_error(tmp_path: Path, data_dir: Path) -> None:
    """A dataset error found by rank 0 (which alone builds the crop cache): rank 0 reports it, the
    other rank exits without a traceback of its own (it used to die at the barrier)."""
    config = write_config(tmp_path / "c.yaml", data_dir, tmp_path / "run",
                          data={"datasets": [{"kind": "folder", "root": str(tmp_path / "empty"), "subset": "all"}]})
    (tmp_path / "empty").mkdir()
    result = run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
                  str(Path(__file__).resolve().parents[1] / "tools" / "train.py"), "--config", str(config), "--quiet"],
                 timeout=180)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert output.count("train: error: data.datasets[0] (folder)") == 1, output[-3000:]
    assert "Connection closed by peer" not in output and "gloo" not in output.lower(), output[-3000:]
