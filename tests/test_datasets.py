"""Dataset readers: tiny synthetic layouts (OTB, VOT, LaSOT, plain folder, COCO-JSON) made in
tmp_path, the real GOT-10k-mini and coco128 from shared/, and malformed ground truth."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from siamfc.data import registry
from siamfc.data.crop_cache import PairFilter
from siamfc.data.registry import (
    coco_images,
    folder_sequences,
    lasot_sequences,
    otb_sequences,
    polygons_to_boxes,
    vot_sequences,
)
from siamfc.data.sequences import (
    DatasetError,
    frame_files,
    got10k_sequences,
    natural_key,
    read_boxes,
    yolo_images,
)
from siamfc.errors import SettingError, SiamFCError
from siamfc.training.build import build_pair_dataset, read_sequences
from siamfc.training.config import DataConfig, DatasetConfig


def fails(key: Path | str, read, *args, line: int | None = None, kind: type = DatasetError) -> SiamFCError:
    """The error ``read(*args)`` raises: of ``kind``, one line, naming ``key`` (and ``file:line``)."""
    with pytest.raises(kind) as info:
        read(*args)
    assert info.value.key == str(key) and "\n" not in str(info.value)
    if line is not None:
        assert str(info.value).startswith(f"{key}:{line}:")
    return info.value


def write_frames(folder: Path, n: int, size: tuple[int, int] = (64, 48), ext: str = ".jpg",
                 boxes: np.ndarray | None = None) -> list[Path]:
    """``n`` frames ``00000001.jpg``... (a grey background, a white box where ``boxes`` says)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        image = np.full((size[1], size[0], 3), 60, np.uint8)
        if boxes is not None and np.all(np.isfinite(boxes[i])):
            x, y, w, h = boxes[i].astype(int)
            image[y:y + h, x:x + w] = 230
        path = folder / f"{i + 1:08d}{ext}"
        cv2.imwrite(str(path), image)
        paths.append(path)
    return paths


def write_lines(path: Path, rows: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(rows) + "\n")
    return path


# ---- OTB ------------------------------------------------------------------------------------------
def test_otb_separators_two_targets_and_short_annotation(tmp_path: Path) -> None:
    write_frames(tmp_path / "Car" / "img", 3)
    write_lines(tmp_path / "Car" / "groundtruth_rect.txt", ["1,2,10,12", "2,3,10,12", "3,4,10,12"])
    write_frames(tmp_path / "Boy" / "img", 3)
    write_lines(tmp_path / "Boy" / "groundtruth_rect.txt", ["1\t2\t10\t12", "2 3 10 12", "3\t4 10 12"])
    # two targets, the second annotated for 2 of the 4 frames only; an empty extra file is ignored
    write_frames(tmp_path / "Jogging" / "img", 4)
    write_lines(tmp_path / "Jogging" / "groundtruth_rect.1.txt", ["5,5,8,8"] * 4)
    write_lines(tmp_path / "Jogging" / "groundtruth_rect.2.txt", ["20,5,8,9"] * 2)
    (tmp_path / "Jogging" / "groundtruth_rect.3.txt").write_text("\n")
    (tmp_path / "notes").mkdir()  # not a sequence

    seqs = {s.name: s for s in otb_sequences(tmp_path)}
    assert sorted(seqs) == ["Boy", "Car", "Jogging.1", "Jogging.2"]
    np.testing.assert_array_equal(seqs["Boy"].boxes, seqs["Car"].boxes)
    np.testing.assert_array_equal(seqs["Car"].boxes[2], [3, 4, 10, 12])
    assert [p.name for p in seqs["Car"].frames] == ["00000001.jpg", "00000002.jpg", "00000003.jpg"]
    assert len(seqs["Jogging.1"]) == 4 and len(seqs["Jogging.2"]) == 2
    assert seqs["Jogging.2"].frames[1].name == "00000002.jpg"
    assert seqs["Car"].visible.all()
    # a list file selects sequences
    write_lines(tmp_path / "mine.txt", ["Car"])
    assert [s.name for s in otb_sequences(tmp_path, "mine")] == ["Car"]


def test_otb_david_starts_at_frame_300(tmp_path: Path) -> None:
    write_frames(tmp_path / "David" / "img", 302, size=(16, 16))
    write_lines(tmp_path / "David" / "groundtruth_rect.txt", ["1,1,5,5"] * 3)
    (seq,) = otb_sequences(tmp_path)
    assert [p.name for p in seq.frames] == ["00000300.jpg", "00000301.jpg", "00000302.jpg"]


def test_otb_malformed_line_names_file_and_line(tmp_path: Path) -> None:
    write_frames(tmp_path / "Car" / "img", 3)
    gt = write_lines(tmp_path / "Car" / "groundtruth_rect.txt", ["1,2,10,12", "2,3,10,12", "3,4,ten,12"])
    fails(gt, otb_sequences, tmp_path, line=3)
    write_lines(gt, ["1,2,10,12", "2,3,10"])
    fails(gt, otb_sequences, tmp_path, line=2)
    write_lines(gt, ["1,2,10,12"] * 5)  # more boxes than frames
    fails(gt, otb_sequences, tmp_path)


# ---- VOT ------------------------------------------------------------------------------------------
def test_polygons_to_boxes() -> None:
    rect = np.array([[1.0, 2, 3, 4]])
    np.testing.assert_array_equal(polygons_to_boxes(rect), rect)
    rotated = np.array([[10.0, 0, 20, 10, 10, 20, 0, 10]])  # a diamond
    np.testing.assert_array_equal(polygons_to_boxes(rotated), [[0, 0, 20, 20]])


def test_vot_polygons_color_folder_list_and_absent(tmp_path: Path) -> None:
    write_frames(tmp_path / "ball" / "color", 3)
    write_lines(tmp_path / "ball" / "groundtruth.txt",
                ["10,0,20,10,10,20,0,10", "nan,nan,nan,nan,nan,nan,nan,nan", "1,1,11,1,11,6,1,6"])
    write_frames(tmp_path / "hand", 2, ext=".png")
    write_lines(tmp_path / "hand" / "groundtruth.txt", ["1,2,3,4", "0,0,0,0"])
    write_frames(tmp_path / "unlisted", 1)
    write_lines(tmp_path / "unlisted" / "groundtruth.txt", ["1,2,3,4"])
    write_lines(tmp_path / "list.txt", ["ball", "hand"])

    seqs = {s.name: s for s in vot_sequences(tmp_path)}
    assert sorted(seqs) == ["ball", "hand"]
    ball, hand = seqs["ball"], seqs["hand"]
    np.testing.assert_array_equal(ball.boxes[0], [0, 0, 20, 20])
    np.testing.assert_array_equal(ball.boxes[2], [1, 1, 10, 5])
    assert ball.visible.tolist() == [True, False, True]
    assert ball.frames[0].parent.name == "color"
    assert hand.visible.tolist() == [True, False]  # VOT marks lost frames 0,0,0,0
    assert hand.frames[0].suffix == ".png"


def test_vot_malformed(tmp_path: Path) -> None:
    write_frames(tmp_path / "ball", 2)
    gt = write_lines(tmp_path / "ball" / "groundtruth.txt", ["1,2,3,4,5,6", "1,2,3,4,5,6"])
    fails(gt, vot_sequences, tmp_path, line=1)
    write_lines(gt, ["1,2,3,4,5,6,7,8", "1,2,3,4"])
    fails(gt, vot_sequences, tmp_path, line=2)
    write_lines(gt, ["m1,2,3"])  # a VOT2020 mask line
    fails(gt, vot_sequences, tmp_path, line=1)
    listing = write_lines(tmp_path / "list.txt", ["ball", "gone"])
    fails(listing, vot_sequences, tmp_path)


# ---- LaSOT ----------------------------------------------------------------------------------------
def make_lasot(root: Path) -> None:
    for name, n in (("cat-1", 4), ("cat-2", 3), ("dog-7", 3)):
        folder = root / name.split("-")[0] / name
        write_frames(folder / "img", n)
        write_lines(folder / "groundtruth.txt", [f"{i},{i},10,10" for i in range(n)])
        write_lines(folder / "full_occlusion.txt", [",".join(["0"] * (n - 1) + ["1"])])  # LaSOT: one line
        write_lines(folder / "out_of_view.txt", [",".join(["1"] + ["0"] * (n - 1))])
        (folder / "nlp.txt").write_text("a cat\n")


def test_lasot_flags_and_subsets(tmp_path: Path) -> None:
    make_lasot(tmp_path)
    seqs = {s.name: s for s in lasot_sequences(tmp_path, "all")}
    assert sorted(seqs) == ["cat-1", "cat-2", "dog-7"]
    assert seqs["cat-1"].visible.tolist() == [False, True, True, False]  # out of view, ..., fully occluded
    np.testing.assert_array_equal(seqs["cat-1"].boxes[3], [3, 3, 10, 10])
    assert [s.name for s in lasot_sequences(tmp_path, "dog")] == ["dog-7"]  # one class
    fails(tmp_path, lasot_sequences, tmp_path, "train")  # no split file: refuse rather than train on everything
    write_lines(tmp_path / "training_set.txt", ["cat-2", "dog-7"])
    assert [s.name for s in lasot_sequences(tmp_path, "train")] == ["cat-2", "dog-7"]
    assert [s.name for s in registry.get("lasot")(root=str(tmp_path), subset="train")] == ["cat-2", "dog-7"]


def test_lasot_malformed(tmp_path: Path) -> None:
    make_lasot(tmp_path)
    flags = write_lines(tmp_path / "cat" / "cat-2" / "full_occlusion.txt", ["0,0", "0,2"])
    fails(flags, lasot_sequences, tmp_path, "all", line=2)
    write_lines(flags, ["0,0"])  # 2 flags for 3 frames
    fails(flags, lasot_sequences, tmp_path, "all")
    write_lines(flags, ["0,0,0"])
    gt = write_lines(tmp_path / "dog" / "dog-7" / "groundtruth.txt", ["1,1,5,5", "1,1,5,5", "1;1;5;5"])
    fails(gt, lasot_sequences, tmp_path, "all", line=3)


# ---- plain folder ---------------------------------------------------------------------------------
def test_folder_of_sequences_and_single_sequence(tmp_path: Path) -> None:
    write_frames(tmp_path / "a", 3)
    write_lines(tmp_path / "a" / "groundtruth.txt", ["1,2,3,4", "nan,nan,nan,nan", "2,3,4,5"])
    write_frames(tmp_path / "b" / "img", 2)
    write_lines(tmp_path / "b" / "groundtruth.txt", ["1 2 3 4", "1 2 3 4"])
    write_lines(tmp_path / "b" / "absence.label", ["0", "1"])
    seqs = {s.name: s for s in folder_sequences(tmp_path)}
    assert seqs["a"].visible.tolist() == [True, False, True]
    assert seqs["b"].visible.tolist() == [True, False]
    (single,) = folder_sequences(tmp_path / "a")
    assert single.name == "a" and len(single) == 3


def test_folder_malformed(tmp_path: Path) -> None:
    write_frames(tmp_path / "a", 3)
    gt = write_lines(tmp_path / "a" / "groundtruth.txt", ["1,2,3,4", "1,2,3,4"])
    fails(gt, folder_sequences, tmp_path)  # 2 boxes for 3 frames
    write_lines(gt, ["1,2,3,4,5,6,7,8"] * 3)  # polygons are VOT's, not a plain folder's
    fails(gt, folder_sequences, tmp_path, line=1)
    (tmp_path / "empty").mkdir()
    fails(tmp_path / "empty", folder_sequences, tmp_path / "empty")


# ---- COCO-JSON ------------------------------------------------------------------------------------
def make_coco(root: Path, anns: list[dict] | None = None) -> Path:
    write_frames(root / "images" / "val2017", 2, size=(160, 120))
    data = {
        "images": [{"id": 7, "file_name": "00000001.jpg", "width": 160, "height": 120},
                   {"id": 9, "file_name": "00000002.jpg", "width": 160, "height": 120}],
        "annotations": anns if anns is not None else [
            {"id": 1, "image_id": 7, "bbox": [10, 20, 40, 30], "iscrowd": 0, "category_id": 1},
            {"id": 2, "image_id": 9, "bbox": [50, 40, 30, 50], "iscrowd": 0, "category_id": 3},
            {"id": 3, "image_id": 9, "bbox": [0, 0, 100, 100], "iscrowd": 1, "category_id": 1},
        ],
        "categories": [{"id": 1, "name": "person"}, {"id": 3, "name": "car"}],
    }
    path = root / "annotations" / "instances_val2017.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1))
    return path


def test_coco_json(tmp_path: Path) -> None:
    json_path = make_coco(tmp_path)
    seqs = coco_images(tmp_path, "val2017")
    assert [s.name for s in seqs] == ["00000001#1", "00000002#2"]  # the crowd box is skipped
    np.testing.assert_array_equal(seqs[1].boxes, [[50, 40, 30, 50]])
    assert seqs[1].frames == [tmp_path / "images" / "val2017" / "00000002.jpg"]
    assert [s.name for s in coco_images(json_path, "val2017")] == ["00000001#1", "00000002#2"]


def test_coco_malformed(tmp_path: Path) -> None:
    json_path = make_coco(tmp_path)
    json_path.write_text(json_path.read_text().replace('"iscrowd": 1', '"iscrowd": 1,,'))
    fails(json_path, coco_images, tmp_path, "val2017")  # not valid JSON
    make_coco(tmp_path, [{"id": 5, "image_id": 7, "bbox": [1, 2, 3]}])
    assert "annotations[0] (id 5)" in str(fails(json_path, coco_images, tmp_path, "val2017"))
    make_coco(tmp_path, [{"id": 6, "image_id": 8, "bbox": [1, 2, 3, 4]}])  # no such image
    assert "annotations[0] (id 6)" in str(fails(json_path, coco_images, tmp_path, "val2017"))
    fails(json_path.with_name("instances_train2017.json"), coco_images, tmp_path, "train2017")


# ---- the shared readers' errors -------------------------------------------------------------------
def test_read_boxes_errors(tmp_path: Path) -> None:
    empty = write_lines(tmp_path / "gt.txt", [""])
    fails(empty, read_boxes, empty)
    fails(tmp_path / "missing.txt", read_boxes, tmp_path / "missing.txt")
    fails(tmp_path / "train" / "list.txt", got10k_sequences, tmp_path, "train")


def test_read_boxes_separators_and_absent_rows(tmp_path: Path) -> None:
    rows = ["1,2,3,4", "5\t6\t7\t8", "nan,nan,nan,nan", "", "9 10, 11\t12", "NaN NaN NaN NaN"]
    gt = write_lines(tmp_path / "gt.txt", rows)
    boxes = read_boxes(gt)
    assert boxes.shape == (5, 4)
    np.testing.assert_array_equal(boxes[[0, 1, 3]], [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]])
    assert np.isnan(boxes[2]).all() and np.isnan(boxes[4]).all()
    assert read_boxes(write_lines(tmp_path / "poly.txt", ["1,2,3,4,5,6,7,8"]), columns=(4, 8)).shape == (1, 8)


@pytest.mark.parametrize(("rows", "columns", "message"), [
    (["1,2,3,4", "1,2,x,4"], None, ":2: not a list of numbers: '1,2,x,4'"),
    (["1,2,3,4", "1,2,3,4", "1,2,3"], None, ":3: expected 4 values, found 3"),
    (["1,2,3"], None, ":1: expected 4 values, found 3"),
    (["1,2,3,4,5,6"], (4, 8), ":1: expected 4 or 8 values, found 6"),
    (["1,2,3,4,5"], (4,), ":1: expected 4 values, found 5"),
    (["", "  ", ""], None, ": no boxes"),
])
def test_read_boxes_bad_files_name_file_and_line(tmp_path: Path, rows: list[str], columns: tuple[int, ...] | None,
                                                 message: str) -> None:
    gt = write_lines(tmp_path / "groundtruth.txt", rows)
    with pytest.raises(DatasetError) as info:
        read_boxes(gt, columns=columns)
    text = str(info.value)
    assert text == f"{gt}{message}" and "\n" not in text
    assert isinstance(info.value, SiamFCError)  # the command line reports it as one line


# ---- one frame lister: train, eval and track read 1.jpg ... 10.jpg in the same (natural) order --------
def natural_clip(root: Path) -> tuple[Path, list[str]]:
    """``root/val/clip/`` with frames ``1.jpg`` ... ``10.jpg`` (frame k's box at x = k) and a list.txt."""
    seq = root / "val" / "clip"
    seq.mkdir(parents=True)
    names = [f"{i}.jpg" for i in range(1, 11)]
    for name in reversed(names):  # written out of order, so the folder's own order proves nothing
        cv2.imwrite(str(seq / name), np.full((32, 32, 3), 60, np.uint8))
    (seq / "notes.txt").write_text("not a frame\n")
    write_lines(seq / "groundtruth.txt", [f"{i},2,8,8" for i in range(1, 11)])
    write_lines(root / "val" / "list.txt", ["clip"])
    return seq, names


def eval_folder_dataset(root: Path):
    """The toolkit dataset ``siamfc eval --dataset folder --root ROOT`` tracks."""
    from siamfc.evaluation.benchmarks import benchmark_for
    from siamfc.evaluation.got10k_compat import SequenceDataset
    from siamfc.evaluation.specs import BenchmarkSpec

    return SequenceDataset(benchmark_for("folder").sequences(BenchmarkSpec("folder", str(root))))


def test_frames_in_natural_order_in_train_eval_and_track(tmp_path: Path) -> None:
    from siamfc.io.video import open_source

    seq, names = natural_clip(tmp_path)
    assert [p.name for p in frame_files(seq)] == names
    # train's readers (the GOT-10k layout and a plain folder)
    (train,) = read_sequences(DatasetConfig(kind="got10k", root=str(tmp_path), subset="val"))
    assert [p.name for p in train.frames] == names
    np.testing.assert_array_equal(train.boxes[:, 0], np.arange(1, 11))
    (plain,) = read_sequences(DatasetConfig(kind="folder", root=str(tmp_path / "val"), subset="all"))
    assert [p.name for p in plain.frames] == names
    # eval's folder reader, as the got10k toolkit gets it: strings, one box a frame
    img_files, anno = eval_folder_dataset(tmp_path)["clip"]
    assert all(isinstance(f, str) for f in img_files)
    assert [Path(f).name for f in img_files] == names and anno.shape == (10, 4)
    # track's folder and glob sources
    for spec in (seq, seq / "*.jpg"):
        source = open_source(str(spec))
        try:
            assert [Path(p).name for p in source.paths] == names
        finally:
            source.close()


def test_natural_key_numbers_and_case() -> None:
    assert sorted(["frame10.png", "Frame2.png", "frame1.png"], key=natural_key) == [
        "frame1.png", "Frame2.png", "frame10.png"]
    assert sorted(["x1y10.jpg", "x2y1.jpg", "x1y9.jpg"], key=natural_key) == ["x1y9.jpg", "x1y10.jpg", "x2y1.jpg"]
    # equal names (3 and 0003) fall back on the whole path, so the order never depends on the folder's
    assert sorted(["b/0003.jpg", "a/3.jpg", "a/2.jpg"], key=natural_key) == ["a/2.jpg", "a/3.jpg", "b/0003.jpg"]


def test_bad_ground_truth_in_eval_and_bench_is_one_line_with_file_and_line(tmp_path: Path) -> None:
    from siamfc.evaluation.speed import load_frames

    seq, _ = natural_clip(tmp_path)
    gt = write_lines(seq / "groundtruth.txt", ["1,2,8,8", "2,2,8"])
    fails(gt, eval_folder_dataset, tmp_path, line=2, kind=SiamFCError)
    fails(gt, load_frames, seq, 3, line=2, kind=SiamFCError)


# ---- registry and mixing into a pair dataset ------------------------------------------------------
def test_every_kind_registered_and_mixed_into_pairs(tmp_path: Path) -> None:
    assert {"got10k", "yolo", "otb", "vot", "lasot", "folder", "coco", "curated"} <= set(registry.names())
    boxes = np.array([[40.0 + 2 * i, 30.0 + i, 40, 30] for i in range(6)])
    write_frames(tmp_path / "seqs" / "a", 6, size=(160, 120), boxes=boxes)
    write_lines(tmp_path / "seqs" / "a" / "groundtruth.txt", [",".join(map(str, b)) for b in boxes])
    make_coco(tmp_path / "coco")
    cfg = DataConfig(datasets=[DatasetConfig("folder", str(tmp_path / "seqs"), "all", weight=1.0),
                               DatasetConfig("coco", str(tmp_path / "coco"), "val2017", weight=1.0)],
                     filter=PairFilter(), cache_dir=str(tmp_path / "cache"), pairs_per_epoch=8, num_workers=0)
    assert len(read_sequences(cfg.datasets[0])) == 1
    dataset = build_pair_dataset(cfg, seed=3, quiet=True)
    assert [len(s.cache.sizes) for s in dataset.sources] == [6, 2]
    z, x, offset, positive = dataset[0]
    assert z.shape == (3, 127, 127) and x.shape == (3, 239, 239) and offset.shape == (2,)
    fails("kind", DatasetConfig, "imagenet", str(tmp_path), kind=SettingError)  # the declaration names the readers


# ---- real data from shared/ -----------------------------------------------------------------------
def test_real_got10k_mini(got10k_root: Path) -> None:
    train = got10k_sequences(got10k_root, "train")
    val = {s.name: s for s in got10k_sequences(got10k_root, "val")}
    assert len(train) == 18 and sorted(val) == ["Crossing", "Jogging1", "Surfer", "bag", "wakeboard7",
                                                "yamaha_first600"]
    yamaha = val["yamaha_first600"]
    assert 0 < (~yamaha.visible).sum() < len(yamaha)  # the target leaves the view
    assert np.isnan(yamaha.boxes[~yamaha.visible]).all()
    assert val["Crossing"].visible.all() and len(val["Crossing"]) == len(val["Crossing"].boxes)
    # the same sequences through the plain-folder reader (GOT-10k has list.txt)
    assert [s.name for s in folder_sequences(got10k_root / "val")] == list(val)
    # boxes lie in the image; the pedestrian of Crossing is under 1% of the frame, which the paper's
    # plausibility filter drops and the shipped recipe's looser filter keeps
    image = cv2.imread(str(val["Crossing"].frames[0]))
    h, w = image.shape[:2]
    boxes = val["Crossing"].boxes
    assert (boxes[:, 0] >= -1).all() and (boxes[:, 0] + boxes[:, 2] <= w + 1).all()
    assert not any(PairFilter().usable(b, (w, h)) and b[2] * b[3] < 0.01 * w * h for b in boxes)
    assert all(PairFilter(min_size=10, min_area_ratio=0.001).usable(b, (w, h)) for b in boxes[:20])


def test_real_coco128(shared_dir: Path) -> None:
    root = shared_dir / "data" / "coco128"
    if not root.is_dir():
        pytest.skip(f"coco128 not found at {root}")
    seqs = yolo_images(root, "train2017")
    assert len(seqs) > 200  # 128 images with several objects each
    for seq in seqs[:50]:
        h, w = cv2.imread(str(seq.frames[0])).shape[:2]
        x, y, bw, bh = seq.boxes[0]
        assert bw > 0 and bh > 0 and x >= -1 and y >= -1 and x + bw <= w + 1 and y + bh <= h + 1


def test_unreadable_otb_and_yolo_files_name_the_file(tmp_path: Path) -> None:
    """An OTB ground truth that is not text, and a YOLO image that is not an image: one line naming the file."""
    (tmp_path / "otb" / "A" / "img").mkdir(parents=True)
    cv2.imwrite(str(tmp_path / "otb" / "A" / "img" / "0001.jpg"), np.zeros((20, 20, 3), np.uint8))
    gt = tmp_path / "otb" / "A" / "groundtruth_rect.txt"
    gt.write_bytes(b"\xff\xfe1,2,3,4\n")
    fails(gt, otb_sequences, tmp_path / "otb")
    for part in ("images", "labels"):
        (tmp_path / "yolo" / part / "train").mkdir(parents=True)
    image = tmp_path / "yolo" / "images" / "train" / "a.jpg"
    image.write_bytes(b"not an image")
    (tmp_path / "yolo" / "labels" / "train" / "a.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    fails(image, yolo_images, tmp_path / "yolo", "train")
