"""Prove that a change leaves the tracker's boxes as they were: record them, then compare two records.

    PYTHONPATH=/tmp/ref python tools/same_boxes.py record --out runs/ref_boxes.npz    # the code before
    python tools/same_boxes.py record --out runs/new_boxes.npz                        # the code after
    python tools/same_boxes.py compare runs/ref_boxes.npz runs/new_boxes.npz

``record`` tracks every sequence of GOT-10k-layout roots (``list.txt`` or sub-folders, each with its
frames and ``groundtruth.txt``) with shipped models by name through the public API only
(``SiamFCTracker(model=NAME, backend=...)``: init on the first ground-truth box, update on every later
frame), so that it runs unchanged against the code before and after a refactor; the package tracked
is whichever ``import siamfc`` finds (set PYTHONPATH to choose a tree; the record names it). Boxes are
stored per ``MODEL/BACKEND/SEQUENCE``; ``--append`` adds to an existing record. ``compare`` prints, per
model and backend, the frames, the minimum IoU and the largest coordinate difference, and exits 1 when
a box moved by more than ``--tol`` pixels (1e-4) or a key or frame is in one record only.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

SHARED = Path(os.environ.get("SIAMFC_SHARED") or Path(__file__).resolve().parents[2] / "shared")
DATA = SHARED / "data"
DEFAULT_ROOTS = [DATA / "GOT-10k-mini" / "val", DATA / "extra" / "val"]
META = "__meta__"


def sequences(root: Path) -> list[Path]:
    """The sequence folders of a GOT-10k-layout root, in ``list.txt``'s order when it has one."""
    if not root.is_dir():
        raise SystemExit(f"error: --root {root}: no such folder (a GOT-10k-layout root of sequence folders)")
    listed = root / "list.txt"
    if listed.is_file():
        folders = [root / name for name in listed.read_text().split()]
    else:
        folders = sorted(p for p in root.iterdir() if (p / "groundtruth.txt").is_file())
    missing = [str(f) for f in folders if not (f / "groundtruth.txt").is_file()]
    if missing or not folders:
        raise SystemExit(f"error: --root {root}: {missing[0] if missing else 'no sequence'} has no groundtruth.txt")
    return folders


def first_box(folder: Path) -> np.ndarray:
    line = (folder / "groundtruth.txt").read_text().splitlines()[0]
    return np.array([float(v) for v in line.replace(",", " ").split()[:4]])


def frames(folder: Path) -> Iterator[np.ndarray]:
    """The RGB frames of a sequence, in name order."""
    for path in sorted(p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png")):
        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if bgr is None:
            raise SystemExit(f"error: cannot read the frame {path}")
        yield cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def track(model: str, backend: str, folder: Path) -> np.ndarray:
    from siamfc import SiamFCTracker

    tracker = SiamFCTracker(model=model, backend=backend, device="cpu")
    video = frames(folder)
    box = first_box(folder)
    tracker.init(next(video), box)
    boxes = [box]
    for image in video:
        boxes.append(np.asarray(tracker.update(image), dtype=np.float64))
    return np.stack(boxes)


def default_models() -> list[str]:
    try:
        from siamfc.models.shipped import model_names
    except ImportError:
        raise SystemExit("error: this siamfc has no siamfc.models.shipped; name the models with --model") from None
    return list(model_names())


def record(args: argparse.Namespace) -> int:
    import siamfc

    out = Path(args.out)
    roots = [Path(r) for r in args.root] if args.root else DEFAULT_ROOTS
    folders = [f for root in roots for f in sequences(root)]
    stored: dict[str, np.ndarray] = {}
    if args.append and out.exists():
        with np.load(out) as old:
            stored = {k: old[k] for k in old.files if k != META}
    models = args.model or default_models()
    package = str(Path(siamfc.__file__).resolve().parent)
    print(f"siamfc from {package}; OpenCV {cv2.__version__}", file=sys.stderr)
    for model in models:
        start, count = time.perf_counter(), 0
        for folder in folders:
            boxes = track(model, args.backend, folder)
            stored[f"{model}/{args.backend}/{folder.name}"] = boxes
            count += len(boxes)
        print(f"{model} ({args.backend}): {len(folders)} sequences, {count} frames, "
              f"{time.perf_counter() - start:.0f} s", file=sys.stderr)
    meta = {"package": package, "opencv": cv2.__version__, "roots": [str(r) for r in roots]}
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez(out, **stored, **{META: np.array(json.dumps(meta))})
    print(f"wrote {len(stored)} sequences' boxes to {out}", file=sys.stderr)
    return 0


def iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of x, y, w, h boxes, row by row."""
    lo, hi = np.maximum(a[:, :2], b[:, :2]), np.minimum(a[:, :2] + a[:, 2:], b[:, :2] + b[:, 2:])
    inter = np.prod(np.clip(hi - lo, 0, None), axis=1)
    union = np.prod(a[:, 2:], axis=1) + np.prod(b[:, 2:], axis=1) - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def compare(args: argparse.Namespace) -> int:
    with np.load(args.a) as fa, np.load(args.b) as fb:
        a = {k: fa[k] for k in fa.files if k != META}
        b = {k: fb[k] for k in fb.files if k != META}
        for name, f in ((args.a, fa), (args.b, fb)):
            if META in f.files:
                meta = json.loads(str(f[META]))
                print(f"{name}: siamfc from {meta['package']}, OpenCV {meta['opencv']}")
    failed = False
    for key in sorted(a.keys() ^ b.keys()):
        print(f"MISSING {key}: only in {args.a if key in a else args.b}")
        failed = True
    groups: dict[str, list[str]] = {}
    for key in sorted(a.keys() & b.keys()):
        groups.setdefault(key.rsplit("/", 1)[0], []).append(key)
    for group, keys in groups.items():
        frames_, min_iou, max_diff = 0, 1.0, 0.0
        for key in keys:
            if a[key].shape != b[key].shape:
                print(f"DIFFERS {key}: {len(a[key])} frames against {len(b[key])}")
                failed, max_diff = True, float("inf")
                continue
            frames_ += len(a[key])
            min_iou = min(min_iou, float(iou(a[key], b[key]).min()))
            diff = float(np.abs(a[key] - b[key]).max())
            max_diff = max(max_diff, diff)
            if diff > args.tol:
                first = int(np.argmax(np.abs(a[key] - b[key]).max(axis=1) > args.tol))
                print(f"DIFFERS {key}: from frame {first + 1}, up to {diff:.4g} px")
        same = max_diff <= args.tol
        failed |= not same
        print(f"{group}: {len(keys)} sequences, {frames_} frames, min IoU {min_iou:.6f}, "
              f"max |diff| {max_diff:.3g} px: {'same' if same else 'DIFFERENT'}")
    print("identical" if not failed else "NOT identical")
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    rec = commands.add_parser("record", help="track the sequences and store the boxes")
    rec.add_argument("--out", required=True, metavar="FILE.npz")
    rec.add_argument("--root", action="append", metavar="DIR",
                     help="a GOT-10k-layout root; repeatable (default: the 16 val sequences in "
                     "$SIAMFC_SHARED/data, else ../shared/data beside the clone)")
    rec.add_argument("--model", action="append", metavar="NAME", help="a shipped model; repeatable (default: all)")
    rec.add_argument("--backend", default="auto", choices=["auto", "torch"])
    rec.add_argument("--append", action="store_true", help="keep the boxes already in --out and add these")
    cmp = commands.add_parser("compare", help="compare two records box by box")
    cmp.add_argument("a", metavar="A.npz")
    cmp.add_argument("b", metavar="B.npz")
    cmp.add_argument("--tol", type=float, default=1e-4, help="largest coordinate difference allowed, px")
    args = parser.parse_args(argv)
    return record(args) if args.command == "record" else compare(args)


if __name__ == "__main__":
    sys.exit(main())
