"""siamfc models: the models shipped with the package, by name (siamfc/models/shipped.py)."""

from __future__ import annotations

import argparse
import json

HELP = """List the models shipped with the package: name, what it is, accuracy, speed, size and licence.

Give one to any command with --model NAME (track, demo, webcam, eval, bench, export), or in Python
as SiamFCTracker(model="NAME"); --weights PATH takes any other checkpoint."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--json", action="store_true",
                        help="a JSON list: one object a model, with every field and its path")
    parser.add_argument("--quiet", "-q", action="store_true", help="the names only, one a line")


def run(args: argparse.Namespace) -> int:
    from ..models.shipped import DEFAULT_MODEL, SHIPPED

    if args.quiet:
        print("\n".join(m.name for m in SHIPPED))
    elif args.json:
        print(json.dumps([{
            "name": m.name, "default": m.name == DEFAULT_MODEL, "summary": m.summary,
            "val_auc": m.auc.value if m.auc else None,
            "val_auc_interval": [m.auc.low, m.auc.high] if m.auc and m.auc.low is not None else None,
            "val_sequences": m.auc.sequences if m.auc else None, "fps_vs_nanotrack": m.fps_vs_nanotrack,
            "speed_run": m.speed_run, "size_bytes": m.size_bytes(), "pretrained": m.pretrained, "source": m.source,
            "path": str(m.path), "installed": m.path.exists(),
        } for m in SHIPPED], indent=1))
    else:
        for m in SHIPPED:
            speed = f"{m.fps_vs_nanotrack:.2f}x NanoTrack's frames/s ({m.speed_run})" if m.fps_vs_nanotrack else "-"
            print(f"{m.name}{' (default)' if m.name == DEFAULT_MODEL else ''}: {m.summary}\n"
                  f"    val AUC [95%]: {m.auc.text() if m.auc else '-'}\n"
                  f"    speed: {speed}\n"
                  f"    size: {m.size_bytes() / 1e6:.1f} MB (checkpoint and ONNX export)"
                  + ("" if m.path.exists() else "; NOT INSTALLED") + f"\n    pretrained part: {m.pretrained}")
        print('\nuse one: --model NAME (commands), SiamFCTracker(model="NAME") (Python); figures: docs/models.md')
    return 0
