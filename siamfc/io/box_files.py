"""``track``'s box and score files: an ``x,y,w,h`` (or confidence) line per frame, one file per target
(``--boxes out.txt``, ``--scores``), or one JSON file for all (``--boxes out.json``)."""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import SiamFCError
from .writers import AtomicTextFile, check_writable, close_each, one_error

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..cli.loop import TargetSet


def target_paths(path: Path, count: int) -> list[Path]:
    """``out.txt`` for one target (or a JSON file, which holds them all); ``out_0.txt``, ``out_1.txt``, ...
    for several."""
    if count == 1 or path.suffix.lower() == ".json":
        return [path]
    return [path.with_name(f"{path.stem}_{i}{path.suffix}") for i in range(count)]


def check_box_output(path: str, flag: str, count: int, json_whole: bool = True) -> Path:
    """``--boxes`` / ``--scores`` (``flag``), once sure every file it names can be written. The name must
    end in .txt (or .json where ``json_whole``): another could be a picture, written over with text."""
    kinds = (".txt", ".json") if json_whole else (".txt",)
    checked = check_writable(path, flag)
    if checked.suffix.lower() not in kinds and (checked.is_file() or not checked.exists()):  # not /dev/stdout
        raise SiamFCError(f"{flag} {path}: the file name must end in {' or '.join(kinds)}", flag)
    for extra in target_paths(checked, count)[1:]:
        check_writable(extra, flag)
    return checked


class TxtBoxWriter:
    """An ``x,y,w,h`` (or with ``scores``, confidence) line per frame in each target's file."""

    def __init__(self, path: Path, count: int, scores: bool = False) -> None:
        self.paths = target_paths(path, count)
        self.scores = scores
        self.files = [AtomicTextFile(p, unit="line") for p in self.paths]

    def write(self, frame_number: int, targets: TargetSet, skipped: bool) -> None:
        for f, box, score in zip(self.files, targets.boxes, targets.scores, strict=True):
            f.write((f"{score:.4f}" if self.scores else ",".join(f"{float(v):.3f}" for v in box)) + "\n")

    def close(self, summary: dict) -> None:
        """Close every file; one error naming each that failed, now or at an earlier write."""
        close_each(f.close for f in self.files)  # their failures are kept in .failure
        failures = [f.failure for f in self.files if f.failure is not None]
        if failures:
            raise one_error(failures)

    def discard(self) -> None:
        for f in self.files:
            f.discard()


class JsonBoxWriter:
    """``{"video", "box_format", "targets", "frames": [{"frame", "boxes", "scores", "present",
    "skipped"?}, ...], "summary"}``, written frame by frame (after a crash only the end is missing)."""

    def __init__(self, path: Path, video: str, count: int) -> None:
        self.paths = [path]
        self.file = AtomicTextFile(path)
        head = {"video": video, "box_format": "x,y,w,h (0-based pixels, top-left corner)", "targets": count}
        self.file.write(json.dumps(head)[:-1] + ', "frames": [\n')
        self.first = True

    def write(self, frame_number: int, targets: TargetSet, skipped: bool) -> None:
        entry: dict = {"frame": frame_number, "boxes": [[round(float(v), 3) for v in b] for b in targets.boxes],
                       "scores": [round(float(c), 4) for c in targets.scores],
                       "present": [bool(p) for p in targets.present], **({"skipped": True} if skipped else {})}
        self.file.write(("" if self.first else ",\n") + json.dumps(entry))
        self.first = False

    def close(self, summary: dict) -> None:
        self.file.write("\n], " + json.dumps({"summary": summary})[1:] + "\n")
        self.file.close()
        if self.file.failure is not None:  # at an earlier write
            raise self.file.failure

    def discard(self) -> None:
        self.file.discard()


def open_box_writer(path: Path, video: str, count: int) -> TxtBoxWriter | JsonBoxWriter:
    return JsonBoxWriter(path, video, count) if path.suffix.lower() == ".json" else TxtBoxWriter(path, count)
