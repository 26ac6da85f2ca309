"""Stochastic weight averaging (Izmailov et al., 2018): the average of several checkpoints of one run, with
BatchNorm's statistics recomputed on training pairs drawn as a config's ``data`` section draws them (the
mean of the checkpoints' own statistics fits none of them). Result: docs/experiments.md.

    python experiments/swa.py runs/mobile_lite_swa/model_e0{01,02,03,04,05,06,07,08,09,10}.pth \
        --config experiments/configs/mobile_lite_swa.yaml --out runs/mobile_lite_swa/model_swa.pth
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from siamfc.errors import SiamFCError
from siamfc.models.boxnet import BoxTrackNet
from siamfc.models.checkpoint import average_checkpoints
from siamfc.training.build import build_pair_dataset
from siamfc.training.config import load_config

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
from average_checkpoints import average_into  # noqa: E402


@torch.no_grad()
def recompute_batchnorm(model: nn.Module, pairs: Dataset, batches: int, batch_size: int = 8) -> int:
    """Reset every BatchNorm layer's running statistics to the plain average over ``batches`` batches of
    ``pairs`` (exemplars and searches, each its own forward pass as in training), then eval mode. Returns
    the number of layers updated."""
    layers = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not layers:
        return 0
    if batches < 1:
        raise SiamFCError(f"--bn-batches must be 1 or more, got {batches}", "--bn-batches")
    momenta = [layer.momentum for layer in layers]
    for layer in layers:
        layer.reset_running_stats()
        layer.momentum = None  # a cumulative average over every forward pass
    model.train()
    loader = DataLoader(pairs, batch_size=batch_size, shuffle=False, drop_last=True)
    try:
        done = 0
        for z, x, *_ in loader:
            model.embed_exemplar(z.float())
            model.embed_search(x.float())
            done += 1
            if done == batches:
                break
        if done < batches:
            raise SiamFCError(f"only {done} batches of {batch_size} pairs to recompute BatchNorm on, {batches} "
                              "asked", "--bn-batches")
    finally:
        for layer, momentum in zip(layers, momenta, strict=True):
            layer.momentum = momentum
        model.eval()
    return len(layers)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkpoints", nargs="+", metavar="CKPT", help="checkpoints of one run (two or more)")
    parser.add_argument("--config", required=True, help="the training config whose data section draws the pairs")
    parser.add_argument("--out", required=True, metavar="PATH", help="the averaged checkpoint to write")
    parser.add_argument("--bn-batches", type=int, default=250, metavar="N",
                        help="batches of the config's batch size to recompute the statistics on (default 250)")
    args = parser.parse_args(argv)

    def make() -> tuple[nn.Module, dict]:
        cfg = load_config(args.config)  # a bad config before any work
        model = average_checkpoints(args.checkpoints)
        if isinstance(model, BoxTrackNet):
            raise SiamFCError("box-head checkpoints have no BatchNorm to recompute", args.checkpoints[0])
        recompute_batchnorm(model, build_pair_dataset(cfg.data, cfg.seed, quiet=True), args.bn_batches,
                            cfg.optim.batch_size)
        return model, {"batchnorm": {"config": args.config, "pairs": args.bn_batches * cfg.optim.batch_size}}

    return average_into(parser, args, make, " (BatchNorm recomputed)")


if __name__ == "__main__":
    raise SystemExit(main())
