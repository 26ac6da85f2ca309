"""OpenCV's log lines only with ``--verbose``, FFmpeg's never: they repeat the commands' one-line errors.
Both read their level when first loaded; this module does not import OpenCV."""

from __future__ import annotations

import os
import sys


def set_opencv_log_level(verbose: bool) -> None:
    """Errors only (warnings too with ``verbose``), for an OpenCV imported later and one already imported; no
    FFmpeg log lines (``moov atom not found``, ...) unless ``OPENCV_FFMPEG_LOGLEVEL`` is set."""
    os.environ["OPENCV_LOG_LEVEL"] = "WARNING" if verbose else "ERROR"
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
    cv2 = sys.modules.get("cv2")
    if cv2 is not None:
        logging = cv2.utils.logging
        logging.setLogLevel(logging.LOG_LEVEL_WARNING if verbose else logging.LOG_LEVEL_ERROR)

