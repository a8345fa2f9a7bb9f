"""Overlays that span every plot of the stack: two measurement cursors and a selected range.

Both follow the same pattern (the one label mode can follow): one model (times in seconds),
one graphics item per plot, kept in every plot as plots come and go through the stack's
``plot_added``/``plot_removed``; dragging the item in any plot moves it in all of them and
emits one ``changed`` signal.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QObject, Signal

from widgets.plots.plot_stack import PlotStack
from widgets.plots.trace_plot import TracePlot
from widgets.theme import Theme


class CursorOverlay(QObject):
    """Cursors A and B: ``positions`` is ``[t_a, t_b]`` while shown, else None."""

    changed = Signal()

    def __init__(self, stack: PlotStack, theme: Theme):
        super().__init__(stack)
        self.stack = stack
        self.theme = theme
        self.positions: list[float] | None = None
        self._lines: dict[TracePlot, list[pg.InfiniteLine]] = {}
        stack.plot_added.connect(self._on_stack_plot_added)
        stack.plot_removed.connect(self._on_stack_plot_removed)

    def show(self, t_a: float | None = None, t_b: float | None = None) -> None:
        """Show both cursors (by default at a third and two thirds of the view)."""
        view = self.stack.visible_range() or (0.0, 1.0)
        span = view[1] - view[0]
        t_a = view[0] + span / 3 if t_a is None else t_a
        t_b = view[0] + 2 * span / 3 if t_b is None else t_b
        self.positions = [float(t_a), float(t_b)]
        for plot in self.stack.plots():
            self._ensure_lines(plot)
        self._sync()
        self.changed.emit()

    def hide(self) -> None:
        self.positions = None
        self._sync()
        self.changed.emit()

    def move(self, which: int, t: float) -> None:
        if self.positions is None:
            self.show()
        self.positions[which] = float(t)
        self._sync()
        self.changed.emit()

    def lines_of(self, plot: TracePlot) -> list[pg.InfiniteLine]:
        return self._lines.get(plot, [])

    def apply_theme(self, theme: Theme) -> None:
        self.theme = theme
        for lines in self._lines.values():
            for line, colour in zip(lines, theme.cursor_colours, strict=True):
                line.setPen(pg.mkPen(colour, width=1.5))
                line.label.setColor(colour)

    def _ensure_lines(self, plot: TracePlot) -> None:
        if plot in self._lines:
            return
        lines = []
        for which, (colour, name) in enumerate(zip(self.theme.cursor_colours, "AB", strict=True)):
            line = pg.InfiniteLine(
                angle=90,
                movable=True,
                pen=pg.mkPen(colour, width=1.5),
                label=name,
                labelOpts={"position": 0.95, "color": colour},
            )
            line.setZValue(50)
            line.sigPositionChanged.connect(lambda item, w=which: self._on_line_moved(w, item))
            plot.main_viewbox.addItem(line, ignoreBounds=True)
            lines.append(line)
        self._lines[plot] = lines

    def _sync(self) -> None:
        for lines in self._lines.values():
            for which, line in enumerate(lines):
                line.setVisible(self.positions is not None)
                if self.positions is not None and line.value() != self.positions[which]:
                    line.blockSignals(True)
                    line.setValue(self.positions[which])
                    line.blockSignals(False)

    def _on_line_moved(self, which: int, line: pg.InfiniteLine) -> None:
        if self.positions is None:
            return
        self.positions[which] = float(line.value())
        self._sync()
        self.changed.emit()

    def _on_stack_plot_added(self, plot: TracePlot) -> None:
        self._ensure_lines(plot)
        self._sync()

    def _on_stack_plot_removed(self, plot: TracePlot) -> None:
        self._lines.pop(plot, None)


class RangeOverlay(QObject):
    """A selected time range, shaded in every plot: ``region`` is ``(t0, t1)`` or None."""

    changed = Signal()

    def __init__(self, stack: PlotStack, theme: Theme):
        super().__init__(stack)
        self.stack = stack
        self.theme = theme
        self.region: tuple[float, float] | None = None
        self._items: dict[TracePlot, pg.LinearRegionItem] = {}
        stack.plot_added.connect(self._on_stack_plot_added)
        stack.plot_removed.connect(self._on_stack_plot_removed)

    def select(self, t0: float | None = None, t1: float | None = None) -> None:
        view = self.stack.visible_range() or (0.0, 1.0)
        span = view[1] - view[0]
        t0 = view[0] + span * 0.4 if t0 is None else t0
        t1 = view[0] + span * 0.6 if t1 is None else t1
        self.region = (float(min(t0, t1)), float(max(t0, t1)))
        for plot in self.stack.plots():
            self._ensure_item(plot)
        self._sync()
        self.changed.emit()

    def clear(self) -> None:
        self.region = None
        self._sync()
        self.changed.emit()

    def _ensure_item(self, plot: TracePlot) -> None:
        if plot in self._items:
            return
        item = pg.LinearRegionItem(brush=pg.mkBrush(self.theme.region_colour), movable=True)
        item.setZValue(-10)
        item.sigRegionChangeFinished.connect(self._on_item_region_changed)
        plot.main_viewbox.addItem(item, ignoreBounds=True)
        self._items[plot] = item

    def _sync(self) -> None:
        for item in self._items.values():
            item.setVisible(self.region is not None)
            if self.region is not None and tuple(item.getRegion()) != self.region:
                item.blockSignals(True)
                item.setRegion(self.region)
                item.blockSignals(False)

    def _on_item_region_changed(self, item: pg.LinearRegionItem) -> None:
        if self.region is None:
            return
        t0, t1 = item.getRegion()
        self.region = (float(t0), float(t1))
        self._sync()
        self.changed.emit()

    def _on_stack_plot_added(self, plot: TracePlot) -> None:
        if self.region is not None:
            self._ensure_item(plot)
            self._sync()

    def _on_stack_plot_removed(self, plot: TracePlot) -> None:
        self._items.pop(plot, None)
