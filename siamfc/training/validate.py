"""Validation by tracking annotated sequences, with ``siamfc eval``'s figures (:mod:`siamfc.evaluation.metrics`)."""

from __future__ import annotations

import copy

import cv2
import numpy as np
from tqdm import tqdm

from ..data.sequences import Sequence, got10k_sequences
from ..errors import SettingError, SiamFCError
from ..evaluation.metrics import SequenceFigures, Truth, bootstrap_mean, overall_figures, sequence_figures
from ..models.network import SiamFCNet
from ..tracking.tracker import SiamFCTracker
from .config import ValConfig


def read_val_sequences(val: ValConfig) -> list[Sequence] | None:
    """The sequences of ``val.root`` and ``val.more_roots`` (None without ``val.root``)."""
    if not val.root:
        return None
    sequences = []
    for i, root in enumerate([val.root, *val.more_roots]):
        key = f"val.more_roots[{i - 1}]" if i else "val.root"
        try:
            sequences += got10k_sequences(root, val.subset)
        except ValueError as exc:
            raise SettingError(f"{key}: {exc}", key) from exc
    return sequences


def sequence_scores(tracker: SiamFCTracker, seq: Sequence, max_frames: int = 0) -> SequenceFigures:
    """``tracker`` on ``seq`` (its first ``max_frames`` frames; 0: all) from its first box, scored as in eval."""
    from PIL import Image

    n = min(len(seq), max_frames) if max_frames else len(seq)
    boxes = np.zeros((n, 4))
    for i in range(n):
        bgr = cv2.imread(str(seq.frames[i]))
        if bgr is None and i == 0:
            raise SiamFCError(f"{seq.frames[0]}: cannot read the first frame of {seq.name}", str(seq.frames[0]))
        if bgr is None:  # an unreadable frame keeps the previous box rather than ending the run
            boxes[i] = boxes[i - 1]
        elif i == 0:
            tracker.init(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), seq.boxes[0])
            boxes[0] = seq.boxes[0]
        else:
            boxes[i] = tracker.update(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    with Image.open(seq.frames[0]) as image:  # reads the header only
        bound = image.size
    return sequence_figures([boxes], Truth(seq.boxes[:n], seq.visible[:n], bound))


_KEYS = ("ao", "sr50", "sr75", "auc", "evaluated_frames")  # per sequence


def validate(model: SiamFCNet, sequences: list[Sequence], max_frames: int = 0, quiet: bool = True) -> dict:
    """``model`` tracking ``sequences``: ``auc`` with ``auc_low``, ``auc_high`` (95% bootstrap interval over
    sequences), ``ao``, ``ao_seq_mean``, ``sr50``, ``sr75`` as in ``siamfc eval``, and each ``sequences``'s."""
    tracker = SiamFCTracker(model=copy.deepcopy(model), device=next(model.parameters()).device)
    figures = {seq.name: sequence_scores(tracker, seq, max_frames)
               for seq in tqdm(sequences, desc="validating", disable=quiet, leave=False)}
    per_sequence = {name: {k: f.summary()[k] for k in _KEYS} for name, f in figures.items()}
    overall = overall_figures(figures)
    auc = bootstrap_mean([v["auc"] for v in per_sequence.values()])
    return {"auc": auc.mean, "auc_low": auc.low, "auc_high": auc.high,
            **{k: overall[k] for k in ("ao", "ao_seq_mean", "sr50", "sr75")}, "sequences": per_sequence}
