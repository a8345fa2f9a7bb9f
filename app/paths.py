"""Where the application keeps the user's things on disk.

Windows: ``%LOCALAPPDATA%\\EVBatteryMonitor``; macOS: ``~/Library/Application Support``;
elsewhere the XDG folders. ``EVBM_HOME`` overrides all of them with one folder, which the
tests and the self-test use so that they never touch a real workspace.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

APP_DIR_NAME = "EVBatteryMonitor"


def _base(kind: str) -> Path:
    override = os.environ.get("EVBM_HOME")
    if override:
        return Path(override) / kind
    home = Path.home()
    if sys.platform == "win32":
        root = Path(os.environ.get("LOCALAPPDATA", home / "AppData" / "Local"))
        return root / APP_DIR_NAME / kind
    if sys.platform == "darwin":
        return home / "Library" / "Application Support" / APP_DIR_NAME / kind
    xdg = {
        "data": ("XDG_DATA_HOME", home / ".local" / "share"),
        "config": ("XDG_CONFIG_HOME", home / ".config"),
        "logs": ("XDG_STATE_HOME", home / ".local" / "state"),
        "cache": ("XDG_CACHE_HOME", home / ".cache"),
    }
    variable, default = xdg[kind]
    return Path(os.environ.get(variable, default)) / "ev-battery-monitor"


def data_dir() -> Path:
    """The local workspace lives here (SQLite database, trace cache)."""
    return _base("data")


def config_dir() -> Path:
    return _base("config")


def log_dir() -> Path:
    return _base("logs")


def cache_dir() -> Path:
    return _base("cache")


def shipped_dir(name: str) -> Path:
    """A folder shipped with the application (``dbc``, ``resources``), in a source tree or a
    PyInstaller bundle."""
    bundle = getattr(sys, "_MEIPASS", None)
    root = Path(bundle) if bundle else Path(__file__).resolve().parent.parent
    return root / name
