"""What the got10k toolkit's run loop needs from us, without patching it (the patches are in
:mod:`.got10k_compat`):

- :class:`SequenceDataset`: sequences read by :mod:`siamfc.data` behind the toolkit's dataset
  interface, so its loop tracks exactly the frames and first box the data layer found.
- :func:`only_sequences`: keep only some sequences of a toolkit dataset for a while
  (``--sequences``, one sequence per worker task).
- :class:`DecodeBeforeTiming`: the toolkit times ``Image.open`` + ``update``; PIL decodes lazily,
  so JPEG decoding would count as tracking time. This mixin decodes first, then times the tracker.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator, Sequence

import numpy as np
from PIL import Image

from ..data.sequences import Sequence as DataSequence
from ..errors import SiamFCError
from ..geometry import check_frame_size

_LISTS = ("seq_names", "seq_dirs", "anno_files")  # the per-sequence lists of a toolkit dataset


def restrict_dataset(dataset, names: Sequence[str]) -> None:
    """Keep only ``names`` (in that order) in a toolkit dataset (GOT10k, OTB, VOT, SequenceDataset)."""
    index = {name: i for i, name in enumerate(dataset.seq_names)}
    keep = [index[n] for n in names]
    for attr in _LISTS:
        if hasattr(dataset, attr):
            setattr(dataset, attr, [getattr(dataset, attr)[i] for i in keep])


class DecodeBeforeTiming:
    """Mixin for a got10k ``Tracker``: same ``track`` loop, but frames are decoded to RGB arrays
    before the clock starts, so the recorded times are the tracker's own."""

    def track(self, img_files, box, visualize=False):
        frame_num = len(img_files)
        boxes = np.zeros((frame_num, 4))
        boxes[0] = box
        times = np.zeros(frame_num)
        size = None
        for f, img_file in enumerate(img_files):
            image = read_rgb(img_file)
            size = check_frame_size(size, image.shape, img_file)  # every tracker's boxes in one frame's pixels
            start = time.perf_counter()
            if f == 0:
                self.init(image, box)
            else:
                boxes[f, :] = self.update(image)
            times[f] = time.perf_counter() - start
        return boxes, times


def read_rgb(path: str | os.PathLike) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


class SequenceDataset:
    """The toolkit's dataset interface (``seq_names``, ``[i] ->
    (frame paths, boxes)``) over sequences read by :mod:`siamfc.data`, so the toolkit's run loop
    tracks exactly the frames and first box that the data layer found."""

    def __init__(self, sequences: Sequence[DataSequence]) -> None:
        names = [s.name for s in sequences]
        clash = sorted({n for n in names if names.count(n) > 1})
        if clash:
            raise SiamFCError(f"sequence name {clash[0]!r} is in more than one root")
        self.return_meta = False
        self.sequences = {s.name: s for s in sequences}
        self.seq_names = names

    def __len__(self) -> int:
        return len(self.seq_names)

    def __getitem__(self, index: int | str):
        name = index if isinstance(index, str) else self.seq_names[index]
        seq = self.sequences[name]
        return [os.fspath(p) for p in seq.frames], seq.boxes  # the toolkit takes strings


@contextlib.contextmanager
def only_sequences(dataset, names: Sequence[str]) -> Iterator[None]:
    """Restrict a toolkit dataset to ``names`` for the duration of the block."""
    saved = {attr: getattr(dataset, attr) for attr in _LISTS if hasattr(dataset, attr)}
    restrict_dataset(dataset, names)
    try:
        yield
    finally:
        for attr, value in saved.items():
            setattr(dataset, attr, value)
