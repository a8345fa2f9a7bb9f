"""Cursors, range statistics, invalid samples, layouts, themes: checked against the traces."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from tests.gui.conftest import open_and_wait
from widgets.measurements import CURSOR_COLUMNS, RANGE_COLUMNS
from widgets.plots.axes import WALL_CLOCK

USER = Qt.ItemDataRole.UserRole


@pytest.fixture
def bmw_i3(shared_data):
    """A real BMW i3 AC-charging capture: Battery_Current is "not available" in most frames."""
    return (
        shared_data / "bmw-i3-ccs/CAN_Logs/AC-charging/1.ptcan_start-end-chrg_69perc.csv",
        shared_data / "bmw-i3-ccs/i3_LIM_dbc1.dbc",
    )


def _rows(table, columns) -> dict[str, dict[str, object]]:
    rows = {}
    for row in range(table.rowCount()):
        cells = {name: table.item(row, c) for c, name in enumerate(columns)}
        rows[cells["Trace"].text()] = {n: (i.text(), i.data(USER)) for n, i in cells.items()}
    return rows


def test_cursors_read_every_trace_at_both_times(qtbot, window, demo_capture):
    result = open_and_wait(
        qtbot, window, demo_capture, [demo_capture.parents[2] / "dbc/ev_battery.dbc"]
    )
    shown = [window.plot_stack.traces[k] for k in window.plot_stack.shown_keys()]
    voltage = next(t for t in shown if t.role == "pack_voltage")
    t_a, t_b = float(voltage.time_s[1000]), float(voltage.time_s[20000])

    window.actions["cursors"].setChecked(True)
    window.cursors.move(0, t_a)
    lines = window.cursors.lines_of(window.plot_stack.plots()[3])
    lines[1].setValue(t_b)  # as a drag of cursor B in the fourth plot does

    for plot in window.plot_stack.plots():  # every plot shows both cursors where they are
        assert [line.value() for line in window.cursors.lines_of(plot)] == [t_a, t_b]
    rows = _rows(window.measurements.cursor_table, CURSOR_COLUMNS)
    assert set(rows) == {t.signal for t in shown}
    for trace in shown:
        i_a = np.searchsorted(trace.time_s, t_a, side="right") - 1
        i_b = np.searchsorted(trace.time_s, t_b, side="right") - 1
        row = rows[trace.signal]
        assert row["A"][1] == trace.values[i_a] and row["B"][1] == trace.values[i_b]
        assert row["Δ (B − A)"][1] == pytest.approx(trace.values[i_b] - trace.values[i_a])
    assert f"Δt = {t_b - t_a:.6g} s" in window.measurements.cursor_header.text()
    assert len(result.traces) > 100


def test_range_statistics_use_valid_samples_only(qtbot, window, bmw_i3):
    result = open_and_wait(qtbot, window, *bmw_i3[:1], [bmw_i3[1]])
    current = next(t for t in result.traces if t.signal == "Battery_Current")
    assert 0 < current.invalid_count < len(current)  # the real file has both kinds
    window.plot_stack.show_in_new_plot([current.key])
    t0, t1 = float(current.time_s[10]), float(current.time_s[-10])

    window.actions["range"].setChecked(True)
    window.selection.select(t0, t1)

    inside = (current.time_s >= t0) & (current.time_s <= t1) & current.valid
    expected = current.values[inside]
    row = _rows(window.measurements.range_table, RANGE_COLUMNS)["Battery_Current"]
    assert row["Samples"][1] == len(expected)
    assert row["Min"][1] == expected.min() and row["Max"][1] == expected.max()
    assert row["Mean"][1] == pytest.approx(expected.mean())
    assert row["Std"][1] == pytest.approx(expected.std())


def test_invalid_samples_are_gaps_and_never_scale_the_axis(qtbot, window, bmw_i3):
    result = open_and_wait(qtbot, window, bmw_i3[0], [bmw_i3[1]])
    current = next(t for t in result.traces if t.signal == "Battery_Current")
    plot = window.plot_stack.show_in_new_plot([current.key])
    window.plot_stack.zoom_to_fit()

    x, y = plot.curves[current.key].item.getData()
    invalid_times = current.time_s[~current.valid]
    assert np.isnan(y[np.isin(x, invalid_times)]).all()  # drawn as gaps
    assert np.nanmax(y) == current.valid_values().max()  # no "not available" value drawn
    low, high = plot.groups[0].viewbox.viewRange()[1]
    valid = current.valid_values()
    span = valid.max() - valid.min()
    assert low >= valid.min() - 0.1 * span and high <= valid.max() + 0.1 * span


def test_traces_move_recolour_hide_and_go_through_the_plot_menu(qtbot, window, demo_capture):
    open_and_wait(qtbot, window, demo_capture, [demo_capture.parents[2] / "dbc/ev_battery.dbc"])
    stack = window.plot_stack
    top = stack.plots()[0]
    key = next(iter(top.curves))

    def action(menu, *path):
        for text in path[:-1]:
            menu = next(a.menu() for a in menu.actions() if a.text() == text)
        return next(a for a in menu.actions() if a.text() == path[-1])

    name = top.curves[key].name()
    third = stack.plots()[2]
    action(stack.build_plot_menu(top), name, "Move to", "Plot 3").trigger()
    assert stack.plot_of(key) is third and not top.curves  # the emptied plot stays for drops
    assert len(third.groups) == 2  # volts and percent: one axis each
    action(stack.build_plot_menu(third), name, "Show").trigger()
    assert not stack.curve(key).visible
    stack.set_trace_colour(key, "#123456")
    assert stack.curve(key).item.opts["pen"].color().name() == "#123456"
    action(stack.build_plot_menu(third), name, "Remove").trigger()
    assert stack.plot_of(key) is None


def test_the_layout_comes_back_when_the_capture_is_reopened(qtbot, window, demo_capture):
    from widgets.main_window import MainWindow

    database = demo_capture.parents[2] / "dbc/ev_battery.dbc"
    open_and_wait(qtbot, window, demo_capture, [database])
    stack = window.plot_stack
    keys = stack.shown_keys()
    stack.show_trace(keys[2], stack.plots()[0])
    stack.set_trace_colour(keys[1], "#aa5500")
    stack.set_trace_visible(keys[0], False)
    stack.remove_plot(stack.plots()[-1])
    window.actions["wall_clock"].setChecked(True)
    view = stack.visible_range()
    stack.set_x_range(view[0] + 10, view[0] + 60)
    window.actions["cursors"].setChecked(True)
    window.cursors.move(0, view[0] + 20)
    window.actions["range"].setChecked(True)
    window.selection.select(view[0] + 30, view[0] + 40)
    saved = window.layout_state()
    window.close()

    again = MainWindow()
    qtbot.addWidget(again)
    again.resize(1600, 900)
    again.show()
    open_and_wait(qtbot, again, demo_capture)  # no databases given: remembered, nothing asked

    restored = again.layout_state()
    assert [[t["key"] for t in p["traces"]] for p in restored["plots"]] == [
        [t["key"] for t in p["traces"]] for p in saved["plots"]
    ]
    assert restored["plots"][0]["traces"][0]["visible"] is False
    assert again.plot_stack.curve(keys[1]).colour == "#aa5500"
    assert restored["time_mode"] == WALL_CLOCK and again.actions["wall_clock"].isChecked()
    assert restored["x_range"] == pytest.approx(saved["x_range"])
    assert restored["cursors"] == pytest.approx(saved["cursors"])
    assert restored["range"] == pytest.approx(saved["range"])
    again.close()


def test_the_demo_opens_on_the_battery_at_a_glance(qtbot, window):
    with qtbot.waitSignal(window.session_opened, timeout=60_000):
        assert window.open_demo()

    roles = [
        [window.plot_stack.traces[k].role for k in plot.curves]
        for plot in window.plot_stack.plots()
    ]
    assert roles == [
        ["pack_voltage"],
        ["pack_current"],
        ["soc"],
        ["min_cell_voltage", "max_cell_voltage"],
        ["min_cell_temperature", "max_cell_temperature"],
    ]
    assert window.actions["wall_clock"].isEnabled()


def test_light_theme_and_shortcuts(qtbot, window, demo_capture):
    from widgets.main_window import MainWindow

    open_and_wait(qtbot, window, demo_capture, [demo_capture.parents[2] / "dbc/ev_battery.dbc"])
    stack = window.plot_stack
    window.actions["light_theme"].setChecked(True)
    assert stack.plots()[0].backgroundBrush().color().name() == "#ffffff"

    from widgets.actions import ACTIONS

    specs = {spec.name: spec for spec in ACTIONS}
    for name in ("open", "zoom_fit", "next_plot", "previous_plot", "remove_plot"):
        assert window.actions[name].shortcut().toString()  # shown beside the entry
        assert window.actions[name] in window.menu(specs[name].menu).actions()

    stack.set_current_plot(stack.plots()[0])
    window.actions["next_plot"].trigger()
    assert stack.current_plot is stack.plots()[1]
    window.actions["previous_plot"].trigger()
    window.actions["previous_plot"].trigger()
    assert stack.current_plot is stack.plots()[-1]
    count = len(stack.plots())
    window.actions["remove_plot"].trigger()
    assert len(stack.plots()) == count - 1

    again = MainWindow()  # the choice is remembered
    qtbot.addWidget(again)
    assert again.theme.name == "light"
