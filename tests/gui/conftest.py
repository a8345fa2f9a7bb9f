"""Fixtures for driving the real main window on real captures."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.paths import shipped_dir

LOAD_TIMEOUT_MS = 60_000


@pytest.fixture
def foxbms(shared_data) -> tuple[Path, Path]:
    """The genuine PCAN-Explorer TRC from foxBMS 2 and the foxBMS database."""
    return (
        shared_data / "foxbms-2/tests/fox-cmds/etl/can-log.trc",
        shared_data / "foxbms-2/tools/dbc/foxbms.dbc",
    )


@pytest.fixture
def demo_capture() -> Path:
    found = [
        p
        for p in sorted((shipped_dir("resources") / "demo").glob("*"))
        if p.suffix.lower() not in (".md", ".txt", ".json", ".toml")
    ]
    if not found:
        pytest.fail("the demo recording is missing from resources/demo")
    return found[0]


def open_and_wait(qtbot, window, capture, databases=None):
    """Open a capture and wait for the window to show it; returns the LoadResult.

    A load that fails fails the test at once, with the window's own error text."""
    outcome = []
    window.session_opened.connect(outcome.append)
    window.loader.failed.connect(lambda error, details: outcome.append(details))
    assert window.open_capture(capture, databases)
    qtbot.waitUntil(lambda: bool(outcome), timeout=LOAD_TIMEOUT_MS)
    if isinstance(outcome[0], str):
        pytest.fail(f"loading {capture} failed:\n{outcome[0]}")
    return outcome[0]
