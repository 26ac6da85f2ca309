"""Fine-tune NanoTrack v2's network (the box-head family) on siamfc's training data.

    python tools/finetune_box.py --nano-dir ../shared/weights/nanotrack_v2 --out runs/box_s0 --seed 0

The data section of ``--config`` (default configs/box_nanotrack_finetune.yaml) gives the sources and
augmentation; the recipe's numbers are siamfc.training.box_finetune.FinetuneSettings. A killed run goes
on with ``--resume``. Writes OUT/model.pth (a box-head checkpoint: ``--weights OUT/model.pth``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tool_errors import REPO_ROOT, config_error, failer

fail = failer(__file__)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nano-dir", required=True, help="folder with NanoTrack v2's two ONNX files")
    parser.add_argument("--config", default=str(REPO_ROOT / "configs" / "box_nanotrack_finetune.yaml"))
    parser.add_argument("--out", required=True, help="output folder (last.pth, model.pth)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=None, help="default: the recipe's")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--resume", action="store_true")
    args = parser.parse_args(argv)

    import torch

    from siamfc.data.pairs import PairAugment
    from siamfc.models.boxnet import load_nanotrack_v2
    from siamfc.training.box_finetune import BoxPairDataset, FinetuneSettings, finetune
    from siamfc.training.build import build_pair_dataset
    from siamfc.training.config import load_config

    torch.set_num_threads(max(1, args.threads))
    try:
        cfg = load_config(args.config)
        steps = {} if args.steps is None else {"steps": args.steps}
        settings = FinetuneSettings(seed=args.seed, workers=cfg.data.num_workers, **steps)  # before the slow part
        net = load_nanotrack_v2(args.nano_dir, channel_order="bgr")
        pairs = build_pair_dataset(cfg.data, args.seed)
        data = BoxPairDataset(pairs.sources, PairAugment(cfg.data.augment, cfg.data.exemplar_size,
                                                         cfg.data.search_size),
                              cfg.data.pairs_per_epoch, args.seed, cfg.data.negative_prob)
        path = finetune(net, data, settings, args.out, resume=args.resume, log=lambda m: print(m, flush=True))
    except (ValueError, OSError) as exc:
        fail(config_error(exc))
    except KeyboardInterrupt:
        print(f"stopped: go on with --resume (from {Path(args.out) / 'last.pth'})", file=sys.stderr)
        return 130
    print(f"model: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
