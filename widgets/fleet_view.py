"""The fleet view: every vehicle on the shared database with its latest session, latest SoC
and BMS SoH and its label count; a vehicle opens to its sessions, and a session opens in the
main window.

:func:`install_store` adds the "Database" menu (Connect…, Fleet) and the fleet dock to the
main window. Every database call runs in a worker thread (:class:`StoreJob`), so a slow or
unreachable server never freezes the window; failures go to the window's notifications.
"""

from __future__ import annotations

import logging
from datetime import datetime

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from widgets.connection_dialog import ConnectionDialog, StoreJob

log = logging.getLogger(__name__)

COLUMNS = ("Vehicle / session", "VIN", "Sessions", "Latest session", "SoC %", "SoH %", "Labels")
SESSION_ROLE = Qt.ItemDataRole.UserRole + 1


def load_fleet(target: str) -> tuple[list, dict[int, list]]:
    """The fleet and each vehicle's sessions, in one connection."""
    from app.store import connect, fleet, list_sessions

    with connect(target) as conn:
        vehicles = fleet(conn)
        sessions = list_sessions(conn)
    by_vehicle: dict[str, list] = {}
    for session in sessions:
        by_vehicle.setdefault(session.vehicle, []).append(session)
    return vehicles, {v.id: by_vehicle.get(v.name, []) for v in vehicles}


def _when(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M}" if moment else ""


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


class FleetView(QWidget):
    """Vehicles and their sessions; ``session_activated(session_id)`` on a double click."""

    session_activated = Signal(int)
    loaded = Signal(int)  # number of vehicles shown
    failed = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.target: str | None = None
        self._job: StoreJob | None = None
        self.status_label = QLabel("Not connected: Database → Connect…")
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.clicked.connect(self.refresh)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(list(COLUMNS))
        self.tree.setRootIsDecorated(True)
        self.tree.setSortingEnabled(True)
        self.tree.itemActivated.connect(self._on_tree_item_activated)
        top = QHBoxLayout()
        top.addWidget(self.status_label, 1)
        top.addWidget(self.refresh_button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.tree)

    def set_target(self, target: str) -> None:
        """Show the fleet of the database named by ``target`` (profile or connection string)."""
        self.target = target
        self.refresh()

    def refresh(self) -> None:
        if self.target is None or (self._job is not None and self._job.isRunning()):
            return
        self.status_label.setText("Loading the fleet …")
        self.refresh_button.setEnabled(False)
        target = self.target
        self._job = StoreJob(lambda: load_fleet(target), self)
        self._job.succeeded.connect(self._on_job_succeeded)
        self._job.failed.connect(self._on_job_failed)
        self._job.start()

    def wait(self, timeout_ms: int = 15_000) -> None:
        if self._job is not None:
            self._job.wait(timeout_ms)

    def _on_job_succeeded(self, result) -> None:
        vehicles, sessions = result
        self.refresh_button.setEnabled(True)
        self.tree.setSortingEnabled(False)
        self.tree.clear()
        for vehicle in vehicles:
            item = QTreeWidgetItem(
                [
                    vehicle.name,
                    vehicle.vin or "",
                    str(vehicle.session_count),
                    f"{vehicle.latest_session or ''}  {_when(vehicle.latest_session_start)}",
                    _number(vehicle.soc_pct),
                    _number(vehicle.bms_soh_pct),
                    str(vehicle.label_count),
                ]
            )
            for session in sessions.get(vehicle.id, []):
                child = QTreeWidgetItem(
                    [
                        session.name,
                        "",
                        "",
                        _when(session.time_start),
                        "",
                        "",
                        str(session.label_count),
                    ]
                )
                child.setData(0, SESSION_ROLE, session.id)
                child.setToolTip(
                    0,
                    f"{session.source_file}, {session.sample_count} samples, "
                    f"uploaded by {session.uploaded_by}",
                )
                item.addChild(child)
            self.tree.addTopLevelItem(item)
        self.tree.setSortingEnabled(True)
        for column in range(len(COLUMNS)):
            self.tree.resizeColumnToContents(column)
        self.status_label.setText(f"{len(vehicles)} vehicles")
        self.loaded.emit(len(vehicles))

    def _on_job_failed(self, text: str) -> None:
        self.refresh_button.setEnabled(True)
        self.status_label.setText(text)
        self.failed.emit(text)

    def _on_tree_item_activated(self, item: QTreeWidgetItem, _column: int) -> None:
        session_id = item.data(0, SESSION_ROLE)
        if session_id is not None:
            self.session_activated.emit(int(session_id))


class StoreController:
    """The store's part of the main window: the Database menu, the fleet dock, and opening
    a database session's traces in the plots."""

    def __init__(self, window):
        self.window = window
        self.fleet = FleetView()
        self.dock = window.add_dock(self.fleet, "Fleet", Qt.DockWidgetArea.RightDockWidgetArea)
        self.dock.hide()
        self.connect_action = QAction("&Connect to shared database…", window)
        self.connect_action.triggered.connect(self._on_connect_action_triggered)
        window.add_menu_action("&Database", self.connect_action)
        window.add_menu_action("&Database", self.dock.toggleViewAction())
        self.fleet.session_activated.connect(self._on_fleet_session_activated)
        self.fleet.failed.connect(self._on_fleet_failed)
        self._job: StoreJob | None = None

    def _on_connect_action_triggered(self) -> None:
        dialog = ConnectionDialog(self.window, current=self.fleet.target)
        if dialog.exec():
            self.fleet.set_target(dialog.profile().name)
            self.dock.show()

    def _on_fleet_failed(self, text: str) -> None:
        from widgets.notifications import ERROR

        self.window.notifications.notify(ERROR, text)

    def _on_fleet_session_activated(self, session_id: int) -> None:
        target = self.fleet.target
        self._job = StoreJob(lambda: _read_session(target, session_id), self.window)
        self._job.succeeded.connect(self._on_session_read)
        self._job.failed.connect(self._on_fleet_failed)
        self._job.start()

    def _on_session_read(self, result) -> None:
        from widgets.first_view import first_view

        session, traces, pyramids = result
        # the capture shown until now goes, with its labels: they must not be drawn over a
        # database session (labels of database sessions are not wired to the window yet)
        self.window._close_session()
        stack = self.window.plot_stack
        stack.set_session(traces, pyramids, session.origin.timestamp())
        self.window.browser.set_traces(traces)
        for keys in first_view(traces):
            stack.show_in_new_plot(keys)
        stack.zoom_to_fit()
        self.window.central.setCurrentWidget(stack)
        self.window.setWindowTitle(f"{session.name} ({session.vehicle}) — EV Battery Monitor")


def _read_session(target: str, session_id: int):
    """A database session's traces with their min/max pyramids, off the GUI thread."""
    from app.minmax import MinMaxPyramid
    from app.store import connect, get_session, read_traces

    with connect(target) as conn:
        session = get_session(conn, session_id)
        traces = read_traces(conn, session_id)
    pyramids = {t.key: MinMaxPyramid(t.time_s, t.values, t.valid) for t in traces}
    return session, traces, pyramids


def install_store(window) -> StoreController:
    """Add the Database menu and the fleet dock to ``window`` (a MainWindow)."""
    return StoreController(window)
