"""Faults that used to give wrong results with exit 0 (issue 14): each must now be loud (one line,
non-zero exit) and lose no work. In-process CLI calls where possible (subprocesses cost seconds)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from test_training import make_sequences, write_config

from siamfc import CheckpointError, ModelConfig, build_model, load_model, save_checkpoint
from siamfc.cli.main import main
from siamfc.errors import SettingError, SiamFCError
from siamfc.geometry import iou
from siamfc.models.checkpoint import read_checkpoint


def refused(kind: type[Exception], call, *args, key: str | None = None, **kwargs) -> Exception:
    """``call(*args, **kwargs)`` raises ``kind`` with a one-line message (and ``key``, when given)."""
    with pytest.raises(kind) as info:
        call(*args, **kwargs)
    assert "\n" not in str(info.value), str(info.value)
    if key is not None:
        assert info.value.key == key, (info.value.key, str(info.value))
    return info.value


def one_line_error(capsys: pytest.CaptureFixture, *needles: str) -> str:
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def frames(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three 64x64 frames of a textured square moving right (PNG)."""
    folder = tmp_path_factory.mktemp("frames")
    rng = np.random.default_rng(0)
    texture = rng.integers(0, 255, (20, 20, 3), dtype=np.uint8)
    for i in range(3):
        image = rng.integers(0, 60, (64, 64, 3), dtype=np.uint8)
        image[10:30, 10 + 2 * i:30 + 2 * i] = texture
        cv2.imwrite(str(folder / f"{i + 1:03d}.png"), image)
    return folder


# ------------------------------------------------------------------------------ non-finite weights


def test_one_nan_weight_is_refused_naming_the_tensor(tmp_path: Path, frames: Path,
                                                     capsys: pytest.CaptureFixture) -> None:
    model = build_model(ModelConfig(width=0.1))
    name = "backbone.conv3.0.weight"
    with torch.no_grad():
        model.state_dict()[name].view(-1)[5] = float("nan")
    save_checkpoint(tmp_path / "nan.pth", model)
    refused(CheckpointError, load_model, tmp_path / "nan.pth", key=str(tmp_path / "nan.pth"))
    assert main(["track", str(frames), "--init-box", "10,10,20,20", "--weights", str(tmp_path / "nan.pth"),
                 "-q"]) == 2
    one_line_error(capsys, name, "non-finite")


# --------------------------------------------------------------------------------------- training


@pytest.fixture(scope="module")
def train_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("train_data")
    make_sequences(base / "seqs", ["a", "b"], n=6)
    return base


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


@pytest.mark.parametrize("override", ["optim.lr=fast", "optim.batch_size=0", "optim.epochs=ten", "data.num_workers=-1",
                                      "amp='no'",  # YAML's bare `no` is false; the string "no" is not a bool
                                      "optim.final_lr=-1e-5", "optim.lr.x=1", "optim.lr=[1"])
def test_bad_set_values_are_one_line_naming_the_key(override: str, tmp_path: Path, train_data: Path,
                                                   capsys: pytest.CaptureFixture) -> None:
    config = write_config(tmp_path / "c.yaml", train_data, tmp_path / "run")
    assert main(["train", "--config", str(config), "--set", override]) == 2
    one_line_error(capsys, override.partition("=")[0])
    assert not (tmp_path / "run").exists()


def test_bad_yaml_values_name_file_and_key(tmp_path: Path, train_data: Path, capsys: pytest.CaptureFixture) -> None:
    config = write_config(tmp_path / "c.yaml", train_data, tmp_path / "run", optim={"lr": "fast"})
    assert main(["train", "--config", str(config)]) == 2
    one_line_error(capsys, str(config), "optim.lr = 'fast'")
    zero = write_config(tmp_path / "z.yaml", train_data, tmp_path / "run",
                        data={"datasets": [{"kind": "folder", "root": str(train_data / "seqs"), "weight": 0}]})
    assert main(["train", "--config", str(zero)]) == 2
    one_line_error(capsys, "every weight is 0")


def test_a_key_given_twice_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """Plain YAML loading keeps the last of two equal keys; a config must not lose the first unnoticed."""
    config = tmp_path / "twice.yaml"
    config.write_text("model:\n  backbone: mobile\nseed: 1\nmodel:\n  backbone: alexnet\n")
    assert main(["train", "--config", str(config)]) == 2
    one_line_error(capsys, str(config), "key 'model' given twice (line 4)")
    nested = tmp_path / "nested.yaml"
    nested.write_text("optim:\n  lr: 0.1\n  lr: 0.2\n")
    assert main(["train", "--config", str(nested)]) == 2
    one_line_error(capsys, "key 'lr' given twice (line 3)")


def test_training_out_dir_that_cannot_be_written_is_one_line(tmp_path: Path, train_data: Path,
                                                             capsys: pytest.CaptureFixture) -> None:
    config = write_config(tmp_path / "c.yaml", train_data, Path("/dev/full/run"))
    assert main(["train", "--config", str(config)]) == 2
    one_line_error(capsys, "/dev/full/run", "cannot be written")


# ---------------------------------------------------------------------------------- ONNX exports


@pytest.fixture(scope="module")
def small_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from siamfc.tracking.export import export_onnx

    torch.manual_seed(0)
    out = tmp_path_factory.mktemp("export") / "small"
    export_onnx(build_model(ModelConfig(width=0.1)).eval(), out)
    return out


def copy_export(src: Path, dst: Path, **changes) -> Path:
    import json
    import shutil

    from siamfc.tracking.export import MANIFEST

    shutil.copytree(src, dst)
    info = json.loads((dst / MANIFEST).read_text())
    info.update(changes)
    (dst / MANIFEST).write_text(json.dumps(info))
    return dst


@pytest.mark.parametrize("changes, needle", [
    ({"files": {"exemplar": "exemplar.onnx", "search": "../../outside.onnx", "head": "head.onnx"}}, "'files' should"),
    ({"files": {"exemplar": "/etc/hostname", "search": "search.onnx", "head": "head.onnx"}}, "'files' should"),
    ({"files": None}, "'files' should map"),
    ({"files": {"exemplar": 3, "search": "search.onnx", "head": "head.onnx"}}, "'files' should map"),
    ({"stride": 0}, "'stride' is 0"),
    ({"stride": "8"}, "'stride' is '8'"),
    ({"files": {"exemplar": "search.onnx", "search": "exemplar.onnx", "head": "head.onnx"}}, "'files' should map"),
    ({"files_sha256": None}, "older siamfc export"),
], ids=["dotdot", "absolute", "files-null", "name-not-str", "stride-0", "stride-str", "swapped", "no-hashes"])
def test_bad_export_manifests_are_one_line(small_export: Path, frames: Path, tmp_path: Path, changes: dict,
                                           needle: str, capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "outside.onnx").write_bytes((small_export / "search.onnx").read_bytes())
    folder = copy_export(small_export, tmp_path / "a" / "b", **changes)
    assert main(["track", str(frames), "--init-box", "10,10,20,20", "--weights", str(folder), "-q"]) == 2
    one_line_error(capsys, needle)


OLDER_FILES = {"exemplar": "exemplar.onnx", "search": "search.onnx", "head": "head.onnx"}  # no search_taps.onnx


@pytest.mark.parametrize("name, changes", [("search_taps.onnx", {}), ("search.onnx", {"files": OLDER_FILES})],
                         ids=["export", "older-export"])
def test_damaged_graph_is_one_line(small_export: Path, tmp_path: Path, name: str, changes: dict) -> None:
    """The search graph ONNX Runtime runs cut short: search_taps.onnx, or an older export (no search_taps.onnx:
    refused, to be exported again) with search.onnx cut short."""
    from siamfc import MultiTracker

    folder = copy_export(small_export, tmp_path / "x", **changes)
    data = (folder / name).read_bytes()
    (folder / name).write_bytes(data[:len(data) // 2])  # cut short
    refused(CheckpointError, MultiTracker, folder)


def test_a_graph_from_another_export_is_one_line(small_export: Path, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture) -> None:
    """Each graph loads, but the search graph of a wider model does not fit this exemplar graph."""
    from siamfc import MultiTracker
    from siamfc.tracking.export import export_onnx

    torch.manual_seed(1)
    wider = tmp_path / "wider"
    export_onnx(build_model(ModelConfig(width=0.2)).eval(), wider)
    folder = copy_export(small_export, tmp_path / "mixed")
    (folder / "search_taps.onnx").write_bytes((wider / "search_taps.onnx").read_bytes())
    refused(CheckpointError, MultiTracker, folder)
    assert not capsys.readouterr().err  # ONNX Runtime's own log is quiet


@pytest.mark.parametrize("backend", ["torch", "onnxruntime"])
def test_nan_response_maps_are_an_error(backend: str) -> None:
    from siamfc import MultiTracker
    from siamfc.errors import NonFiniteError

    model = build_model(ModelConfig(width=0.1)).eval()
    with torch.no_grad():
        next(model.parameters()).view(-1)[0] = float("inf")
    tracker = MultiTracker(model=model, backend=backend)
    image = np.random.default_rng(0).integers(0, 255, (120, 160, 3), dtype=np.uint8)
    with pytest.raises(NonFiniteError):  # at add (a first response) or update
        tracker.add(image, np.array([40.0, 30, 40, 30]))
        tracker.update(image)


# ----------------------------------------------------------------------------------- track outputs


def track(frames: Path, *args: str) -> int:
    return main(["track", str(frames), "--init-box", "10,10,20,20", "-q", *map(str, args)])


def no_temp_files(folder: Path) -> bool:
    return not [p for p in folder.iterdir() if p.name.startswith(".")]


def test_boxes_to_a_full_disk_is_one_line(frames: Path, capsys: pytest.CaptureFixture) -> None:
    assert track(frames, "--boxes", "/dev/full") == 2
    one_line_error(capsys, "/dev/full", "No space left on device")


def test_boxes_in_a_missing_folder_is_refused_not_created(frames: Path, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture) -> None:
    target = tmp_path / "no" / "such" / "b.txt"
    assert track(frames, "--boxes", target) == 2
    one_line_error(capsys, "does not exist")
    assert not (tmp_path / "no").exists()


def test_an_output_on_the_input_or_on_another_output_is_refused(frames: Path, tmp_path: Path,
                                                                capsys: pytest.CaptureFixture) -> None:
    """Both would be lost work: the input video replaced by the frames tracked, one output by another."""
    video = tmp_path / "clip.avi"
    video.write_bytes(b"stands for a video: the check comes before any frame is read")
    assert main(["track", str(video), "--init-box", "1,1,5,5", "--output", str(video)]) == 2
    one_line_error(capsys, "--output", "is the input video")
    for flag in ("--boxes", "--scores"):  # a box file is never a video or a picture
        assert main(["track", str(video), "--init-box", "1,1,5,5", flag, str(video)]) == 2
        one_line_error(capsys, flag, "the file name must end in .txt")
    assert video.read_bytes().startswith(b"stands for")
    frame = sorted(frames.iterdir())[0]  # a frame of a folder given as the input
    kept = frame.read_bytes()
    for flag in ("--boxes", "--scores"):
        assert main(["track", str(frames), "--init-box", "1,1,5,5", flag, str(frame)]) == 2
        one_line_error(capsys, flag, "the file name must end in .txt")
    assert frame.read_bytes() == kept
    same = tmp_path / "same.txt"
    assert track(frames, "--boxes", same, "--scores", same) == 2
    one_line_error(capsys, "--scores", "--boxes writes the same file")
    many = ["track", str(frames), "--init-box", "10,10,20,20", "--init-box", "30,30,9,9", "-q"]
    assert main([*many, "--boxes", str(tmp_path / "b.txt"), "--scores", str(tmp_path / "b.txt")]) == 2
    one_line_error(capsys, "--scores", "b_0.txt", "--boxes writes the same file")
    assert not same.exists() and not (tmp_path / "b_0.txt").exists()


def test_scores_alone_are_named_in_the_summary(frames: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    scores = tmp_path / "s.txt"
    assert main(["track", str(frames), "--init-box", "10,10,20,20", "--scores", str(scores)]) == 0
    out = capsys.readouterr().out
    assert f"scores: {scores}" in out and "no outputs" not in out
    assert len(scores.read_text().splitlines()) == 3


def test_a_failed_setup_leaves_the_existing_boxes_file_alone(frames: Path, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    class Unwritable:
        def __init__(self, *args) -> None:
            pass

        def isOpened(self) -> bool:  # noqa: N802 (OpenCV's name)
            return False

        def release(self) -> None:
            pass

    boxes = tmp_path / "out.txt"
    boxes.write_text("precious\n")
    monkeypatch.setattr(cv2, "VideoWriter", Unwritable)
    assert track(frames, "--boxes", boxes, "--output", tmp_path / "out.mp4") == 2
    one_line_error(capsys, "cannot write this video file")
    assert boxes.read_text() == "precious\n"
    assert no_temp_files(tmp_path) and not (tmp_path / "out.mp4").exists()


def test_a_video_that_cannot_be_read_back_is_an_error(frames: Path, tmp_path: Path, capsys: pytest.CaptureFixture,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    real = cv2.VideoWriter

    class DiskFills:  # OpenCV reports no write errors: the file just ends short
        def __init__(self, path: str, *args) -> None:
            self.path, self.writer = path, real(path, *args)

        def __getattr__(self, name: str):
            return getattr(self.writer, name)

        def release(self) -> None:
            self.writer.release()
            os.truncate(self.path, 300)

    monkeypatch.setattr(cv2, "VideoWriter", DiskFills)
    assert track(frames, "--boxes", tmp_path / "b.txt", "--output", tmp_path / "out.mp4") == 2
    one_line_error(capsys, "could not be written whole")
    assert not (tmp_path / "out.mp4").exists() and no_temp_files(tmp_path)
    assert len((tmp_path / "b.txt").read_text().splitlines()) == 3  # the boxes are kept


def test_a_write_error_keeps_whole_lines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from siamfc.io import writers

    path = tmp_path / "b.txt"
    path.write_text("old\n")
    file = writers.AtomicTextFile(path)
    file.write("1,2,3,4\n")

    def partial_then_full(fd: int, data: bytes) -> None:
        writers.os.write(fd, data[:4])  # a part of the record, then the disk is full
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(writers, "write_all", partial_then_full)
    refused(SiamFCError, file.write, "5,6,7,8\n", key=str(path))
    file.close()  # nothing more to do
    assert path.read_text() == "1,2,3,4\n"
    assert no_temp_files(tmp_path)


def test_two_runs_on_one_file_do_not_interleave(tmp_path: Path) -> None:
    from siamfc.io.writers import AtomicTextFile

    path = tmp_path / "same.txt"
    path.write_text("an earlier run\n")
    a, b = AtomicTextFile(path), AtomicTextFile(path)
    for i in range(3):
        a.write(f"a{i}\n")
        b.write(f"b{i}\n")
        assert path.read_text() == "an earlier run\n"  # untouched while both run
    a.close()
    assert path.read_text() == "a0\na1\na2\n"
    b.close()
    assert path.read_text() == "b0\nb1\nb2\n"  # the last to finish wins, whole
    assert no_temp_files(tmp_path)


def test_undocumented_video_type_is_refused(frames: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert track(frames, "--output", tmp_path / "out.mov") == 2
    one_line_error(capsys, "unknown video type .mov", ".mp4, .avi or .mkv")


def test_corner_box_is_refused_with_a_hint(frames: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["track", str(frames), "--init-box", "30,20,60,50", "-q"]) == 2
    one_line_error(capsys, "x1,y1,x2,y2", "did you mean 30,20,30,30")


def test_frame_size_change_mid_folder_is_an_error(frames: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    import shutil

    folder = tmp_path / "f"
    shutil.copytree(frames, folder)
    cv2.imwrite(str(folder / "004.png"), np.zeros((32, 48, 3), np.uint8))
    cv2.imwrite(str(folder / "005.png"), np.zeros((64, 64, 3), np.uint8))
    boxes = tmp_path / "b.txt"
    assert track(folder, "--boxes", boxes) == 2
    one_line_error(capsys, "004.png", "48x32", "64x64")
    assert len(boxes.read_text().splitlines()) == 3  # the frames before are kept, whole


@pytest.mark.parametrize("backend", ["torch", "onnxruntime"])
@pytest.mark.parametrize("dtype", [np.float32, np.uint16])
def test_images_other_than_uint8_are_refused(backend: str, dtype: type) -> None:
    from siamfc import MultiTracker

    tracker = MultiTracker(model=build_model(ModelConfig(width=0.1)).eval(), backend=backend)
    image = np.zeros((64, 64, 3), dtype)
    refused(SiamFCError, tracker.add, image, np.array([10.0, 10, 20, 20]), key="image")


# ------------------------------------------------------------------------- a video damaged mid-way


def test_damaged_video_keeps_lines_aligned_with_frames(shared_dir: Path, got10k_root: Path, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture) -> None:
    from got10k.utils.metrics import rect_iou

    video = shared_dir / "videos" / "bag.avi"
    if not video.is_file():
        pytest.skip(f"{video} not found")
    data = bytearray(video.read_bytes())
    middle = len(data) // 2
    data[middle:middle + 20000] = np.random.default_rng(0).integers(0, 256, 20000, dtype=np.uint8).tobytes()
    damaged = tmp_path / "bag_damaged.avi"
    damaged.write_bytes(bytes(data))
    box = "292.23,128.36,145.96,132.47"
    assert main(["track", str(damaged), "--init-box", box, "--boxes", str(tmp_path / "d.txt")]) == 0
    captured = capsys.readouterr()
    assert "4 skipped" in captured.out and "missing" not in captured.out, captured.out
    for frame in (92, 93, 94, 95):
        assert f"frame {frame}: undecodable frame; skipped" in captured.err, captured.err
    boxes = np.loadtxt(tmp_path / "d.txt", delimiter=",")
    truth = np.loadtxt(got10k_root / "val" / "bag" / "groundtruth.txt", delimiter=",")
    assert len(boxes) == len(truth) == 196
    np.testing.assert_array_equal(boxes[91:95], np.repeat(boxes[90:91], 4, axis=0))  # the previous box kept
    after = slice(100, 196)  # frames 101..196, past the damage
    aligned = rect_iou(boxes[after], truth[after]).mean()
    shifted = rect_iou(boxes[96:192], truth[after]).mean()  # how lines 4 frames off (the old output) would score
    assert aligned > 0.7 and aligned > shifted + 0.1, (aligned, shifted)


# --------------------------------------------------------------------------------- eval --resume


def test_eval_resume_redoes_exactly_the_incomplete_sequences(got10k_root: Path, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture) -> None:
    from test_eval_cli import make_clip

    root = tmp_path / "root"
    for name in ("bag", "Crossing"):
        make_clip(got10k_root / "val" / name, root / "val" / name, 1, 12)
    (root / "val" / "list.txt").write_text("bag\nCrossing\n")
    args = ["eval", "--dataset", "got10k", "--root", str(root), "--out", str(tmp_path / "out"), "--quiet"]
    assert main(args) == 0
    capsys.readouterr()
    folder = next((tmp_path / "out" / "GOT-10k").iterdir())
    bag, crossing = folder / "bag" / "bag_001.txt", folder / "Crossing" / "Crossing_time.txt"
    whole_bag, whole_crossing = bag.read_text(), crossing.read_text()

    bag.write_text("".join(whole_bag.splitlines(True)[:5]))  # cut short
    crossing.write_text("".join(whole_crossing.splitlines(True)[:3]))  # fps from 3 of 12 frames
    assert main([*args, "--resume"]) == 0
    err = capsys.readouterr().err
    assert f"{bag} has 5 lines for 12 frames" in err and f"{crossing} has 3 lines for 12 frames" in err, err
    assert bag.read_text() == whole_bag and len(crossing.read_text().splitlines()) == 12

    lines = whole_bag.splitlines(True)
    bag.write_text("".join([*lines[:2], "12.5,40\n", *lines[3:]]))  # a line with two numbers
    before = crossing.stat().st_mtime_ns
    assert main([*args, "--resume"]) == 0
    err = capsys.readouterr().err
    assert f"{bag} line 3 has 2 number(s), expected 4" in err and "Crossing" not in err, err
    assert bag.read_text() == whole_bag and crossing.stat().st_mtime_ns == before  # complete: kept


def test_export_to_a_full_disk_leaves_the_folder_as_it_was(tmp_path: Path, capsys: pytest.CaptureFixture,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    weights = tmp_path / "w.pth"
    save_checkpoint(weights, build_model(ModelConfig(width=0.1)))
    out = tmp_path / "out"
    assert main(["export", "--weights", str(weights), "--out", str(out), "--no-check"]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    capsys.readouterr()
    write_bytes, calls = Path.write_bytes, []

    def fills_up(self: Path, data: bytes) -> int:
        calls.append(self)
        if len(calls) == 3:
            raise OSError(28, "No space left on device", str(self))
        return write_bytes(self, data)

    monkeypatch.setattr(Path, "write_bytes", fills_up)
    save_checkpoint(weights, build_model(ModelConfig(width=0.1, head_bias=True)))
    assert main(["export", "--weights", str(weights), "--out", str(out), "--no-check"]) == 2
    one_line_error(capsys, "No space left on device")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_a_full_disk_while_saving_a_checkpoint_is_one_line(tmp_path: Path, train_data: Path,
                                                           capsys: pytest.CaptureFixture,
                                                           monkeypatch: pytest.MonkeyPatch,
                                                           keep_torch_threads: None) -> None:
    import siamfc.models.checkpoint

    def full(*args, **kwargs) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(siamfc.models.checkpoint.torch, "save", full)
    out = tmp_path / "run"
    config = write_config(tmp_path / "c.yaml", train_data, out)
    assert main(["train", "--config", str(config), "--quiet", "--max-steps", "1"]) == 2
    one_line_error(capsys, str(out), "No space left on device")
    assert not list(out.glob(".*"))  # no temp file left


def test_outputs_written_under_a_temporary_name_get_the_usual_mode(tmp_path: Path) -> None:
    """mkstemp makes 0o600 files and the rename keeps the mode: boxes, videos and checkpoints get
    0o666 less the umask, as a plain open() would give them."""
    import stat

    import torch

    from siamfc.io.writers import AtomicTextFile, temporary_sibling
    from siamfc.models.checkpoint import atomic_save

    old = os.umask(0o022)
    try:
        boxes = AtomicTextFile(tmp_path / "boxes.txt")
        boxes.write("1,2,3,4\n")
        boxes.close()
        video = temporary_sibling(tmp_path / "out.mp4")
        atomic_save({"w": torch.zeros(1)}, tmp_path / "model.pth")
    finally:
        os.umask(old)
    for path in (tmp_path / "boxes.txt", video, tmp_path / "model.pth"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o644, path


def test_the_python_api_refuses_what_the_command_line_refuses() -> None:
    """A box outside the image, an empty image and an unknown or absent device are one-line
    ValueErrors from the API too (they were accepted, or torch's long errors)."""
    from siamfc import SiamFCTracker, TrackerConfig

    image = np.zeros((360, 480, 3), np.uint8)
    tracker = SiamFCTracker()
    refused(SiamFCError, tracker.init, image, [1000, 1000, 50, 50], key="box")
    tracker.init(image, [-20, -10, 100, 80])  # partly outside: the crops are padded
    tracker.init(image, [50, 30, 450, 200])  # a large target past the right edge (the CLI's corner guess)
    refused(SiamFCError, tracker.update, np.zeros((0, 0, 3), np.uint8), key="image")
    refused(SiamFCError, SiamFCTracker, device="gpu", key="--device")
    if not torch.cuda.is_available():
        refused(SiamFCError, SiamFCTracker, device="cuda", key="--device")
    paper = SiamFCTracker(config=TrackerConfig.preset("paper"), window_influence=0.2)
    assert paper.config()["scale_penalty"] == 0.9745 and paper.config()["window_influence"] == 0.2
    refused(TypeError, SiamFCTracker, config={"scale_penalty": 0.9})


def test_more_api_mistakes_are_one_line_and_keep_the_tracker() -> None:
    """Found by trying the API as a new user: NaN settings gave NaN boxes, a bad option value, a
    torch.device without a GPU and a path given as model= failed deep in torch, a sub-pixel box was
    called 'outside', and a refused init() dropped the target being tracked."""
    from siamfc import MultiTracker, SiamFCTracker

    image = np.zeros((240, 320, 3), np.uint8)
    image[100:140, 100:160] = 200
    for key, value in [("context", float("nan")), ("scale_penalty", float("inf")), ("dtype", "half"),
                       ("optimize", "no")]:
        refused(SettingError, SiamFCTracker, **{key: value}, key=key)
    refused(TypeError, SiamFCTracker, device=0)
    if not torch.cuda.is_available():
        refused(SiamFCError, SiamFCTracker, device=torch.device("cuda"), key="--device")
    refused(TypeError, SiamFCTracker, model="siamfc/weights/siamfc_mobile_lite.pth")
    refused(SiamFCError, SiamFCTracker().init, image, "100,100,40,30", key="box")

    tracker = SiamFCTracker()
    tracker.init(image, [100.2, 100.2, 0.5, 0.5])  # inside the frame, under a pixel: not "outside"
    tracker.init(image, [100, 100, 60, 40])
    refused(SiamFCError, tracker.init, image, [5000, 0, 10, 10], key="box")
    assert iou(tracker.update(image), np.array([100, 100, 60, 40])) > 0.9  # the target tracked before is kept
    refused(SiamFCError, MultiTracker().update, None, key="image")  # checked with no targets too
