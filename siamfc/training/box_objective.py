"""Targets and loss of the box-head family: a cell is positive within a quarter of the box of its centre
(the nearest cell always), ignored elsewhere in the box, negative outside it or in a negative pair; the
loss is the balanced cross-entropy of the classification map plus ``1 - IoU`` of the box map on positive
cells (UnitBox / FCOS)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

POSITIVE, IGNORED, NEGATIVE = 1, -1, 0


def box_targets(boxes: torch.Tensor, positive: torch.Tensor, cells: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """Labels (B, G, G) in {1, 0, -1} and distances (B, 4, G, G) to the sides of ``boxes`` (B, 4) = (cx, cy,
    w, h), for pairs ``positive`` (B,) 1.0 or 0.0 and ``cells`` (G,) at these view pixels along an axis."""
    c = torch.as_tensor(cells, dtype=boxes.dtype, device=boxes.device)
    cx, cy, w, h = (boxes[:, i].view(-1, 1, 1) for i in range(4))
    gx, gy = c.view(1, 1, -1), c.view(1, -1, 1)
    dx, dy = gx - cx, gy - cy
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
    pos, neg = labels == POSITIVE, labels == NEGATIVE
    parts = [loss[mask].mean() for mask in (pos, neg) if mask.any()]
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


def box_loss(cls: torch.Tensor, box: torch.Tensor, labels: torch.Tensor, distances: torch.Tensor,
             box_weight: float = 1.0) -> tuple[torch.Tensor, dict[str, float]]:
    cls_loss = balanced_cross_entropy(cls, labels)
    loc_loss = iou_loss(box, distances, labels)
    return cls_loss + box_weight * loc_loss, {"cls": float(cls_loss.detach()), "iou": float(loc_loss.detach())}
