"""The window's remembered choices, in one JSON file in the user's config folder.

Recent captures, the theme, the time axis mode, and which databases decode which capture.
Databases are remembered twice: for the capture itself (by its resolved path, size and
modification time, cheap to compute before reading it) and for its folder, since a vehicle's
captures usually sit together; so opening another capture of the same vehicle asks nothing
either. Everything is plain data: tests read the same file the window writes.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from app import paths

log = logging.getLogger(__name__)

RECENT_LIMIT = 10


def _settings_path() -> Path:
    return paths.config_dir() / "window-settings.json"


class Settings:
    """Load on creation, write through on every change (a crash loses nothing)."""

    def __init__(self, path: Path | None = None):
        self.path = path or _settings_path()
        self.data: dict = {}
        try:
            self.data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            pass  # first start: nothing remembered yet
        except (OSError, ValueError) as exc:
            log.warning("ignoring unreadable settings file %s: %s", self.path, exc)

    def get(self, key: str, default=None):
        return self.data.get(key, default)

    def set(self, key: str, value) -> None:
        self.data[key] = value
        self._write()

    def _write(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temporary = self.path.with_suffix(".tmp")
            temporary.write_text(json.dumps(self.data, indent=1), encoding="utf-8")
            os.replace(temporary, self.path)
        except OSError as exc:
            log.warning("cannot save settings to %s: %s", self.path, exc)

    # Recent captures -------------------------------------------------------------------

    def recent_captures(self) -> list[str]:
        return [p for p in self.get("recent_captures", []) if Path(p).exists()]

    def add_recent_capture(self, path: str | Path) -> None:
        path = str(Path(path).resolve())
        recent = [p for p in self.get("recent_captures", []) if p != path]
        self.set("recent_captures", [path, *recent][:RECENT_LIMIT])

    # Databases per capture and per folder ----------------------------------------------

    def databases_for(self, capture: str | Path) -> list[str] | None:
        """The databases used last time for this capture, else for its folder, else None."""
        capture = Path(capture).resolve()
        remembered = self.get("databases", {})
        for key in (_capture_key(capture), f"folder:{capture.parent}"):
            found = remembered.get(key)
            if found and all(Path(p).exists() for p in found):
                return list(found)
        return None

    def remember_databases(self, capture: str | Path, databases: list[str]) -> None:
        capture = Path(capture).resolve()
        databases = [str(Path(p).resolve()) for p in databases]
        remembered = dict(self.get("databases", {}))
        remembered[_capture_key(capture)] = databases
        remembered[f"folder:{capture.parent}"] = databases
        self.set("databases", remembered)


def _capture_key(capture: Path) -> str:
    try:
        stat = capture.stat()
        return f"capture:{capture}:{stat.st_size}:{int(stat.st_mtime)}"
    except OSError:
        return f"capture:{capture}"
