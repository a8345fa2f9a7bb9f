"""Fixtures shared by the whole suite.

Real inputs over mocks: ``shared_data`` is the folder of real captures and databases beside
the checkout (``../shared/data``), or wherever ``EVBM_SHARED_DATA`` points.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("EVBM_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.fail(f"the real test data is missing: {SHARED_DATA} (set EVBM_SHARED_DATA)")
    return SHARED_DATA


@pytest.fixture
def window(qtbot):
    """The real main window at 1600x900, shown (offscreen) and closed after the test."""
    from widgets.main_window import MainWindow

    main = MainWindow()
    qtbot.addWidget(main)
    main.resize(1600, 900)
    main.show()
    qtbot.waitExposed(main)
    yield main
    main.close()


@pytest.fixture(autouse=True)
def _private_home(tmp_path_factory, monkeypatch):
    """Every test gets its own workspace, settings and log folder, never the user's."""
    home = tmp_path_factory.mktemp("evbm-home")
    monkeypatch.setenv("EVBM_HOME", str(home))
    return home
