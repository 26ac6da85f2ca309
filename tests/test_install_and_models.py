"""Issue 24: a tracker installed in seconds. The base install tracks without PyTorch and every command
needing an absent extra names the ``pip install "siamfc[...]"`` that gives it; the shipped models by
name (``siamfc models``, ``--model NAME``, ``SiamFCTracker(model="NAME")``), also from a built wheel
installed outside the clone; ``siamfc train --data PATH`` on a folder of one's own sequences, its crop
cache announced and kept out of the working folder; ``-q`` everywhere; the hint for a glob the shell
expanded; ``siamfc webcam --video`` waiting on the first frame for the box."""

from __future__ import annotations

import importlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from siamfc.cli.main import SUBCOMMANDS, main
from siamfc.errors import MissingExtraError, SiamFCError, UnknownModelError
from siamfc.models.shipped import DEFAULT_MODEL, SHIPPED, model_names

REPO = Path(__file__).resolve().parents[1]
CLIP = REPO / "siamfc" / "assets" / "demo_clip.mp4"
BOX = "283,152,79,65"

# a fresh interpreter where the named top-level modules cannot be imported, as in the base install
BLOCKED = """
import sys
class Blocked:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {blocked!r}:
            raise ModuleNotFoundError("No module named " + repr(name), name=name)
sys.meta_path.insert(0, Blocked())
import importlib.util
_find_spec = importlib.util.find_spec
def find_spec(name, package=None):
    return None if name.split(".")[0] in {blocked!r} else _find_spec(name, package)
importlib.util.find_spec = find_spec
"""


def run_blocked(body: str, blocked: tuple[str, ...], cwd: Path = REPO,
                env: dict | None = None) -> subprocess.CompletedProcess:
    code = BLOCKED.format(blocked=set(blocked)) + body
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=180,
                          env={**os.environ, "OMP_NUM_THREADS": "1", **(env or {})})


def one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in stderr, stderr[-3000:]
    return lines[0]


# ------------------------------------------------------------------------------ models by name


def test_models_lists_the_declared_table(capsys: pytest.CaptureFixture) -> None:
    assert main(["models", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in rows] == list(model_names()) == [m.name for m in SHIPPED]
    assert [r["name"] for r in rows if r["default"]] == [DEFAULT_MODEL] == ["siamfc_box"]
    assert {"siamfc_box", "siamfc_mobile_lite", "siamfc_mobile", "siamfc_alexnet_w30"} <= set(model_names())
    for row in rows:
        assert row["installed"] and row["size_bytes"] > 0, row
        assert {"summary", "val_auc", "val_auc_interval", "fps_vs_nanotrack", "pretrained"} <= set(row)
    assert main(["models", "-q"]) == 0
    assert capsys.readouterr().out.split() == list(model_names())
    assert main(["models"]) == 0
    listing = capsys.readouterr().out
    assert all(name in listing for name in model_names())


def test_every_shipped_checkpoint_ships_its_fresh_export() -> None:
    """The base install has no PyTorch: a checkpoint (SiamFC or box-head) runs from the export beside it."""
    from siamfc.tracking.onnx_format import box_export_beside, fresh_export

    for model in SHIPPED:
        if model.path.suffix == ".pth":
            assert fresh_export(model.path) is not None or box_export_beside(model.path) is not None, (
                f"run: siamfc export --weights {model.path} --out {model.path.with_suffix('.onnx')}")


def test_each_shipped_model_tracks_by_name_without_torch() -> None:
    body = f"""
import json
import numpy as np
from siamfc import MultiTracker, SiamFCTracker
from siamfc.io.video import open_source
frames = open_source({str(CLIP)!r}).frames()
frames = [next(frames).image for _ in range(3)]
out = {{}}
for name in {list(model_names())!r}:
    tracker = SiamFCTracker(model=name)
    tracker.init(frames[0], np.array([{BOX}]))
    out[name] = [float(v) for v in tracker.update(frames[1])]
multi = MultiTracker(model="siamfc_mobile")
multi.add(frames[0], [{BOX}])
print(json.dumps(out))
"""
    result = run_blocked(body, ("torch", "onnx"))
    assert result.returncode == 0, result.stderr[-3000:]
    boxes = json.loads(result.stdout.splitlines()[-1])
    assert set(boxes) == set(model_names())
    assert boxes[DEFAULT_MODEL] == pytest.approx([280.830, 156.222, 78.055, 66.527], abs=1e-3)


def test_model_by_name_is_the_model_by_path(tmp_path: Path) -> None:
    by_name, by_path = tmp_path / "name.txt", tmp_path / "path.txt"
    common = ["track", str(CLIP), "--init-box", BOX, "--max-frames", "5", "-q"]
    assert main([*common, "--model", "siamfc_mobile", "--boxes", str(by_name)]) == 0
    assert main([*common, "--weights", str(REPO / "siamfc/weights/siamfc_mobile.pth"), "--boxes", str(by_path)]) == 0
    assert by_name.read_text() == by_path.read_text()


def test_an_unknown_name_is_one_line_listing_the_names(capsys: pytest.CaptureFixture) -> None:
    from siamfc import SiamFCTracker

    with pytest.raises(SystemExit) as exit_info:
        main(["track", str(CLIP), "--init-box", BOX, "--model", "no_such_model"])
    assert exit_info.value.code == 2
    err = one_line(capsys.readouterr().err)
    assert all(name in err for name in model_names())
    with pytest.raises(UnknownModelError) as error:
        SiamFCTracker(model="no_such_model")
    assert isinstance(error.value, ValueError) and error.value.known == model_names()
    with pytest.raises(SiamFCError):
        SiamFCTracker(weights=str(SHIPPED[0].path), model=SHIPPED[0].name)
    with pytest.raises(TypeError):  # a path where a name goes: said to go in weights=
        SiamFCTracker(model=str(SHIPPED[0].path))
    with pytest.raises(SystemExit) as exit_info:  # --model and --weights together
        main(["track", str(CLIP), "--init-box", BOX, "--model", DEFAULT_MODEL, "--weights", str(SHIPPED[0].path)])
    assert exit_info.value.code == 2


def command_help(name: str, capsys: pytest.CaptureFixture) -> str:
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        main([name, "--help"])
    assert exit_info.value.code == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("name", sorted(SUBCOMMANDS))
def test_every_command_takes_q_and_model_where_it_takes_weights(name: str, capsys: pytest.CaptureFixture) -> None:
    text = command_help(name, capsys)
    assert "-q" in text.replace("--quiet", ""), f"siamfc {name}: no -q"
    if "--weights" in text:
        assert "--model" in text, f"siamfc {name} takes --weights but not --model"


def test_bench_model_names_append_to_weights() -> None:
    import argparse

    from siamfc.cli import bench

    parser = argparse.ArgumentParser()
    bench.add_arguments(parser)
    args = parser.parse_args(["--model", "siamfc_mobile", "--weights", "x.pth", "--model", "siamfc_alexnet_w30"])
    assert [Path(p).name for p in args.weights] == ["siamfc_mobile.pth", "x.pth", "siamfc_alexnet_w30.pth"]


# ------------------------------------------------------------------------------ extras


@pytest.mark.parametrize("argv, blocked, extra", [
    (["train", "--data", "."], ("torch", "torchvision", "albumentations", "yaml"), "train"),
    (["eval", "--dataset", "folder", "--root", ".", "--tracker", "siamfc"], ("got10k", "matplotlib"), "eval"),
    (["export", "--out", "{tmp}/x"], ("torch", "onnx"), "torch"),
    (["bench", "--frames", "10"], ("torch", "onnx"), "torch"),
    (["track", str(CLIP), "--init-box", BOX, "--backend", "torch", "--max-frames", "2"], ("torch",), "torch"),
])
def test_a_missing_extra_is_one_line_naming_it(argv: list[str], blocked: tuple[str, ...], extra: str,
                                               tmp_path: Path) -> None:
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    body = f"from siamfc.cli.main import main\nraise SystemExit(main({argv!r}))\n"
    result = run_blocked(body, blocked, cwd=tmp_path)
    assert result.returncode == 2, result.stderr[-3000:]
    assert f'pip install "siamfc[{extra}]"' in one_line(result.stderr)
    assert not (tmp_path / "x").exists()


def test_help_works_without_the_extras() -> None:
    body = """
from siamfc.cli.main import main
import contextlib, io
for argv in (["--help"], ["train", "--help"], ["eval", "--help"], ["export", "--help"], ["models"]):
    with contextlib.redirect_stdout(io.StringIO()):
        try:
            code = main(argv)
        except SystemExit as exc:
            code = exc.code
    assert code == 0, argv
"""
    result = run_blocked(body, ("torch", "torchvision", "albumentations", "yaml", "got10k", "matplotlib", "onnx"))
    assert result.returncode == 0, result.stderr[-3000:]


def test_api_paths_needing_torch_raise_the_extra_error() -> None:
    body = """
from siamfc import SiamFCTracker
from siamfc.errors import MissingExtraError
try:
    SiamFCTracker(backend="torch")
except MissingExtraError as exc:
    print("extra", exc.extra, exc.module, isinstance(exc, ImportError), isinstance(exc, ValueError))
"""
    result = run_blocked(body, ("torch",))
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split() == ["extra", "torch", "torch", "True", "True"]
    assert issubclass(MissingExtraError, ImportError) and issubclass(MissingExtraError, SiamFCError)


def test_extras_declared_in_pyproject_match_the_table() -> None:
    import tomllib

    from siamfc.extras import EXTRAS

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    base = " ".join(project["dependencies"]).lower()
    assert "torch" not in base and "onnxruntime" in base and "opencv-python-headless" in base
    extras = project["optional-dependencies"]
    assert set(EXTRAS) <= set(extras) and "dev" in extras
    for extra, modules in EXTRAS.items():
        packages = " ".join(extras[extra]).lower()
        names = {"yaml": "pyyaml", "PIL": "pillow"}
        assert all(names.get(m, m).lower() in packages for m in modules), (extra, packages)
    assert all(f"siamfc[{e}" in " ".join(extras["dev"]) or e in " ".join(extras["dev"]) for e in EXTRAS)


# ------------------------------------------------------------------------------ a wheel outside the clone


@pytest.mark.slow
def test_built_wheel_tracks_by_name_outside_the_clone(tmp_path: Path) -> None:
    """The wheel holds the shipped models (package data): ``siamfc models`` and ``track --model NAME``
    work from a folder outside the clone with only the wheel's files on the path."""
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    shutil.copytree(REPO / "siamfc", source / "siamfc", ignore=shutil.ignore_patterns("__pycache__"))
    wheels = tmp_path / "wheels"
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                            "-w", str(wheels), str(source)], capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stderr[-3000:]
    wheel = next(wheels.glob("siamfc-*.whl"))
    target = tmp_path / "site"
    install = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target),
                              str(wheel)], capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stderr[-3000:]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(target), "OMP_NUM_THREADS": "1"}

    def siamfc(*argv: str) -> subprocess.CompletedProcess:
        code = "import sys; from siamfc.cli.main import main; raise SystemExit(main(sys.argv[1:]))"
        return subprocess.run([sys.executable, "-c", code, *argv], cwd=elsewhere, capture_output=True, text=True,
                              timeout=180, env=env)

    listed = siamfc("models", "--json")
    assert listed.returncode == 0, listed.stderr[-3000:]
    rows = json.loads(listed.stdout)
    assert [r["name"] for r in rows] == list(model_names())
    assert all(r["installed"] and Path(r["path"]).is_relative_to(target) for r in rows), rows
    clip = target / "siamfc" / "assets" / "demo_clip.mp4"
    assert clip.is_file()
    for name in ("siamfc_mobile", DEFAULT_MODEL):
        boxes = elsewhere / f"{name}.txt"
        tracked = siamfc("track", str(clip), "--init-box", BOX, "--model", name, "--max-frames", "10",
                         "--boxes", str(boxes), "-q")
        assert tracked.returncode == 0, tracked.stderr[-3000:]
        assert len(boxes.read_text().splitlines()) == 10
    where = subprocess.run([sys.executable, "-c", "import siamfc; print(siamfc.__file__)"], cwd=elsewhere,
                           capture_output=True, text=True, env=env)
    assert Path(where.stdout.strip()).is_relative_to(target)


# ------------------------------------------------------------------------------ train --data PATH


def write_sequences(root: Path, names: list[str], n: int = 8) -> Path:
    """A folder of sequence folders: frames and groundtruth.txt (a textured square moving on noise)."""
    rng = np.random.default_rng(0)
    for k, name in enumerate(names):
        folder = root / name
        folder.mkdir(parents=True)
        texture = rng.integers(0, 255, size=(30, 40, 3), dtype=np.uint8)
        lines = []
        for i in range(n):
            image = rng.integers(0, 90, size=(120, 160, 3), dtype=np.uint8)
            x, y = 20 + 6 * i + 3 * k, 30 + 3 * i
            image[y:y + 30, x:x + 40] = texture
            cv2.imwrite(str(folder / f"{i + 1:04d}.jpg"), image)
            lines.append(f"{x},{y},40,30")
        (folder / "groundtruth.txt").write_text("\n".join(lines) + "\n")
    return root


def test_layouts_are_recognised(tmp_path: Path) -> None:
    from siamfc.data.registry import detect_layout
    from siamfc.data.sequences import DatasetError

    plain = write_sequences(tmp_path / "plain", ["a", "b"], n=2)
    assert (detect_layout(plain).kind, detect_layout(plain).subset) == ("folder", "all")
    assert detect_layout(plain / "a").kind == "folder"  # one sequence
    got = write_sequences(tmp_path / "got" / "train", ["s1"], n=2)
    (got / "list.txt").write_text("s1\n")
    assert (detect_layout(tmp_path / "got").kind, detect_layout(tmp_path / "got").subset) == ("got10k", "train")
    assert (detect_layout(got).kind, detect_layout(got).root) == ("got10k", str(tmp_path / "got"))
    otb = tmp_path / "otb" / "Car" / "img"
    otb.mkdir(parents=True)
    (otb.parent / "groundtruth_rect.txt").write_text("1,1,4,4\n")
    assert detect_layout(tmp_path / "otb").kind == "otb"
    lasot = tmp_path / "lasot" / "cat" / "cat-1"
    (lasot / "img").mkdir(parents=True)
    (lasot / "groundtruth.txt").write_text("1,1,4,4\n")
    assert detect_layout(tmp_path / "lasot").kind == "lasot"
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError):
        detect_layout(tmp_path / "empty")


def test_train_on_own_folder_with_data_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture, keep_torch_threads: None) -> None:
    """``--data PATH`` alone (plus a tiny model and one short epoch, for speed): the layout recognised,
    the crop cache announced before it is written, put in the user's cache folder and not in the
    working folder, and a checkpoint that tracks."""
    data = write_sequences(tmp_path / "my_videos", ["walk", "run", "jump"])
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.delenv("SIAMFC_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    tiny = ["--set", "model={backbone: alexnet, width: 0.1}", "--set", "data.pairs_per_epoch=8",
            "--set", "optim.batch_size=4", "--set", "data.num_workers=0", "--set", "threads=1",
            "--set", "tensorboard=false", "--epochs", "1", "--device", "cpu"]
    capsys.readouterr()
    assert main(["train", "--data", str(data), *tiny]) == 0
    out = capsys.readouterr().out
    cache = tmp_path / "xdg" / "siamfc" / "crops"
    assert f"crop cache: {cache}" in out and " MB " in out, out
    assert out.index("crop cache:") < out.index("checkpoint:")
    assert "--resume" in out
    assert any(cache.rglob("crops.npy")), "the cache is not in $XDG_CACHE_HOME/siamfc"
    run = work / "runs" / "my_videos"
    assert (run / "last.pth").is_file()
    assert sorted(p.name for p in work.iterdir()) == ["runs"]  # nothing else written in the working folder
    assert not any(p.name == "crops.npy" for p in work.rglob("*"))

    moved = tmp_path / "elsewhere_cache"  # --cache-dir, and -q: no notes
    assert main(["train", "--data", str(data), *tiny, "--cache-dir", str(moved), "--out-dir", str(tmp_path / "r2"),
                 "-q"]) == 0
    assert "crop cache" not in capsys.readouterr().out
    assert any(moved.rglob("crops.npy"))

    from siamfc import SiamFCTracker

    tracker = SiamFCTracker(weights=str(run / "last.pth"), backend="torch")
    image = cv2.cvtColor(cv2.imread(str(data / "walk" / "0001.jpg")), cv2.COLOR_BGR2RGB)
    tracker.init(image, [20, 30, 40, 30])
    assert tracker.update(image).shape == (4,)


def test_train_without_data_or_config_is_one_line(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    assert main(["train"]) == 2
    one_line(capsys.readouterr().err)
    (tmp_path / "nothing").mkdir()
    assert main(["train", "--data", str(tmp_path / "nothing")]) == 2
    assert "--data" in one_line(capsys.readouterr().err)


def test_the_recipe_is_the_shipped_models_less_what_lives_beside_the_project() -> None:
    import yaml

    from siamfc.cli.train import RECIPE

    shipped = yaml.safe_load((REPO / "configs" / "mobile_lite_mini.yaml").read_text())
    assert RECIPE["model"] == shipped["model"] and RECIPE["optim"] == shipped["optim"]
    assert RECIPE["loss"]["name"] == shipped["loss"]["name"] and "teacher" not in RECIPE["loss"]
    assert {k: v for k, v in shipped["data"].items() if k != "datasets"} == RECIPE["data"]
    assert "val" not in RECIPE


# ------------------------------------------------------------------------------ small frictions


def test_an_expanded_glob_says_to_quote_it(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    frames = tmp_path / "frames"
    frames.mkdir()
    for i in range(3):
        cv2.imwrite(str(frames / f"{i}.jpg"), np.zeros((40, 40, 3), np.uint8))
    files = sorted(str(p) for p in frames.glob("*.jpg"))  # what the shell passes for frames/*.jpg
    with pytest.raises(SystemExit) as exit_info:
        main(["track", *files, "--init-box", "1,1,10,10"])
    assert exit_info.value.code == 2
    assert f"'{frames}/*.jpg'" in one_line(capsys.readouterr().err)
    with pytest.raises(SystemExit) as exit_info:  # other stray arguments: argparse's own message
        main(["track", files[0], "stray", "--init-box", "1,1,10,10"])
    assert exit_info.value.code == 2
    assert "*.jpg" not in one_line(capsys.readouterr().err)


class FakeWindow:
    """The Tkinter window, scripted: no event for ``wait`` polls, then a box dragged, then ``more``
    polls before the user quits."""

    def __init__(self, *args, box=(283, 152, 79, 65), wait: int = 40, more: int = 5, **kwargs) -> None:
        self.box, self.wait, self.more = np.array(box, float), wait, more
        self.polls, self.shown, self.dragging = 0, 0, False

    def poll(self) -> bool:
        self.polls += 1
        return self.polls <= self.wait + 1 + self.more

    def events(self) -> list:
        from siamfc.io.window import BoxEvent

        return [BoxEvent(self.box)] if self.polls == self.wait + 1 else []

    def show(self, image: np.ndarray) -> bool:
        self.shown += 1
        return True

    def close(self) -> None:
        pass


def test_webcam_video_waits_on_the_first_frame_for_the_box(monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture) -> None:
    """Before: the clip played on while nobody had drawn a box yet (here: 40 polls at full speed
    with --all-frames), and tracking started far into it, or never."""
    import siamfc.io.window as window

    monkeypatch.setattr(window, "Window", FakeWindow)
    monkeypatch.setenv("DISPLAY", ":0")
    assert main(["webcam", "--video", str(CLIP), "--all-frames", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "tracking from frame 1: box 283,152,79,65" in out, out
    assert main(["webcam", "--video", str(CLIP), "--all-frames", "--device", "cpu", "-q"]) == 0
    assert capsys.readouterr().out == ""


def test_every_command_module_is_listed_with_its_help() -> None:
    for name, module in SUBCOMMANDS.items():
        assert importlib.import_module(module).HELP.split("\n\n")[0].strip().endswith("."), name
