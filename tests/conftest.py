"""Shared fixtures: where the data beside the project lives, and a GOT-10k sequence reader.

The data (``../shared`` from the project root, or ``$SIAMFC_SHARED``) is never part of the
project; tests that need it skip with a clear reason when it is absent.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]

# The commands keep FFmpeg's log lines off stderr by setting this before OpenCV first starts FFmpeg
# (siamfc.io.opencv_log.set_opencv_log_level). A user's run is one process; here an earlier test may have started
# FFmpeg first, so the setting goes in before any test, as the commands would have it.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")

# A shell without job control starts background jobs with SIGINT ignored, and Python then leaves it
# ignored: the Ctrl-C tests (a real SIGINT to this process or to a child) need Python's usual handler.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


def shared_path() -> Path:
    """``$SIAMFC_SHARED`` if set, else ``<repo root>/../shared`` (may not exist)."""
    env = os.environ.get("SIAMFC_SHARED")
    return Path(env) if env else REPO_ROOT.parent / "shared"


def _require(path: Path, what: str) -> Path:
    if not path.exists():
        pytest.skip(f"{what} not found at {path} (set SIAMFC_SHARED to the shared data folder)")
    return path


@dataclass
class Sequence:
    """Frames (RGB uint8, H x W x 3) and ground truth (N x 4 ``x, y, w, h``; NaN rows = absent)."""

    name: str
    frames: list[np.ndarray]
    groundtruth: np.ndarray
    frame_paths: list[Path]

    @property
    def absent(self) -> np.ndarray:
        return ~np.all(np.isfinite(self.groundtruth), axis=1)


def read_rgb(path: str | os.PathLike) -> np.ndarray:
    bgr = cv2.imread(os.fspath(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise FileNotFoundError(f"cannot read image {path}")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def read_got10k_sequence(seq_dir: str | os.PathLike, max_frames: int | None = None) -> Sequence:
    """Read a GOT-10k-layout sequence folder (``00000001.jpg``..., ``groundtruth.txt``)."""
    seq_dir = Path(seq_dir)
    paths = sorted(seq_dir.glob("*.jpg"))
    gt = np.loadtxt(seq_dir / "groundtruth.txt", delimiter=",", dtype=np.float64, ndmin=2)
    n = min(len(paths), len(gt))
    if max_frames is not None:
        n = min(n, max_frames)
    paths = paths[:n]
    return Sequence(seq_dir.name, [read_rgb(p) for p in paths], gt[:n], paths)


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    return _require(shared_path(), "shared data folder")


@pytest.fixture(scope="session")
def got10k_root(shared_dir: Path) -> Path:
    """``shared/data/GOT-10k-mini`` (subsets ``train`` and ``val``)."""
    return _require(shared_dir / "data" / "GOT-10k-mini", "GOT-10k-mini")


@pytest.fixture(scope="session")
def fdsiamfc_weights(shared_dir: Path) -> Path:
    """A trained third-party SiamFC (30% AlexNet) in the PyTorch port's state-dict layout."""
    return _require(shared_dir / "weights" / "fdsiamfc_30.pth", "fdsiamfc_30.pth")


@pytest.fixture(scope="session")
def got10k_sequence(got10k_root: Path) -> Callable[..., Sequence]:
    """Factory: ``got10k_sequence("val", "Crossing", max_frames=30) -> Sequence``."""

    def read(subset: str, name: str, max_frames: int | None = None) -> Sequence:
        seq_dir = _require(got10k_root / subset / name, f"GOT-10k-mini sequence {subset}/{name}")
        return read_got10k_sequence(seq_dir, max_frames)

    return read


@pytest.fixture
def keep_torch_threads() -> Iterator[None]:
    """Training sets torch's thread count (config ``threads``); in-process runs give the test process its own back."""
    import torch

    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)
