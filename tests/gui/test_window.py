"""The real main window on a real SavvyCAN capture: open, browse, show, zoom, errors."""

from __future__ import annotations

import re

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QPlainTextEdit

from tests.gui.conftest import open_and_wait
from widgets.notifications import ERROR, INFO, NotificationBar
from widgets.plots.trace_plot import trace_mime


@pytest.fixture
def savvycan(shared_data):
    """A genuine GVRET CSV from SavvyCAN's examples, and the Think City DBC that decodes it."""
    return (
        shared_data / "savvycan-examples/GVRET_Log.csv",
        shared_data / "savvycan-examples/ThinkCity.dbc",
    )


def _drop(widget, mime: QMimeData, position: QPoint | None = None) -> QDropEvent:
    """Deliver a drag-enter and a drop to ``widget`` as Qt does at the end of a drag."""
    point = QPointF(position or widget.rect().center())
    actions = Qt.DropAction.CopyAction | Qt.DropAction.MoveAction
    enter = QDragEnterEvent(
        point.toPoint(), actions, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )
    QApplication.sendEvent(widget, enter)
    drop = QDropEvent(
        point, actions, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )
    QApplication.sendEvent(widget, drop)
    return drop


def test_opening_lists_every_trace_with_units_and_counts(qtbot, window, savvycan):
    result = open_and_wait(qtbot, window, *[savvycan[0]], databases=[savvycan[1]])

    traces = {t.key: t for t in result.traces}
    assert len(traces) > 20
    assert sorted(window.browser.visible_trace_keys()) == sorted(traces)
    for key, trace in traces.items():
        index = window.browser.index_of(key)
        row = [index.siblingAtColumn(c).data() for c in range(4)]
        assert row[0] == trace.signal and row[1] == trace.unit
        assert row[2] == f"{len(trace):,}"
        assert row[3] == (f"{trace.invalid_count:,}" if trace.invalid_count else "")
    # The DBC has no role mapping: SoC is guessed, said so, and shown as the first view.
    soc = next(t for t in result.traces if t.role == "soc")
    assert window.plot_stack.shown_keys() == [soc.key]
    assert any("guessed soc" in n.details for n in window.notifications.history)


def test_search_by_substring_and_regular_expression(qtbot, window, savvycan):
    result = open_and_wait(qtbot, window, savvycan[0], [savvycan[1]])
    keys = [t.key for t in result.traces]

    window.browser.search.setText("carsharing")
    expected = [k for k in keys if "carsharing" in k.lower()]
    assert expected and sorted(window.browser.visible_trace_keys()) == sorted(expected)

    window.browser.regex.setChecked(True)
    window.browser.search.setText(r"^CDCM(Key|Wake)")
    pattern = re.compile(r"^CDCM(Key|Wake)", re.IGNORECASE)
    expected = [t.key for t in result.traces if pattern.search(t.signal)]
    assert expected and sorted(window.browser.visible_trace_keys()) == sorted(expected)

    window.browser.search.setText("CDCM(")  # not a regular expression: filter stays, box says so
    assert sorted(window.browser.visible_trace_keys()) == sorted(expected)
    assert "Not a regular expression" in window.browser.search.toolTip()


def test_double_click_drag_onto_plot_and_onto_empty_space(qtbot, window, savvycan):
    result = open_and_wait(qtbot, window, savvycan[0], [savvycan[1]])
    stack = window.plot_stack
    numeric = [t for t in result.traces if not t.is_enum and t.valid.any() and not t.role]
    first, second, third = numeric[:3]

    window.browser.search.setText(first.signal)
    index = window.browser.index_of(first.key)
    tree = window.browser.tree
    tree.scrollTo(index)
    qtbot.waitUntil(lambda: tree.viewport().rect().contains(tree.visualRect(index).center()))
    centre = tree.visualRect(index).center()
    # A real double-click: the press selects the row, the second click of the pair activates.
    qtbot.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=centre)
    qtbot.mouseDClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=centre)
    assert stack.plot_of(first.key) is stack.current_plot

    target = stack.plots()[0]
    drop = _drop(target.viewport(), trace_mime([second.key]))
    assert drop.isAccepted()
    assert stack.plot_of(second.key) is target

    plots_before = len(stack.plots())
    _drop(
        stack.drop_area,
        window.browser.model.mimeData(
            [
                window.browser.model.match(
                    window.browser.model.index(0, 0),
                    Qt.ItemDataRole.UserRole + 1,
                    third.key,
                    1,
                    Qt.MatchFlag.MatchRecursive,
                )[0]
            ]
        ),
    )
    assert len(stack.plots()) == plots_before + 1
    assert list(stack.plots()[-1].curves) == [third.key]


def test_zoom_keeps_plots_linked_and_draws_at_screen_resolution(qtbot, window, savvycan):
    result = open_and_wait(qtbot, window, savvycan[0], [savvycan[1]])
    stack = window.plot_stack
    busiest = sorted((t for t in result.traces if t.valid.any()), key=len)[-3:]
    for trace in busiest:
        stack.show_in_new_plot([trace.key])
    start, end = float(busiest[-1].time_s[0]), float(busiest[-1].time_s[-1])

    stack.set_x_range(start, end)
    window.actions["zoom_in"].trigger()
    middle, quarter = (start + end) / 2, (end - start) / 4
    for plot in stack.plots():
        low, high = plot.visible_range()
        assert low == pytest.approx(middle - quarter) and high == pytest.approx(middle + quarter)
        for curve in plot.curves.values():
            assert curve.points_drawn <= 4 * plot.main_viewbox.width() + 8

    stack.plots()[1].main_viewbox.translateBy(x=quarter)  # panning one plot moves them all
    ranges = {tuple(round(v, 9) for v in plot.visible_range()) for plot in stack.plots()}
    assert len(ranges) == 1

    window.actions["zoom_fit"].trigger()
    low, high = stack.visible_range()
    assert low <= min(t.time_s[0] for t in busiest) and high >= max(t.time_s[-1] for t in busiest)


def test_enum_trace_draws_steps_with_value_names_on_its_axis(qtbot, window, savvycan):
    result = open_and_wait(qtbot, window, savvycan[0], [savvycan[1]])
    enum = max((t for t in result.traces if t.is_enum and t.valid.any()), key=len)
    plot = window.plot_stack.show_in_new_plot([enum.key])

    group = plot.groups[0]
    assert group.is_enum
    low, high = group.viewbox.viewRange()[1]
    names = group.axis.tickStrings([v for v in enum.choices if low <= v <= high], 1, 1)
    assert set(names) <= set(enum.choices.values()) and names
    x, y = plot.curves[enum.key].item.getData()
    assert np.all(np.diff(x) >= 0)
    horizontal = y[1:] == y[:-1]
    vertical = x[1:] == x[:-1]
    assert np.all(horizontal | vertical)  # a staircase: no sloped segments


def test_a_file_dropped_on_the_window_opens_with_remembered_databases(qtbot, window, savvycan):
    open_and_wait(qtbot, window, savvycan[0], [savvycan[1]])
    window.plot_stack.set_session([], {}, None)

    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(savvycan[0]))])
    with qtbot.waitSignal(window.session_opened, timeout=60_000) as opened:
        _drop(window, mime)  # no dialog: the databases are remembered for this capture
    assert opened.args[0].request.database_paths == [savvycan[1].resolve()]
    assert window.settings.recent_captures()[0] == str(savvycan[0].resolve())


def test_a_file_that_is_no_capture_reaches_the_technician_with_details(qtbot, window, savvycan):
    with qtbot.waitSignal(window.loader.failed, timeout=60_000):
        window.open_capture(savvycan[1], [savvycan[1]])  # a DBC is not a capture

    note = window.notifications.history[-1]
    assert note.level == ERROR and str(savvycan[1]) in note.text
    assert "Traceback" in note.details
    strip = window.findChild(NotificationBar)
    assert strip.isVisible() and strip.details_button.isVisible()
    qtbot.mouseClick(strip.details_button, Qt.MouseButton.LeftButton)
    assert "Traceback" in strip.details_dialog.findChild(QPlainTextEdit).toPlainText()
    strip.details_dialog.close()
    assert window.progress.isHidden()


def test_cancel_stops_a_load_and_the_window_stays_usable(qtbot, window, savvycan):
    with qtbot.waitSignal(window.loader.cancelled, timeout=60_000):
        window.open_capture(savvycan[0], [savvycan[1]])
        assert window.progress.isVisible()
        qtbot.mouseClick(window.progress.cancel_button, Qt.MouseButton.LeftButton)

    assert window.result is None and window.progress.isHidden()
    assert window.notifications.history[-1].level == INFO
    assert "cancelled" in window.notifications.history[-1].text.lower()
    open_and_wait(qtbot, window, savvycan[0], [savvycan[1]])
    assert window.result is not None


def test_recent_captures_reopen_from_the_file_menu_and_the_welcome_page(qtbot, window, savvycan):
    open_and_wait(qtbot, window, savvycan[0], [savvycan[1]])
    file_menu = window.menu("&File")
    file_menu.aboutToShow.emit()  # what opening the menu does

    recent = next(a.menu() for a in file_menu.actions() if a.text() == "Open &recent")
    entry = next(a for a in recent.actions() if a.text() == str(savvycan[0].resolve()))
    with qtbot.waitSignal(window.session_opened, timeout=60_000) as opened:
        entry.trigger()
    assert opened.args[0].request.capture_path == savvycan[0].resolve()
    window.welcome.refresh()
    first = window.welcome.recent.item(0)
    assert first.data(Qt.ItemDataRole.UserRole) == str(savvycan[0].resolve())
    assert first.text().startswith(savvycan[0].name)
