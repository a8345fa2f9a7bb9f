"""The stack of plots that share one time axis.

Seams for other parts of the window (label mode, issue 4, builds on these):

- :meth:`PlotStack.plots` enumerates the plots top to bottom; ``plot_added(plot)`` and
  ``plot_removed(plot)`` fire whenever one comes or goes, so an overlay (cursors, a range, a
  label's shading) can put an item into every plot and keep it there. Each plot is a
  :class:`widgets.plots.trace_plot.TracePlot`; put overlay items into ``plot.main_viewbox``
  with ``ignoreBounds=True``. :class:`widgets.plots.cursors.CursorOverlay` is a worked example.
- ``x_range_changed(t0, t1)`` fires when the shared time range changes;
  :meth:`PlotStack.set_x_range` and :meth:`PlotStack.visible_range` read and set it.
- ``layout_changed()`` fires when traces or plots change, so a session can be saved.

Traces come from :meth:`PlotStack.set_session`, with the min/max summaries the loader built.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QPoint, Qt, Signal
from PySide6.QtGui import QAction, QColor
from PySide6.QtWidgets import QColorDialog, QLabel, QMenu, QSplitter, QVBoxLayout, QWidget

from app.minmax import MinMaxPyramid
from app.traces import Trace
from widgets.plots.axes import RELATIVE
from widgets.plots.curves import TraceCurve
from widgets.plots.trace_plot import TRACE_MIME, TracePlot, keys_from_mime
from widgets.theme import Theme, trace_colour

log = logging.getLogger(__name__)

# Times above this (1973) are taken for Unix times; below it, for seconds since a start.
UNIX_TIME_FLOOR_S = 1e8


class NewPlotDropArea(QLabel):
    """The strip under the plots: dropping traces here makes a new plot for them."""

    traces_dropped = Signal(list)

    def __init__(self, parent=None):
        super().__init__(
            "Drop a trace here for a new plot · double-click a trace to show it", parent
        )
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setAcceptDrops(True)
        self.setMinimumHeight(34)
        self.setStyleSheet("QLabel { border: 1px dashed palette(mid); color: palette(mid); }")

    def dragEnterEvent(self, event):  # noqa: N802 (Qt's name)
        if event.mimeData().hasFormat(TRACE_MIME):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event):  # noqa: N802 (Qt's name)
        keys = keys_from_mime(event.mimeData())
        if keys:
            event.acceptProposedAction()
            self.traces_dropped.emit(keys)


class PlotStack(QWidget):
    plot_added = Signal(object)
    plot_removed = Signal(object)
    current_plot_changed = Signal(object)
    layout_changed = Signal()
    x_range_changed = Signal(float, float)

    def __init__(self, theme: Theme, parent=None):
        super().__init__(parent)
        self.theme = theme
        self.traces: dict[str, Trace] = {}
        self.pyramids: dict[str, MinMaxPyramid] = {}
        self._plots: list[TracePlot] = []
        self.current_plot: TracePlot | None = None
        self.time_mode = RELATIVE
        self.origin_s = 0.0
        self.wall_offset_s: float | None = None
        self._colour_counter = 0

        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setHandleWidth(4)
        self.drop_area = NewPlotDropArea()
        self.drop_area.traces_dropped.connect(self._on_drop_area_traces_dropped)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.splitter, 1)
        layout.addWidget(self.drop_area)
        self.layout_changed.connect(self.align_axes)

    # Session -----------------------------------------------------------------------------

    def set_session(
        self, traces: list[Trace], pyramids: dict[str, MinMaxPyramid], epoch_s: float | None
    ) -> None:
        """Forget every plot and take a new session's traces.

        ``epoch_s`` is the capture's start as Unix time when known. Times that are Unix times
        already (as in BLF and candump files) need no offset for the wall clock; times counted
        from the start (ASC, TRC ...) need ``epoch_s``.
        """
        for plot in list(self._plots):
            self.remove_plot(plot)
        self.traces = {trace.key: trace for trace in traces}
        self.pyramids = pyramids
        firsts = [float(trace.time_s[0]) for trace in traces if len(trace)]
        self.origin_s = min(firsts) if firsts else 0.0
        self.wall_offset_s = 0.0 if self.origin_s > UNIX_TIME_FLOOR_S else epoch_s
        self._colour_counter = 0

    def plots(self) -> list[TracePlot]:
        return list(self._plots)

    def shown_keys(self) -> list[str]:
        return [key for plot in self._plots for key in plot.curves]

    def plot_of(self, key: str) -> TracePlot | None:
        return next((plot for plot in self._plots if key in plot.curves), None)

    def curve(self, key: str) -> TraceCurve | None:
        plot = self.plot_of(key)
        return plot.curves[key] if plot else None

    # Plots -------------------------------------------------------------------------------

    def add_plot(self, index: int | None = None) -> TracePlot:
        plot = TracePlot(self.theme)
        plot.time_axis.set_mode(self.time_mode, self.origin_s, self.wall_offset_s)
        index = len(self._plots) if index is None else index
        self._plots.insert(index, plot)
        self.splitter.insertWidget(index, plot)
        plot.traces_dropped.connect(self._on_plot_traces_dropped)
        plot.menu_requested.connect(self._on_plot_menu_requested)
        plot.activated.connect(self.set_current_plot)
        plot.main_viewbox.sigXRangeChanged.connect(self._on_plot_x_range_changed)
        self._relink()
        self.plot_added.emit(plot)
        self.set_current_plot(plot)
        self.layout_changed.emit()
        return plot

    def remove_plot(self, plot: TracePlot) -> None:
        if plot not in self._plots:
            return
        self._plots.remove(plot)
        plot.setParent(None)
        self._relink()
        self.plot_removed.emit(plot)
        plot.deleteLater()
        if self.current_plot is plot:
            self.set_current_plot(self._plots[-1] if self._plots else None)
        self.layout_changed.emit()

    def set_current_plot(self, plot: TracePlot | None) -> None:
        if plot is self.current_plot:
            return
        for other in self._plots:
            other.set_current(other is plot)
        self.current_plot = plot
        self.current_plot_changed.emit(plot)

    def step_current_plot(self, step: int) -> None:
        if not self._plots:
            return
        index = self._plots.index(self.current_plot) if self.current_plot in self._plots else 0
        self.set_current_plot(self._plots[(index + step) % len(self._plots)])

    def align_axes(self) -> None:
        """Give every plot room for as many right-hand axes as the widest plot has."""
        slots = max((len(plot.groups) - 1 for plot in self._plots), default=0)
        for plot in self._plots:
            plot.set_right_slots(max(slots, 0))

    def _relink(self) -> None:
        """Link every plot's time axis to the top plot; only the bottom one labels time."""
        if not self._plots:
            return
        self._plots[0].setXLink(None)
        for plot in self._plots[1:]:
            plot.setXLink(self._plots[0])
        for plot in self._plots:
            plot.set_time_labels_visible(plot is self._plots[-1])

    # Traces ------------------------------------------------------------------------------

    def show_trace(
        self,
        key: str,
        plot: TracePlot | None = None,
        colour: str | None = None,
        visible: bool = True,
    ) -> TracePlot:
        """Show a trace in ``plot`` (the current plot, or a new one); move it if shown."""
        if key not in self.traces:
            raise KeyError(f"no trace {key!r} in this session")
        target = plot or self.current_plot or self.add_plot()
        existing = self.plot_of(key)
        if existing is target:
            return target
        if existing is not None:
            curve = existing.take_curve(key)
        else:
            explicit = colour is not None
            colour = colour or trace_colour(self.theme, self._colour_counter)
            self._colour_counter += 1
            curve = TraceCurve(self.traces[key], self._pyramid(key), colour, explicit)
        fresh_stack = not any(p.curves for p in self._plots)
        target.add_curve(curve)
        curve.item.setVisible(visible)
        if fresh_stack:
            self.zoom_to_fit()
        self.layout_changed.emit()
        return target

    def show_in_new_plot(self, keys: list[str]) -> TracePlot:
        plot = self.add_plot()
        for key in keys:
            self.show_trace(key, plot)
        return plot

    def remove_trace(self, key: str) -> None:
        plot = self.plot_of(key)
        if plot is not None:
            plot.take_curve(key)
            self.layout_changed.emit()

    def set_trace_colour(self, key: str, colour: str) -> None:
        curve = self.curve(key)
        if curve is not None:
            curve.set_colour(colour, explicit=True)
            self.plot_of(key).apply_theme(self.theme)
            self.layout_changed.emit()

    def set_trace_visible(self, key: str, visible: bool) -> None:
        plot = self.plot_of(key)
        if plot is not None:
            plot.set_curve_visible(key, visible)
            self.layout_changed.emit()

    def _pyramid(self, key: str) -> MinMaxPyramid:
        if key not in self.pyramids:  # built by the loader; this is the fallback
            trace = self.traces[key]
            self.pyramids[key] = MinMaxPyramid(trace.time_s, trace.values, trace.valid)
        return self.pyramids[key]

    # Time axis ---------------------------------------------------------------------------

    def visible_range(self) -> tuple[float, float] | None:
        return self._plots[0].visible_range() if self._plots else None

    def set_x_range(self, t0: float, t1: float) -> None:
        if self._plots:
            self._plots[0].main_viewbox.setXRange(t0, t1, padding=0)

    def zoom_to_fit(self) -> None:
        extents = [e for plot in self._plots if (e := plot.time_extent()) is not None]
        if not extents:
            return
        t0 = min(e[0] for e in extents)
        t1 = max(e[1] for e in extents)
        if t1 <= t0:
            t1 = t0 + 1.0
        margin = (t1 - t0) * 0.01
        self.set_x_range(t0 - margin, t1 + margin)

    def zoom(self, factor: float) -> None:
        """Zoom time around the middle of the view (factor < 1 zooms in)."""
        view = self.visible_range()
        if view is None:
            return
        middle, half = (view[0] + view[1]) / 2, (view[1] - view[0]) / 2 * factor
        self.set_x_range(middle - half, middle + half)

    def describe_time(self, t: float) -> str:
        """A time as the time axis writes it now (relative seconds or local time)."""
        plots = self._plots
        return plots[0].time_axis.describe(t) if plots else f"{t - self.origin_s:.3f} s"

    def set_time_mode(self, mode: str) -> None:
        self.time_mode = mode
        for plot in self._plots:
            plot.time_axis.set_mode(mode, self.origin_s, self.wall_offset_s)
        self.layout_changed.emit()

    def apply_theme(self, theme: Theme) -> None:
        self.theme = theme
        for index, curve in enumerate(c for p in self._plots for c in p.curves.values()):
            if not curve.explicit_colour:
                curve.set_colour(trace_colour(theme, index))
        for plot in self._plots:
            plot.apply_theme(theme)

    # Layout ------------------------------------------------------------------------------

    def layout_state(self) -> dict:
        """Which traces sit in which plot, their colours, the time range, the axis mode."""
        plots = []
        for plot in self._plots:
            traces = [
                {
                    "key": key,
                    "colour": curve.colour if curve.explicit_colour else None,
                    "visible": curve.visible,
                }
                for key, curve in plot.curves.items()
            ]
            plots.append({"traces": traces, "height": plot.height()})
        view = self.visible_range()
        return {
            "plots": plots,
            "x_range": list(view) if view else None,
            "time_mode": self.time_mode,
        }

    def restore_layout(self, state: dict) -> list[str]:
        """Rebuild plots from :meth:`layout_state`; returns the keys this session lacks."""
        missing = []
        for plot in list(self._plots):
            self.remove_plot(plot)
        self.set_time_mode(state.get("time_mode", RELATIVE))
        heights = []
        for plot_state in state.get("plots", []):
            saved = plot_state.get("traces", [])
            entries = [t for t in saved if t.get("key") in self.traces]
            missing += [t.get("key") for t in saved if t not in entries]
            if saved and not entries:
                continue  # every trace of this plot is gone: no point in an empty plot
            plot = self.add_plot()
            heights.append(int(plot_state.get("height") or 200))
            for entry in entries:
                self.show_trace(entry["key"], plot, entry.get("colour"), entry.get("visible", True))
        if heights:
            self.splitter.setSizes(heights)
        if state.get("x_range"):
            self.set_x_range(*state["x_range"])
        return missing

    # Events ------------------------------------------------------------------------------

    def _on_plot_traces_dropped(self, plot: TracePlot, keys: list[str]) -> None:
        for key in keys:
            self.show_trace(key, plot)

    def _on_drop_area_traces_dropped(self, keys: list[str]) -> None:
        self.show_in_new_plot(keys)

    def _on_plot_x_range_changed(self, viewbox, x_range) -> None:
        if self._plots and viewbox is self._plots[0].main_viewbox:
            self.x_range_changed.emit(float(x_range[0]), float(x_range[1]))

    def _on_plot_menu_requested(self, plot: TracePlot, position: QPoint) -> None:
        self.set_current_plot(plot)
        self.build_plot_menu(plot).popup(position)

    def build_plot_menu(self, plot: TracePlot) -> QMenu:
        """The right-click menu: per trace show/hide, recolour, move, remove; the plot."""
        menu = QMenu(self)
        for key, curve in plot.curves.items():
            sub = menu.addMenu(curve.name())
            toggle = sub.addAction("Show")
            toggle.setCheckable(True)
            toggle.setChecked(curve.visible)
            toggle.toggled.connect(lambda on, k=key: self.set_trace_visible(k, on))
            sub.addAction("Colour…", lambda k=key: self._ask_colour(k))
            move = sub.addMenu("Move to")
            for index, other in enumerate(self._plots):
                if other is not plot:
                    move.addAction(
                        f"Plot {index + 1}", lambda k=key, o=other: self.show_trace(k, o)
                    )
            move.addAction("New plot", lambda k=key: self.show_in_new_plot([k]))
            sub.addAction("Remove", lambda k=key: self.remove_trace(k))
        menu.addSeparator()
        fit = QAction("Zoom to fit", menu)
        fit.triggered.connect(self.zoom_to_fit)
        menu.addAction(fit)
        menu.addAction("Remove this plot", lambda: self.remove_plot(plot))
        return menu

    def _ask_colour(self, key: str) -> None:
        curve = self.curve(key)
        colour = QColorDialog.getColor(QColor(curve.colour), self, f"Colour of {curve.name()}")
        if colour.isValid():
            self.set_trace_colour(key, colour.name())
