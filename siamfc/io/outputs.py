"""What the commands write, all or nothing: ``track``'s box and score files and annotated videos (``track
--output``, ``demo``, ``webcam --record``, read back before they are put in place: OpenCV reports no write errors)."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

import cv2
import numpy as np

from ..errors import SiamFCError, os_error
from .writers import AtomicTextFile, check_writable, temporary_sibling

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..cli.loop import FrameLoop

VIDEO_CODECS = {".mp4": "mp4v", ".avi": "MJPG", ".mkv": "MJPG"}  # the documented ones only


def target_paths(path: Path, count: int) -> list[Path]:
    """``out.txt`` for one target (or a JSON file, which holds them all); ``out_0.txt``, ... for several."""
    whole = count == 1 or path.suffix.lower() == ".json"
    return [path] if whole else [path.with_name(f"{path.stem}_{i}{path.suffix}") for i in range(count)]


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


def check_video_output(path: str, flag: str = "--output") -> Path:
    """``path`` once sure it is a known video type in a writable place."""
    suffix = Path(path).suffix.lower()
    if suffix not in VIDEO_CODECS:
        raise SiamFCError(f"{flag} {path}: unknown video type {suffix or '(none)'}; use .mp4, .avi or .mkv", flag)
    return check_writable(path, flag)


class VideoOutput:
    """RGB frames into ``path`` (a path :func:`check_video_output` passed), put in place by ``close()``;
    opened now at ``size``, or without one at the first frame. Frames of another size are resized."""

    def __init__(self, path: Path, fps: float, size: tuple[int, int] | None = None) -> None:
        self.path, self.fps, self.size = path, fps, size
        self.frames, self.writer = 0, None  # frames written; the cv2.VideoWriter once open
        if size is not None:
            self._open(size)

    def _open(self, size: tuple[int, int]) -> None:
        self.size, self.tmp = size, temporary_sibling(self.path)
        fourcc = cv2.VideoWriter_fourcc(*VIDEO_CODECS[self.path.suffix.lower()])
        self.writer = cv2.VideoWriter(os.fspath(self.tmp), fourcc, self.fps, size)
        if not self.writer.isOpened():
            self.tmp.unlink(missing_ok=True)
            raise SiamFCError(f"--output {self.path}: OpenCV cannot write this video file", "--output")

    def write(self, image: np.ndarray) -> None:
        size = (image.shape[1], image.shape[0])
        if self.writer is None:
            self._open(size)
        elif size != self.size:
            image = cv2.resize(image, self.size, interpolation=cv2.INTER_AREA)
        self.writer.write(cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        self.frames += 1

    def close(self) -> None:
        if self.writer is None:
            return
        self.writer.release()
        try:
            if not self._reads_back():
                raise SiamFCError(f"--output {self.path}: the video could not be written whole (its {self.frames} "
                                  "frames do not read back; is the disk full?); nothing was kept (the file is as it "
                                  "was)", "--output")
            with os_error(f"--output {self.path}", "--output", "cannot be put in place"):
                os.replace(self.tmp, self.path)
        finally:
            self.tmp.unlink(missing_ok=True)  # gone once put in place

    def _reads_back(self) -> bool:
        """Whether the file announces every frame and its last frame decodes (an AVI or Matroska file cut
        short by a full disk still announces every frame: its header is written last)."""
        if not self.frames:
            return True
        capture = cv2.VideoCapture(os.fspath(self.tmp), cv2.CAP_FFMPEG)
        try:
            if not capture.isOpened() or int(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0) < self.frames:
                return False
            capture.set(cv2.CAP_PROP_POS_FRAMES, self.frames - 1)
            return bool(capture.read()[0])
        finally:
            capture.release()


class TrackOutputs:
    """The files ``track`` writes (``paths`` by flag: ``--boxes``, ``--scores``, ``--output``) about the video
    ``name``: opened together (a failure leaves every output as it was), closed with the run's summary. A text
    file holds a line per frame (``x,y,w,h``, or the confidence for ``--scores``) for its target; a JSON file
    holds every target, ``{"video", "box_format", "targets", "frames": [{"frame", "boxes", "scores", "present",
    "skipped"?}, ...], "summary"}``, written frame by frame (after a crash only the end is missing)."""

    def __init__(self, paths: dict[str, Path | None], name: str, count: int, fps: float, size: tuple[int, int]) -> None:
        self.files: dict[str, list[AtomicTextFile]] = {}  # by flag: a file per target, or the one JSON file
        self.json = paths["--boxes"] is not None and paths["--boxes"].suffix.lower() == ".json"
        with contextlib.ExitStack() as opened:  # a failure discards the files opened before it
            for flag in ("--boxes", "--scores"):
                unit = "record" if self.json and flag == "--boxes" else "line"  # in a failed write's error
                for path in target_paths(paths[flag], count) if paths[flag] is not None else []:
                    self.files.setdefault(flag, []).append(AtomicTextFile(path, unit))
                    opened.callback(self.files[flag][-1].discard)
            if self.json:
                head = {"video": name, "box_format": "x,y,w,h (0-based pixels, top-left corner)", "targets": count}
                self.files["--boxes"][0].write(json.dumps(head)[:-1] + ', "frames": [\n')
            self.video = VideoOutput(paths["--output"], fps, size) if paths["--output"] else None
            opened.pop_all()  # all opened: kept

    def write(self, frame_number: int, targets: FrameLoop, skipped: bool) -> None:
        for flag, files in self.files.items():  # each frame formats only what is written
            if flag == "--scores":
                lines = [f"{score:.4f}\n" for score in targets.scores]
            elif not self.json:
                lines = [",".join(f"{float(v):.3f}" for v in box) + "\n" for box in targets.boxes]
            else:  # its head is record 1
                entry = {"frame": frame_number, "boxes": [[round(float(v), 3) for v in b] for b in targets.boxes],
                         "scores": [round(float(c), 4) for c in targets.scores],
                         "present": [bool(p) for p in targets.present], **({"skipped": True} if skipped else {})}
                lines = [("" if files[0].records == 1 else ",\n") + json.dumps(entry)]
            for file, line in zip(files, lines, strict=True):
                file.write(line)

    def close(self, summary: dict, failure: SiamFCError | None = None) -> None:
        """Close every output; one error for those that failed, now or earlier, and ``failure`` (first)."""
        errors = []
        for flag, files in self.files.items():
            for file in files:
                try:
                    if self.json and flag == "--boxes":
                        file.write("\n], " + json.dumps({"summary": summary})[1:] + "\n")
                    file.close()
                except SiamFCError as exc:
                    file.failure = exc  # a failed write kept it already
                errors += [file.failure] if file.failure is not None else []
        try:
            if self.video is not None:
                self.video.close()
        except SiamFCError as exc:
            errors.append(exc)
        if failure is not None and all(failure is not e for e in errors):
            errors.insert(0, failure)  # not an output's own failure (those come in the outputs' order)
        if errors:
            raise errors[0] if len(errors) == 1 else SiamFCError("; ".join(map(str, errors)), errors[0].key)

    def summary(self) -> list[str]:
        """What was written, for the summary line."""
        parts = [f"{flag[2:]}: " + ", ".join(os.fspath(f.path) for f in files) for flag, files in self.files.items()]
        parts += [f"video: {self.video.path}"] if self.video is not None else []
        return parts or ["no outputs (use --boxes, --scores or --output)"]
