"""The main window: signal browser, plot stack, measurements, status bar.

The window wires parts that live in their own modules; it holds no plotting or loading logic.

Seams for other parts (label mode and the labels panel, issue 4; the shared database's
connection dialog and fleet view, issue 5):

- :meth:`MainWindow.add_dock` puts a panel into a dock and its toggle into the View menu.
- :meth:`MainWindow.add_toolbar_action` and :meth:`MainWindow.add_menu_action` place an action;
  :meth:`MainWindow.menu` gets or creates a top-level menu by name (``"&Database"`` for the
  store's connection dialog and fleet view; it is created on first use, before Help).
- ``session_opened(result)`` fires after a capture's traces are shown
  (:class:`widgets.loader.LoadResult`: ``result.session``, ``result.capture_sha256``);
  ``session_closing()`` fires before they go away.
- ``self.plot_stack`` (:class:`widgets.plots.plot_stack.PlotStack`) enumerates the plots and
  announces added and removed ones; ``self.notifications.notify`` is the one route for errors.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFileDialog,
    QMainWindow,
    QMenu,
    QMessageBox,
    QStackedWidget,
    QWidget,
)

from app import __version__, paths
from app.paths import shipped_dir
from widgets import layout_store
from widgets.actions import ACTIONS, build_actions
from widgets.database_picker import DATABASE_SUFFIXES, DatabasePicker
from widgets.first_view import first_view
from widgets.fleet_view import install_store
from widgets.labels import install_labels
from widgets.loader import LoadRequest, LoadResult, SessionLoader
from widgets.measurements import MeasurementsPanel
from widgets.notifications import ERROR, INFO, WARNING, NotificationBar, NotificationCenter
from widgets.plots.axes import RELATIVE, WALL_CLOCK
from widgets.plots.cursors import CursorOverlay, RangeOverlay
from widgets.plots.plot_stack import PlotStack
from widgets.progress_panel import ProgressPanel
from widgets.settings import Settings
from widgets.signal_browser import SignalBrowser
from widgets.theme import apply_palette, theme_named
from widgets.welcome import WelcomePage

log = logging.getLogger(__name__)

CAPTURE_FILTER = (
    "CAN captures (*.blf *.asc *.log *.trc *.csv *.txt *.mf4 *.MF4 *.gz);;All files (*)"
)
WARM_UP_DELAY_MS = 1000  # import the decoder once the window has painted (see SessionLoader)
MENU_ORDER = ("&File", "&View", "&Measure", "&Labels", "&Database", "&Help")


class MainWindow(QMainWindow):
    session_opened = Signal(object)
    session_closing = Signal()

    def __init__(self, settings: Settings | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.settings = settings or Settings()
        self.theme = theme_named(self.settings.get("theme"))
        self.result: LoadResult | None = None
        self._menus: dict[str, QMenu] = {}
        self.setWindowTitle("EV Battery Monitor")
        self.setAcceptDrops(True)
        self.resize(1600, 900)

        self.notifications = NotificationCenter(self)
        self.loader = SessionLoader(self)
        self.plot_stack = PlotStack(self.theme)
        self.cursors = CursorOverlay(self.plot_stack, self.theme)
        self.selection = RangeOverlay(self.plot_stack, self.theme)
        self.browser = SignalBrowser()
        self.measurements = MeasurementsPanel(self.plot_stack, self.cursors, self.selection)
        self.welcome = WelcomePage(self.settings)
        self.progress = ProgressPanel()
        self._build_layout()
        self.actions = build_actions(self)
        self._build_toolbar()
        QTimer.singleShot(WARM_UP_DELAY_MS, self.loader, self.loader.warm_up)
        self._autosave = QTimer(self, singleShot=True, interval=1500)
        self._connect()
        self.actions["light_theme"].setChecked(self.theme.name == "light")
        self._apply_theme()
        self.labels = install_labels(self)  # label mode, labels panel, exports (issue 4)
        self.store = install_store(self)  # Database menu, fleet dock (issue 5)

    # Seams -------------------------------------------------------------------------------

    def menu(self, name: str) -> QMenu:
        """The top-level menu called ``name``, created (in MENU_ORDER) on first use."""
        if name not in self._menus:
            menu = QMenu(name, self)
            later = (
                [
                    self._menus[n]
                    for n in MENU_ORDER[MENU_ORDER.index(name) + 1 :]
                    if n in self._menus
                ]
                if name in MENU_ORDER
                else []
            )
            before = later[0].menuAction() if later else None
            self.menuBar().insertMenu(before, menu) if before else self.menuBar().addMenu(menu)
            self._menus[name] = menu
        return self._menus[name]

    def add_menu_action(self, menu_name: str, action: QAction) -> None:
        self.menu(menu_name).addAction(action)

    def add_toolbar_action(self, action: QAction) -> None:
        self.toolbar.addAction(action)

    def add_dock(
        self, widget: QWidget, title: str, area=Qt.DockWidgetArea.RightDockWidgetArea
    ) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock_{title}")
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        self.menu("&View").addAction(dock.toggleViewAction())
        return dock

    # Opening -----------------------------------------------------------------------------

    def open_capture(self, path: str | Path, databases: list[str | Path] | None = None) -> bool:
        """Load ``path`` in the background; ask for databases only when none are known.
        Returns False when the technician cancelled the question."""
        path = Path(path)
        if not path.is_file():
            self.notifications.notify(ERROR, f"{path}: no such file")
            return False
        if databases is None:
            databases = self.settings.databases_for(path)
        if databases is None:
            picker = DatabasePicker(path, parent=self)
            if picker.exec() != DatabasePicker.DialogCode.Accepted:
                return False
            databases = picker.chosen()
        databases = [Path(d) for d in databases]
        self.close_session()
        self.settings.remember_databases(path, [str(d) for d in databases])
        self.settings.add_recent_capture(path)
        self.progress.start(f"Opening {path.name}")
        self.loader.start(LoadRequest(path, databases))
        return True

    def open_demo(self) -> bool:
        demo = sorted(shipped_dir("resources").glob("demo/*"))
        captures = [p for p in demo if p.suffix.lower() not in (".md", ".txt", ".json", ".toml")]
        if not captures:
            self.notifications.notify(ERROR, "The demo recording is missing from this install.")
            return False
        return self.open_capture(captures[0], [shipped_dir("dbc") / "ev_battery.dbc"])

    def open_dialog(self) -> None:
        start = (
            str(Path(self.settings.recent_captures()[0]).parent)
            if (self.settings.recent_captures())
            else ""
        )
        name, _ = QFileDialog.getOpenFileName(self, "Open a CAN capture", start, CAPTURE_FILTER)
        if name:
            self.open_capture(name)

    def choose_databases(self) -> None:
        if self.result is None:
            self.notifications.notify(INFO, "Open a capture first.")
            return
        capture = self.result.request.capture_path
        picker = DatabasePicker(capture, self.result.request.database_paths, self)
        if picker.exec() == DatabasePicker.DialogCode.Accepted:
            self.open_capture(capture, picker.chosen())

    # Session -----------------------------------------------------------------------------

    def _on_loader_finished(self, result: LoadResult) -> None:
        self.progress.stop()
        self.result = result
        epoch = result.session.capture.start_time_epoch
        self.plot_stack.set_session(result.traces, result.pyramids, epoch)
        self.browser.set_traces(result.traces)
        self.actions["wall_clock"].setEnabled(self.plot_stack.wall_offset_s is not None)
        self.central.setCurrentWidget(self.plot_stack)
        self.setWindowTitle(f"{result.request.capture_path.name} — EV Battery Monitor")
        self._restore_or_first_view(result)
        self._report_session(result)
        self.session_opened.emit(result)

    def _restore_or_first_view(self, result: LoadResult) -> None:
        saved = layout_store.load_layout(result.capture_sha256)
        if saved:
            missing = self.plot_stack.restore_layout(saved)
            self.actions["wall_clock"].setChecked(saved.get("time_mode") == WALL_CLOCK)
            if saved.get("cursors"):
                self.actions["cursors"].setChecked(True)
                self.cursors.show(*saved["cursors"])
            if saved.get("range"):
                self.actions["range"].setChecked(True)
                self.selection.select(*saved["range"])
            if missing:
                self.notifications.notify(
                    WARNING,
                    f"{len(missing)} traces of the saved layout are not in this "
                    "decode (other databases?)",
                    "\n".join(missing),
                )
            return
        for keys in first_view(result.traces):
            self.plot_stack.show_in_new_plot(keys)
        self.plot_stack.zoom_to_fit()

    def _report_session(self, result: LoadResult) -> None:
        issues = list(result.session.capture.issues)
        warnings = list(result.session.warnings)
        text = (
            f"Opened {result.request.capture_path.name}: {len(result.traces)} traces "
            f"in {result.elapsed_s:.1f} s"
        )
        if not issues and not warnings:
            self.notifications.notify(INFO, text)
            return
        details = [str(issue) for issue in issues[:500]]
        if len(issues) > 500:
            details.append(f"… and {len(issues) - 500} more capture issues (see the log)")
        details += warnings
        self.notifications.notify(
            WARNING,
            f"{text}; {_count(len(issues), 'capture issue')}, {_count(len(warnings), 'warning')}",
            "\n".join(details),
        )

    def close_session(self) -> None:
        """Save the layout and let go of the shown session (labels, cursors, range)."""
        if self.result is None:
            return
        self.save_layout()
        self.session_closing.emit()
        self.actions["cursors"].setChecked(False)
        self.actions["range"].setChecked(False)
        self.result = None

    def fit_to_screen(self) -> None:
        """Open at 1600×900 where the screen has room, else fill most of a laptop's screen."""
        screen = self.screen() or QApplication.primaryScreen()
        if screen is None:
            return
        room = screen.availableGeometry()
        if room.width() < 1600 or room.height() < 900:
            # a laptop screen: use all of it (docks and plots need the room), and give the
            # plots the height the measurement dock would take
            self.setGeometry(room)
            self.resizeDocks([self.measurements_dock], [130], Qt.Orientation.Vertical)
            self.resizeDocks([self.browser_dock], [300], Qt.Orientation.Horizontal)
            self.setWindowState(self.windowState() | Qt.WindowState.WindowMaximized)
            return
        self.resize(1600, 900)
        frame = self.frameGeometry()
        frame.moveCenter(room.center())
        self.move(frame.topLeft())

    def layout_state(self) -> dict:
        state = self.plot_stack.layout_state()
        state["cursors"] = list(self.cursors.positions) if self.cursors.positions else None
        state["range"] = list(self.selection.region) if self.selection.region else None
        return state

    def save_layout(self) -> None:
        if self.result is not None:
            layout_store.save_layout(self.result.capture_sha256, self.layout_state())

    # Commands ----------------------------------------------------------------------------

    def zoom_to_fit(self) -> None:
        self.plot_stack.zoom_to_fit()

    def zoom_in(self) -> None:
        self.plot_stack.zoom(0.5)

    def zoom_out(self) -> None:
        self.plot_stack.zoom(2.0)

    def next_plot(self) -> None:
        self.plot_stack.step_current_plot(1)

    def previous_plot(self) -> None:
        self.plot_stack.step_current_plot(-1)

    def new_plot(self) -> None:
        self.plot_stack.add_plot()

    def remove_current_plot(self) -> None:
        if self.plot_stack.current_plot is not None:
            self.plot_stack.remove_plot(self.plot_stack.current_plot)

    def set_wall_clock(self, on: bool) -> None:
        self.plot_stack.set_time_mode(WALL_CLOCK if on else RELATIVE)
        self.measurements.update_cursor_readouts()

    def set_light_theme(self, on: bool) -> None:
        self.theme = theme_named("light" if on else "dark")
        self.settings.set("theme", self.theme.name)
        self._apply_theme()

    def set_cursors_shown(self, on: bool) -> None:
        self.cursors.show() if on else self.cursors.hide()
        if on:
            self.measurements.setCurrentIndex(0)

    def set_range_shown(self, on: bool) -> None:
        self.selection.select() if on else self.selection.clear()
        if on:
            self.measurements.setCurrentIndex(1)

    def show_log_location(self) -> None:
        self.notifications.notify(INFO, f"The log file is in {paths.log_dir()}")

    def show_about(self) -> None:
        QMessageBox.about(
            self,
            "EV Battery Monitor",
            f"EV Battery Monitor {__version__}\nOpen-source CAN capture viewer "
            "for EV battery diagnostics.",
        )

    # Building ----------------------------------------------------------------------------

    def _build_layout(self) -> None:
        self.central = QStackedWidget()
        self.central.addWidget(self.welcome)
        self.central.addWidget(self.plot_stack)
        self.setCentralWidget(self.central)
        self.browser_dock = self.add_dock(
            self.browser, "Signals", Qt.DockWidgetArea.LeftDockWidgetArea
        )
        self.measurements_dock = self.add_dock(
            self.measurements, "Measurements", Qt.DockWidgetArea.BottomDockWidgetArea
        )
        self.resizeDocks([self.browser_dock], [380], Qt.Orientation.Horizontal)
        self.resizeDocks([self.measurements_dock], [190], Qt.Orientation.Vertical)
        bar = self.statusBar()
        bar.addWidget(NotificationBar(self.notifications), 1)
        bar.addPermanentWidget(self.progress)

    def _build_toolbar(self) -> None:
        self.toolbar = self.addToolBar("Main")
        self.toolbar.setObjectName("toolbar_main")
        self.toolbar.setMovable(False)
        for spec in ACTIONS:
            if spec.toolbar:
                self.toolbar.addAction(self.actions[spec.name])

    def _connect(self) -> None:
        self.loader.progressed.connect(self.progress.set_progress)
        self.loader.finished.connect(self._on_loader_finished)
        self.loader.cancelled.connect(self._on_loader_cancelled)
        self.loader.failed.connect(self._on_loader_failed)
        self.progress.cancel_requested.connect(self.loader.cancel)
        self.browser.trace_activated.connect(self._on_browser_trace_activated)
        self.welcome.open_requested.connect(self.open_dialog)
        self.welcome.demo_requested.connect(self.open_demo)
        self.welcome.recent_requested.connect(self.open_capture)
        self.plot_stack.layout_changed.connect(self._autosave.start)
        self.cursors.changed.connect(self._autosave.start)
        self.selection.changed.connect(self._autosave.start)
        self._autosave.timeout.connect(self.save_layout)
        self.menu("&File").aboutToShow.connect(self._on_file_menu_about_to_show)

    def _apply_theme(self) -> None:
        apply_palette(QApplication.instance(), self.theme)
        self.plot_stack.apply_theme(self.theme)
        self.cursors.apply_theme(self.theme)

    # Events ------------------------------------------------------------------------------

    def _on_loader_cancelled(self) -> None:
        self.progress.stop()
        self.notifications.notify(INFO, "Loading cancelled.")

    def _on_loader_failed(self, error: BaseException, details: str) -> None:
        self.progress.stop()
        self.notifications.notify(ERROR, f"Could not open the capture: {error}", details)

    def _on_browser_trace_activated(self, key: str) -> None:
        self.plot_stack.show_trace(key)

    def _on_file_menu_about_to_show(self) -> None:
        menu = self.menu("&File")
        old = getattr(self, "_recent_menu", None)
        if old is not None:
            menu.removeAction(old.menuAction())
        self._recent_menu = QMenu("Open &recent", menu)
        for path in self.settings.recent_captures():
            self._recent_menu.addAction(path, lambda p=path: self.open_capture(p))
        self._recent_menu.setEnabled(bool(self.settings.recent_captures()))
        menu.insertMenu(self.actions["demo"], self._recent_menu)

    def dragEnterEvent(self, event):  # noqa: N802 (Qt's name)
        if any(url.isLocalFile() for url in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event):  # noqa: N802 (Qt's name)
        files = [Path(u.toLocalFile()) for u in event.mimeData().urls() if u.isLocalFile()]
        databases = [f for f in files if f.suffix.lower() in DATABASE_SUFFIXES]
        captures = [f for f in files if f not in databases]
        event.acceptProposedAction()
        if captures:
            self.open_capture(captures[0], databases or None)
        elif databases and self.result is not None:
            self.open_capture(
                self.result.request.capture_path, [*self.result.request.database_paths, *databases]
            )

    def closeEvent(self, event):  # noqa: N802 (Qt's name)
        self.loader.cancel()
        self.loader.wait()
        self.save_layout()
        super().closeEvent(event)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"
