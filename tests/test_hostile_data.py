"""Issue 26, found by trying the project as a hostile user: dataset names that leave the dataset's
folder (1), runs sharing a crop cache (2) or an eval output folder (4), a truncated frame in the crop
cache (7), settings that cannot be meant (8) and Ctrl-C during ``siamfc eval --workers`` (11).

Each runs as a user would: the command in a subprocess where the fault is in a command, real
concurrent processes where it is between runs; small synthetic sequences, OpenCV's MIL tracker."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from test_training import make_sequences, write_config

from siamfc.cli.main import main
from siamfc.data.crop_cache import PairFilter, build_crop_cache
from siamfc.data.registry import coco_images, folder_sequences
from siamfc.data.sequences import DatasetError, got10k_sequences
from siamfc.errors import CheckpointError, SettingError

REPO = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}


def siamfc(*args: object, timeout: float = 120) -> subprocess.CompletedProcess:
    """The ``siamfc`` command in a subprocess."""
    return subprocess.run([sys.executable, "-m", "siamfc.cli.main", *map(str, args)], cwd=REPO, env=ENV,
                          capture_output=True, text=True, timeout=timeout)


def error_lines(stderr: str) -> list[str]:
    assert "Traceback" not in stderr, stderr
    return [line for line in stderr.splitlines() if line.strip() and not line.startswith("warning:")]


def make_clip(folder: Path, frames: int, images: int = 3) -> None:
    """A sequence folder of ``frames`` frames (symlinks to ``images`` 160x120 pictures of a textured
    square, kept in a hidden folder beside it)."""
    make_sequences(folder.parent / f".{folder.name}_images", ["s"], n=images)
    source = folder.parent / f".{folder.name}_images" / "s"
    jpgs = sorted(source.glob("*.jpg"))
    boxes = source.joinpath("groundtruth.txt").read_text().splitlines()
    folder.mkdir(parents=True)
    for i in range(frames):
        (folder / f"{i + 1:08d}.jpg").symlink_to(jpgs[i % images])
    (folder / "groundtruth.txt").write_text("\n".join(boxes[i % images] for i in range(frames)) + "\n")


def wait_for(path: Path, process: subprocess.Popen, timeout: float = 90) -> None:
    end = time.monotonic() + timeout
    while not path.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < end, f"{path} never appeared"
        time.sleep(0.05)


# ------------------------------------------------------------------- 1: names that leave the dataset


def test_eval_refuses_a_list_name_that_climbs_out_of_the_root(tmp_path: Path) -> None:
    """``list.txt`` names ``../../../v`` (a real sequence): results would go outside ``--out``."""
    make_clip(tmp_path / "v", 3)
    root = tmp_path / "d1" / "d2" / "root"
    root.mkdir(parents=True)
    (root / "list.txt").write_text("../../../v\n")
    out = tmp_path / "o1" / "o2" / "o3" / "out"
    before = sorted(tmp_path.rglob("*"))
    result = siamfc("eval", "--dataset", "folder", "--root", root, "--tracker", "mil", "--out", out, "--quiet")
    assert result.returncode == 2, result.stderr
    (line,) = error_lines(result.stderr)
    assert str(root / "list.txt") in line and "../../../v" in line
    assert sorted(tmp_path.rglob("*")) == before, "something was written"


@pytest.mark.parametrize("name", ["../escape", "TMP/escape", "a/../../escape"])
def test_training_readers_refuse_names_that_leave_the_root(name: str, tmp_path: Path) -> None:
    make_sequences(tmp_path / "train", ["a"], n=2, got10k=True)
    make_sequences(tmp_path, ["escape"], n=2)  # a real sequence where the name points
    (tmp_path / "train" / "list.txt").write_text(f"a\n{name.replace('TMP', str(tmp_path))}\n")
    listing = str(tmp_path / "train" / "list.txt")
    with pytest.raises(DatasetError) as info:
        got10k_sequences(tmp_path, "train")  # curated data and eval's GOT-10k checks read it so too
    assert info.value.key == listing
    with pytest.raises(DatasetError) as info:
        folder_sequences(tmp_path / "train")
    assert info.value.key == listing


def test_coco_file_names_that_leave_the_image_folder_are_refused(tmp_path: Path) -> None:
    (tmp_path / "train2017").mkdir()
    cv2.imwrite(str(tmp_path / "outside.jpg"), np.zeros((60, 80, 3), np.uint8))
    json_path = tmp_path / "annotations" / "instances_train2017.json"
    json_path.parent.mkdir()
    for name in ("../outside.jpg", str(tmp_path / "outside.jpg")):
        json_path.write_text(json.dumps({"images": [{"id": 1, "file_name": name}],
                                         "annotations": [{"id": 1, "image_id": 1, "bbox": [1, 2, 30, 20]}]}))
        with pytest.raises(DatasetError) as info:
            coco_images(tmp_path, "train2017")
        assert info.value.key == str(json_path) and "images[0] 'file_name'" in str(info.value)


# ------------------------------------------------------------------ 2: two runs sharing a crop cache

CACHE_SCRIPT = """
import sys, time
from pathlib import Path
from siamfc import geometry
from siamfc.data.crop_cache import PairFilter, build_crop_cache
from siamfc.data.registry import folder_sequences

data, cache, building, started = map(Path, sys.argv[1:5])
crop = geometry.crop
def slow_crop(*args, **kwargs):  # the first run pauses in its build until the second has started
    if not building.exists():
        building.write_text("")
        end = time.monotonic() + 60
        while not started.exists() and time.monotonic() < end:
            time.sleep(0.05)
        time.sleep(2.0)
    return crop(*args, **kwargs)
geometry.crop = slow_crop
sequences = folder_sequences(data)
started.write_text("")
result = build_crop_cache(sequences, cache, filt=PairFilter(min_size=10), workers=1)
print(len(result.sizes), int(sum(int(result.crops[k].sum()) for k in range(len(result.sizes)))))
"""


def test_a_second_run_waits_for_the_crop_cache_the_first_is_building(tmp_path: Path) -> None:
    make_sequences(tmp_path / "seqs", ["a", "b"], n=4)
    script = tmp_path / "cache.py"
    script.write_text(CACHE_SCRIPT)
    cache, building = tmp_path / "cache", tmp_path / "building"

    def start(started: str) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, str(script), str(tmp_path / "seqs"), str(cache), str(building),
                                 str(tmp_path / started)], cwd=REPO, env=ENV, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)

    first = start("first_started")
    wait_for(building, first)
    second = start("second_started")
    (out1, err1), (out2, err2) = first.communicate(timeout=120), second.communicate(timeout=120)
    assert first.returncode == 0 and second.returncode == 0, err1 + err2
    assert "Traceback" not in err1 + err2
    assert out1 == out2 and out1.split()[0] == "8", (out1, out2)  # the same 8 whole crops
    assert str(cache) in err2, err2  # it said which cache it waited for
    (folder,) = cache.iterdir()
    assert sorted(p.name for p in folder.iterdir()) == ["crops.npy", "done", "meta.npz"]


# ------------------------------------------------------------- 4: two evals on one output folder

EVAL_SCRIPT = """
import sys, time
from pathlib import Path
from siamfc.evaluation import compare

tracking, release = Path(sys.argv[1]), Path(sys.argv[2])
run_task = compare.run_task
def held_task(task):  # this run holds its output folder until the test lets it go on
    tracking.write_text("")
    end = time.monotonic() + 60
    while not release.exists() and time.monotonic() < end:
        time.sleep(0.05)
    return run_task(task)
compare.run_task = held_task
from siamfc.cli.main import cli
sys.argv = ["siamfc", "eval", *sys.argv[3:]]
cli()
"""


def test_a_second_eval_on_an_output_folder_in_use_is_refused(tmp_path: Path) -> None:
    for name, frames in (("a", 4), ("b", 3)):
        make_clip(tmp_path / "root" / name, frames)
    out = tmp_path / "out"
    args = ["--dataset", "folder", "--root", tmp_path / "root", "--tracker", "mil", "--out", out, "--quiet",
            "--resume"]
    script = tmp_path / "eval.py"
    script.write_text(EVAL_SCRIPT)
    tracking, release = tmp_path / "tracking", tmp_path / "release"
    first = subprocess.Popen([sys.executable, str(script), str(tracking), str(release), *map(str, args)], cwd=REPO,
                             env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(tracking, first)
        second = siamfc("eval", *args)
    finally:
        release.write_text("")
        stdout, stderr = first.communicate(timeout=120)
    assert first.returncode == 0, stderr
    assert second.returncode == 2, second.stderr
    (line,) = error_lines(second.stderr)
    assert str(out / "folder-root") in line
    results = out / "folder-root" / "MIL"
    assert [len((results / s / f"{s}_001.txt").read_text().splitlines()) for s in "ab"] == [4, 3]
    assert not [p for p in out.rglob(".*") if p.is_file()], "temporary files left"


def test_a_sequence_already_recorded_gets_no_other_sequences_confidence(tmp_path: Path) -> None:
    """The toolkit skips a sequence whose record exists (another run wrote it): the tracker's
    confidence is then the previous sequence's, and was written as this one's."""
    from siamfc.evaluation.compare import Task, run_task
    from siamfc.evaluation.results import confidence_file
    from siamfc.evaluation.specs import BenchmarkSpec, parse_tracker

    for name, frames in (("long", 6), ("short", 3)):
        make_clip(tmp_path / "root" / name, frames)
    bench = BenchmarkSpec(dataset="folder", root=str(tmp_path / "root"), subset="val", version=None,
                          out=str(tmp_path / "out"))
    spec = parse_tracker("siamfc")
    short = confidence_file(bench, spec.name, "short")
    for seq in ("short", "long", "short"):
        if seq == "short" and short.is_file():
            short.unlink()  # the record is there, its confidence not yet (another run is writing it)
        _, error = run_task(Task(bench, spec, seq, "cpu", None))
        assert error is None, error
    assert not short.is_file() or len(short.read_text().splitlines()) == 3


# --------------------------------------------------------------- 7: a truncated frame in the cache


def test_a_truncated_jpeg_is_counted_and_named_as_unreadable(tmp_path: Path) -> None:
    make_sequences(tmp_path / "seqs", ["a"], n=4)
    frame = tmp_path / "seqs" / "a" / "00000003.jpg"
    frame.write_bytes(frame.read_bytes()[:-400])  # cut short: no end marker
    with pytest.warns(UserWarning, match=r"1 frame\(s\) cannot be read as images .*00000003.jpg"):
        cache = build_crop_cache(folder_sequences(tmp_path / "seqs"), tmp_path / "cache",
                                 filt=PairFilter(min_size=10), quiet=True)
    assert cache.unreadable == 1 and len(cache.sizes) == 3


# -------------------------------------------------------------- 8: settings that cannot be meant


@pytest.mark.parametrize("setting, key", [("optim.final_lr=0.1", "optim.final_lr"),
                                          ("data.cache_size=200", "data.cache_size")])
def test_settings_that_cannot_be_meant_are_one_line_naming_the_key(setting: str, key: str, tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture) -> None:
    make_sequences(tmp_path / "seqs", ["a"], n=2)
    config = write_config(tmp_path / "c.yaml", tmp_path, tmp_path / "run")
    assert main(["train", "--config", str(config), "--quiet", "--set", setting]) == 2
    (line,) = error_lines(capsys.readouterr().err)
    assert key in line
    assert not (tmp_path / "cache").exists()


def test_degenerate_boxes_are_refused_naming_where(tmp_path: Path) -> None:
    make_sequences(tmp_path / "seqs", ["a"], n=2)
    gt = tmp_path / "seqs" / "a" / "groundtruth.txt"
    gt.write_text("20,30,40,30\n20,30,1e-9,30\n")
    with pytest.raises(DatasetError) as info:
        folder_sequences(tmp_path / "seqs")
    assert info.value.key == "a"  # the sequence
    (tmp_path / "train2017").mkdir()
    cv2.imwrite(str(tmp_path / "train2017" / "1.jpg"), np.zeros((60, 80, 3), np.uint8))
    json_path = tmp_path / "annotations" / "instances_train2017.json"
    json_path.parent.mkdir()
    for bbox in ([True, 2, 30, 20], [1, 2, 5e-300, 20]):
        json_path.write_text(json.dumps({"images": [{"id": 1, "file_name": "1.jpg"}],
                                         "annotations": [{"id": 4, "image_id": 1, "bbox": bbox}]}))
        with pytest.raises(DatasetError) as info:
            coco_images(tmp_path, "train2017")
        assert info.value.key == str(json_path) and "annotations[0] (id 4)" in str(info.value)


@pytest.mark.parametrize("change", ["zero", "integer"])
def test_checkpoints_with_weights_that_cannot_be_meant_are_refused(change: str, tmp_path: Path) -> None:
    from siamfc.models.checkpoint import load_model, read_checkpoint
    from siamfc.models.shipped import model_path

    data = read_checkpoint(model_path("siamfc_mobile_lite"))  # a SiamFC checkpoint (the default is a box model)
    state = data["state_dict"]
    name = next(k for k, v in state.items() if k.endswith(".weight") and v.ndim == 4)
    state[name] = torch.zeros_like(state[name]) if change == "zero" else state[name].round().to(torch.int8)
    torch.save(data, tmp_path / "w.pth")
    with pytest.raises(CheckpointError, match=rf"w.pth: tensor {name}"):
        load_model(tmp_path / "w.pth")


def test_pair_sources_all_of_weight_zero_are_refused() -> None:
    from siamfc.data.pairs import PairDataset, PairSource

    cache = type("Cache", (), {"groups": np.zeros(2, np.int32)})()
    with pytest.raises(SettingError) as info:
        PairDataset([PairSource(cache, weight=0.0)], augment=None, pairs_per_epoch=4)
    assert info.value.key == "weight"


# ------------------------------------------------------------ 11: Ctrl-C during eval --workers


def test_ctrl_c_during_eval_with_workers_is_one_line_and_keeps_what_was_done(tmp_path: Path) -> None:
    for name, frames in (("long", 400), ("short1", 3), ("short2", 3)):
        make_clip(tmp_path / "root" / name, frames)
    out = tmp_path / "out"
    process = subprocess.Popen([sys.executable, "-m", "siamfc.cli.main", "eval", "--dataset", "folder", "--root",
                                str(tmp_path / "root"), "--tracker", "mil", "--out", str(out), "--quiet",
                                "--workers", "2"], cwd=REPO, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, start_new_session=True)
    results = out / "folder-root" / "MIL"
    try:
        wait_for(results / "short2" / "short2_001.txt", process)
        time.sleep(0.3)
        os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in a terminal does: the whole group
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 130, stderr
    assert "SpawnPoolWorker" not in stderr
    (line,) = error_lines(stderr)
    assert "--resume" in line and str(out / "folder-root") in line
    for seq in ("short1", "short2"):
        assert len((results / seq / f"{seq}_001.txt").read_text().splitlines()) == 3
    assert not (results / "long" / "long_001.txt").exists()
