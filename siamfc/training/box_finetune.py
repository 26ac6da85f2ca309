"""Fine-tuning a box-head model (:mod:`siamfc.models.boxnet`) on pairs of siamfc's crop caches (a training
config's ``data``): AdamW, the trunk at a fraction of the head's rate, a log-linear decay, and checkpoints
that a killed run resumes from.

Its targets and loss: a cell is positive within a quarter of the box of its centre (the nearest cell always),
ignored elsewhere in the box, negative outside it or in a negative pair; the loss is the balanced
cross-entropy of the classification map plus ``1 - IoU`` of the box map on positive cells (UnitBox / FCOS)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Subset

from ..data.pairs import PairDataset, chw
from ..errors import SettingError
from ..models.boxnet import BoxTrackNet
from ..models.checkpoint import atomic_save, read_checkpoint, save_checkpoint
from ..settings import setting
from ..tracking.step import BoxGrid
from .config import Section

POSITIVE, IGNORED, NEGATIVE = 1, -1, 0


def box_targets(boxes: torch.Tensor, positive: torch.Tensor, cells: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """Labels (B, G, G) in {1, 0, -1} and distances (B, 4, G, G) to the sides of ``boxes`` (B, 4) = (cx, cy,
    w, h), for pairs ``positive`` (B,) 1.0 or 0.0 and ``cells`` (G,) at these view pixels along an axis."""
    c = torch.as_tensor(cells, dtype=boxes.dtype, device=boxes.device)
    cx, cy, w, h = (boxes[:, i].view(-1, 1, 1) for i in range(4))
    dx, dy = c.view(1, 1, -1) - cx, c.view(1, -1, 1) - cy
    distances = torch.stack([(dx + w / 2).expand(-1, len(c), -1), (dy + h / 2).expand(-1, -1, len(c)),
                             (w / 2 - dx).expand(-1, len(c), -1), (h / 2 - dy).expand(-1, -1, len(c))], dim=1)
    inside = (dx.abs() < w / 2) & (dy.abs() < h / 2)
    central = (dx.abs() <= w / 4) & (dy.abs() <= h / 4)
    nearest = ((dx.abs() <= (c[1] - c[0]) / 2) & (dy.abs() <= (c[1] - c[0]) / 2))
    labels = torch.full(inside.shape, NEGATIVE, dtype=torch.long, device=boxes.device)
    labels[inside] = IGNORED
    labels[central | (nearest & inside)] = POSITIVE
    labels[positive.view(-1) < 0.5] = NEGATIVE
    return labels, distances


def balanced_cross_entropy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """(B, 2, G, G) logits: the mean of the positive cells' mean loss and the negative cells'."""
    loss = F.cross_entropy(logits, labels.clamp(min=0), reduction="none")
    parts = [loss[mask].mean() for mask in (labels == POSITIVE, labels == NEGATIVE) if mask.any()]
    return sum(parts) / len(parts)


def iou_loss(predicted: torch.Tensor, target: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean ``1 - IoU`` over positive cells of (B, 4, G, G) distances (0 without positive cells)."""
    mask = labels == POSITIVE
    if not mask.any():
        return predicted.sum() * 0.0
    p, t = (v.permute(0, 2, 3, 1)[mask] for v in (predicted, target))  # (P, 4): l, t, r, b
    area_p = (p[:, 0] + p[:, 2]) * (p[:, 1] + p[:, 3])
    area_t = (t[:, 0] + t[:, 2]) * (t[:, 1] + t[:, 3])
    inter = (torch.minimum(p[:, 0], t[:, 0]) + torch.minimum(p[:, 2], t[:, 2])) * \
            (torch.minimum(p[:, 1], t[:, 1]) + torch.minimum(p[:, 3], t[:, 3]))
    return (1.0 - inter / (area_p + area_t - inter).clamp(min=1e-6)).mean()


class BoxPairDataset(PairDataset):
    """:class:`PairDataset` whose samples carry the target's box in the search view."""

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """(exemplar, search, box (cx, cy, w, h) in search-view pixels, 1.0 positive / 0.0 negative)."""
        rng, z_crop, x_crop, x_size, positive = self.draw(index)
        z, x, offset, size = self.augment.with_size(z_crop, x_crop, rng, x_size)
        mid = (self.augment.search_size - 1) / 2
        box = np.array([mid + offset[1], mid + offset[0], size[1], size[0]], np.float32)
        return (*chw(z, x), torch.from_numpy(box), torch.tensor(float(positive)))


@dataclass
class FinetuneSettings(Section):
    """The recipe's numbers."""

    steps: int = setting(1200, ge=1)
    batch_size: int = setting(16, ge=1)
    lr: float = setting(1e-4, gt=0)  # the head's; the trunk's is lr * trunk_lr_ratio
    final_lr_ratio: float = setting(0.1, gt=0, le=1)
    trunk_lr_ratio: float = setting(0.1, gt=0, le=1)
    weight_decay: float = setting(1e-4, ge=0)
    box_weight: float = setting(1.0, ge=0)
    checkpoint_minutes: float = setting(2.0, gt=0)
    seed: int = setting(0, ge=0)
    workers: int = setting(1, ge=0)


def learning_rate_factor(step: int, steps: int, final_ratio: float) -> float:
    """Log-linear from 1 at step 0 to ``final_ratio`` at the last step."""
    return final_ratio ** (step / max(steps - 1, 1))


def finetune(net: BoxTrackNet, data: BoxPairDataset, settings: FinetuneSettings, out_dir: str | Path,
             resume: bool = False, log=print) -> Path:
    """Train ``net`` in place; returns the path of the final box checkpoint (``out_dir/model.pth``)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(settings.seed)
    groups = [{"params": net.backbone.parameters(), "lr": settings.lr * settings.trunk_lr_ratio},
              {"params": net.head.parameters(), "lr": settings.lr}]
    optimizer = torch.optim.AdamW(groups, weight_decay=settings.weight_decay)
    base, last, step = [g["lr"] for g in optimizer.param_groups], out / "last.pth", 0
    if last.is_file() and not resume:
        raise SettingError(f"out_dir {out}: holds a run (last.pth); resume it or choose another folder", str(out))
    if last.is_file():
        state = read_checkpoint(last)
        net.load_state_dict(state["state_dict"])
        optimizer.load_state_dict(state["optimizer"])
        step = int(state["step"])
        log(f"resumed at step {step} from {last}")
    grid = BoxGrid.create(-(-data.augment.search_size // net.stride), net.stride, data.augment.search_size)
    per_epoch, last_save = max(len(data) // settings.batch_size, 1), time.monotonic()
    net.train()
    while step < settings.steps:
        data.set_epoch(step // per_epoch)
        seen = (step % per_epoch) * settings.batch_size  # a resumed run starts after the pairs it has seen
        loader = DataLoader(Subset(data, range(seen, per_epoch * settings.batch_size)), batch_size=settings.batch_size,
                            num_workers=settings.workers, drop_last=True)
        for z, x, boxes, positive in islice(loader, settings.steps - step):
            factor = learning_rate_factor(step, settings.steps, settings.final_lr_ratio)
            for group, lr in zip(optimizer.param_groups, base, strict=True):
                group["lr"] = lr * factor
            labels, distances = box_targets(boxes, positive, grid.cells)
            cls, box = net(z.float(), x.float())
            cls_loss, iou = balanced_cross_entropy(cls, labels), iou_loss(box, distances, labels)
            loss = cls_loss + settings.box_weight * iou
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 10.0)
            optimizer.step()
            step += 1
            if step % 50 == 0 or step in (1, settings.steps):
                log(f"step {step}/{settings.steps} loss {loss.item():.4f} cls {cls_loss.item():.4f} "
                    f"iou {iou.item():.4f} lr {base[1] * factor:.2e}")
            if time.monotonic() - last_save > settings.checkpoint_minutes * 60 or step == settings.steps:
                atomic_save({"state_dict": net.state_dict(), "optimizer": optimizer.state_dict(), "step": step}, last)
                last_save = time.monotonic()
    net.eval()
    save_checkpoint(out / "model.pth", net, recipe=settings.__dict__.copy())
    return out / "model.pth"
