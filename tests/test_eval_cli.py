"""``siamfc eval`` run as a user would (in-process, through ``main``) on short real sequences of
GOT-10k-mini/val.

The sequences are symlinked into a temporary GOT-10k-layout root with their ground truth cut
short (one of them spans frames where the target leaves the view), so each run takes seconds.
"""

from __future__ import annotations

import ast
import contextlib
import io
import json
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest

# name -> (first frame, last frame), 1-based, inclusive; yamaha's target is absent from frame 268 on
CLIPS = {"Crossing": (1, 25), "yamaha_first600": (250, 290)}
FD_NAME = "SiamFC-fdsiamfc_30"


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str


def run_eval(*args: object) -> Run:
    """``siamfc eval ARGS`` in this process, its output captured (usable in module fixtures)."""
    from siamfc.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["eval", *map(str, args)])
    return Run(code, out.getvalue(), err.getvalue())


def make_clip(src: Path, dst: Path, first: int, last: int, full_gt: bool = True) -> None:
    dst.mkdir(parents=True)
    for i, frame in enumerate(range(first, last + 1), start=1):
        (dst / f"{i:08d}.jpg").symlink_to(src / f"{frame:08d}.jpg")
    lines = (src / "groundtruth.txt").read_text().splitlines()[first - 1:last]
    (dst / "groundtruth.txt").write_text("\n".join(lines if full_gt else lines[:1]) + "\n")
    for label in ("cover.label", "absence.label", "cut_by_image.label"):
        if (src / label).is_file():
            values = (src / label).read_text().splitlines()[first - 1:last]
            (dst / label).write_text("\n".join(values) + "\n")
    if (src / "meta_info.ini").is_file():
        (dst / "meta_info.ini").write_text((src / "meta_info.ini").read_text())


@pytest.fixture(scope="module")
def mini_root(got10k_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A GOT-10k-layout root: val/ and test/ with the short clips."""
    root = tmp_path_factory.mktemp("got10k_short")
    for subset in ("val", "test"):
        for name, (first, last) in CLIPS.items():
            make_clip(got10k_root / "val" / name, root / subset / name, first, last, full_gt=subset == "val")
        (root / subset / "list.txt").write_text("\n".join(CLIPS) + "\n")
    return root


@pytest.fixture(scope="module")
def val_run(mini_root: Path, fdsiamfc_weights: Path, tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("eval_out")
    result = run_eval("--dataset", "got10k", "--root", mini_root, "--subset", "val", "--tracker",
                      f"siamfc:{fdsiamfc_weights}", "--out", out, "--quiet")
    assert result.returncode == 0, result.stderr
    return out, result


def independent_ious(boxes: np.ndarray, gt: np.ndarray, visible: np.ndarray, width: int, height: int) -> np.ndarray:
    """IoU as the GOT-10k toolkit defines it, written out here: both boxes clipped to the image,
    frame 1 and frames where the target is not visible left out."""

    def clip(b: np.ndarray) -> tuple[np.ndarray, ...]:
        x1 = np.clip(b[:, 0], 0, width)
        y1 = np.clip(b[:, 1], 0, height)
        x2 = x1 + np.clip(b[:, 2], 0, width - x1)
        y2 = y1 + np.clip(b[:, 3], 0, height - y1)
        return x1, y1, x2, y2

    keep = visible[1:]
    ax1, ay1, ax2, ay2 = clip(boxes[1:][keep])
    bx1, by1, bx2, by2 = clip(gt[1:][keep])
    inter = np.maximum(0, np.minimum(ax2, bx2) - np.maximum(ax1, bx1)) * \
        np.maximum(0, np.minimum(ay2, by2) - np.maximum(ay1, by1))
    union = (ax2 - ax1) * (ay2 - ay1) + (bx2 - bx1) * (by2 - by1) - inter
    return inter / union


def test_ao_matches_independent_computation(val_run, mini_root: Path) -> None:
    out, result = val_run
    all_ious, per_seq = [], {}
    for name in CLIPS:
        seq_dir = mini_root / "val" / name
        gt = np.loadtxt(seq_dir / "groundtruth.txt", delimiter=",", ndmin=2)
        boxes = np.loadtxt(out / "GOT-10k" / FD_NAME / name / f"{name}_001.txt", delimiter=",", ndmin=2)
        assert boxes.shape == gt.shape
        np.testing.assert_allclose(boxes[0], gt[0], atol=1e-3)  # frame 1 is the given box
        visible = np.loadtxt(seq_dir / "cover.label") > 0
        meta = dict(line.split(": ", 1) for line in (seq_dir / "meta_info.ini").read_text().splitlines()[1:])
        width, height = ast.literal_eval(meta["resolution"])
        ious = independent_ious(boxes, gt, visible, width, height)
        assert len(ious) == visible[1:].sum()
        per_seq[name] = ious.mean()
        all_ious.append(ious)
    assert (~(np.loadtxt(mini_root / "val" / "yamaha_first600" / "cover.label") > 0)).sum() > 0, "no absent frame"
    ao = float(np.concatenate(all_ious).mean())

    report = json.loads((out / "GOT-10k" / "comparison.json").read_text())
    figures = report["overall"][FD_NAME]
    assert figures["ao"] == pytest.approx(ao, abs=1e-6)
    assert figures["sr50"] == pytest.approx(float(np.mean(np.concatenate(all_ious) > 0.5)), abs=1e-6)
    assert figures["sr75"] == pytest.approx(float(np.mean(np.concatenate(all_ious) > 0.75)), abs=1e-6)
    for name, value in per_seq.items():
        assert report["per_sequence"][FD_NAME][name]["ao"] == pytest.approx(value, abs=1e-6)
    # the official toolkit's own report agrees
    assert report["toolkit_report"][FD_NAME]["ao"] == pytest.approx(ao, abs=1e-6)
    # a trained SiamFC follows these targets (Crossing alone scores ~0.8 over its whole length)
    assert ao > 0.5
    # fps = frames / total time, from the toolkit's time files
    frames = seconds = 0
    for name in CLIPS:
        times = np.loadtxt(out / "GOT-10k" / FD_NAME / name / f"{name}_time.txt")
        frames, seconds = frames + len(times), seconds + times.sum()
    assert figures["fps"] == pytest.approx(frames / seconds, rel=1e-3)
    # the table on stdout shows the same AO
    row = next(line for line in result.stdout.splitlines() if line.startswith(FD_NAME))
    assert row.split()[1] == f"{ao:.3f}"
    for plot in ("success_plot.png", "precision_plot.png"):
        image = cv2.imread(str(out / "GOT-10k" / plot))
        assert image is not None and image.shape[0] > 200


def test_rerun_refuses_stale_results_then_overwrites(val_run, mini_root: Path, fdsiamfc_weights: Path,
                                                     capsys: pytest.CaptureFixture) -> None:
    from siamfc.cli.main import main

    out, _ = val_run
    record = out / "GOT-10k" / FD_NAME / "Crossing" / "Crossing_001.txt"
    args = ("--dataset", "got10k", "--root", mini_root, "--tracker", f"siamfc:{fdsiamfc_weights}",
            "--out", out, "--quiet", "--sequences", "Crossing")
    record.write_text("stale\n")
    assert main(["eval", *map(str, args)]) == 2
    err = capsys.readouterr().err
    assert "already exist" in err and "--overwrite" in err and len(err.strip().splitlines()) == 1, err
    assert record.read_text() == "stale\n"  # nothing touched
    result = run_eval(*args, "--overwrite")
    assert result.returncode == 0, result.stderr
    boxes = np.loadtxt(record, delimiter=",", ndmin=2)
    assert boxes.shape == (CLIPS["Crossing"][1], 4)
    # --resume keeps complete results: same file, same content
    before = record.read_text()
    result = run_eval(*args, "--resume")
    assert result.returncode == 0, result.stderr
    assert record.read_text() == before


def test_two_trackers_with_workers_give_one_comparison(mini_root: Path, fdsiamfc_weights: Path,
                                                       shared_dir: Path, tmp_path: Path) -> None:
    nano_dir = shared_dir / "weights" / "nanotrack_v2"
    if not nano_dir.is_dir():
        pytest.skip(f"NanoTrack weights not found at {nano_dir}")
    result = run_eval("--dataset", "got10k", "--root", mini_root, "--tracker", f"siamfc:{fdsiamfc_weights}",
                      "--tracker", "nano", "--nano-dir", nano_dir, "--out", tmp_path, "--workers", "2", "--quiet")
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "GOT-10k" / "comparison.json").read_text())
    assert set(report["overall"]) == {FD_NAME, "NanoTrack"}
    for name in (FD_NAME, "NanoTrack"):
        assert report["overall"][name]["ao"] > 0.4
        assert set(report["per_sequence"][name]) == set(CLIPS)
        assert any(line.startswith(name) for line in result.stdout.splitlines())
    assert len(report["overall"][FD_NAME]["success_curve"]) == 101
    assert (tmp_path / "GOT-10k" / "success_plot.png").stat().st_size > 10_000


def test_test_subset_writes_submission_zip(mini_root: Path, fdsiamfc_weights: Path, tmp_path: Path) -> None:
    import zipfile

    result = run_eval("--dataset", "got10k", "--root", mini_root, "--subset", "test", "--tracker",
                      f"siamfc:{fdsiamfc_weights}", "--out", tmp_path, "--quiet", "--sequences", "Crossing")
    assert result.returncode == 0, result.stderr
    with zipfile.ZipFile(tmp_path / "GOT-10k" / f"{FD_NAME}.zip") as zf:
        names = set(zf.namelist())
    assert {"Crossing/Crossing_001.txt", "Crossing/Crossing_time.txt"} <= names


def test_plain_folder_otb_and_vot_layouts(mini_root: Path, fdsiamfc_weights: Path, tmp_path: Path) -> None:
    """A plain folder of sequences, an OTB-layout folder (never downloaded) and a VOT-layout one."""
    src = mini_root / "val" / "Crossing"
    plain = tmp_path / "plain"
    make_clip(src, plain / "walker", 1, 12)
    otb = tmp_path / "otb"
    (otb / "Crossing").mkdir(parents=True)
    make_clip(src, otb / "Crossing" / "img", 1, 12)
    (otb / "Crossing" / "img" / "groundtruth.txt").rename(otb / "Crossing" / "groundtruth_rect.txt")
    vot = tmp_path / "vot"
    make_clip(src, vot / "Crossing", 1, 12)
    (vot / "list.txt").write_text("Crossing\n")
    weights = f"siamfc:{fdsiamfc_weights}"
    for dataset, root, extra, folder in (("folder", plain, (), "folder-plain"),
                                         ("otb", otb, ("--sequences", "Crossing"), "OTB2015"),
                                         ("vot", vot, (), "VOT2018")):
        result = run_eval("--dataset", dataset, "--root", root, "--tracker", weights, "--out", tmp_path / "out",
                          "--quiet", *extra)
        assert result.returncode == 0, f"{dataset}: {result.stderr}"
        report = json.loads((tmp_path / "out" / folder / "comparison.json").read_text())
        assert report["overall"][FD_NAME]["ao"] > 0.5, dataset
        assert "report failed" not in result.stderr, result.stderr
    assert set(report["toolkit_report"][FD_NAME]) >= {"accuracy", "robustness"}  # VOT's own report, NumPy 2


def test_vot_with_absent_frames_is_one_line(mini_root: Path, fdsiamfc_weights: Path, tmp_path: Path,
                                           capsys: pytest.CaptureFixture) -> None:
    """The toolkit's VOT experiment fails on a frame without a box (shapely: "Points of LinearRing do
    not form a closed linestring"); the error says why and what to use instead."""
    from siamfc.cli.main import main

    vot = tmp_path / "vot"
    make_clip(mini_root / "val" / "Crossing", vot / "Crossing", 1, 6)
    lines = (vot / "Crossing" / "groundtruth.txt").read_text().splitlines()
    lines[3] = "nan,nan,nan,nan"
    (vot / "Crossing" / "groundtruth.txt").write_text("\n".join(lines) + "\n")
    (vot / "list.txt").write_text("Crossing\n")
    code = main(["eval", "--dataset", "vot", "--root", str(vot), "--tracker", f"siamfc:{fdsiamfc_weights}",
                 "--out", str(tmp_path / "out"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "Crossing: 1 frame(s) without a box" in err and "--dataset folder" in err


@pytest.fixture()
def broken_roots(mini_root: Path, tmp_path: Path) -> dict[str, Path]:
    missing_seq = tmp_path / "missing_seq"
    (missing_seq / "val").mkdir(parents=True)
    (missing_seq / "val" / "Crossing").symlink_to(mini_root / "val" / "Crossing")
    (missing_seq / "val" / "list.txt").write_text("Crossing\nGhost\n")
    wrong = tmp_path / "wrong"
    (wrong / "somewhere").mkdir(parents=True)
    return {"missing_seq": missing_seq, "wrong": wrong}


@pytest.mark.parametrize(("case", "expected"), [
    ("missing_root", "does not exist"),
    ("wrong_layout", "wrong layout"),
    ("missing_sequence", "'Ghost'"),
    ("unknown_tracker", "unknown tracker"),
    ("nano_without_dir", "--nano-dir"),
    ("nano_missing_files", "missing nanotrack_backbone_sim.onnx"),
    ("unknown_sequence", "unknown sequence"),
    ("missing_weights", "no such checkpoint"),
    ("out_is_a_file", "exists and is not a folder"),
    ("out_cannot_be_written", "cannot be written"),
])
def test_errors_are_one_line(case: str, expected: str, mini_root: Path, broken_roots: dict[str, Path],
                             fdsiamfc_weights: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from siamfc.cli.main import main

    weights = f"siamfc:{fdsiamfc_weights}"
    root, tracker, extra = mini_root, [weights], []
    if case == "missing_root":
        root = tmp_path / "no_such_dataset"
    elif case == "wrong_layout":
        root = broken_roots["wrong"]
    elif case == "missing_sequence":
        root = broken_roots["missing_seq"]
    elif case == "unknown_tracker":
        tracker = ["siamrpn"]
    elif case == "nano_without_dir":
        tracker = ["nano"]
    elif case == "nano_missing_files":
        tracker, extra = ["nano"], ["--nano-dir", tmp_path]
    elif case == "unknown_sequence":
        extra = ["--sequences", "Crossing,Nowhere"]
    elif case == "missing_weights":
        tracker = [f"siamfc:{tmp_path / 'none.pth'}"]
    out = tmp_path / "out"
    if case == "out_is_a_file":
        out.mkdir()
        (out / "GOT-10k").write_text("a file where the results folder goes")
    elif case == "out_cannot_be_written":
        out = Path("/proc/siamfc_results")  # no one can create a folder there, root included
    args = ["--dataset", "got10k", "--root", root, "--out", out, "--quiet", *extra]
    for t in tracker:
        args += ["--tracker", t]
    code = main(["eval", *map(str, args)])
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("siamfc eval: error:"), err
    assert expected in lines[0]
    results = tmp_path / "out" / "GOT-10k"
    assert not results.is_dir() or not any(results.iterdir())


def test_contrib_trackers_absent_is_one_line(mini_root: Path, fdsiamfc_weights: Path, tmp_path: Path,
                                            capsys: pytest.CaptureFixture) -> None:
    if hasattr(cv2, "TrackerCSRT_create") or hasattr(cv2, "TrackerCSRT"):
        pytest.skip("this OpenCV has CSRT (contrib build)")
    from siamfc.cli.main import main

    code = main(["eval", "--dataset", "got10k", "--root", str(mini_root), "--tracker", "csrt", "--out", str(tmp_path),
                 "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and err.strip().count("\n") == 0 and "contrib" in err, err
    among = run_eval("--dataset", "got10k", "--root", mini_root, "--tracker", "kcf", "--tracker",
                     f"siamfc:{fdsiamfc_weights}", "--out", tmp_path, "--quiet", "--sequences", "Crossing")
    assert among.returncode == 0, among.stderr
    assert "warning: skipping tracker 'kcf'" in among.stderr
    report = json.loads((tmp_path / "GOT-10k" / "comparison.json").read_text())
    assert report["skipped_trackers"] == ["KCF"] and list(report["overall"]) == [FD_NAME]


def test_eval_names_checkpoints_of_one_file_name_by_folder():
    from siamfc.errors import SiamFCError
    from siamfc.evaluation.specs import parse_trackers

    specs = parse_trackers(["siamfc:run_a/model_e030.pth", "siamfc:run_b/model_e030.pth", "siamfc:x/other.pth"])
    assert [s.name for s in specs] == ["SiamFC-run_a-model_e030", "SiamFC-run_b-model_e030", "SiamFC-other"]
    assert [s.weights for s in specs] == ["run_a/model_e030.pth", "run_b/model_e030.pth", "x/other.pth"]
    with pytest.raises(SiamFCError) as info:  # one file twice is still a mistake
        parse_trackers(["siamfc:run_a/model_e030.pth", "siamfc:run_a/model_e030.pth"])
    assert info.value.key == "--tracker"


@pytest.mark.parametrize(("make", "key"), [
    (lambda s: s.EvalConfig(s.BenchmarkSpec("folder", "root"), [], workers=0), "workers"),
    (lambda s: s.BenchmarkSpec("folder", "root", repetitions=0), "repetitions"),
    (lambda s: s.TrackerSpec("siamrpn", "SiamRPN"), "kind"),
    (lambda s: s.BenchmarkSpec("siamfc", "root"), "dataset"),
])
def test_eval_settings_are_checked_by_their_declaration(make, key: str) -> None:
    from siamfc.errors import SettingError
    from siamfc.evaluation import specs

    with pytest.raises(SettingError) as info:
        make(specs)
    assert info.value.key == key


@pytest.mark.parametrize(("options", "key"), [
    ({"dataset": "otb", "subset": "val", "version": 2015}, "--subset"),
    ({"dataset": "got10k", "subset": "train"}, "--subset"),
    ({"dataset": "vot", "subset": "", "version": "2020"}, "--version"),
    ({"dataset": "folder", "version": "1"}, "--version"),
    ({"dataset": "got10k", "more_roots": ("other",)}, "--root"),
    ({"dataset": "folder", "root": "nowhere"}, "nowhere"),
    ({"dataset": "got10k"}, "ROOT"),  # no val/list.txt
    ({"dataset": "vot", "subset": "", "version": 2018, "repetitions": 3}, "--repetitions"),
])
def test_eval_option_refusals_keep_their_keys(options: dict, key: str, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Each refusal of open_experiment's table: a SiamFCError with its key, before the toolkit opens anything."""
    from siamfc.errors import SiamFCError
    from siamfc.evaluation.benchmarks import BENCHMARKS, open_experiment
    from siamfc.evaluation.specs import BenchmarkSpec

    monkeypatch.chdir(tmp_path)
    (tmp_path / "ROOT").mkdir()
    bench = BenchmarkSpec(**{"root": "ROOT", **options})
    vot = BENCHMARKS["vot"]  # a version as written (case aside); an unknown one as it is, for the table to refuse
    assert (vot.parse_version(None), vot.parse_version("lt2018"), vot.parse_version("2020")) == (2018, "LT2018", "2020")
    with pytest.raises(SiamFCError) as info:
        open_experiment(bench)
    assert info.value.key == key and "\n" not in str(info.value)


def test_benchmark_names_are_declared_once_more_in_the_spec() -> None:
    from dataclasses import fields

    from siamfc.evaluation.benchmarks import BENCHMARKS
    from siamfc.evaluation.specs import BenchmarkSpec

    assert fields(BenchmarkSpec)[0].metadata["choices"] == tuple(BENCHMARKS)


def test_workers_option_reads_the_declaration() -> None:
    with pytest.raises(SystemExit) as info:  # argparse: usage and one line, exit 2
        run_eval("--dataset", "folder", "--root", "x", "--workers", "0")
    assert info.value.code == 2
