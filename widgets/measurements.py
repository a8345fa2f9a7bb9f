"""Readouts of the cursors and the selected range, for every trace shown.

At a cursor a trace reads its last sample at or before that time (a CAN signal holds its value
until the next frame). An invalid sample there reads "n/a". Over a selected range the
statistics use valid samples only. Each cell keeps the number itself under ``Qt.UserRole``.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.traces import Trace
from widgets.plots.cursors import CursorOverlay, RangeOverlay
from widgets.plots.plot_stack import PlotStack

CURSOR_COLUMNS = ["Trace", "Unit", "A", "B", "Δ (B − A)"]
RANGE_COLUMNS = ["Trace", "Unit", "Min", "Max", "Mean", "Std", "Samples"]


def value_at(trace: Trace, t: float) -> tuple[float, float, bool] | None:
    """``(sample_time_s, value, valid)`` of the last sample at or before ``t``."""
    index = int(np.searchsorted(trace.time_s, t, side="right")) - 1
    if index < 0:
        return None
    return float(trace.time_s[index]), float(trace.values[index]), bool(trace.valid[index])


def range_stats(trace: Trace, t0: float, t1: float) -> dict[str, float] | None:
    """min, max, mean, std and count of the valid samples with ``t0 <= t <= t1``."""
    i0 = int(np.searchsorted(trace.time_s, t0, side="left"))
    i1 = int(np.searchsorted(trace.time_s, t1, side="right"))
    values = trace.values[i0:i1][trace.valid[i0:i1]]
    if not len(values):
        return None
    return {
        "min": float(values.min()),
        "max": float(values.max()),
        "mean": float(values.mean()),
        "std": float(values.std()),
        "count": len(values),
    }


def format_value(trace: Trace, value: float | None) -> str:
    if value is None or not np.isfinite(value):
        return "n/a"
    name = trace.label_for(value)
    return name if name else f"{value:.6g}"


class MeasurementsPanel(QTabWidget):
    def __init__(
        self, stack: PlotStack, cursors: CursorOverlay, selection: RangeOverlay, parent=None
    ):
        super().__init__(parent)
        self.stack = stack
        self.cursors = cursors
        self.selection = selection
        self.cursor_header = QLabel()
        self.cursor_table = _table(CURSOR_COLUMNS)
        self.range_header = QLabel()
        self.range_table = _table(RANGE_COLUMNS)
        self.addTab(_page(self.cursor_header, self.cursor_table), "Cursors")
        self.addTab(_page(self.range_header, self.range_table), "Range")
        cursors.changed.connect(self.update_cursor_readouts)
        selection.changed.connect(self.update_range_readouts)
        stack.layout_changed.connect(self._on_stack_layout_changed)
        self._on_stack_layout_changed()

    def shown_traces(self) -> list[Trace]:
        return [self.stack.traces[key] for key in self.stack.shown_keys()]

    def update_cursor_readouts(self) -> None:
        positions = self.cursors.positions
        traces = self.shown_traces() if positions else []
        if positions:
            t_a, t_b = positions
            self.cursor_header.setText(
                f"A = {self._time_text(t_a)}    B = {self._time_text(t_b)}    "
                f"Δt = {t_b - t_a:.6g} s"
            )
        else:
            self.cursor_header.setText("Cursors are off (Measure ▸ Cursors).")
        self.cursor_table.setRowCount(len(traces))
        for row, trace in enumerate(traces):
            a = value_at(trace, positions[0])
            b = value_at(trace, positions[1])
            va = a[1] if a and a[2] else None
            vb = b[1] if b and b[2] else None
            delta = vb - va if va is not None and vb is not None and not trace.is_enum else None
            cells = [
                trace.signal,
                trace.unit,
                (format_value(trace, va), va),
                (format_value(trace, vb), vb),
                (format_value(trace, delta), delta),
            ]
            _fill_row(self.cursor_table, row, cells)

    def update_range_readouts(self) -> None:
        region = self.selection.region
        traces = self.shown_traces() if region else []
        if region:
            self.range_header.setText(
                f"{self._time_text(region[0])} … {self._time_text(region[1])}    "
                f"duration {region[1] - region[0]:.6g} s    (valid samples only)"
            )
        else:
            self.range_header.setText("No range selected (Measure ▸ Select range).")
        self.range_table.setRowCount(len(traces))
        for row, trace in enumerate(traces):
            stats = range_stats(trace, *region)
            cells = [trace.signal, trace.unit]
            for name in ("min", "max", "mean", "std"):
                value = stats[name] if stats else None
                cells.append((f"{value:.6g}" if value is not None else "n/a", value))
            count = stats["count"] if stats else 0
            cells.append((str(count), count))
            _fill_row(self.range_table, row, cells)

    def _time_text(self, t: float) -> str:
        return self.stack.describe_time(t)

    def _on_stack_layout_changed(self) -> None:
        self.update_cursor_readouts()
        self.update_range_readouts()


def _table(columns: list[str]) -> QTableWidget:
    table = QTableWidget(0, len(columns))
    table.setHorizontalHeaderLabels(columns)
    table.verticalHeader().setVisible(False)
    table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    header = table.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    header.setStretchLastSection(True)
    header.resizeSection(0, 280)
    for column in range(2, len(columns)):
        header.resizeSection(column, 120)
    table.setAlternatingRowColors(True)
    return table


def _page(header: QLabel, table: QTableWidget) -> QWidget:
    page = QWidget()
    layout = QVBoxLayout(page)
    layout.setContentsMargins(4, 4, 4, 4)
    layout.addWidget(header)
    layout.addWidget(table)
    return page


def _fill_row(table: QTableWidget, row: int, cells: list) -> None:
    for column, cell in enumerate(cells):
        text, value = cell if isinstance(cell, tuple) else (cell, None)
        item = QTableWidgetItem(text)
        item.setData(Qt.ItemDataRole.UserRole, value)
        if column >= 2:
            item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        table.setItem(row, column, item)
