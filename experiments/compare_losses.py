"""Equal short training runs with each objective (balanced logistic, contrastive, triplet) from the
same seed, initial weights and pairs, then ao_seq_mean / SR0.5 of each model tracking a few validation
sequences (limited frames). Writes a markdown table.

Distillation and feature hints are switched off so that only the objective differs. Runs this
short say which objective learns fastest from scratch, not which ends best; treat small differences
as noise. The default config is the repository's ``configs/alexnet_w30_mini.yaml``; relative paths
inside a config are relative to the working folder, as for ``siamfc train``.

    python experiments/compare_losses.py --config configs/alexnet_w30_mini.yaml --steps 100 \\
        --val-sequences 4 --val-frames 60 --out runs/compare_losses/table.md
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
from tool_errors import DEFAULT_CONFIG, config_error, failer  # noqa: E402

from siamfc.data.sequences import got10k_sequences  # noqa: E402
from siamfc.training.config import load_config  # noqa: E402
from siamfc.training.losses import LOSSES  # noqa: E402
from siamfc.training.trainer import Trainer, validate  # noqa: E402

fail = failer(__file__)


def train_one(config: str | Path, loss: str, steps: int, batch_size: int, out_dir: Path, threads: int,
              seed: int) -> tuple:
    overrides = {
        "loss.name": loss, "loss.teacher": None, "loss.distill_weight": 0.0,
        "experiment": {},
        "val.root": None, "optim.epochs": 1, "optim.batch_size": batch_size,
        "data.pairs_per_epoch": steps * batch_size, "out_dir": str(out_dir / loss),
        "tensorboard": False, "checkpoint_minutes": 1e9, "threads": threads, "seed": seed, "device": "cpu",
    }
    cfg = load_config(config, overrides)
    losses: list[float] = []  # every step's loss, for the curve's start and end
    trainer = Trainer(cfg, quiet=True, on_step=[lambda _trainer, loss: losses.append(loss)])
    t0 = time.perf_counter()
    trainer.fit()
    seconds = time.perf_counter() - t0
    trainer.close()
    return trainer.model, losses, seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG,
                        help="data, model and optimizer (default: the repository's configs/alexnet_w30_mini.yaml)")
    parser.add_argument("--losses", nargs="+", default=["logistic", "contrastive", "triplet"])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--val-root", help="GOT-10k-layout root (default: the config's val.root)")
    parser.add_argument("--val-sequences", type=int, default=4, help="the first N of val/list.txt")
    parser.add_argument("--val-frames", type=int, default=60, help="frames tracked per sequence")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="runs/compare_losses/table.md", help="markdown table (and .json beside)")
    args = parser.parse_args(argv)
    for name in ("steps", "batch_size", "val_sequences", "val_frames", "threads"):
        if getattr(args, name) < 1:
            fail(f"--{name.replace('_', '-')} {getattr(args, name)}: must be 1 or more")
    if not args.config.is_file():
        fail(f"--config {args.config}: no such file")
    out = Path(args.out)
    if out.exists() and not out.is_file():
        fail(f"--out {out}: is not a file")

    try:
        base = load_config(args.config)
        unknown = sorted(set(args.losses) - set(LOSSES))
        if unknown:  # refused before any training
            fail(f"--losses {' '.join(unknown)}: unknown; known: {', '.join(LOSSES)}")
        val_root = args.val_root or base.val.root
        if not val_root:
            fail("no validation root: give --val-root or a config with val.root")
        sequences = got10k_sequences(val_root, base.val.subset)[:args.val_sequences]
    except ValueError as exc:
        fail(config_error(exc))
    rows = []
    with tempfile.TemporaryDirectory(prefix="compare_losses_") as tmp:
        for loss in args.losses:
            print(f"training with the {loss} loss ({args.steps} steps x {args.batch_size} pairs)...", file=sys.stderr)
            try:
                model, losses, seconds = train_one(args.config, loss, args.steps, args.batch_size, Path(tmp),
                                                   args.threads, args.seed)
            except ValueError as exc:  # a missing dataset root, a bad config value
                fail(config_error(exc))
            t0 = time.perf_counter()
            scores = validate(model.eval(), sequences, args.val_frames)
            rows.append({"loss": loss, "ao": scores["ao_seq_mean"], "auc": scores["auc"], "sr50": scores["sr50"],
                         "first_loss": float(np.mean(losses[:10])), "last_loss": float(np.mean(losses[-10:])),
                         "train_seconds": round(seconds, 1), "val_seconds": round(time.perf_counter() - t0, 1),
                         "per_sequence": scores["sequences"]})
            print(json.dumps({k: v for k, v in rows[-1].items() if k != "per_sequence"}), file=sys.stderr)

    names = ", ".join(s.name for s in sequences)
    lines = [
        f"Equal runs from seed {args.seed}: {base.model.backbone} width {base.model.width}, {args.steps} steps x "
        f"{args.batch_size} pairs ({args.steps * args.batch_size} pairs) of `{args.config}`'s data and optimizer, "
        f"no distillation; validation: {len(sequences)} sequences of {val_root}/{base.val.subset} ({names}), "
        f"first {args.val_frames} frames each.",
        "",
        "| loss | ao_seq_mean | SR0.5 | train loss, first 10 steps -> last 10 | train time (s) |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(f"| {r['loss']} | {r['ao']:.3f} | {r['sr50']:.3f} | {r['first_loss']:.4f} -> "
                     f"{r['last_loss']:.4f} | {r['train_seconds']:.0f} |")
    table = "\n".join(lines) + "\n"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(table)
    out.with_suffix(".json").write_text(json.dumps(rows, indent=1))
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
