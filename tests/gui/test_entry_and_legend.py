"""The command line's ``--demo`` and the legend's click-to-hide, through real events."""

from __future__ import annotations

import sys
import threading

from PySide6.QtCore import Qt

from tests.gui.conftest import open_and_wait


def test_ev_battery_monitor_demo_opens_the_demo_recording(qtbot):
    """``ev-battery-monitor --demo``: the entry point's options, up to the event loop."""
    from app.__main__ import _gui_parser
    from widgets.application import start_gui

    options = _gui_parser().parse_args(["--demo"])
    hooks = sys.excepthook, threading.excepthook
    try:
        window = start_gui(options)
        qtbot.addWidget(window)
        with qtbot.waitSignal(window.session_opened, timeout=60_000) as opened:
            pass  # the demo opens from a queued call once the event loop runs
    finally:
        sys.excepthook, threading.excepthook = hooks

    assert opened.args[0].request.capture_path.name.startswith("demo")
    roles = [window.plot_stack.traces[k].role for k in window.plot_stack.shown_keys()]
    assert roles[:3] == ["pack_voltage", "pack_current", "soc"]
    window.close()


def test_clicking_a_legend_entry_hides_its_trace(qtbot, window, demo_capture):
    open_and_wait(qtbot, window, demo_capture, [demo_capture.parents[2] / "dbc/ev_battery.dbc"])
    plot = window.plot_stack.plots()[3]  # min and max cell voltage
    first_key, second_key = list(plot.curves)
    sample, _label = plot.legend.items[0]
    assert sample.item is plot.curves[first_key].item

    spot = plot.mapFromScene(sample.sceneBoundingRect().center())
    qtbot.mouseClick(plot.viewport(), Qt.MouseButton.LeftButton, pos=spot)

    assert not plot.curves[first_key].visible and plot.curves[second_key].visible
    state = window.layout_state()["plots"][3]["traces"]
    assert [t["visible"] for t in state] == [False, True]
    low, high = plot.groups[0].viewbox.viewRange()[1]
    second = window.plot_stack.traces[second_key]
    assert low <= second.values.min() and high >= second.values.max()
