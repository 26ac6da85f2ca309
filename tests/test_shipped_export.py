"""The ONNX export shipped beside the SiamFC checkpoint (siamfc/weights/siamfc_mobile_lite.onnx/):
it is the export of that very checkpoint, it tracks as the export made in memory does, and an
export that no longer matches its checkpoint is not used."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from siamfc.models.shipped import model_path
from siamfc.tracking.onnx_format import CHECKPOINT_HASH, MANIFEST, StaleExportWarning, export_beside, file_sha256

CLIP = Path(__file__).resolve().parents[1] / "siamfc" / "assets" / "demo_clip.mp4"
BOX = np.array([283.0, 152.0, 79.0, 65.0])

SIAMFC = model_path("siamfc_mobile_lite")  # the shipped SiamFC checkpoint (the default model is of the box-head family)
MODEL = {"model": "siamfc_mobile_lite"}
EXPORT = ["export", "--model", "siamfc_mobile_lite"]

pytestmark = pytest.mark.skipif(not SIAMFC.is_file(), reason="the package ships no trained model")


def clip_frames(count: int) -> list[np.ndarray]:
    from siamfc.io.video import open_source

    frames = open_source(str(CLIP)).frames()
    return [next(frames).image for _ in range(count)]


def track(tracker, frames: list[np.ndarray]) -> np.ndarray:
    target = tracker.add(frames[0], BOX)
    return np.array([tracker.update(f)[target] for f in frames[1:]])


def test_the_shipped_export_is_of_the_shipped_checkpoint() -> None:
    folder = export_beside(SIAMFC)
    info = json.loads((folder / MANIFEST).read_text())
    assert info[CHECKPOINT_HASH] == file_sha256(SIAMFC), (
        "the checkpoint changed: run siamfc export --out siamfc/weights/siamfc_mobile_lite.onnx")


def test_shipped_and_in_memory_exports_give_the_same_boxes() -> None:
    from siamfc import MultiTracker
    from siamfc.models.checkpoint import load_model
    from siamfc.tracking.engines.onnx_engines import OnnxEngine

    frames = clip_frames(40)
    shipped = MultiTracker(**MODEL)  # the shipped export, run by ONNX Runtime
    assert isinstance(shipped.engine, OnnxEngine) and shipped._net is None  # no PyTorch model loaded
    in_memory = MultiTracker(model=load_model(SIAMFC))  # exported now
    assert isinstance(in_memory.engine, OnnxEngine)
    a, b = track(shipped, frames), track(in_memory, frames)
    np.testing.assert_allclose(a, b, atol=1e-6)
    assert a[0].round(3).tolist() == [281.018, 157.379, 79.0, 65.0]


def test_a_stale_export_is_not_used(tmp_path: Path) -> None:
    """An export beside a checkpoint made from another version of it: a warning that says how to
    refresh it, and the checkpoint exported in memory instead (the same boxes as without the folder)."""
    from siamfc import MultiTracker

    checkpoint = tmp_path / "model.pth"
    shutil.copy(SIAMFC, checkpoint)
    folder = shutil.copytree(export_beside(SIAMFC), export_beside(checkpoint))
    frames = clip_frames(6)
    fresh = track(MultiTracker(checkpoint), frames)  # the copied export: same hash, used
    info = json.loads((folder / MANIFEST).read_text())
    (folder / MANIFEST).write_text(json.dumps({**info, CHECKPOINT_HASH: "0" * 64}))
    with pytest.warns(StaleExportWarning, match="siamfc export --weights .*model.pth --out .*model.onnx"):
        tracker = MultiTracker(checkpoint)
    assert tracker._net is not None  # loaded with PyTorch, exported in memory
    np.testing.assert_allclose(track(tracker, frames), fresh, atol=1e-6)


def test_the_stale_export_warning_is_one_line_on_the_command_line(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture) -> None:
    """Python's own format adds the source file, the line number and a line of code."""
    import cv2

    from siamfc.cli.main import main

    checkpoint = tmp_path / "model.pth"
    shutil.copy(SIAMFC, checkpoint)
    folder = shutil.copytree(export_beside(SIAMFC), export_beside(checkpoint))
    info = json.loads((folder / MANIFEST).read_text())
    (folder / MANIFEST).write_text(json.dumps({**info, CHECKPOINT_HASH: "0" * 64}))
    frames = tmp_path / "frames"
    frames.mkdir()
    for i, frame in enumerate(clip_frames(3)):
        cv2.imwrite(str(frames / f"{i:03d}.png"), frame[:, :, ::-1])
    assert main(["track", str(frames), "--init-box", "40,40,60,60", "--weights", str(checkpoint), "-q"]) == 0
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("warning: ") and "siamfc export" in lines[0], lines


def test_other_crop_sizes_do_not_use_the_shipped_export(tmp_path: Path) -> None:
    """The shipped export takes 255 px search crops: a tracker asking for 303 exports the checkpoint
    in memory at its own sizes (and tracks as the PyTorch path does), and an export folder made for
    other sizes is refused in one line, not an ONNX Runtime shape error at the first frame."""
    from siamfc import MultiTracker
    from siamfc.errors import CheckpointError
    from siamfc.tracking.engines.onnx_engines import OnnxEngine

    frames = clip_frames(6)
    wide = MultiTracker(search_size=303, **MODEL)
    assert isinstance(wide.engine, OnnxEngine) and wide.geometry.response_size == 23
    reference = MultiTracker(search_size=303, backend="torch", **MODEL)
    np.testing.assert_allclose(track(wide, frames), track(reference, frames), atol=1e-3)
    with pytest.raises(CheckpointError) as info:  # exported for 127 / 255 px crops, asked for 127 / 303
        MultiTracker(export_beside(SIAMFC), search_size=303)
    assert info.value.key == str(export_beside(SIAMFC))


def test_export_cli_takes_crop_sizes(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """``siamfc export --search-size 303`` writes graphs for that size, which a tracker asking for
    it runs; impossible sizes are one line and exit 2."""
    from siamfc import MultiTracker
    from siamfc.cli.main import main

    out = tmp_path / "wide"
    assert main([*EXPORT, "--out", str(out), "--search-size", "303", "--no-check"]) == 0
    assert json.loads((out / MANIFEST).read_text())["search_size"] == 303
    frames = clip_frames(3)
    assert track(MultiTracker(out, search_size=303), frames).shape == (2, 4)
    assert main([*EXPORT, "--out", str(out), "--exemplar-size", "300", "--search-size", "255"]) == 2
    assert "search_size = 255: must be at least exemplar_size (300)" in capsys.readouterr().err
    assert main([*EXPORT, "--out", str(tmp_path / "odd"), "--exemplar-size", "100"]) == 2
    assert "must be 127 and 255 give or take multiples of 8" in capsys.readouterr().err
    assert not (tmp_path / "odd").exists()


@pytest.mark.parametrize("sizes", [{"exemplar_size": 131}, {"exemplar_size": 100}, {"search_size": 250}])
def test_crop_sizes_off_the_stride_are_refused(sizes: dict) -> None:
    """They passed the settings' checks, then failed on every frame (a response map a cell larger
    than its geometry: "cannot reshape array of size 289 into shape (1,16,16)")."""
    from siamfc import MultiTracker
    from siamfc.errors import SettingError

    with pytest.raises(SettingError) as info:
        MultiTracker(**sizes, **MODEL)
    assert info.value.key == next(iter(sizes))
    MultiTracker(exemplar_size=135, search_size=271, **MODEL)  # whole strides away: fine
