"""Where a session's plot layout is kept: the workspace (``app/workspace.py``, issue 4), keyed
by the capture's sha256.

``save_layout(key, layout)`` and ``load_layout(key)`` are the only two calls the window
makes. ``layout`` is plain JSON-able data made by
:meth:`widgets.plots.plot_stack.PlotStack.layout_state`. Layouts saved by the first version
as JSON files in ``<data>/layouts/`` are still read when the workspace has none.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

from app import paths
from app.workspace import shared_workspace

log = logging.getLogger(__name__)

_KEY = re.compile(r"^[0-9A-Za-z_.-]{1,128}$")


def _layout_path(key: str) -> Path:
    if not _KEY.match(key):
        raise ValueError(f"not a layout key: {key!r}")
    return paths.data_dir() / "layouts" / f"{key}.json"


def save_layout(key: str, layout: dict) -> None:
    _layout_path(key)  # the same check of the key as before
    shared_workspace().save_layout(key, layout)
    log.debug("saved the plot layout of %s", key)


def load_layout(key: str) -> dict | None:
    """The layout from the workspace; one saved by an earlier version as a JSON file counts
    until the workspace has its own."""
    layout = shared_workspace().load_layout(key)
    if layout is not None:
        return layout
    path = _layout_path(key)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        log.warning("ignoring the damaged layout file %s: %s", path, exc)
        return None
