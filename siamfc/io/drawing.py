"""Drawing on frames: tracked boxes, the frame number and the speed (in place, RGB images)."""

from __future__ import annotations

import cv2
import numpy as np

#: distinct RGB colours, one per target (cycled)
COLORS: tuple[tuple[int, int, int], ...] = ((0, 255, 0), (255, 64, 64), (64, 160, 255), (255, 200, 0), (255, 0, 255),
                                            (0, 255, 255))
#: the colour of a lost target's (dashed) box
LOST_COLOR: tuple[int, int, int] = (160, 160, 160)


def _thickness(image: np.ndarray) -> int:
    return max(1, round(min(image.shape[:2]) / 240))


def _dashed_rectangle(image: np.ndarray, p1: tuple[int, int], p2: tuple[int, int], color: tuple[int, int, int],
                      thickness: int) -> None:
    dash = 3 * thickness + 2
    (x1, y1), (x2, y2) = p1, p2
    for a, b, fixed, horizontal in ((x1, x2, y1, True), (x1, x2, y2, True), (y1, y2, x1, False), (y1, y2, x2, False)):
        for start in range(a, b + 1, 2 * dash):
            end = min(start + dash, b)
            q1, q2 = ((start, fixed), (end, fixed)) if horizontal else ((fixed, start), (fixed, end))
            cv2.line(image, q1, q2, color, thickness, cv2.LINE_AA)


def draw_box(image: np.ndarray, box: np.ndarray, color: tuple[int, int, int] = COLORS[0],
             label: str | None = None, lost: bool = False) -> np.ndarray:
    """Draw an ``x, y, w, h`` box (covering pixels ``x .. x+w-1``); dashed and grey when ``lost``."""
    x, y, w, h = (float(v) for v in box)
    if not all(np.isfinite([x, y, w, h])):
        return image
    p1, p2 = (round(x), round(y)), (round(x + w - 1), round(y + h - 1))
    thickness = _thickness(image)
    if lost:
        color = LOST_COLOR
        _dashed_rectangle(image, p1, p2, color, thickness)
    else:
        cv2.rectangle(image, p1, p2, color, thickness, cv2.LINE_AA)
    if label:
        scale = 0.4 * thickness
        (tw, th), base = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
        top = p1[1] - th - base - 2 if p1[1] - th - base - 2 >= 0 else p1[1] + thickness
        left = min(max(p1[0], 0), max(image.shape[1] - tw - 5, 0))  # inside the frame (tw + 5 px), like top
        cv2.rectangle(image, (left, top), (left + tw + 4, top + th + base + 2), color, -1)
        cv2.putText(image, label, (left + 2, top + th + 1), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 1, cv2.LINE_AA)
    return image


def draw_text(image: np.ndarray, lines: list[str], origin: tuple[int, int] = (8, 8)) -> np.ndarray:
    """Lines of white text on a dark band in the top-left corner (readable on any background)."""
    thickness = _thickness(image)
    scale = 0.5 * thickness
    x, y = origin
    for line in lines:
        (tw, th), base = cv2.getTextSize(line, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
        cv2.rectangle(image, (x - 4, y - 2), (x + tw + 4, y + th + base + 2), (0, 0, 0), -1)
        cv2.putText(image, line, (x, y + th), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), thickness, cv2.LINE_AA)
        y += th + base + 6
    return image


def annotate_frame(image: np.ndarray, boxes: list[np.ndarray], frame_number: int, fps: float | None,
                   note: str | None, scores: list, present: list) -> np.ndarray:
    """Draw every target's box, labelled by its number (with several), "lost" (where ``present`` is
    False) and its score, then ``frame N``, ``X fps`` and ``note`` in the corner."""
    for target, (box, score, found) in enumerate(zip(boxes, scores, present, strict=True)):
        label = [str(target)] * (len(boxes) > 1) + ["lost"] * (not found) + [f"{float(score):.2f}"]
        draw_box(image, box, COLORS[target % len(COLORS)], " ".join(label), lost=not found)
    lines = [f"frame {frame_number}", *([f"{fps:.1f} fps"] if fps is not None else []), *([note] if note else [])]
    return draw_text(image, lines)
