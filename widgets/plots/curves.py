"""One trace drawn in one plot, at the resolution of the screen.

A :class:`TraceCurve` owns a pyqtgraph ``PlotCurveItem`` and the trace's
:class:`app.minmax.MinMaxPyramid`. Whenever the visible time range or the plot's width changes,
:meth:`TraceCurve.refresh` replaces the item's data with about two points per pixel column of
the visible range: the drawing cost does not grow with the trace's length. Invalid samples are
NaN, drawn as gaps (``connect="finite"``). Enum traces draw as steps.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from app.minmax import MinMaxPyramid
from app.traces import Trace

# Sparse traces draw thick enough to read from a step away; dense ones (a stroke in nearly
# every pixel column) draw with Qt's fast one-pixel pen, several times cheaper to fill.
THICK_PX = 1.6
THIN_PX = 1.0
DOTS_BELOW_POINTS = 64


class TraceCurve:
    def __init__(self, trace: Trace, pyramid: MinMaxPyramid, colour: str, explicit_colour=False):
        self.trace = trace
        self.pyramid = pyramid
        self.colour = colour
        self.explicit_colour = explicit_colour  # chosen by the technician: survives a theme
        self.item = pg.PlotCurveItem(antialias=False, connect="finite")
        self.width_px = THICK_PX
        self.item.setPen(pg.mkPen(colour, width=self.width_px))
        self.item.setZValue(10)
        # Samples too sparse for a line to show (a trace of one frame) also get a dot each.
        self.dots = pg.ScatterPlotItem(size=6, pen=None, brush=pg.mkBrush(colour))
        self.dots.setZValue(11)
        self.item.visibleChanged.connect(self._on_item_visible_changed)
        self.points_drawn = 0

    @property
    def key(self) -> str:
        return self.trace.key

    @property
    def visible(self) -> bool:
        return self.item.isVisible()

    def name(self) -> str:
        unit = f" [{self.trace.unit}]" if self.trace.unit else ""
        return f"{self.trace.signal}{unit}"

    def set_colour(self, colour: str, explicit: bool = False) -> None:
        self.colour = colour
        self.explicit_colour = explicit or self.explicit_colour
        self.item.setPen(pg.mkPen(colour, width=self.width_px))
        self.dots.setBrush(pg.mkBrush(colour))

    def _on_item_visible_changed(self) -> None:
        self.dots.setVisible(self.item.isVisible())

    def _set_width(self, width_px: float) -> None:
        if width_px != self.width_px:
            self.width_px = width_px
            self.item.setPen(pg.mkPen(self.colour, width=width_px))

    def refresh(self, t0: float, t1: float, columns: int) -> None:
        x, y = self.pyramid.view(t0, t1, columns)
        if self.trace.is_enum and len(x) > 1:
            x, y = _steps(x, y)
        self.points_drawn = len(x)
        self._set_width(THIN_PX if len(x) > columns // 2 else THICK_PX)
        self.item.setData(x, y, connect="finite")
        if len(x) <= DOTS_BELOW_POINTS:
            finite = np.isfinite(y)
            self.dots.setData(x[finite], y[finite])
        elif len(self.dots.data):
            self.dots.clear()

    def value_range(self, t0: float, t1: float) -> tuple[float, float] | None:
        if not self.visible:
            return None
        return self.pyramid.value_range(t0, t1)

    def time_extent(self) -> tuple[float, float] | None:
        if not len(self.pyramid):
            return None
        return float(self.pyramid.time_s[0]), float(self.pyramid.time_s[-1])


def _steps(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Hold each value until the next sample: a staircase instead of slopes."""
    xs = np.repeat(x, 2)[1:]
    ys = np.repeat(y, 2)[:-1]
    return xs, ys
