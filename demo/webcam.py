"""Live tracking from a webcam: ``python demo/webcam.py [--camera 0 | --video FILE] [--record out.mp4]``.

The same as ``siamfc webcam`` (see ``siamfc webcam --help`` and docs/demo.md): drag a box around
the target with the mouse; r reselects, space pauses, s saves a snapshot, q or Esc quits.
"""

import sys

from siamfc.cli.main import main

if __name__ == "__main__":
    sys.exit(main(["webcam", *sys.argv[1:]]))
