"""The labels panel: every label of the session in a table, with its commands."""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QAction, QColor, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QTableWidget,
    QTableWidgetItem,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from app.labels import Label, LabelBook, Taxonomy
from widgets.labels.editor import class_icon

COLUMNS = ("Class", "Start", "End", "Duration", "Note", "Tags", "Who", "Source", "Status")
ID_ROLE = Qt.ItemDataRole.UserRole


def seconds_text(seconds: float) -> str:
    return f"{seconds:.3f} s"


class LabelsPanel(QWidget):
    """``label_selected(id)`` when a row is chosen; ``edit_requested(id)`` on a double click
    or Edit; the toolbar's other actions are the controller's to connect."""

    label_selected = Signal(str)
    edit_requested = Signal(str)

    def __init__(self, taxonomy: Taxonomy, parent: QWidget | None = None):
        super().__init__(parent)
        self.taxonomy = taxonomy
        self.book: LabelBook | None = None
        self.display_origin_s = 0.0  # times show counted from here, as the time axis does
        self._updating = False

        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(COLUMNS.index("Note"), QHeaderView.ResizeMode.Stretch)
        self.table.itemSelectionChanged.connect(self._on_table_selection_changed)
        self.table.itemDoubleClicked.connect(self._on_table_item_double_clicked)
        self.table.installEventFilter(self)

        self.toolbar = QToolBar()
        self.toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.edit_action = self._action("Edit…", "Change class, note and tags", "Return")
        self.delete_action = self._action("Delete", "Delete the selected label (Del)")
        self.accept_action = self._action("Accept", "Accept the rule's label")
        self.reject_action = self._action("Reject", "Reject the rule's label")
        self.edit_action.triggered.connect(self._on_edit_triggered)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.toolbar)
        layout.addWidget(self.table)
        self._update_actions()

    def _action(self, text: str, tip: str, shortcut: str | None = None) -> QAction:
        action = QAction(text, self)
        action.setToolTip(tip)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
            # only while the panel has focus: Delete elsewhere removes a plot
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.addAction(action)
        self.toolbar.addAction(action)
        return action

    # -- the book

    def set_book(self, book: LabelBook | None) -> None:
        if self.book is not None:
            self.book.unsubscribe(self._on_book_changed)
        self.book = book
        if book is not None:
            book.subscribe(self._on_book_changed)
        self.refresh()

    def selected_id(self) -> str | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        return self.table.item(rows[0].row(), 0).data(ID_ROLE)

    def select(self, label_id: str | None) -> None:
        for row in range(self.table.rowCount()):
            if self.table.item(row, 0).data(ID_ROLE) == label_id:
                self.table.selectRow(row)
                self.table.scrollToItem(self.table.item(row, 0))
                return
        self.table.clearSelection()

    def row_texts(self) -> list[list[str]]:
        """What the table shows, row by row (for tests and copying)."""
        return [
            [self.table.item(r, c).text() for c in range(self.table.columnCount())]
            for r in range(self.table.rowCount())
        ]

    def refresh(self) -> None:
        chosen = self.selected_id()
        self._updating = True
        labels = self.book.labels() if self.book is not None else []
        self.table.setRowCount(len(labels))
        for row, label in enumerate(labels):
            for column, item in enumerate(self._items(label)):
                self.table.setItem(row, column, item)
        self._updating = False
        if chosen is not None and self.book is not None and chosen in self.book:
            self.select(chosen)
        self._update_actions()

    def _items(self, label: Label) -> list[QTableWidgetItem]:
        label_class = self.taxonomy.get(label.label_class)
        who = label.author
        source = "technician" if not label.is_rule else label.source.removeprefix("rule:")
        if label.is_rule and label.confidence is not None:
            source += f" ({label.confidence:.0%})"
        texts = [
            label_class.name,
            seconds_text(label.start_s - self.display_origin_s),
            seconds_text(label.end_s - self.display_origin_s),
            seconds_text(label.duration_s),
            label.note.replace("\n", " "),
            ", ".join(label.tags),
            who,
            source,
            label.status,
        ]
        items = [QTableWidgetItem(text) for text in texts]
        items[0].setIcon(class_icon(label_class.colour))
        items[0].setData(ID_ROLE, label.id)
        if label.start_epoch_s is not None:
            wall = datetime.fromtimestamp(label.start_epoch_s).isoformat(sep=" ")
            items[1].setToolTip(wall)
        if label.status == "rejected":
            for item in items:
                item.setForeground(QColor("#888888"))
        for item in items[1:4]:
            item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return items

    def _update_actions(self) -> None:
        chosen = self.selected_id()
        label = self.book.get(chosen) if chosen and self.book and chosen in self.book else None
        for action in (self.edit_action, self.delete_action):
            action.setEnabled(label is not None)
        self.accept_action.setEnabled(label is not None and label.is_rule)
        self.reject_action.setEnabled(label is not None and label.is_rule)

    # -- events

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 (Qt's name)
        """Del in the table deletes the selected label. The window's Del (remove the current
        plot) is a window-wide shortcut; taking the ShortcutOverride here lets the table have
        the key while it has the focus."""
        if watched is self.table and event.type() in (
            QEvent.Type.ShortcutOverride,
            QEvent.Type.KeyPress,
        ):
            if event.key() == Qt.Key.Key_Delete and self.selected_id() is not None:
                event.accept()
                if event.type() == QEvent.Type.KeyPress:
                    self.delete_action.trigger()
                return True
        return super().eventFilter(watched, event)

    def _on_book_changed(self, _kind: str, _label: Label) -> None:
        self.refresh()

    def _on_table_selection_changed(self) -> None:
        self._update_actions()
        if self._updating:
            return
        chosen = self.selected_id()
        if chosen is not None:
            self.label_selected.emit(chosen)

    def _on_table_item_double_clicked(self, item: QTableWidgetItem) -> None:
        label_id = self.table.item(item.row(), 0).data(ID_ROLE)
        self.edit_requested.emit(label_id)

    def _on_edit_triggered(self) -> None:
        chosen = self.selected_id()
        if chosen is not None:
            self.edit_requested.emit(chosen)
