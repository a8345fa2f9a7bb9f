"""Logging set-up: one file in the user's log folder, plus stderr for the command line."""

from __future__ import annotations

import logging
import logging.handlers

from app import paths

# Per-frame detail goes below DEBUG so that DEBUG stays readable.
TRACE = 5
logging.addLevelName(TRACE, "TRACE")

_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


def configure(level: int = logging.INFO, to_stderr: bool = False) -> None:
    """Send the application's log to ``<log dir>/ev-battery-monitor.log`` (rotated)."""
    root = logging.getLogger()
    root.setLevel(level)
    folder = paths.log_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(
            folder / "ev-battery-monitor.log", maxBytes=5_000_000, backupCount=3, encoding="utf-8"
        )
        handler.setFormatter(logging.Formatter(_FORMAT))
        root.addHandler(handler)
    except OSError as exc:  # a read-only home must not stop the program; say so on stderr
        to_stderr = True
        logging.getLogger(__name__).warning("cannot write the log file in %s: %s", folder, exc)
    if to_stderr:
        console = logging.StreamHandler()
        console.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        console.setLevel(max(level, logging.WARNING))
        root.addHandler(console)
