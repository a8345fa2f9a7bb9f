"""Label mode, the labels panel and the exports, wired into the main window.

The controller holds the open session's :class:`app.labels.LabelBook` (its sink is the
workspace, so each change is on disk when the call returns), the overlay that shades labels
in every plot, and the panel that lists them. It reaches the window only through its seams:
``add_dock``, ``menu``/``add_menu_action``, ``add_toolbar_action``, ``session_opened``,
``session_closing`` and ``notifications``.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

from PySide6.QtCore import QObject, QPoint, QRect, QSize, Qt
from PySide6.QtGui import QAction, QKeySequence, QPainter
from PySide6.QtWidgets import QFileDialog, QInputDialog, QMenu, QWidget

from app.errors import MonitorError
from app.export import read_labels, write_labels, write_slices, write_traces
from app.labels import Label, LabelBook, LabelSink, load_taxonomy_or_default
from app.workspace import Workspace, shared_workspace
from widgets.labels.editor import LabelEditor
from widgets.labels.overlay import LabelOverlay
from widgets.labels.panel import LabelsPanel, seconds_text

log = logging.getLogger(__name__)

LABELS_MENU = "&Labels"
VIN = re.compile(r"[A-HJ-NPR-Z0-9]{17}")  # ISO 3779: no I, O or Q
ZOOM_PAD_FRACTION = 0.25


class LabelController(QObject):
    def __init__(self, window, workspace: Workspace | None = None):
        super().__init__(window)
        self.window = window
        self.stack = window.plot_stack
        self.workspace = workspace or shared_workspace()
        self.taxonomy, problem = load_taxonomy_or_default()
        self.book: LabelBook | None = None
        self.session_key: str | None = None
        self.origin_epoch_s: float | None = None
        self.display_origin_s = 0.0
        self.traces: list = []
        self.editor: LabelEditor | None = None
        self.last_class = self.taxonomy.keys[0] if len(self.taxonomy) else "other"

        self.overlay = LabelOverlay(self.stack, self.taxonomy)
        self.panel = LabelsPanel(self.taxonomy)
        self.dock = window.add_dock(self.panel, "Labels", Qt.DockWidgetArea.BottomDockWidgetArea)
        self.actions = self._build_actions()
        self._connect()
        self._update_history_actions()

        for notice in (self.workspace.notice, problem):
            if notice:
                self._warn(notice)

    # -- actions

    def _build_actions(self) -> dict[str, QAction]:
        def make(name, text, handler, shortcut=None, tip="", checkable=False) -> QAction:
            action = QAction(text, self.window)
            action.setObjectName(f"action_{name}")
            if shortcut is not None:
                shortcuts = shortcut if isinstance(shortcut, list) else [shortcut]
                action.setShortcuts([QKeySequence(s) for s in shortcuts])
            if tip:
                action.setToolTip(tip)
                action.setStatusTip(tip)
            action.setCheckable(checkable)
            if checkable:
                action.toggled.connect(handler)
            else:
                action.triggered.connect(lambda _checked=False: handler())
            return action

        actions = {
            "label_mode": make(
                "label_mode", "&Label mode", self.set_label_mode, "L",
                "Drag across a plot to label that time range", checkable=True,
            ),
            "undo": make("undo_label", "&Undo", self.undo, QKeySequence.StandardKey.Undo),
            "redo": make("redo_label", "&Redo", self.redo, ["Ctrl+Shift+Z", "Ctrl+Y"]),
            "vehicle": make(
                "session_vehicle", "&Vehicle of this capture…", self.vehicle_dialog,
                tip="The VIN or a name: labels and exports carry it",
            ),
            "export_labels": make("export_labels", "&Export labels…", self.export_labels_dialog),
            "import_labels": make("import_labels", "&Import labels…", self.import_labels_dialog),
            "export_slices": make(
                "export_slices", "Export labelled &slices…", self.export_slices_dialog,
                tip="Each label's traces within its range plus a margin, for model training",
            ),
            "export_traces": make(
                "export_traces", "Export &traces…", self.export_traces_dialog,
                tip="The session's decoded traces as Parquet, CSV or MF4",
            ),
            "export_image": make(
                "export_image", "Export plots as &image…", self.export_image_dialog,
                tip="The stacked plots as PNG or SVG",
            ),
        }  # fmt: skip
        self.window.add_toolbar_action(actions["label_mode"])
        for name in ("label_mode", "undo", "redo"):
            self.window.add_menu_action(LABELS_MENU, actions[name])
        self.window.menu(LABELS_MENU).addSeparator()
        for name in ("vehicle", "export_labels", "import_labels", "export_slices"):
            self.window.add_menu_action(LABELS_MENU, actions[name])
        for name in ("export_traces", "export_image"):
            self.window.add_menu_action("&File", actions[name])
        return actions

    def _connect(self) -> None:
        self.window.session_opened.connect(self._on_window_session_opened)
        self.window.session_closing.connect(self._on_window_session_closing)
        self.overlay.drawn.connect(self._on_overlay_drawn)
        self.overlay.label_clicked.connect(self._on_overlay_label_clicked)
        self.overlay.label_double_clicked.connect(self.edit_label)
        self.overlay.label_menu_requested.connect(self._on_overlay_label_menu_requested)
        self.panel.label_selected.connect(self._on_panel_label_selected)
        self.panel.edit_requested.connect(self.edit_label)
        self.panel.delete_action.triggered.connect(self._on_panel_delete_triggered)
        self.panel.accept_action.triggered.connect(lambda: self._set_status("accepted"))
        self.panel.reject_action.triggered.connect(lambda: self._set_status("rejected"))

    # -- session

    def open_session(
        self,
        key: str,
        origin_epoch_s: float | None,
        traces: list,
        display_origin_s: float = 0.0,
        labels: list[Label] | None = None,
        sink: LabelSink | None = None,
    ) -> None:
        """Show the labels of session ``key`` (the capture's sha256) from the workspace.

        ``origin_epoch_s`` is the wall clock of time 0 on the traces' axis (0.0 when the
        traces are Unix times already, as in BLF; None when unknown); times are shown counted
        from ``display_origin_s``, as the time axis shows them. A session from elsewhere (the
        shared database) passes its ``labels`` and the ``sink`` that stores their changes
        (``app.store.ServerLabelSink``); they then never touch the local workspace."""
        self.close_session()
        self.session_key, self.origin_epoch_s, self.traces = key, origin_epoch_s, list(traces)
        self.display_origin_s = display_origin_s
        self.panel.display_origin_s = display_origin_s
        if sink is None:
            labels, sink = self.workspace.labels(key), self.workspace
        self.book = LabelBook(key, labels or [], sink=sink)
        self.book.subscribe(self._on_book_changed)
        self.overlay.set_book(self.book)
        self.panel.set_book(self.book)
        self._update_history_actions()
        log.info("session %s: %d labels", key[:12], len(self.book))

    def close_session(self) -> None:
        if self.book is not None:
            self.book.unsubscribe(self._on_book_changed)
        self.overlay.set_book(None)
        self.panel.set_book(None)
        self.book = None
        self.session_key = None
        self.traces = []
        self._update_history_actions()

    def _on_window_session_opened(self, result) -> None:
        session = result.session
        capture = getattr(session, "capture", None)
        origin = getattr(capture, "start_time_epoch", None)
        databases = [
            (str(db.path), db.sha256)
            for db in getattr(session, "databases", None) or []
            if getattr(db, "sha256", None)
        ]
        try:
            self.workspace.record_session(
                result.capture_sha256,
                result.request.capture_path,
                databases,
                capture_format=getattr(capture, "format", None),
                start_epoch_s=origin,
            )
        except MonitorError as error:
            self._fail("Could not record the session in the workspace", error)
        # the plot stack has worked out how its time axis maps to the wall clock
        self.open_session(
            result.capture_sha256,
            getattr(self.stack, "wall_offset_s", origin),
            result.traces,
            getattr(self.stack, "origin_s", 0.0),
        )

    def _on_window_session_closing(self) -> None:
        self.close_session()

    # -- label mode and editing

    def set_label_mode(self, on: bool) -> None:
        self.overlay.set_label_mode(on)
        if self.actions["label_mode"].isChecked() != on:
            self.actions["label_mode"].setChecked(on)

    def _on_overlay_drawn(self, t0: float, t1: float) -> None:
        if self.book is None:
            self.overlay.hide_preview()
            return
        shown = t0 - self.display_origin_s, t1 - self.display_origin_s
        span = f"{seconds_text(shown[0])} to {seconds_text(shown[1])} ({seconds_text(t1 - t0)})"
        self.editor = LabelEditor(self.taxonomy, span, self.last_class, parent=self.window)
        self.editor.accepted.connect(lambda: self._on_new_label_accepted(t0, t1))
        self.editor.finished.connect(lambda _result: self.overlay.hide_preview())
        self.editor.open()

    def _on_new_label_accepted(self, t0: float, t1: float) -> None:
        values = self.editor.values()
        label = Label.by_technician(
            self.session_key, t0, t1, origin_epoch_s=self.origin_epoch_s, **values
        )
        if self._guarded(self.book.add, label) is not False:
            self.last_class = label.label_class
            self.select_label(label.id, zoom=False)

    def edit_label(self, label_id: str) -> None:
        if self.book is None or label_id not in self.book:
            return
        label = self.book.get(label_id)
        origin = self.display_origin_s
        span = f"{seconds_text(label.start_s - origin)} to {seconds_text(label.end_s - origin)}"
        self.editor = LabelEditor(
            self.taxonomy, span, label.label_class, label.note, label.tags, self.window
        )
        self.editor.accepted.connect(
            lambda: self._guarded(self.book.change, label_id, "edit label", **self.editor.values())
        )
        self.editor.open()

    def delete_label(self, label_id: str) -> None:
        if self.book is not None and label_id in self.book:
            self._guarded(self.book.remove, label_id)

    def _on_panel_delete_triggered(self) -> None:
        chosen = self.panel.selected_id()
        if chosen:
            self.delete_label(chosen)

    def _set_status(self, status: str) -> None:
        chosen = self.panel.selected_id()
        if chosen and self.book is not None:
            method = self.book.accept if status == "accepted" else self.book.reject
            self._guarded(method, chosen)

    def undo(self) -> None:
        if self.book is not None:
            self._guarded(self.book.undo)

    def redo(self) -> None:
        if self.book is not None:
            self._guarded(self.book.redo)

    def select_label(self, label_id: str, zoom: bool = True) -> None:
        if self.book is None or label_id not in self.book:
            return
        self.overlay.select(label_id)
        if self.panel.selected_id() != label_id:
            self.panel.select(label_id)
        if zoom:
            label = self.book.get(label_id)
            pad = max(label.duration_s * ZOOM_PAD_FRACTION, 1e-3)
            self.stack.set_x_range(label.start_s - pad, label.end_s + pad)

    def _on_overlay_label_clicked(self, label_id: str) -> None:
        self.select_label(label_id, zoom=False)

    def _on_overlay_label_menu_requested(self, label_id: str, position) -> None:
        if self.book is None or label_id not in self.book:
            return
        self.select_label(label_id, zoom=False)
        label = self.book.get(label_id)
        menu = QMenu(self.window)
        menu.addAction("Edit…", lambda: self.edit_label(label_id))
        menu.addAction("Zoom to label", lambda: self.select_label(label_id, zoom=True))
        if label.is_rule:
            menu.addAction("Accept", lambda: self._guarded(self.book.accept, label_id))
            menu.addAction("Reject", lambda: self._guarded(self.book.reject, label_id))
        menu.addSeparator()
        menu.addAction("Delete", lambda: self.delete_label(label_id))
        menu.popup(position)

    def _on_panel_label_selected(self, label_id: str) -> None:
        self.select_label(label_id, zoom=True)

    def _on_book_changed(self, _kind: str, _label: Label) -> None:
        self._update_history_actions()

    def _update_history_actions(self) -> None:
        book = self.book
        undo, redo = self.actions["undo"], self.actions["redo"]
        undo.setEnabled(book is not None and book.can_undo)
        redo.setEnabled(book is not None and book.can_redo)
        undo.setText(f"&Undo {book.undo_text}" if book and book.can_undo else "&Undo")
        redo.setText(f"&Redo {book.redo_text}" if book and book.can_redo else "&Redo")

    # -- the session's vehicle

    def set_vehicle(self, text: str) -> None:
        """Record the open capture's vehicle: a VIN when ``text`` is one, else a name."""
        if self.session_key is None:
            raise MonitorError("open a capture first")
        text = text.strip()
        if not text:
            self.workspace.set_vehicle(self.session_key, None)
            return
        is_vin = VIN.fullmatch(text.upper()) is not None
        vehicle = self.workspace.vehicle(vin=text) if is_vin else self.workspace.vehicle(name=text)
        self.workspace.set_vehicle(self.session_key, vehicle)

    def vehicle_dialog(self) -> None:
        if self.session_key is None:
            self._inform("Open a capture first.")
            return
        record = self.workspace.session(self.session_key)
        current = ""
        if record is not None and record.vehicle is not None:
            current = record.vehicle.vin or record.vehicle.name
        text, ok = QInputDialog.getText(
            self.window, "Vehicle", "VIN (17 characters) or a name for this vehicle:",
            text=current,
        )  # fmt: skip
        if ok and self._guarded(self.set_vehicle, text) is not False:
            self._inform(f"Vehicle of this capture: {text.strip() or 'none'}")

    # -- exports (the *_to methods do the work; the dialogs only ask for a path)

    def export_labels_to(self, path: str | Path) -> int:
        labels = self.book.labels() if self.book else []
        record = self.workspace.session(self.session_key) if self.session_key else None
        vehicles = {}
        if record is not None and record.vehicle is not None:
            vehicles[record.key] = record.vehicle.vin or record.vehicle.name
        return write_labels(labels, path, vehicles=vehicles, taxonomy=self.taxonomy)

    def import_labels_from(self, path: str | Path) -> tuple[int, int]:
        """Add the file's labels of this session (replacing ones with the same id); returns
        (imported, skipped because they belong to other sessions)."""
        labels = read_labels(path)
        mine = [label for label in labels if label.session == self.session_key]
        for label in mine:
            if label.id in self.book:
                fields = ("start_s", "end_s", "label_class", "note", "tags", "status")
                changes = {name: getattr(label, name) for name in fields}
                self.book.change(label.id, "import label", **changes)
            else:
                self.book.add(label)
        return len(mine), len(labels) - len(mine)

    def export_slices_to(self, path: str | Path, margin_s: float) -> int:
        labels = self.book.labels() if self.book else []
        return write_slices(labels, self.traces, path, margin_s)

    def export_traces_to(self, path: str | Path) -> None:
        write_traces(self.traces, path)

    def export_image_to(self, path: str | Path) -> None:
        export_widget_image(self.stack, Path(path))

    def export_labels_dialog(self) -> None:
        path = self._save_path("Export labels", "CSV (*.csv);;JSON (*.json)", ".csv")
        if path and self._guarded(self.export_labels_to, path) is not False:
            self._inform(f"Labels exported to {path}")

    def import_labels_dialog(self) -> None:
        if self.book is None:
            self._inform("Open a capture first.")
            return
        name, _ = QFileDialog.getOpenFileName(
            self.window, "Import labels", "", "Labels (*.csv *.json)"
        )
        if not name:
            return
        counts = self._guarded(self.import_labels_from, name)
        if counts is not False:
            skipped = f"; {counts[1]} of other sessions skipped" if counts[1] else ""
            self._inform(f"Imported {counts[0]} labels from {name}{skipped}")

    def export_slices_dialog(self) -> None:
        margin, ok = QInputDialog.getDouble(
            self.window, "Labelled slices", "Margin before and after each label (s):",
            1.0, 0.0, 3600.0, 3,
        )  # fmt: skip
        if not ok:
            return
        path = self._save_path("Export labelled slices", "Parquet (*.parquet);;CSV (*.csv)", "")
        if path and self._guarded(self.export_slices_to, path, margin) is not False:
            self._inform(f"Labelled slices exported to {path}")

    def export_traces_dialog(self) -> None:
        path = self._save_path(
            "Export traces", "Parquet (*.parquet);;CSV (*.csv);;MF4 (*.mf4)", ".parquet"
        )
        if path and self._guarded(self.export_traces_to, path) is not False:
            self._inform(f"Traces exported to {path}")

    def export_image_dialog(self) -> None:
        path = self._save_path("Export plots as image", "PNG (*.png);;SVG (*.svg)", ".png")
        if path and self._guarded(self.export_image_to, path) is not False:
            self._inform(f"Plots exported to {path}")

    def _save_path(self, title: str, filters: str, default_suffix: str) -> Path | None:
        name, chosen = QFileDialog.getSaveFileName(self.window, title, "", filters)
        if not name:
            return None
        path = Path(name)
        if not path.suffix:
            suffix = chosen.split("*")[-1].rstrip(")") if "*" in chosen else default_suffix
            path = path.with_suffix(suffix)
        return path

    # -- messages

    def _guarded(self, function, *args, **kwargs):
        """Run a command; a failure reaches the technician as one notification. Returns
        the command's result, or False when it failed."""
        try:
            result = function(*args, **kwargs)
        except MonitorError as error:
            self._fail("The label command failed", error)
            return False
        return True if result is None else result

    def _inform(self, text: str) -> None:
        from widgets.notifications import INFO

        self.window.notifications.notify(INFO, text)

    def _warn(self, text: str) -> None:
        from widgets.notifications import WARNING

        self.window.notifications.notify(WARNING, text)

    def _fail(self, text: str, error: BaseException) -> None:
        from widgets.notifications import ERROR

        self.window.notifications.notify(ERROR, f"{text}: {error}")


def export_widget_image(widget: QWidget, path: Path) -> None:
    """Save what ``widget`` shows as PNG (pixels) or SVG (vectors), atomically."""
    from app.errors import ExportError
    from app.export import atomic_output

    suffix = path.suffix.lower()
    if suffix not in (".png", ".svg"):
        raise ExportError(f"{path}: plots export as .png or .svg")
    with atomic_output(path) as temporary:
        if suffix == ".png":
            if not widget.grab().save(str(temporary), "PNG"):
                raise OSError(f"Qt could not write {temporary}")
        else:
            from PySide6.QtSvg import QSvgGenerator

            generator = QSvgGenerator()
            generator.setFileName(str(temporary))
            generator.setSize(QSize(widget.width(), widget.height()))
            generator.setViewBox(QRect(0, 0, widget.width(), widget.height()))
            generator.setTitle("EV Battery Monitor plots")
            painter = QPainter(generator)
            try:
                widget.render(painter, QPoint())
            finally:
                painter.end()
            if not os.path.exists(temporary):
                raise OSError(f"Qt could not write {temporary}")
