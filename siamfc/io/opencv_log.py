"""OpenCV's own log lines (``[ WARN:0@1.2] global cap.cpp:212 open ...``): every command shows
them only with ``--verbose``. They repeat what the commands report in one line (a video that does
not open or cannot be written), once per frame for some failures, and ``-q`` did not hide them.

OpenCV reads ``OPENCV_LOG_LEVEL`` once, when it is first imported; this module does not import it."""

from __future__ import annotations

import os
import sys

ENV = "OPENCV_LOG_LEVEL"


def set_opencv_log_level(verbose: bool) -> None:
    """Errors only, or with ``verbose`` OpenCV's usual warnings too: in the environment (for an
    OpenCV imported later, here or in a worker process) and in an OpenCV already imported."""
    os.environ[ENV] = "WARNING" if verbose else "ERROR"
    cv2 = sys.modules.get("cv2")
    if cv2 is not None:
        logging = cv2.utils.logging
        logging.setLogLevel(logging.LOG_LEVEL_WARNING if verbose else logging.LOG_LEVEL_ERROR)
