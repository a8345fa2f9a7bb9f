"""Where a session's plot layout is kept: one JSON file per capture, keyed by its sha256.

This is a seam. ``save_layout(key, layout)`` and ``load_layout(key)`` are the only two calls
the window makes; the workspace (issue 4, ``app/workspace.py``) can take them over by
replacing these two functions' bodies, with no change to the window. ``layout`` is plain
JSON-able data made by :meth:`widgets.plots.plot_stack.PlotStack.layout_state`.
"""

from __future__ import annotations

import json
import logging
import os
import re
from pathlib import Path

from app import paths

log = logging.getLogger(__name__)

_KEY = re.compile(r"^[0-9A-Za-z_.-]{1,128}$")


def _layout_path(key: str) -> Path:
    if not _KEY.match(key):
        raise ValueError(f"not a layout key: {key!r}")
    return paths.data_dir() / "layouts" / f"{key}.json"


def save_layout(key: str, layout: dict) -> None:
    path = _layout_path(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(layout, indent=1), encoding="utf-8")
    os.replace(temporary, path)
    log.info("saved the plot layout of %s", key)


def load_layout(key: str) -> dict | None:
    path = _layout_path(key)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        log.warning("ignoring the damaged layout file %s: %s", path, exc)
        return None
