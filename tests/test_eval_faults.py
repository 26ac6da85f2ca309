"""``siamfc eval`` faults found by a new user's walkthrough, each run as a user would (in-process,
through ``main``) on 5-frame clips of GOT-10k-mini/val symlinked into temporary roots.

MIL (OpenCV) and the shipped SiamFC on the CPU keep each run to a second or two."""

from __future__ import annotations

import json
import os
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
from test_eval_cli import run_eval

NAMES = ("Crossing", "bag")
FRAMES = 5
LABELS = ("groundtruth.txt", "cover.label", "absence.label", "cut_by_image.label")


def make_sequence(src: Path, dst: Path, frames: int = FRAMES, first_box_only: bool = False) -> None:
    """The first ``frames`` frames of ``src`` (symlinks) with its ground truth and labels cut to match."""
    dst.mkdir(parents=True)
    for jpg in sorted(src.glob("*.jpg"))[:frames]:
        (dst / jpg.name).symlink_to(jpg)
    for label in LABELS:
        lines = (src / label).read_text().splitlines()[:1 if first_box_only and label == LABELS[0] else frames]
        (dst / label).write_text("\n".join(lines) + "\n")
    shutil.copy(src / "meta_info.ini", dst / "meta_info.ini")


def make_root(got10k_root: Path, root: Path, subsets: tuple[str, ...] = ("val",)) -> Path:
    for subset in subsets:
        for name in NAMES:
            make_sequence(got10k_root / "val" / name, root / subset / name, first_box_only=subset == "test")
        (root / subset / "list.txt").write_text("\n".join(NAMES) + "\n")
    return root


@pytest.fixture(scope="module")
def root(got10k_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_root(got10k_root, tmp_path_factory.mktemp("got10k_5"), ("val", "test"))


def one_line_error(result) -> str:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("siamfc eval: error:"), result.stderr
    return lines[0]


def evaluate(root: Path, out: Path, *args: object):
    return run_eval("--dataset", "got10k", "--root", root, "--out", out, "--device", "cpu", "--quiet", *args)


# 1, 2: a relative --out with two trackers on the test subset; the zip holds the toolkit's files only
def test_test_subset_with_relative_out_and_two_trackers(root: Path, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = evaluate(root, "o9", "--subset", "test", "--tracker", "siamfc", "--tracker", "mil")
    assert result.returncode == 0, result.stderr
    assert Path.cwd() == tmp_path
    assert (tmp_path / "o9" / "GOT-10k" / "SiamFC" / "_confidence" / "bag.txt").is_file()
    for name in ("SiamFC", "MIL"):
        with zipfile.ZipFile(tmp_path / "o9" / "GOT-10k" / f"{name}.zip") as archive:
            files = {n for n in archive.namelist() if not n.endswith("/")}
        assert files == {f"{s}/{s}_{kind}.txt" for s in NAMES for kind in ("001", "time")}, files


# 3, 7, 10, 12: bad input is one line, exit 2, before anything is tracked
def _space_separated(path: Path, sep: str = " ") -> None:
    path.write_text(path.read_text().replace(",", sep))


def _broken(case: str, got10k_root: Path, tmp: Path) -> tuple[list[object], str]:
    """The command line of ``case`` (its data built in ``tmp``) and a part of the expected error."""
    src = got10k_root / "val" / "bag"
    got10k = make_root(got10k_root, tmp / "got10k")
    bag = got10k / "val" / "bag"
    if case == "got10k_spaces":
        _space_separated(bag / "groundtruth.txt")
        return ["--dataset", "got10k", "--root", got10k], "bag/groundtruth.txt:1: the toolkit's GOT-10k reader takes"
    vot, otb = tmp / "vot", tmp / "otb"
    make_sequence(src, vot / "bag")
    (vot / "list.txt").write_text("bag\n")
    make_sequence(src, otb / "Crossing" / "img")
    (otb / "Crossing" / "img" / "groundtruth.txt").rename(otb / "Crossing" / "groundtruth_rect.txt")
    if case == "vot_tabs":
        _space_separated(vot / "bag" / "groundtruth.txt", "\t")
        return ["--dataset", "vot", "--root", vot], "the toolkit's VOT reader takes values separated by commas"
    if case == "otb_garbage_line":
        gt = otb / "Crossing" / "groundtruth_rect.txt"
        lines = gt.read_text().splitlines()
        gt.write_text("\n".join([*lines[:2], "garbage", *lines[3:]]) + "\n")
        return ["--dataset", "otb", "--root", otb, "--sequences", "Crossing"], "groundtruth_rect.txt:3:"
    if case == "meta_without_resolution":
        meta = bag / "meta_info.ini"
        meta.write_text("".join(line for line in meta.read_text().splitlines(True) if "resolution" not in line))
        return ["--dataset", "got10k", "--root", got10k], "meta_info.ini: no 'resolution"
    if case in ("got10k_png_frames", "got10k_mixed_frames"):
        from PIL import Image

        for jpg in sorted(bag.glob("*.jpg"))[-1 if case == "got10k_mixed_frames" else 0:]:
            Image.open(jpg).save(jpg.with_suffix(".png"))
            jpg.unlink()
        return ["--dataset", "got10k", "--root", got10k], ("bag: no .jpg frames" if case == "got10k_png_frames"
                                                           else "00000005.png: the toolkit's GOT-10k reader takes only")
    if case == "vot_frames_in_color":
        (vot / "bag" / "color").mkdir()
        for jpg in (vot / "bag").glob("*.jpg"):
            jpg.rename(vot / "bag" / "color" / jpg.name)
        return ["--dataset", "vot", "--root", vot], "no .jpg frames in the folder itself"
    if case == "got10k_missing_label":
        (bag / "absence.label").unlink()
        return ["--dataset", "got10k", "--root", got10k], "no absence.label"
    if case in ("vot_version_x", "vot_version_2020"):
        return ["--dataset", "vot", "--root", vot, "--version", case.rsplit("_", 1)[1]], "VOT versions are 2013"
    if case == "mil_with_options":
        return ["--dataset", "got10k", "--root", got10k, "--tracker", "mil@x=1"], "mil takes no options"
    if case == "otb_empty_root":
        (tmp / "empty").mkdir()
        return ["--dataset", "otb", "--root", tmp / "empty"], "the folder is empty"
    if case == "otb_subset":
        return ["--dataset", "otb", "--root", otb, "--sequences", "Crossing", "--subset", "val"], "has no subsets"
    if case == "folder_unknown_subset":
        return ["--dataset", "folder", "--root", got10k / "val", "--subset", "nosuch"], "has no nosuch/ folder"
    if case == "baseline_not_evaluated":
        return ["--dataset", "got10k", "--root", got10k, "--tracker", "mil", "--baseline", "KCF"], "--baseline 'KCF'"
    raise AssertionError(case)


BAD_INPUT = ("got10k_spaces", "vot_tabs", "otb_garbage_line", "meta_without_resolution", "got10k_png_frames",
             "got10k_mixed_frames", "vot_frames_in_color", "got10k_missing_label", "vot_version_x",
             "vot_version_2020", "mil_with_options", "otb_empty_root", "otb_subset", "folder_unknown_subset",
             "baseline_not_evaluated")


@pytest.mark.parametrize("case", BAD_INPUT)
def test_bad_input_is_one_line_before_tracking(case: str, got10k_root: Path, tmp_path: Path) -> None:
    args, expected = _broken(case, got10k_root, tmp_path)
    out = tmp_path / "out"
    error = one_line_error(run_eval(*args, "--out", out, "--device", "cpu", "--quiet"))
    assert expected in error, error
    assert "download=True" not in error
    assert not any(p.is_file() for p in out.rglob("*")), "something was tracked"


def test_what_the_toolkit_cannot_read_is_one_line_naming_the_sequence() -> None:
    """A failure of the toolkit's reader that the benchmark's checks missed is still one line."""
    from siamfc.errors import SiamFCError
    from siamfc.evaluation.compare import _frame_counts

    class Dataset:
        def __getitem__(self, name: str):
            assert name != "bad"
            return ["a.jpg", "b.jpg"], None

    class Experiment:
        dataset = Dataset()

    assert _frame_counts(Experiment(), ["good"]) == {"good": 2}
    with pytest.raises(SiamFCError) as info:
        _frame_counts(Experiment(), ["good", "bad"])
    assert info.value.key == "bad" and isinstance(info.value.__cause__, AssertionError)


# 4, 5: --resume checks the confidence files and reads result files the way it checks them
@pytest.fixture()
def val_out(root: Path, tmp_path: Path) -> Path:
    out = tmp_path / "out"
    result = evaluate(root, out, "--tracker", "siamfc", "--tracker", "mil")
    assert result.returncode == 0, result.stderr
    return out


def confidence(out: Path, seq: str = "bag") -> Path:
    return out / "GOT-10k" / "SiamFC" / "_confidence" / f"{seq}.txt"


@pytest.mark.parametrize("damage", ["garbage", "one_line", "deleted"])
def test_resume_redoes_a_damaged_confidence_file(damage: str, root: Path, val_out: Path) -> None:
    path = confidence(val_out)
    whole = path.read_text()
    if damage == "garbage":
        path.write_text(whole.replace(whole.splitlines()[2], "garbage"))
    elif damage == "one_line":
        path.write_text(whole.splitlines(True)[0])
    else:
        path.unlink()
    result = evaluate(root, val_out, "--tracker", "siamfc", "--tracker", "mil", "--resume")
    assert result.returncode == 0, result.stderr
    assert "redoing SiamFC on bag" in result.stderr and "MIL" not in result.stderr, result.stderr
    assert len(path.read_text().splitlines()) == FRAMES
    report = json.loads((val_out / "GOT-10k" / "comparison.json").read_text())
    assert report["overall"]["SiamFC"]["longterm"]["f_score"] > 0


def test_confidence_is_written_whole_or_not_at_all(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from siamfc.errors import SiamFCError
    from siamfc.evaluation.compare import write_confidence
    from siamfc.io import writers

    path = tmp_path / "_confidence" / "seq.txt"
    write_confidence(path, [1.0, 0.5])
    assert path.read_text() == "1.00000\n0.50000\n"

    def disk_full(fd: int, data: bytes) -> None:
        os.write(fd, data[:3])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(writers, "write_all", disk_full)
    with pytest.raises(SiamFCError) as info:
        write_confidence(path, [0.9, 0.8])
    assert info.value.key == str(path)
    assert path.read_text() == "1.00000\n0.50000\n"
    assert sorted(p.name for p in path.parent.iterdir()) == ["seq.txt"]


def test_space_separated_result_file_is_kept_and_read(root: Path, val_out: Path) -> None:
    record = val_out / "GOT-10k" / "MIL" / "bag" / "bag_001.txt"
    before = json.loads((val_out / "GOT-10k" / "comparison.json").read_text())["per_sequence"]["MIL"]["bag"]
    _space_separated(record)
    result = evaluate(root, val_out, "--tracker", "mil", "--resume")
    assert result.returncode == 0, result.stderr
    assert "redoing" not in result.stderr and record.read_text().count(",") == 0
    after = json.loads((val_out / "GOT-10k" / "comparison.json").read_text())["per_sequence"]["MIL"]["bag"]
    assert after["ao"] == pytest.approx(before["ao"], abs=1e-9)


# 11: --resume with fewer trackers keeps the earlier ones in the comparison
def test_resume_with_fewer_trackers_keeps_the_earlier_ones(root: Path, val_out: Path) -> None:
    result = evaluate(root, val_out, "--tracker", "mil", "--resume", "--baseline", "siamfc")
    assert result.returncode == 0, result.stderr
    report = json.loads((val_out / "GOT-10k" / "comparison.json").read_text())
    assert [t["name"] for t in report["trackers"]] == ["SiamFC", "MIL"]
    assert set(report["overall"]) == {"SiamFC", "MIL"} and "longterm" in report["overall"]["SiamFC"]
    assert report["baseline"] == "SiamFC" and set(report["differences"]) == {"MIL"}
    # an earlier tracker whose files are damaged is left out, with a warning
    confidence(val_out).unlink()
    result = evaluate(root, val_out, "--tracker", "mil", "--resume")
    assert result.returncode == 0, result.stderr
    assert "SiamFC, of the earlier comparison, is left out" in result.stderr
    assert list(json.loads((val_out / "GOT-10k" / "comparison.json").read_text())["overall"]) == ["MIL"]


# 6, 9: --baseline matched as tracker specs are, checked first; names never contradict the settings
def test_baseline_matches_like_tracker_specs(root: Path, tmp_path: Path) -> None:
    result = evaluate(root, tmp_path, "--sequences", "bag", "--tracker", "siamfc", "--tracker",
                      "siamfc@redetect=false", "--baseline", "SIAMFC@Redetect=FALSE")
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "GOT-10k" / "comparison.json").read_text())
    assert report["baseline"] == "SiamFC@redetect=False" and set(report["differences"]) == {"SiamFC"}


def test_tracker_option_wins_over_no_redetect_and_its_name_says_so(root: Path, tmp_path: Path) -> None:
    result = evaluate(root, tmp_path, "--sequences", "bag", "--tracker", "siamfc@redetect=true",
                      "--tracker", "siamfc", "--no-redetect", "--lost-threshold", "0.3")
    assert result.returncode == 0, result.stderr
    trackers = json.loads((tmp_path / "GOT-10k" / "comparison.json").read_text())["trackers"]
    named = {t["name"]: dict(t["params"]) for t in trackers}
    assert named == {"SiamFC@redetect=True-lost0.3": {"redetect": True, "lost_threshold": 0.3},
                     "SiamFC-noredetect-lost0.3": {"redetect": False, "lost_threshold": 0.3}}


# 8: an export folder (siamfc export) as a tracker's weights, as `siamfc track --weights` takes it
def test_export_folder_as_weights(root: Path, tmp_path: Path) -> None:
    from siamfc.models.shipped import model_path
    from siamfc.tracking.onnx_format import export_beside

    folder = export_beside(model_path("siamfc_mobile_lite"))  # a SiamFC export (the default is a box model)
    if not folder.is_dir():
        pytest.skip(f"no export shipped at {folder}")
    result = evaluate(root, tmp_path, "--sequences", "bag", "--tracker", f"siamfc:{folder}")
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "GOT-10k" / "comparison.json").read_text())
    name = f"SiamFC-{folder.stem}"
    assert report["overall"][name]["ao"] > 0.5
    assert np.isfinite(report["overall"][name]["longterm"]["f_score"])
