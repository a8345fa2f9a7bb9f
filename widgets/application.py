"""The window's entry point: ``run_gui(options)`` from ``app/__main__.py``."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from app import logs
from app.paths import shipped_dir

log = logging.getLogger(__name__)


def run_gui(options) -> int:
    """Open the main window; then the demo, or the captures named on the command line."""
    logs.configure()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    window = start_gui(options)
    if os.environ.get("EVBM_EXIT_AFTER_FIRST_WINDOW") == "1":  # start-up timing, tests/packaging
        QTimer.singleShot(0, lambda: _quit_after_painting(app, window))
    return app.exec()


def start_gui(options):
    """Everything ``run_gui`` does before it runs the event loop: the application's name and
    icon, the error route, the main window, and the first capture to open (queued, so the
    window paints first). Returns the window; tests drive it from here."""
    app = QApplication.instance()
    app.setApplicationName("EV Battery Monitor")
    app.setOrganizationName("ev-battery-monitor")
    icon = _icon()
    if icon is not None:
        app.setWindowIcon(icon)

    import pyqtgraph as pg

    pg.setConfigOptions(antialias=False, useOpenGL=False)
    from widgets.main_window import MainWindow
    from widgets.notifications import install_exception_hooks

    window = MainWindow()
    install_exception_hooks(window.notifications)
    window.fit_to_screen()
    window.show()
    log.info("window opened")
    databases = [Path(d) for d in getattr(options, "dbc", []) or []] or None
    if getattr(options, "demo", False):
        QTimer.singleShot(0, window.open_demo)
    elif getattr(options, "captures", None):
        QTimer.singleShot(0, lambda: window.open_capture(options.captures[0], databases))
    if getattr(options, "db", None):
        window.store.show_fleet(options.db)
    return window


def _quit_after_painting(app: QApplication, window) -> None:
    """Paint the first window now, then leave: how the packaging test times start-up."""
    window.repaint()
    log.info("first window painted; leaving as EVBM_EXIT_AFTER_FIRST_WINDOW asks")
    app.quit()


def _icon() -> QIcon | None:
    folder = shipped_dir("resources") / "icons"
    for name in ("ev-battery-monitor.svg", "ev-battery-monitor-256.png", "icon.png"):
        if (folder / name).exists():
            return QIcon(str(folder / name))
    found = sorted(folder.glob("*.png")) if folder.is_dir() else []
    return QIcon(str(found[-1])) if found else None
