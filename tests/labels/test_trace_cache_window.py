"""The window on traces from the cache: read-only memory-mapped arrays are drawn, zoomed,
labelled and exported, and nothing writes into them."""

from __future__ import annotations

import numpy as np

from app.trace_cache import TraceCache
from app.workspace import file_sha256
from tests.labels.test_label_mode import drag, open_and_wait, show_two_plots


def test_the_window_draws_and_exports_cached_traces_without_writing_them(
    qtbot,
    window,
    i3_charging,
    tmp_path,
):
    from app.export import read_slices, read_traces

    capture, database = i3_charging
    first = open_and_wait(qtbot, window, capture, [database])
    assert not first.session.from_cache
    again = open_and_wait(qtbot, window, capture, [database])
    assert again.session.from_cache
    entry = TraceCache().path_for(again.session.cache_key)
    stored = {f.name: file_sha256(f) for f in entry.iterdir()}
    traces = list(window.plot_stack.traces.values())
    assert traces and all(not t.values.flags.writeable for t in traces)
    copies = {t.key: (t.time_s.copy(), t.values.copy(), t.valid.copy()) for t in traces}

    top, _bottom = show_two_plots(window)
    for t0, t1 in ((0.0, 600.0), (0.5, 4.0), (0.0, 6.0)):  # whole, then zoomed in
        window.plot_stack.set_x_range(t0, t1)  # the curves refresh from the pyramids
        assert not window.grab().isNull()  # and are painted
    labels = window.labels
    labels.set_label_mode(True)
    drag(qtbot, top, 1.0, 2.0)
    qtbot.waitUntil(lambda: labels.editor is not None and labels.editor.isVisible())
    labels.editor.accept()
    assert labels.export_slices_to(tmp_path / "slices.parquet", 0.5) > 0
    assert len(read_slices(tmp_path / "slices.parquet")) > 0
    labels.export_traces_to(tmp_path / "traces.parquet")
    assert len(read_traces(tmp_path / "traces.parquet")) == len(traces)
    labels.export_image_to(tmp_path / "plots.png")

    for trace in traces:
        time_s, values, valid = copies[trace.key]
        np.testing.assert_array_equal(trace.time_s, time_s)
        np.testing.assert_array_equal(trace.values, values)
        np.testing.assert_array_equal(trace.valid, valid)
    assert {f.name: file_sha256(f) for f in entry.iterdir()} == stored
