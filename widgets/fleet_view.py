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

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
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

from app.store.labels import ServerLabelSink
from app.store.view import OVERVIEW_PX, ServerSummary
from app.traces import Trace
from widgets.connection_dialog import ConnectionDialog, StoreJob

log = logging.getLogger(__name__)

COLUMNS = ("Vehicle / session", "VIN", "Sessions", "Latest session", "SoC %", "SoH %", "Labels")
SESSION_ROLE = Qt.ItemDataRole.UserRole + 1
FULL_LOAD_MAX = 20_000_000  # samples; a bigger database session is shown from summaries
DETAIL_DELAY_MS = 150


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
    a database session in the plots.

    A session of up to ``FULL_LOAD_MAX`` samples comes over whole. A bigger one is shown from
    the server's per-pixel summaries (:class:`app.store.view.ServerSummary`): an overview of
    the whole session first, then, each time the view settles on a range the overview is
    too coarse for, that range in detail for the traces shown.
    """

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
        self._detail_job: StoreJob | None = None
        self._summaries: dict[str, ServerSummary] = {}
        self._session_id: int | None = None
        self.label_sink: ServerLabelSink | None = None
        self._wanted: tuple[float, float, int] | None = None
        self._detail_timer = QTimer(window, singleShot=True, interval=DETAIL_DELAY_MS)
        self._detail_timer.timeout.connect(self._on_detail_timer_timeout)
        # a capture opened or closed in the window replaces the database session
        window.session_closing.connect(self._on_window_session_closing)
        window.session_opened.connect(self._on_window_session_closing)

    def show_fleet(self, target: str) -> None:
        """Connect to ``target`` (a profile name or a connection string) and show its fleet,
        as ``ev-battery-monitor --db TARGET`` asks."""
        self.fleet.set_target(target)
        self.dock.show()

    def _on_connect_action_triggered(self) -> None:
        dialog = ConnectionDialog(self.window, current=self.fleet.target)
        if dialog.exec():
            self.show_fleet(dialog.profile().name)

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

        session, traces, pyramids, sink, labels = result
        self.window.close_session()  # the capture shown until now goes, with its labels
        self._close_label_sink()
        self.label_sink = sink
        self._session_id = session.id
        self._summaries = {k: p for k, p in pyramids.items() if isinstance(p, ServerSummary)}
        for summary in self._summaries.values():
            summary.on_need = self._on_detail_needed
        stack = self.window.plot_stack
        stack.set_session(traces, pyramids, session.origin.timestamp())
        self.window.browser.set_traces(traces)
        for keys in first_view(traces):
            stack.show_in_new_plot(keys)
        stack.zoom_to_fit()
        self.window.central.setCurrentWidget(stack)
        self.window.setWindowTitle(f"{session.name} ({session.vehicle}) — EV Battery Monitor")
        # labels made now are written to the server as they are made, with their versions
        self.window.labels.open_session(
            session.source_sha256,
            stack.wall_offset_s,
            traces,
            stack.origin_s,
            labels=labels,
            sink=sink,
        )

    def _close_label_sink(self) -> None:
        if self.label_sink is not None:
            self.label_sink.conn.close()
            self.label_sink = None

    def _on_window_session_closing(self, *_result) -> None:
        self._close_label_sink()
        self._session_id = None
        self._summaries = {}

    # -- detail of a big session, as the technician zooms

    def _on_detail_needed(self, t0: float, t1: float, columns: int) -> None:
        self._wanted = (t0, t1, columns)
        self._detail_timer.start()  # wait for the view to settle

    def _on_detail_timer_timeout(self) -> None:
        if self._wanted is None or self._session_id is None:
            return
        if self._detail_job is not None and self._detail_job.isRunning():
            self._detail_timer.start()  # one fetch at a time; the newest range goes next
            return
        shown = [k for k in self.window.plot_stack.shown_keys() if k in self._summaries]
        if not shown:
            return
        ids = {self.window.plot_stack.traces[k].extra["signal_id"]: k for k in shown}
        (t0, t1, columns), self._wanted = self._wanted, None
        visible = self.window.plot_stack.visible_range()
        if visible is None or not np.allclose(visible, (t0, t1), rtol=0, atol=(t1 - t0) * 1e-6):
            return  # the view moved on (to a range the overview serves): nothing to fetch
        target, session_id = self.fleet.target, self._session_id
        self._detail_job = StoreJob(
            lambda: (_fetch_detail(target, session_id, list(ids), t0, t1, columns), ids, t0, t1),
            self.window,
        )
        self._detail_job.succeeded.connect(self._on_detail_fetched)
        self._detail_job.failed.connect(self._on_fleet_failed)
        self._detail_job.start()

    def _on_detail_fetched(self, result) -> None:
        summaries, ids, t0, t1 = result
        for signal_id, key in ids.items():
            if key in self._summaries:
                self._summaries[key].set_detail(summaries[signal_id], t0, t1)
        for plot in self.window.plot_stack.plots():
            plot.refresh()


def _fetch_detail(target: str, session_id: int, signal_ids, t0: float, t1: float, columns: int):
    from app.store import connect, summary

    with connect(target) as conn:
        return summary(conn, session_id, signal_ids, t0, t1, columns)


def _read_session(target: str, session_id: int):
    """A database session's traces with their min/max pyramids, off the GUI thread (the
    samples themselves, or for a big session the server's overview of them), and a label
    sink with its own connection."""
    from app.minmax import MinMaxPyramid
    from app.store import connect, get_session, read_traces

    with connect(target) as conn:
        session = get_session(conn, session_id)
        if session.sample_count > FULL_LOAD_MAX and session.time_start is not None:
            traces, pyramids = _overview(conn, session)
        else:
            traces = read_traces(conn, session_id)
            pyramids = {t.key: MinMaxPyramid(t.time_s, t.values, t.valid) for t in traces}
    sink = ServerLabelSink(connect(target), session_id)  # kept open for label edits
    return session, traces, pyramids, sink, sink.load()


def _overview(conn, session) -> tuple[list[Trace], dict[str, ServerSummary]]:
    """Traces made of the whole session's per-pixel min/max (so that the browser, the first
    view and the cursors have values), each with its :class:`ServerSummary`."""
    from app.store import session_traces, summary

    stored = session_traces(conn, session.id)
    start_s = (session.time_start - session.origin).total_seconds()
    end_s = (session.time_end - session.origin).total_seconds() + 1e-6
    found = summary(conn, session.id, [t.signal_id for t in stored], start_s, end_s, OVERVIEW_PX)
    traces, summaries = [], {}
    for info in stored:
        overview = found[info.signal_id]
        summary_of_trace = ServerSummary(overview, start_s, end_s, info.sample_count)
        time_s, values = summary_of_trace.view(start_s, end_s, OVERVIEW_PX)
        trace = Trace(
            info.signal, info.message, info.channel, time_s, values,
            np.ones(len(values), dtype=bool), unit=info.unit, minimum=info.minimum,
            maximum=info.maximum, choices=info.choices, role=info.role, comment=info.comment,
            extra={"signal_id": info.signal_id, "session_id": session.id, "overview": True},
        )  # fmt: skip
        traces.append(trace)
        summaries[trace.key] = summary_of_trace
    return traces, summaries


def install_store(window) -> StoreController:
    """Add the Database menu and the fleet dock to ``window`` (a MainWindow)."""
    return StoreController(window)
