"""The signal browser: every trace of the session, grouped by channel and message.

A search box filters by substring (default) or regular expression over signal and message
names. Each trace row shows its unit, its sample count and how many samples are invalid.
Double-click a trace (``trace_activated``) to show it in the current plot, or drag one or more
onto a plot, or onto the strip under the plots for a new plot.
"""

from __future__ import annotations

import re

from PySide6.QtCore import QModelIndex, QRegularExpression, QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from app.traces import Trace
from widgets.plots.trace_plot import TRACE_MIME, trace_mime

KEY_ROLE = Qt.ItemDataRole.UserRole + 1
COLUMNS = ["Signal", "Unit", "Samples", "Invalid"]


class TraceModel(QStandardItemModel):
    """Channel → message → trace rows; trace rows carry their key under KEY_ROLE."""

    def __init__(self, parent=None):
        super().__init__(0, len(COLUMNS), parent)
        self.setHorizontalHeaderLabels(COLUMNS)

    def set_traces(self, traces: list[Trace]) -> None:
        self.removeRows(0, self.rowCount())
        channels: dict[int, QStandardItem] = {}
        messages: dict[tuple[int, str], QStandardItem] = {}
        for trace in sorted(traces, key=lambda t: (t.channel, t.message, t.signal)):
            channel = channels.get(trace.channel)
            if channel is None:
                channel = _group_item(f"CAN channel {trace.channel}")
                self.appendRow([channel, *(_group_item("") for _ in COLUMNS[1:])])
                channels[trace.channel] = channel
            message = messages.get((trace.channel, trace.message))
            if message is None:
                message = _group_item(trace.message)
                channel.appendRow([message, *(_group_item("") for _ in COLUMNS[1:])])
                messages[(trace.channel, trace.message)] = message
            message.appendRow(_trace_row(trace))

    def mimeTypes(self):  # noqa: N802 (Qt's name)
        return [TRACE_MIME]

    def mimeData(self, indexes):  # noqa: N802 (Qt's name)
        keys = []
        for index in indexes:
            key = index.data(KEY_ROLE)
            if key and key not in keys:
                keys.append(key)
        return trace_mime(keys)


class SignalBrowser(QWidget):
    trace_activated = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.model = TraceModel(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setRecursiveFilteringEnabled(True)
        self.proxy.setAutoAcceptChildRows(True)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.proxy.setFilterKeyColumn(0)

        self.search = QLineEdit()
        self.search.setPlaceholderText("Search signals and messages")
        self.search.setClearButtonEnabled(True)
        self.regex = QCheckBox("Regex")
        self.regex.setToolTip("Treat the search text as a regular expression")
        self.tree = QTreeView()
        self.tree.setModel(self.proxy)
        self.tree.setUniformRowHeights(True)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.tree.setDragEnabled(True)
        self.tree.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.tree.setAlternatingRowColors(True)
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in range(1, len(COLUMNS)):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)

        row = QHBoxLayout()
        row.addWidget(self.search, 1)
        row.addWidget(self.regex)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(row)
        layout.addWidget(self.tree, 1)

        self.search.textChanged.connect(self._on_search_changed)
        self.regex.toggled.connect(self._on_search_changed)
        self.tree.doubleClicked.connect(self._on_tree_double_clicked)

    def set_traces(self, traces: list[Trace]) -> None:
        self.model.set_traces(traces)
        self._on_search_changed()
        if self.model.rowCount() <= 4:  # a few channels: open them to show the messages
            for row in range(self.proxy.rowCount()):
                self.tree.expand(self.proxy.index(row, 0))

    def visible_trace_keys(self) -> list[str]:
        """The keys of trace rows the filter lets through, in display order."""
        keys = []

        def walk(parent: QModelIndex) -> None:
            for row in range(self.proxy.rowCount(parent)):
                index = self.proxy.index(row, 0, parent)
                key = index.data(KEY_ROLE)
                if key:
                    keys.append(key)
                walk(index)

        walk(QModelIndex())
        return keys

    def index_of(self, key: str) -> QModelIndex:
        """The proxy index of a trace row (invalid if filtered out or unknown)."""
        matches = self.model.match(
            self.model.index(0, 0),
            KEY_ROLE,
            key,
            1,
            Qt.MatchFlag.MatchExactly | Qt.MatchFlag.MatchRecursive,
        )
        return self.proxy.mapFromSource(matches[0]) if matches else QModelIndex()

    def _on_search_changed(self, *_args) -> None:
        text = self.search.text()
        if self.regex.isChecked():
            try:
                re.compile(text)
            except re.error as exc:
                self.search.setStyleSheet("QLineEdit { border: 1px solid #d9480f; }")
                self.search.setToolTip(f"Not a regular expression: {exc}")
                return
            expression = QRegularExpression(
                text, QRegularExpression.PatternOption.CaseInsensitiveOption
            )
        else:
            expression = QRegularExpression(
                QRegularExpression.escape(text),
                QRegularExpression.PatternOption.CaseInsensitiveOption,
            )
        self.search.setStyleSheet("")
        self.search.setToolTip("")
        self.proxy.setFilterRegularExpression(expression)
        if text:
            self.tree.expandAll()

    def _on_tree_double_clicked(self, index: QModelIndex) -> None:
        key = index.siblingAtColumn(0).data(KEY_ROLE)
        if key:
            self.trace_activated.emit(key)


def _group_item(text: str) -> QStandardItem:
    item = QStandardItem(text)
    item.setEditable(False)
    item.setDragEnabled(False)
    return item


def _trace_row(trace: Trace) -> list[QStandardItem]:
    name = QStandardItem(trace.signal)
    name.setData(trace.key, KEY_ROLE)
    tip = [trace.key]
    if trace.role:
        tip.append(f"battery role: {trace.role}")
    if trace.comment:
        tip.append(trace.comment)
    name.setToolTip("\n".join(tip))
    invalid = trace.invalid_count
    cells = [
        name,
        QStandardItem(trace.unit),
        QStandardItem(f"{len(trace):,}"),
        QStandardItem(f"{invalid:,}" if invalid else ""),
    ]
    for column, item in enumerate(cells):
        item.setEditable(False)
        item.setData(trace.key, KEY_ROLE)
        if column >= 2:
            item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return cells
