"""Same as ``siamfc train``; usable as ``torchrun --nproc-per-node N tools/train.py --config ...``."""

import sys

from siamfc.cli.main import main

if __name__ == "__main__":
    sys.exit(main(["train", *sys.argv[1:]]))
