"""What the got10k toolkit's own dataset readers (GOT-10k, VOT, OTB) need beyond what our readers
(:mod:`siamfc.data`) accept, checked before anything runs so that a layout the toolkit would crash
on is one line naming the file: frames named ``*.jpg``, boxes separated by commas, and GOT-10k's
``meta_info.ini`` with a ``resolution`` line."""

from __future__ import annotations

import ast
from pathlib import Path

from ...data.sequences import frame_files
from ...errors import SiamFCError

FOLDER_HINT = "--dataset folder reads it as it is"


def check_jpg_frames(folder: Path, what: str) -> int:
    """The toolkit lists a sequence's frames as ``folder/*.jpg`` only; returns their count."""
    jpgs = list(folder.glob("*.jpg"))
    if not jpgs:
        raise SiamFCError(f"{folder}: no .jpg frames in the folder itself (the toolkit's {what} reader takes "
                        f"<seq>/*.jpg only); {FOLDER_HINT}")
    images = frame_files(folder)
    if len(jpgs) != len(images):
        other = next(p for p in images if p.suffix != ".jpg")
        raise SiamFCError(f"{folder}: frame {other.name}: the toolkit's {what} reader takes only .jpg frames; "
                        f"{FOLDER_HINT}")
    return len(jpgs)


def check_comma_boxes(path: Path, what: str) -> int:
    """The toolkit reads ``groundtruth.txt`` with commas between the values; returns its line count."""
    try:
        lines = [line.strip() for line in path.read_text().splitlines()]
    except (OSError, UnicodeDecodeError) as exc:
        raise SiamFCError(f"{path}: cannot read ({getattr(exc, 'strerror', None) or type(exc).__name__})") from None
    count = 0
    for number, line in enumerate(lines, 1):
        if not line:
            continue
        try:
            [float(v) for v in line.split(",")]
        except ValueError:
            raise SiamFCError(f"{path}:{number}: the toolkit's {what} reader takes values separated by commas "
                            f"(x,y,w,h), found {line[:40]!r}; {FOLDER_HINT}") from None
        count += 1
    return count


def check_got10k_meta(folder: Path) -> None:
    """``meta_info.ini`` as the toolkit's GOT-10k reader parses it (``key: value`` lines after the
    first), with the ``resolution: (width, height)`` its report needs."""
    path = folder / "meta_info.ini"
    try:
        lines = path.read_text().strip().split("\n")[1:]
    except (OSError, UnicodeDecodeError) as exc:
        raise SiamFCError(f"{path}: cannot read ({getattr(exc, 'strerror', None) or type(exc).__name__})") from None
    meta = {}
    for line in lines:
        key, sep, value = line.partition(": ")
        if not sep:
            raise SiamFCError(f"{path}: line {line[:40]!r} is not 'key: value' (the toolkit's GOT-10k reader needs it)")
        meta[key] = value
    if "resolution" not in meta:
        raise SiamFCError(f"{path}: no 'resolution: (width, height)' line (the GOT-10k report needs it)")
    try:
        size = ast.literal_eval(meta["resolution"])
        ok = len(size) == 2 and all(isinstance(v, (int, float)) and v > 0 for v in size)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        ok = False
    if not ok:
        raise SiamFCError(f"{path}: resolution {meta['resolution'][:40]!r} is not (width, height)")
