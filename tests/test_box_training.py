"""Training the box-head family: targets and losses against hand computations, the pair's box in the
search view, and the fine-tuning loop's checkpoints and resume."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from siamfc.data.pairs import AugmentConfig, PairAugment
from siamfc.errors import SettingError
from siamfc.models.boxnet import BoxTrackNet
from siamfc.models.checkpoint import load_box_checkpoint
from siamfc.training.box_finetune import (
    IGNORED,
    NEGATIVE,
    POSITIVE,
    FinetuneSettings,
    balanced_cross_entropy,
    box_targets,
    finetune,
    iou_loss,
    learning_rate_factor,
)

CELLS = np.array([0.0, 16.0, 32.0, 48.0, 64.0])


def test_box_targets_label_centre_ignore_rest_of_box_and_outside() -> None:
    boxes = torch.tensor([[32.0, 32.0, 72.0, 40.0], [32.0, 32.0, 72.0, 40.0]])  # cx, cy, w, h: x -4..68, y 12..52
    labels, distances = box_targets(boxes, torch.tensor([1.0, 0.0]), CELLS)
    # central: |dx| <= 18 (x 16, 32, 48) and |dy| <= 10 (y 32); inside: |dx| < 36 (x 0..64), |dy| < 20 (y 16..48)
    assert labels[0, 2].tolist() == [IGNORED, POSITIVE, POSITIVE, POSITIVE, IGNORED]
    assert labels[0, 1].tolist() == [IGNORED] * 5
    assert labels[0, 0].tolist() == [NEGATIVE] * 5  # y = 0: above the box
    assert (labels[1] == NEGATIVE).all()  # a negative pair
    # cell (row 2, col 1) at x 16, y 32: left 16 - (-4) = 20, top 32 - 12 = 20, right 68 - 16 = 52, bottom 20
    assert distances[0, :, 2, 1].tolist() == [20.0, 20.0, 52.0, 20.0]


def test_balanced_cross_entropy_by_hand() -> None:
    logits = torch.zeros(1, 2, 1, 3)
    logits[0, 1, 0, 0] = 2.0  # a positive cell scored 2 for the target
    logits[0, 1, 0, 1] = -1.0  # a negative cell
    labels = torch.tensor([[[POSITIVE, NEGATIVE, IGNORED]]])
    pos = math.log(1 + math.exp(-2.0))  # -log softmax of the target channel
    neg = math.log(1 + math.exp(-1.0))  # -log softmax of the background channel
    assert float(balanced_cross_entropy(logits, labels)) == pytest.approx((pos + neg) / 2)
    only_negative = torch.tensor([[[NEGATIVE, NEGATIVE, IGNORED]]])
    expected = (math.log(1 + math.exp(2.0)) + neg) / 2  # both cells negative now
    assert float(balanced_cross_entropy(logits, only_negative)) == pytest.approx(expected)


def test_iou_loss_by_hand() -> None:
    target = torch.tensor([10.0, 10.0, 10.0, 10.0]).view(1, 4, 1, 1)  # a 20 x 20 box around the cell
    predicted = torch.tensor([10.0, 10.0, 20.0, 10.0]).view(1, 4, 1, 1)  # 30 x 20, holding it
    labels = torch.tensor([[[POSITIVE]]])
    assert float(iou_loss(predicted, target, labels)) == pytest.approx(1 - 400 / 600)
    assert float(iou_loss(predicted, target, torch.tensor([[[NEGATIVE]]]))) == 0.0


def test_augment_gives_the_box_in_the_search_view() -> None:
    augment = PairAugment(AugmentConfig(stretch=0.0, shift=20.0, flip=0.0, grayscale=0.0, color_jitter=0.0,
                                        blur=0.0, aspect=0.5), 127, 255)
    crop = np.zeros((383, 383, 3), np.uint8)
    crop[191 - 20:191 + 21, 191 - 40:191 + 41] = 255  # a 41 x 81 white box at the crop's centre
    _, x, offset, size = augment.with_size(crop, crop, np.random.default_rng(3), np.array([41.0, 81.0]))
    rows, cols = np.nonzero(x[..., 0] > 127)
    assert abs((rows.min() + rows.max()) / 2 - (127 + offset[0])) < 1.0
    assert abs((cols.min() + cols.max()) / 2 - (127 + offset[1])) < 1.0
    assert abs(rows.max() - rows.min() + 1 - size[0]) < 2.0 and abs(cols.max() - cols.min() + 1 - size[1]) < 2.0


def test_learning_rate_decays_log_linearly() -> None:
    assert learning_rate_factor(0, 11, 0.1) == 1.0
    assert learning_rate_factor(10, 11, 0.1) == pytest.approx(0.1)
    assert learning_rate_factor(5, 11, 0.1) == pytest.approx(math.sqrt(0.1))


class TinyPairs(torch.utils.data.Dataset):
    """Random pairs with a box at the search view's centre (the loop's interface, not the data's)."""

    augment = PairAugment(AugmentConfig(), 127, 255)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return 8

    def __getitem__(self, index: int):
        g = torch.Generator().manual_seed(index)
        return (torch.randint(0, 256, (3, 127, 127), generator=g, dtype=torch.uint8),
                torch.randint(0, 256, (3, 255, 255), generator=g, dtype=torch.uint8),
                torch.tensor([127.0, 127.0, 60.0, 40.0]), torch.tensor(float(index % 4 != 0)))


def test_finetune_writes_a_checkpoint_and_resumes(tmp_path: Path) -> None:
    torch.manual_seed(0)
    settings = FinetuneSettings(steps=3, batch_size=2, workers=0)
    net = BoxTrackNet()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    path = finetune(net, TinyPairs(), settings, tmp_path, log=lambda m: None)
    trained = load_box_checkpoint(path)
    assert any(not torch.equal(before[k], v) for k, v in trained.state_dict().items())
    with pytest.raises(SettingError) as info:
        finetune(BoxTrackNet(), TinyPairs(), settings, tmp_path, log=lambda m: None)
    assert info.value.key == str(tmp_path)
    with pytest.raises(SettingError) as info:
        FinetuneSettings(final_lr_ratio=2.0)
    assert info.value.key == "final_lr_ratio"
    more = FinetuneSettings(steps=4, batch_size=2, workers=0)
    messages: list[str] = []
    finetune(BoxTrackNet(), TinyPairs(), more, tmp_path, resume=True, log=messages.append)
    assert messages[0].startswith("resumed at step 3")
    state = torch.load(tmp_path / "last.pth", weights_only=True)
    assert state["step"] == 4
