"""One plot of the stack: several traces over the shared time axis, one Y axis per unit.

Traces whose units differ get their own Y axis (and ViewBox) in the same plot: the first unit
uses the left axis, the next the right one, further units more axes to the right. A trace with
a value table (an enum) always gets an axis of its own that names the values. Every axis
autoscales to the *valid* samples of its visible traces in the visible time range, from the
traces' min/max summaries, so invalid samples never drive the scale and scaling costs nothing.

The mouse pans and zooms time only (wheel, left drag); the time axis is linked across the
stack by :class:`widgets.plots.plot_stack.PlotStack`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyqtgraph as pg
from PySide6.QtCore import QMimeData, QPoint, Signal

from widgets.plots.axes import EnumAxis, TimeAxis
from widgets.plots.curves import TraceCurve
from widgets.theme import Theme

TRACE_MIME = "application/x-evbm-trace-keys"
LEFT_AXIS_WIDTH = 72
RIGHT_AXIS_WIDTH = 80
# Autoscale keeps the Y range while the visible data still fill this share of it.
Y_SHRINK_LIMIT = 0.75


def trace_mime(keys: list[str]) -> QMimeData:
    mime = QMimeData()
    mime.setData(TRACE_MIME, "\n".join(keys).encode("utf-8"))
    return mime


def keys_from_mime(mime: QMimeData) -> list[str]:
    if not mime.hasFormat(TRACE_MIME):
        return []
    return [k for k in bytes(mime.data(TRACE_MIME)).decode("utf-8").splitlines() if k]


class TraceViewBox(pg.ViewBox):
    """The main ViewBox of a plot: time-only mouse, our own context menu (so pyqtgraph's
    menu is never built: that saves a tenth of a plot's creation time)."""

    menu_requested = Signal(object)  # QPoint, global

    def __init__(self):
        super().__init__(enableMenu=False)

    def menuEnabled(self):  # noqa: N802 (pyqtgraph's name)
        return True  # a right click reaches raiseContextMenu below

    def getContextMenus(self, event):  # noqa: N802 (pyqtgraph's name)
        return []  # nothing of pyqtgraph's to add under a child item's menu

    def linkedViewChanged(self, view=None, axis=None):  # noqa: N802 (pyqtgraph's name)
        """Take a linked plot's time range as it is. pyqtgraph lines linked views up by their
        screen positions, which differs while a new plot is still being laid out; stacked
        plots share one time range exactly."""
        if axis == self.XAxis and view is not None and self.linkedView(axis) is view:
            low, high = view.viewRange()[0]
            view.blockLink(True)
            try:
                self.setXRange(low, high, padding=0)
            finally:
                view.blockLink(False)
            return
        super().linkedViewChanged(view, axis)

    def raiseContextMenu(self, ev):  # noqa: N802 (pyqtgraph's name)
        self.menu_requested.emit(ev.screenPos().toPoint())


@dataclass
class AxisGroup:
    key: str
    viewbox: pg.ViewBox
    axis: pg.AxisItem
    curves: list[TraceCurve] = field(default_factory=list)
    is_enum: bool = False


class TracePlot(pg.PlotWidget):
    """Emits ``traces_dropped(plot, keys)`` when trace keys are dropped on it,
    ``menu_requested(plot, global_pos)`` on a right click, ``activated(plot)`` on a click."""

    traces_dropped = Signal(object, list)
    menu_requested = Signal(object, QPoint)
    activated = Signal(object)

    def __init__(self, theme: Theme, parent=None):
        self.time_axis = TimeAxis()
        self.main_viewbox = TraceViewBox()
        super().__init__(parent, viewBox=self.main_viewbox, axisItems={"bottom": self.time_axis})
        self.theme = theme
        self.curves: dict[str, TraceCurve] = {}
        self.groups: list[AxisGroup] = []
        self.is_current = False
        self.right_slots = 0
        self._spacers: list[pg.AxisItem] = []

        item = self.getPlotItem()
        item.setMenuEnabled(False)
        item.hideButtons()
        self.main_viewbox.setMouseEnabled(x=True, y=False)
        self.main_viewbox.disableAutoRange()
        self.legend = item.addLegend(offset=(8, 4), labelTextSize="9pt")
        self.legend.sigSampleClicked.connect(self._on_legend_sample_clicked)
        self.setAcceptDrops(True)
        self.viewport().setAcceptDrops(True)
        self.setMinimumHeight(80)  # five plots and the docks fit a 768-pixel screen

        self.main_viewbox.sigXRangeChanged.connect(self._on_viewbox_x_range_changed)
        self.main_viewbox.sigResized.connect(self._on_viewbox_resized)
        self.main_viewbox.menu_requested.connect(self._on_viewbox_menu_requested)
        self.apply_theme(theme)

    # Traces ------------------------------------------------------------------------------

    def add_curve(self, curve: TraceCurve) -> None:
        self.curves[curve.key] = curve
        self._rebuild_groups()
        self.refresh()

    def take_curve(self, key: str) -> TraceCurve | None:
        """Remove a trace's curve from this plot and hand it back (to move it elsewhere)."""
        curve = self.curves.pop(key, None)
        if curve is not None:
            self._rebuild_groups()
            self.refresh()
        return curve

    def set_curve_visible(self, key: str, visible: bool) -> None:
        self.curves[key].item.setVisible(visible)
        self.autoscale()

    def visible_range(self) -> tuple[float, float]:
        t0, t1 = self.main_viewbox.viewRange()[0]
        return float(t0), float(t1)

    def time_extent(self) -> tuple[float, float] | None:
        extents = [c.time_extent() for c in self.curves.values()]
        extents = [e for e in extents if e is not None]
        if not extents:
            return None
        return min(e[0] for e in extents), max(e[1] for e in extents)

    # Drawing -----------------------------------------------------------------------------

    def refresh(self) -> None:
        """Redraw every curve at the screen's resolution and rescale the Y axes."""
        t0, t1 = self.visible_range()
        columns = max(int(self.main_viewbox.width()), 100)
        for curve in self.curves.values():
            curve.refresh(t0, t1, columns)
        self.autoscale()
        # pyqtgraph applies a new range to its transforms when it paints, which makes Qt paint
        # the plot a second time; applying it now keeps it to one paint per frame.
        self.main_viewbox.updateMatrix()
        for group in self.groups:
            group.viewbox.updateMatrix()

    def autoscale(self) -> None:
        t0, t1 = self.visible_range()
        for group in self.groups:
            ranges = [r for c in group.curves if (r := c.value_range(t0, t1)) is not None]
            if not ranges:
                continue
            low = min(r[0] for r in ranges)
            high = max(r[1] for r in ranges)
            if group.is_enum:
                low, high = low - 0.5, high + 0.5
            else:
                pad = (high - low) * 0.06 or max(abs(high) * 0.05, 0.5)
                low, high = low - pad, high + pad
            shown_low, shown_high = group.viewbox.viewRange()[1]
            still_fits = shown_low <= low and high <= shown_high
            if still_fits and (high - low) >= Y_SHRINK_LIMIT * (shown_high - shown_low):
                continue  # a steady axis while panning: rescale only when the data leaves it
            group.viewbox.setYRange(low, high, padding=0)

    def apply_theme(self, theme: Theme) -> None:
        self.theme = theme
        self.setBackground(theme.plot_background)
        item = self.getPlotItem()
        for name in ("left", "bottom"):
            axis = item.getAxis(name)
            axis.setPen(pg.mkPen(theme.plot_foreground))
            axis.setTextPen(pg.mkPen(theme.plot_foreground))
        for group in self.groups:
            group.axis.setPen(pg.mkPen(theme.plot_foreground))
            group.axis.setTextPen(
                pg.mkPen(
                    group.curves[0].colour if len(group.curves) == 1 else theme.plot_foreground
                )
            )
        item.showGrid(x=True, y=True, alpha=theme.grid_alpha)
        for name in ("bottom", "left"):
            # Grid lines of the finest tick level cost more to blend than the curves do to
            # draw (pan median 90 -> 36 ms in tests/benchmarks/bench_gui.py); major and
            # minor lines are enough to read values against.
            item.getAxis(name).setStyle(maxTickLevel=1)
        self.legend.setLabelTextColor(theme.plot_foreground)
        for _sample, label in self.legend.items:
            label.setText(label.text)  # pyqtgraph only stores the new colour; draw with it
        self.legend.setBrush(pg.mkBrush(theme.plot_background + "90"))
        self._show_current_frame()

    def set_current(self, current: bool) -> None:
        self.is_current = current
        self._show_current_frame()

    def set_time_labels_visible(self, visible: bool) -> None:
        """Only the bottom plot of the stack shows time values; the others keep the grid."""
        self.time_axis.set_labels_visible(visible)
        self.getPlotItem().layout.setContentsMargins(1, 1, 1, 8 if visible else 1)

    def _show_current_frame(self) -> None:
        colour = self.theme.highlight if self.is_current else self.theme.plot_background
        sheet = f"TracePlot {{ border: 2px solid {colour}; }}"
        if sheet != self.styleSheet():  # restyling a view is costly: only when it changes
            self.setStyleSheet(sheet)

    # Axis groups -------------------------------------------------------------------------

    def _rebuild_groups(self) -> None:
        """Lay out one Y axis per unit (and per enum trace) for the curves now in the plot."""
        item = self.getPlotItem()
        for group in self.groups:
            for curve in group.curves:
                group.viewbox.removeItem(curve.item)
                group.viewbox.removeItem(curve.dots)
                self.legend.removeItem(curve.item)
            if group.viewbox is not self.main_viewbox:
                self.scene().removeItem(group.viewbox)
                if group.axis not in (item.getAxis("left"), item.getAxis("right")):
                    item.layout.removeItem(group.axis)
                    self.scene().removeItem(group.axis)
        self.groups = []
        if not self.curves:
            item.setAxisItems({"left": pg.AxisItem("left")})
            item.getAxis("left").setWidth(LEFT_AXIS_WIDTH)

        for curve in self.curves.values():
            key = f"enum:{curve.key}" if curve.trace.is_enum else f"unit:{curve.trace.unit}"
            group = next((g for g in self.groups if g.key == key), None)
            if group is None:
                group = self._new_group(key, curve, len(self.groups))
                self.groups.append(group)
            group.curves.append(curve)
            group.viewbox.addItem(curve.item)
            group.viewbox.addItem(curve.dots)
            self.legend.addItem(curve.item, curve.name())

        self._layout_spacers()
        for group in self.groups:
            group.axis.setLabel(_axis_label(group))
            group.axis.enableAutoSIPrefix(False)
        self.apply_theme(self.theme)
        self._on_viewbox_resized()

    def set_right_slots(self, slots: int) -> None:
        """Reserve room for ``slots`` right-hand axes, used or blank, so that the time axes of
        plots with different numbers of units line up in the stack."""
        if slots != self.right_slots:
            self.right_slots = slots
            self._layout_spacers()

    def _layout_spacers(self) -> None:
        item = self.getPlotItem()
        for spacer in self._spacers:
            item.layout.removeItem(spacer)
            self.scene().removeItem(spacer)
        self._spacers = []
        used = max(len(self.groups) - 1, 0)
        item.showAxis("right", used > 0 or self.right_slots > 0)
        if used == 0:
            blank = pg.AxisItem("right")
            item.setAxisItems({"right": blank})
            item.showAxis("right", self.right_slots > 0)
            blank.setStyle(showValues=False)
            blank.setPen(pg.mkPen(None))
            blank.setWidth(RIGHT_AXIS_WIDTH)
        for index in range(max(used + 1, 2), self.right_slots + 1):
            spacer = pg.AxisItem("right")
            spacer.setStyle(showValues=False)
            spacer.setPen(pg.mkPen(None))
            spacer.setWidth(RIGHT_AXIS_WIDTH)
            item.layout.addItem(spacer, 2, 1 + index)
            self._spacers.append(spacer)

    def _new_group(self, key: str, curve: TraceCurve, index: int) -> AxisGroup:
        item = self.getPlotItem()
        is_enum = curve.trace.is_enum
        orientation = "left" if index == 0 else "right"
        axis = EnumAxis(orientation, curve.trace.choices) if is_enum else pg.AxisItem(orientation)
        if index == 0:
            item.setAxisItems({"left": axis})
            axis.setWidth(LEFT_AXIS_WIDTH)
            return AxisGroup(key, self.main_viewbox, axis, is_enum=is_enum)

        viewbox = pg.ViewBox(enableMenu=False)
        viewbox.setMouseEnabled(x=False, y=False)
        viewbox.setZValue(-100)  # under the main ViewBox, which takes the mouse
        self.scene().addItem(viewbox)
        viewbox.setXLink(self.main_viewbox)
        if index == 1:
            item.setAxisItems({"right": axis})
        else:
            item.layout.addItem(axis, 2, 1 + index)
        axis.linkToView(viewbox)
        axis.setWidth(RIGHT_AXIS_WIDTH)
        return AxisGroup(key, viewbox, axis, is_enum=is_enum)

    # Events ------------------------------------------------------------------------------

    def _on_viewbox_x_range_changed(self, *_args) -> None:
        self.refresh()

    def _on_viewbox_resized(self, *_args) -> None:
        for group in self.groups:
            if group.viewbox is not self.main_viewbox:
                group.viewbox.setGeometry(self.main_viewbox.sceneBoundingRect())
                group.viewbox.linkedViewChanged(self.main_viewbox, group.viewbox.XAxis)
        self.refresh()

    def _on_legend_sample_clicked(self, _item) -> None:
        self.autoscale()

    def _on_viewbox_menu_requested(self, position: QPoint) -> None:
        self.menu_requested.emit(self, position)

    def mousePressEvent(self, event):  # noqa: N802 (Qt's name)
        self.activated.emit(self)
        super().mousePressEvent(event)

    def dragEnterEvent(self, event):  # noqa: N802 (Qt's name)
        if event.mimeData().hasFormat(TRACE_MIME):
            event.acceptProposedAction()
        else:
            event.ignore()  # files go on to the main window

    def dragMoveEvent(self, event):  # noqa: N802 (Qt's name)
        if event.mimeData().hasFormat(TRACE_MIME):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event):  # noqa: N802 (Qt's name)
        keys = keys_from_mime(event.mimeData())
        if not keys:
            event.ignore()
            return
        event.acceptProposedAction()
        self.traces_dropped.emit(self, keys)


def _axis_label(group: AxisGroup) -> str:
    """The unit (the legend names the traces); an enum or unitless trace's own name."""
    unit = group.curves[0].trace.unit
    if group.is_enum or not unit:
        return group.curves[0].trace.signal if len(group.curves) == 1 else ""
    return unit
