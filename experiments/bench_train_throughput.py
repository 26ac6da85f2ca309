"""Training throughput on this machine, in pairs per second, side by side: the training step alone,
the data loader alone, and the two together.

* the training step alone (forward, loss, backward, optimizer step) on batches already in memory,
  for the classic (width 1.0) and the light (width 0.3) AlexNet, and the light one with the
  teachers' work that the config adds (distillation, an experiment's terms) when it names a teacher;
  the step is the trainer's (``Trainer._train_step``): the config's objective
  (``siamfc/training/losses.py``, negative pairs included) and optimizer;
* the data loader alone (the pairs it can produce: cached crops -> augmented pairs -> batches)
  with 0, 1 and 2 worker processes (``--workers``);
* the two together (the light model fed by the loader, 0 and 1 workers), which shows whether the
  loader holds the step back.

The pairs come from the config's datasets through its crop cache (built there if missing). The
default config is the repository's ``configs/alexnet_w30_mini.yaml``; relative paths inside a config
are relative to the working folder, as for ``siamfc train``.
Rounds are interleaved so that a background load affects every row alike; the table gives the
median over rounds and the best round (the least disturbed by other work on the machine).

    python experiments/bench_train_throughput.py --config configs/alexnet_w30_mini.yaml
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import sys
import time
from collections.abc import Iterable
from pathlib import Path

import torch
from torch.utils.data import DataLoader

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
import teachers as _teachers  # noqa: E402, F401 - registers the experiment terms
from tool_errors import DEFAULT_CONFIG, config_error, failer  # noqa: E402

from siamfc.models.network import ModelConfig, build_model  # noqa: E402
from siamfc.training.build import (
    build_optimizer,  # noqa: E402
    build_pair_dataset,  # noqa: E402
)
from siamfc.training.config import LossConfig, TrainConfig, load_config  # noqa: E402
from siamfc.training.losses import Objective  # noqa: E402

fail = failer(__file__)


def make_loader(dataset, batch_size: int, workers: int, batches: int, offset: int = 0) -> DataLoader:
    """Pairs ``offset, offset + 1, ...`` (each pair depends only on its index), as the trainer loads them."""
    return DataLoader(dataset, batch_size=batch_size, sampler=range(offset, offset + batch_size * batches),
                      num_workers=workers, drop_last=True, prefetch_factor=4 if workers else None)


def loader_rate(dataset, batch_size: int, workers: int, batches: int, offset: int) -> float:
    """Pairs/s over ``batches`` batches after the first one (worker start-up excluded)."""
    iterator = iter(make_loader(dataset, batch_size, workers, batches + 1, offset))
    next(iterator)
    t0 = time.perf_counter()
    n = sum(len(batch[0]) for batch in iterator)
    return n / (time.perf_counter() - t0)


class StepBench:
    """One model, objective and optimizer as the trainer builds them; ``run(batches)`` times full
    training steps (``Trainer._train_step`` on the CPU: forward with features, objective, backward,
    optional gradient clipping, optimizer step)."""

    def __init__(self, cfg: TrainConfig, width: float, loss: LossConfig, experiment: dict) -> None:
        torch.manual_seed(0)
        self.cfg = cfg
        self.model = build_model(ModelConfig(backbone="alexnet", width=width)).train()
        self.objective = Objective(loss, self.model.stride, self.model.backbone.out_channels, torch.device("cpu"),
                                   experiment)
        self.optimizer = build_optimizer(self.model, cfg.optim, self.objective.parameters)

    def step(self, z: torch.Tensor, x: torch.Tensor, offsets: torch.Tensor,
             positive: torch.Tensor | None = None) -> None:
        z, x = z.float(), x.float()
        logits, zf, xf = self.model(z, x, return_features=True)
        loss = self.objective(logits.float(), offsets, positive, z, x, zf, xf)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.cfg.optim.grad_clip:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.optim.grad_clip)
        self.optimizer.step()

    def run(self, batches: Iterable) -> float:
        n, t0 = 0, time.perf_counter()
        for batch in batches:  # (z, x, offsets, positive), as the pair loader yields them
            self.step(*batch)
            n += len(batch[0])
        return n / (time.perf_counter() - t0)


def teachers(cfg: TrainConfig) -> str:
    """The teachers whose work the config adds to a step ("" for none), as the objective loads them."""
    names = ["distillation"] if cfg.loss.teacher and cfg.loss.distill_weight else []
    names += list(cfg.experiment)
    return " and ".join(names) + (" teachers" if len(names) > 1 else " teacher") if names else ""


def check_args(args: argparse.Namespace) -> None:
    for name in ("batch_size", "steps", "loader_batches", "rounds", "threads"):
        if getattr(args, name) < 1:
            fail(f"--{name.replace('_', '-')} {getattr(args, name)}: must be 1 or more")
    if any(w < 0 for w in args.workers):
        fail(f"--workers {' '.join(map(str, args.workers))}: must be 0 or more")
    if args.json:
        parent = Path(args.json).resolve().parent
        if not parent.is_dir():
            fail(f"--json {args.json}: no such folder {parent}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG,
                        help="its data, optimizer and loss sections are used (default: the repository's "
                             "configs/alexnet_w30_mini.yaml)")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--steps", type=int, default=6, help="timed training steps per row and round")
    parser.add_argument("--loader-batches", type=int, default=8, help="timed batches per loader row and round")
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 1, 2],
                        help="loader worker processes to time (default: 0 1 2); the loader feeds the light "
                             "step with those of them up to 1 (or the first given)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2, help="torch threads for the training step")
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args(argv)
    check_args(args)
    if not args.config.is_file():
        fail(f"--config {args.config}: no such file")

    torch.set_num_threads(args.threads)
    try:
        cfg = load_config(args.config)
        dataset = build_pair_dataset(cfg.data, cfg.seed)
        plain = dataclasses.replace(cfg.loss, teacher=None, distill_weight=0.0)
        benches = {"classic AlexNet (width 1.0)": StepBench(cfg, 1.0, plain, {}),
                   "light AlexNet (width 0.3)": StepBench(cfg, 0.3, plain, {})}
        if teachers(cfg):
            benches[f"light + {teachers(cfg)}"] = StepBench(cfg, 0.3, cfg.loss, cfg.experiment)
    except (ValueError, OSError) as exc:  # a bad config, a missing dataset root or teacher
        fail(config_error(exc))
    bs = args.batch_size
    # batches in memory for the step-only rows: the step never waits for data there
    batches = list(make_loader(dataset, bs, 0, args.steps + 1))
    for bench in benches.values():  # warm-up (allocator, oneDNN primitives)
        bench.run(batches[:1])

    rates: dict[str, list[float]] = {}
    offset = 0
    for round_ in range(args.rounds):
        for name, bench in benches.items():
            rates.setdefault(f"step: {name}", []).append(bench.run(batches[1:]))
        for workers in args.workers:
            offset += bs * (args.loader_batches + 1)
            rates.setdefault(f"loader alone, {workers} worker(s)", []).append(
                loader_rate(dataset, bs, workers, args.loader_batches, offset))
        for workers in [w for w in args.workers if w <= 1] or args.workers[:1]:
            light = benches["light AlexNet (width 0.3)"]
            offset += bs * (args.steps + 1)
            loader = make_loader(dataset, bs, workers, args.steps + 1, offset)
            iterator = iter(loader)
            light.step(*next(iterator))  # worker start-up and the first batch are not timed
            rates.setdefault(f"loader + light step, {workers} worker(s)", []).append(light.run(iterator))
        print(f"round {round_ + 1}/{args.rounds} done", file=sys.stderr)

    cpu = os.cpu_count()
    print(f"\nbatch {bs}, {args.threads} torch threads, {cpu} CPU cores, {args.rounds} rounds "
          f"(steps {args.steps}, loader batches {args.loader_batches}); 'best' is the least disturbed round\n")
    print("| what | pairs/s (median) | pairs/s (best) |")
    print("|---|---|---|")
    table = {}
    for name, values in rates.items():
        table[name] = statistics.median(values)
        print(f"| {name} | {table[name]:.1f} | {max(values):.1f} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"batch_size": bs, "threads": args.threads, "cpu_count": cpu, "rounds": args.rounds,
                       "median_pairs_per_s": table, "all": rates}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
