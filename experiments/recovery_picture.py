"""Draw docs/images/recovery.jpg: a target that leaves the view and comes back far away, tracked
with re-detection off (left) and on (right), default settings otherwise, on a synthetic sequence
(a patterned square on noisy grey, as in tests/test_lost.py).

    python experiments/recovery_picture.py [--out docs/images/recovery.jpg]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from siamfc.io.drawing import annotate_frame, draw_text  # noqa: E402
from siamfc.tracking.tracker import SiamFCTracker  # noqa: E402


def frames() -> tuple[list[np.ndarray], np.ndarray]:
    rng = np.random.default_rng(0)
    background = rng.normal(120, 6, (360, 640, 3)).clip(0, 255).astype(np.uint8)
    target = np.zeros((48, 48, 3), np.uint8)
    target[:24, :24] = target[24:, 24:] = (230, 30, 30)
    target[:24, 24:], target[24:, :24] = (20, 20, 200), (250, 230, 40)
    positions = [(60 + 2 * i, 110) for i in range(4)] + [None] * 8 + [(520, 280)] * 30
    out = []
    for pos in positions:
        frame = background.copy()
        if pos is not None:
            frame[pos[1]:pos[1] + 48, pos[0]:pos[0] + 48] = target
        out.append(frame)
    return out, np.array([60, 110, 48, 48], float)


def run(redetect: bool, images: list[np.ndarray], box: np.ndarray) -> list[np.ndarray]:
    tracker = SiamFCTracker(redetect=redetect)
    tracker.init(images[0], box)
    shown = []
    for number, image in enumerate(images[1:], start=2):
        result = tracker.update(image)
        shown.append(annotate_frame(image.copy(), [result], number, None, None, [tracker.score], [tracker.present]))
    return shown


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "images" / "recovery.jpg"))
    args = parser.parse_args()
    images, box = frames()
    off, on = run(False, images, box), run(True, images, box)
    pick = [10, len(off) - 1]  # away and lost (frame 12), and after it is back (the last frame)
    rows = []
    for i in pick:
        left = draw_text(off[i], ["re-detection off"], (8, off[i].shape[0] - 40))
        right = draw_text(on[i], ["re-detection on"], (8, on[i].shape[0] - 40))
        rows.append(np.hstack([left, np.full((left.shape[0], 8, 3), 255, np.uint8), right]))
    picture = np.vstack([rows[0], np.full((8, rows[0].shape[1], 3), 255, np.uint8), rows[1]])
    picture = cv2.resize(picture, (picture.shape[1] * 3 // 4, picture.shape[0] * 3 // 4), interpolation=cv2.INTER_AREA)
    cv2.imwrite(args.out, cv2.cvtColor(picture, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 85])
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
