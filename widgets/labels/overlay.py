"""Labels drawn across every plot of the stack, and label mode's drag-to-label.

Each label is one shaded :class:`LabelRegion` per plot, all kept in step: dragging a region's
edge (resize) or its body (move) in any plot moves it in every plot while the mouse moves,
and makes one change in the :class:`app.labels.LabelBook` when the button is released.

In label mode a transparent :class:`_DragCatcher` lies over each plot's view, under the
regions: a left drag on empty plot area draws a preview across all plots and ends in
``drawn(t0, t1)``; a drag on a region still resizes or moves it. Out of label mode the
regions are locked so the mouse pans as usual.
"""

from __future__ import annotations

import logging

import pyqtgraph as pg
from PySide6.QtCore import QObject, QPoint, QRectF, Qt, Signal
from PySide6.QtGui import QColor

from app.labels import Label, LabelBook, Taxonomy
from widgets.plots.plot_stack import PlotStack
from widgets.plots.trace_plot import TracePlot

log = logging.getLogger(__name__)

REGION_Z = 20  # above the catcher and the curves, below the cursors (50)
CATCHER_Z = 5
MIN_DRAG_PX = 3  # a shorter drag is a click, not a label
PREVIEW_COLOUR = "#8c8c8c"


def _brush(colour: str, alpha: int) -> QColor:
    brush = QColor(colour)
    brush.setAlpha(alpha)
    return brush


class LabelRegion(pg.LinearRegionItem):
    """One label's shading in one plot."""

    def __init__(self, label_id: str, overlay: LabelOverlay):
        super().__init__(orientation="vertical", swapMode="sort")
        self.label_id = label_id
        self.overlay = overlay
        self.setZValue(REGION_Z)
        # the class name, just right of the start edge near the top of the plot
        self.caption = pg.InfLineLabel(self.lines[0], "", position=0.92, anchors=[(-0.05, 0.5)] * 2)

    def mouseClickEvent(self, ev):  # noqa: N802 (pyqtgraph's name)
        if ev.button() == Qt.MouseButton.LeftButton:
            ev.accept()
            if ev.double():
                self.overlay.label_double_clicked.emit(self.label_id)
            else:
                self.overlay.label_clicked.emit(self.label_id)
            return
        if ev.button() == Qt.MouseButton.RightButton and not self.moving:
            ev.accept()
            self.overlay.label_menu_requested.emit(self.label_id, ev.screenPos().toPoint())
            return
        super().mouseClickEvent(ev)


class _DragCatcher(pg.GraphicsObject):
    """Covers a plot's view in label mode and turns a left drag into a label's range."""

    def __init__(self, plot: TracePlot, overlay: LabelOverlay):
        super().__init__(plot.main_viewbox)
        self.plot = plot
        self.overlay = overlay
        self.setZValue(CATCHER_Z)
        self.setVisible(False)
        plot.main_viewbox.sigResized.connect(self._on_viewbox_resized)

    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt's name)
        parent = self.parentItem()
        return parent.boundingRect() if parent is not None else QRectF()

    def paint(self, painter, *args) -> None:
        pass  # invisible: it only takes the mouse

    def _on_viewbox_resized(self, *_args) -> None:
        self.prepareGeometryChange()

    def mouseDragEvent(self, ev):  # noqa: N802 (pyqtgraph's name)
        if ev.button() != Qt.MouseButton.LeftButton:
            ev.ignore()
            return
        ev.accept()
        viewbox = self.plot.main_viewbox
        t0 = viewbox.mapSceneToView(ev.buttonDownScenePos()).x()
        t1 = viewbox.mapSceneToView(ev.scenePos()).x()
        self.overlay.show_preview(t0, t1)
        if ev.isFinish():
            pixels = abs(ev.scenePos().x() - ev.buttonDownScenePos().x())
            self.overlay.finish_preview(t0, t1, pixels >= MIN_DRAG_PX)


class LabelOverlay(QObject):
    """Keeps every label of a book shaded in every plot of the stack."""

    label_clicked = Signal(str)
    label_double_clicked = Signal(str)
    label_menu_requested = Signal(str, QPoint)  # label id, global position
    drawn = Signal(float, float)  # a label-mode drag finished: the new label's range

    def __init__(self, stack: PlotStack, taxonomy: Taxonomy):
        super().__init__(stack)
        self.stack = stack
        self.taxonomy = taxonomy
        self.book: LabelBook | None = None
        self.label_mode = False
        self.selected: str | None = None
        self._regions: dict[TracePlot, dict[str, LabelRegion]] = {}
        self._catchers: dict[TracePlot, _DragCatcher] = {}
        self._previews: dict[TracePlot, pg.LinearRegionItem] = {}
        self._preview_range: tuple[float, float] | None = None
        stack.plot_added.connect(self._on_stack_plot_added)
        stack.plot_removed.connect(self._on_stack_plot_removed)
        for plot in stack.plots():
            self._on_stack_plot_added(plot)

    # -- the book

    def set_book(self, book: LabelBook | None) -> None:
        if self.book is not None:
            self.book.unsubscribe(self._on_book_changed)
        for plot in self._regions:
            for label_id in list(self._regions[plot]):
                self._remove_region(plot, label_id)
        self.book = book
        self.selected = None
        if book is None:
            return
        book.subscribe(self._on_book_changed)
        for label in book:
            for plot in self._regions:
                self._add_region(plot, label)

    def regions_of(self, plot: TracePlot) -> dict[str, LabelRegion]:
        return dict(self._regions.get(plot, {}))

    def set_label_mode(self, on: bool) -> None:
        self.label_mode = on
        for plot, catcher in self._catchers.items():
            catcher.setVisible(on)
            _show_label_cursor(plot, on)
        for regions in self._regions.values():
            for region in regions.values():
                region.setMovable(on)
        if not on:
            self.hide_preview()

    def select(self, label_id: str | None) -> None:
        self.selected = label_id
        if self.book is None:
            return
        for regions in self._regions.values():
            for region_id, region in regions.items():
                self._style(region, self.book.get(region_id))

    # -- preview of a label being drawn

    def show_preview(self, t0: float, t1: float) -> None:
        self._preview_range = (min(t0, t1), max(t0, t1))
        for preview in self._previews.values():
            preview.setRegion(self._preview_range)
            preview.setVisible(True)

    def finish_preview(self, t0: float, t1: float, long_enough: bool) -> None:
        """The drag ended: announce the range; the preview stays until the editor closes."""
        if not long_enough:
            self.hide_preview()
            return
        self.drawn.emit(min(t0, t1), max(t0, t1))

    def hide_preview(self) -> None:
        self._preview_range = None
        for preview in self._previews.values():
            preview.setVisible(False)

    # -- plots coming and going

    def _on_stack_plot_added(self, plot: TracePlot) -> None:
        if plot in self._regions:
            return
        self._regions[plot] = {}
        catcher = _DragCatcher(plot, self)
        catcher.setVisible(self.label_mode)
        _show_label_cursor(plot, self.label_mode)
        self._catchers[plot] = catcher
        preview = pg.LinearRegionItem(movable=False)
        preview.setZValue(REGION_Z + 1)
        preview.setBrush(_brush(PREVIEW_COLOUR, 60))  # mid grey: seen on dark and light themes
        for line in preview.lines:
            line.setPen(pg.mkPen(PREVIEW_COLOUR, width=1, style=Qt.PenStyle.DashLine))
        preview.setVisible(self._preview_range is not None)
        if self._preview_range:
            preview.setRegion(self._preview_range)
        plot.main_viewbox.addItem(preview, ignoreBounds=True)
        self._previews[plot] = preview
        if self.book is not None:
            for label in self.book:
                self._add_region(plot, label)

    def _on_stack_plot_removed(self, plot: TracePlot) -> None:
        self._regions.pop(plot, None)
        self._previews.pop(plot, None)
        self._catchers.pop(plot, None)

    # -- regions

    def _add_region(self, plot: TracePlot, label: Label) -> None:
        region = LabelRegion(label.id, self)
        region.setRegion((label.start_s, label.end_s))
        region.setMovable(self.label_mode)
        self._style(region, label)
        region.sigRegionChanged.connect(self._on_region_changed)
        region.sigRegionChangeFinished.connect(self._on_region_change_finished)
        plot.main_viewbox.addItem(region, ignoreBounds=True)
        self._regions[plot][label.id] = region

    def _remove_region(self, plot: TracePlot, label_id: str) -> None:
        region = self._regions[plot].pop(label_id, None)
        if region is not None:
            plot.main_viewbox.removeItem(region)

    def _style(self, region: LabelRegion, label: Label) -> None:
        colour = self.taxonomy.get(label.label_class).colour
        chosen = label.id == self.selected
        alpha = 95 if chosen else 55
        if label.status == "pending":
            alpha //= 2
        if label.status == "rejected":
            alpha = 18
        region.setBrush(_brush(colour, alpha))
        region.setHoverBrush(_brush(colour, alpha + 40))
        width = 2.5 if chosen else 1
        for line in region.lines:
            line.setPen(pg.mkPen(colour, width=width))
            line.setHoverPen(pg.mkPen(colour, width=width + 2))
        region.setToolTip(_tooltip(self.taxonomy, label))
        region.caption.setText(self.taxonomy.get(label.label_class).name)
        region.caption.setColor(colour)

    def _on_book_changed(self, kind: str, label: Label) -> None:
        for plot, regions in self._regions.items():
            if kind == "removed":
                self._remove_region(plot, label.id)
            elif label.id not in regions:
                self._add_region(plot, label)
            else:
                region = regions[label.id]
                region.blockSignals(True)
                region.setRegion((label.start_s, label.end_s))
                region.blockSignals(False)
                self._style(region, label)
        if kind == "removed" and self.selected == label.id:
            self.selected = None

    def _on_region_changed(self, region: LabelRegion) -> None:
        """Mirror a region being dragged into the other plots (nothing is saved yet)."""
        bounds = region.getRegion()
        for regions in self._regions.values():
            twin = regions.get(region.label_id)
            if twin is not None and twin is not region:
                twin.blockSignals(True)
                twin.setRegion(bounds)
                twin.blockSignals(False)

    def _on_region_change_finished(self, region: LabelRegion) -> None:
        if self.book is None or region.label_id not in self.book:
            return
        start, end = (float(v) for v in region.getRegion())
        label = self.book.get(region.label_id)
        moved = abs((start - label.start_s) - (end - label.end_s)) < 1e-9 * max(1.0, abs(end))
        what = "move label" if moved else "resize label"
        self.book.change(region.label_id, what, start_s=start, end_s=end)


def _show_label_cursor(plot: TracePlot, on: bool) -> None:
    """A cross over the plots while dragging makes labels, the usual arrow otherwise."""
    if on:
        plot.viewport().setCursor(Qt.CursorShape.CrossCursor)
    else:
        plot.viewport().unsetCursor()


def _tooltip(taxonomy: Taxonomy, label: Label) -> str:
    parts = [taxonomy.get(label.label_class).name]
    if label.note:
        parts.append(label.note)
    if label.tags:
        parts.append("tags: " + ", ".join(label.tags))
    if label.is_rule:
        confidence = "" if label.confidence is None else f" ({label.confidence:.0%})"
        parts.append(f"{label.source}{confidence}, {label.status}")
    return "\n".join(parts)
