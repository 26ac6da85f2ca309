"""``siamfc train`` with the research terms of experiments/teachers.py registered (a config's ``experiment:``
section), with the same options:

    python experiments/train.py --config experiments/configs/mobile_lite_features.yaml
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import teachers  # noqa: E402, F401 - registers the terms

from siamfc.cli.main import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(["train", *sys.argv[1:]]))
