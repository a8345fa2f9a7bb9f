"""The genuine foxBMS 2 PCAN-Explorer TRC with the foxBMS database: few frames, many traces."""

from __future__ import annotations

import numpy as np

from tests.gui.conftest import open_and_wait


def test_foxbms_trace_opens_on_its_cells_and_reads_at_the_cursor(qtbot, window, foxbms):
    result = open_and_wait(qtbot, window, *foxbms[:1], databases=[foxbms[1]])
    stack = window.plot_stack

    roles = [[stack.traces[k].role for k in plot.curves] for plot in stack.plots()]
    assert ["min_cell_voltage", "max_cell_voltage"] in roles  # from dbc/roles/foxbms.toml
    assert window.result.session.capture.format == "trc"

    # One frame per message: each trace is a single sample, drawn as a dot, not an empty line.
    plot = next(p for p in stack.plots() if len(p.curves) == 2)
    for key, curve in plot.curves.items():
        trace = stack.traces[key]
        assert len(trace) == 1 and len(curve.dots.data) == 1
        assert curve.dots.data["y"][0] == trace.values[0]

    minimum = next(t for t in result.traces if t.role == "min_cell_voltage")
    window.actions["cursors"].setChecked(True)
    window.cursors.move(0, float(minimum.time_s[0]))
    window.cursors.move(1, float(minimum.time_s[0]) + 0.5)
    table = window.measurements.cursor_table
    row = next(r for r in range(table.rowCount()) if table.item(r, 0).text() == minimum.signal)
    value = table.item(row, 2).data(256)  # Qt.UserRole
    assert value == minimum.values[0] and np.isfinite(value)
