"""Label mode in the real window: simulated mouse drags on real plots of a real capture."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from app.workspace import Workspace, file_sha256

LOAD_TIMEOUT_MS = 60_000
LEFT = Qt.MouseButton.LeftButton
NO_BUTTON = Qt.MouseButton.NoButton
# pyqtgraph drops mouse moves closer together than its rate limit; space them out
MOVE_GAP_MS = 20


def open_and_wait(qtbot, window, capture, databases):
    opened = []
    window.session_opened.connect(opened.append)
    window.loader.failed.connect(lambda error, details: opened.append(details))
    assert window.open_capture(capture, databases)
    qtbot.waitUntil(lambda: bool(opened), timeout=LOAD_TIMEOUT_MS)
    assert not isinstance(opened[0], str), opened[0]
    return opened[0]


def show_two_plots(window):
    """The pack current and SoC of the i3 charging capture, in two stacked plots, 0..6 s."""
    stack = window.plot_stack
    for plot in stack.plots():
        stack.remove_plot(plot)
    by_role = {t.role: t.key for t in stack.traces.values() if t.role}
    stack.show_in_new_plot([by_role["pack_current"]])
    stack.show_in_new_plot([by_role["soc"]])
    stack.set_x_range(0.0, 6.0)
    return stack.plots()


def at_time(plot, t: float) -> QPoint:
    """The viewport pixel at time ``t``, half-way down the plot's view."""
    viewbox = plot.main_viewbox
    x = plot.mapFromScene(viewbox.mapViewToScene(QPointF(t, 0.0))).x()
    y = plot.mapFromScene(viewbox.sceneBoundingRect().center()).y()
    return QPoint(x, y)


def seconds_per_pixel(plot) -> float:
    t0, t1 = plot.visible_range()
    return (t1 - t0) / plot.main_viewbox.width()


def _send(widget, kind, position: QPoint, button, buttons) -> None:
    event = QMouseEvent(
        kind, QPointF(position), QPointF(widget.mapToGlobal(position)), button, buttons,
        Qt.KeyboardModifier.NoModifier,
    )  # fmt: skip
    QApplication.sendEvent(widget, event)


def drag(qtbot, plot, t_from: float, t_to: float, steps: int = 6) -> None:
    """Press at ``t_from``, move in steps, release at ``t_to``, on the plot's viewport.

    QTest's mouseMove carries no pressed buttons, which pyqtgraph needs to see a drag; these
    are the same QMouseEvents a real mouse sends."""
    widget = plot.viewport()
    start, end = at_time(plot, t_from), at_time(plot, t_to)
    _send(widget, QEvent.Type.MouseMove, start, NO_BUTTON, NO_BUTTON)
    qtbot.wait(MOVE_GAP_MS)
    _send(widget, QEvent.Type.MouseButtonPress, start, LEFT, LEFT)
    for step in range(1, steps + 1):
        qtbot.wait(MOVE_GAP_MS)
        _send(
            widget, QEvent.Type.MouseMove, start + (end - start) * (step / steps), NO_BUTTON, LEFT
        )
    qtbot.wait(MOVE_GAP_MS)
    _send(widget, QEvent.Type.MouseButtonRelease, end, LEFT, NO_BUTTON)


def focus_plot(qtbot, window, plot) -> None:
    window.activateWindow()
    plot.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is plot)


def double_click(qtbot, plot, t: float) -> None:
    """The event sequence of a real double click: press, release, double-click, release."""
    widget, position = plot.viewport(), at_time(plot, t)
    _send(widget, QEvent.Type.MouseMove, position, NO_BUTTON, NO_BUTTON)
    for kind in (QEvent.Type.MouseButtonPress, QEvent.Type.MouseButtonDblClick):
        qtbot.wait(MOVE_GAP_MS)
        _send(widget, kind, position, LEFT, LEFT)
        _send(widget, QEvent.Type.MouseButtonRelease, position, LEFT, NO_BUTTON)


def test_draw_resize_move_reclassify_undo_delete_and_reopen(qtbot, window, i3_charging):
    capture, database = i3_charging
    open_and_wait(qtbot, window, capture, [database])
    top, bottom = show_two_plots(window)
    labels = window.labels
    tolerance = 1.5 * seconds_per_pixel(top)

    # label mode by its shortcut, then a drag across the top plot
    focus_plot(qtbot, window, top)
    qtbot.keyClick(top, Qt.Key.Key_L)
    assert labels.actions["label_mode"].isChecked()
    drag(qtbot, top, 1.0, 2.5)
    qtbot.waitUntil(lambda: labels.editor is not None and labels.editor.isVisible())
    labels.editor.set_class("charging_fault")
    labels.editor.note_edit.setPlainText("pilot signal lost")
    labels.editor.tags_edit.setText("ac, pilot")
    qtbot.mouseClick(labels.editor.buttons.button(labels.editor.buttons.StandardButton.Ok), LEFT)

    assert len(labels.book) == 1
    label = labels.book.labels()[0]
    assert label.start_s == pytest.approx(1.0, abs=tolerance)
    assert label.end_s == pytest.approx(2.5, abs=tolerance)
    assert (label.label_class, label.note, label.tags) == (
        "charging_fault", "pilot signal lost", ("ac", "pilot"),
    )  # fmt: skip
    for plot in (top, bottom):  # shaded across every stacked plot
        (region,) = labels.overlay.regions_of(plot).values()
        assert region.getRegion() == pytest.approx((label.start_s, label.end_s))
    with Workspace() as other_connection:  # on disk already
        assert other_connection.label(label.id) == label

    # resize: drag the right edge, in the other plot
    drag(qtbot, bottom, label.end_s, 3.5)
    resized = labels.book.get(label.id)
    assert resized.start_s == label.start_s
    assert resized.end_s == pytest.approx(3.5, abs=tolerance)
    (top_region,) = labels.overlay.regions_of(top).values()
    assert top_region.getRegion() == pytest.approx((resized.start_s, resized.end_s))

    # move: drag the body by +0.5 s
    drag(qtbot, top, 2.0, 2.5)
    moved = labels.book.get(label.id)
    assert moved.duration_s == pytest.approx(resized.duration_s)
    assert moved.start_s == pytest.approx(resized.start_s + 0.5, abs=tolerance)
    assert labels.book.undo_text == "move label"

    # reclassify: double-click the label, pick another class
    double_click(qtbot, bottom, moved.start_s + moved.duration_s / 2)
    qtbot.waitUntil(lambda: labels.editor.isVisible())
    labels.editor.set_class("voltage_sag_under_load")
    labels.editor.accept()
    assert labels.book.get(label.id).label_class == "voltage_sag_under_load"
    assert labels.panel.row_texts()[0][0] == "Voltage sag under load"

    # undo (Ctrl+Z) back through reclassify and move; redo (Ctrl+Shift+Z) the move; the keys
    # go to the plot, as after a click on it (a text box with the focus keeps Ctrl+Z for itself)
    focus_plot(qtbot, window, top)
    qtbot.keyClick(top, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert labels.book.get(label.id).label_class == "charging_fault"
    qtbot.keyClick(top, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert labels.book.get(label.id).start_s == resized.start_s
    shift_control = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    qtbot.keyClick(top, Qt.Key.Key_Z, shift_control)
    assert labels.book.get(label.id).start_s == moved.start_s
    with Workspace() as other_connection:
        assert other_connection.label(label.id).start_s == moved.start_s

    # delete from the panel with Del; the shading goes from every plot; undo brings it back
    labels.panel.table.setFocus()
    labels.panel.select(label.id)
    qtbot.keyClick(labels.panel.table, Qt.Key.Key_Delete)
    assert len(labels.book) == 0
    assert all(not labels.overlay.regions_of(plot) for plot in (top, bottom))
    assert len(window.plot_stack.plots()) == 2, "Del in the panel must not remove a plot"
    labels.undo()
    assert len(labels.book) == 1

    # reopen the capture: the label is there, as last saved
    final = labels.book.get(label.id)
    open_and_wait(qtbot, window, capture, [database])
    assert labels.session_key == file_sha256(capture)
    assert labels.book.labels() == [final]
    for plot in window.plot_stack.plots():
        assert list(labels.overlay.regions_of(plot)) == [label.id]


def test_selecting_a_label_zooms_every_plot_to_it(qtbot, window, i3_charging):
    capture, database = i3_charging
    open_and_wait(qtbot, window, capture, [database])
    top, bottom = show_two_plots(window)
    labels = window.labels
    labels.actions["label_mode"].trigger()  # the toolbar toggle
    drag(qtbot, bottom, 4.0, 4.6)
    qtbot.waitUntil(lambda: labels.editor is not None and labels.editor.isVisible())
    labels.editor.accept()
    (label,) = labels.book.labels()
    window.plot_stack.set_x_range(0.0, 6.0)

    labels.panel.select(None)
    labels.panel.select(label.id)
    for plot in (top, bottom):
        t0, t1 = plot.visible_range()
        assert t0 < label.start_s < label.end_s < t1
        assert (t1 - t0) == pytest.approx(label.duration_s * 1.5, rel=0.01)
    row = labels.panel.row_texts()[0]
    origin = window.plot_stack.origin_s  # the panel counts time as the time axis does
    assert row[1:4] == [
        f"{label.start_s - origin:.3f} s",
        f"{label.end_s - origin:.3f} s",
        f"{label.duration_s:.3f} s",
    ]


def test_a_short_click_or_cancel_makes_no_label(qtbot, window, i3_charging):
    capture, database = i3_charging
    open_and_wait(qtbot, window, capture, [database])
    top, _bottom = show_two_plots(window)
    labels = window.labels
    labels.set_label_mode(True)
    drag(qtbot, top, 1.0, 3.0)
    qtbot.waitUntil(lambda: labels.editor is not None and labels.editor.isVisible())
    labels.editor.reject()
    assert len(labels.book) == 0
    assert not any(p.isVisible() for p in labels.overlay._previews.values())

    # out of label mode a drag pans, and makes no label
    labels.set_label_mode(False)
    before = top.visible_range()
    drag(qtbot, top, 3.0, 2.0)
    assert len(labels.book) == 0 and top.visible_range() != before


def test_rule_labels_are_accepted_or_rejected_from_the_panel(qtbot, window, i3_charging):
    from app.labels import Label

    capture, database = i3_charging
    key = file_sha256(capture)
    with Workspace() as workspace:
        workspace.save_label(Label.from_rule(key, 1.0, 2.0, "cell_imbalance", "spread", 0.7))
        workspace.save_label(Label.from_rule(key, 3.0, 4.0, "over_temperature", "temp", 0.4))
    open_and_wait(qtbot, window, capture, [database])
    labels = window.labels
    first, second = labels.book.labels()
    assert labels.panel.row_texts()[0][7:] == ["spread (70%)", "pending"]

    labels.panel.select(first.id)
    labels.panel.accept_action.trigger()
    labels.panel.select(second.id)
    labels.panel.reject_action.trigger()
    with Workspace() as workspace:
        assert [lab.status for lab in workspace.labels(key)] == ["accepted", "rejected"]
    labels.undo()
    assert labels.book.get(second.id).status == "pending"


def test_exports_from_the_window(qtbot, window, i3_charging, tmp_path):
    from app.export import read_labels, read_slices, read_traces

    capture, database = i3_charging
    open_and_wait(qtbot, window, capture, [database])
    top, _bottom = show_two_plots(window)
    labels = window.labels
    labels.set_label_mode(True)
    drag(qtbot, top, 1.0, 2.0)
    qtbot.waitUntil(lambda: labels.editor is not None and labels.editor.isVisible())
    labels.editor.accept()

    assert labels.export_labels_to(tmp_path / "labels.json") == 1
    assert read_labels(tmp_path / "labels.json") == labels.book.labels()
    assert labels.export_slices_to(tmp_path / "slices.parquet", 0.5) > 0
    assert set(read_slices(tmp_path / "slices.parquet")["label_id"].astype(str)) == {
        labels.book.labels()[0].id
    }
    labels.export_traces_to(tmp_path / "traces.parquet")
    assert len(read_traces(tmp_path / "traces.parquet")) == len(window.plot_stack.traces)

    labels.export_image_to(tmp_path / "plots.png")
    labels.export_image_to(tmp_path / "plots.svg")
    from PySide6.QtGui import QImage

    image = QImage(str(tmp_path / "plots.png"))
    assert image.width() == window.plot_stack.width() and image.height() > 200
    svg = (tmp_path / "plots.svg").read_text(encoding="utf-8")
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg and "<path" in svg.lower()

    # an import of the same file changes nothing; labels of another capture are skipped
    assert labels.import_labels_from(tmp_path / "labels.json") == (1, 0)
    assert len(labels.book) == 1


def test_the_vehicle_of_a_capture_reaches_the_label_export(qtbot, window, i3_charging, tmp_path):
    from app.labels import Label

    capture, database = i3_charging
    open_and_wait(qtbot, window, capture, [database])
    labels = window.labels
    labels.book.add(Label.by_technician(labels.session_key, 1.0, 2.0, "other"))
    labels.set_vehicle("wby1z21000v000001")
    record = labels.workspace.session(labels.session_key)
    assert record.vehicle.vin == "WBY1Z21000V000001"
    labels.set_vehicle("Blue workshop i3")
    assert labels.workspace.session(labels.session_key).vehicle.name == "Blue workshop i3"
    assert labels.workspace.session(labels.session_key).vehicle.vin is None

    labels.export_labels_to(tmp_path / "labels.csv")
    assert ",Blue workshop i3," in (tmp_path / "labels.csv").read_text(encoding="utf-8")


def test_a_damaged_workspace_is_reported_in_the_window(qtbot):
    from app import paths
    from app.workspace import default_path
    from widgets.main_window import MainWindow
    from widgets.notifications import WARNING

    default_path().parent.mkdir(parents=True, exist_ok=True)
    default_path().write_bytes(b"\x00" * 4096)
    main = MainWindow()
    qtbot.addWidget(main)
    warnings = [n for n in main.notifications.history if n.level == WARNING]
    assert any("was damaged" in n.text and "moved to" in n.text for n in warnings)
    aside = list(paths.data_dir().glob("workspace.sqlite.damaged-*"))
    assert len(aside) == 1 and aside[0].read_bytes() == b"\x00" * 4096
    main.close()


def test_labels_on_a_capture_with_unix_times_know_their_wall_clock(qtbot, window, tmp_path):
    """BLF times are Unix times: the label's own seconds are then its wall clock, the panel
    counts from the capture's first sample, and the Grafana columns are the true epoch."""
    from app.export import read_labels
    from app.paths import shipped_dir

    demo = shipped_dir("resources") / "demo" / "demo.blf"
    result = open_and_wait(qtbot, window, demo, [shipped_dir("dbc") / "ev_battery.dbc"])
    start_epoch = result.session.capture.start_time_epoch
    top = window.plot_stack.plots()[0]
    origin = window.plot_stack.origin_s
    assert origin > 1e9, "the demo's times are Unix times"
    window.plot_stack.set_x_range(origin, origin + 120.0)
    labels = window.labels
    labels.set_label_mode(True)
    drag(qtbot, top, origin + 30.0, origin + 60.0)
    qtbot.waitUntil(lambda: labels.editor is not None and labels.editor.isVisible())
    labels.editor.accept()

    (label,) = labels.book.labels()
    assert label.origin_epoch_s == 0.0 and label.start_epoch_s == label.start_s
    assert abs(label.start_epoch_s - (start_epoch + 30.0)) < 1.0
    assert labels.panel.row_texts()[0][1] == f"{label.start_s - origin:.3f} s"
    labels.export_labels_to(tmp_path / "labels.json")
    (back,) = read_labels(tmp_path / "labels.json")
    assert back == label
    text = (tmp_path / "labels.json").read_text(encoding="utf-8")
    assert f'"time": {round(label.start_s * 1000)}' in text


def test_a_session_from_elsewhere_keeps_its_labels_in_its_own_sink(
    qtbot, window, i3_charging, tmp_path
):
    """The seam for database sessions: labels come from, and changes go to, the given sink
    (here a second workspace file; the shared database's ServerLabelSink in the window)."""
    from app.labels import Label

    capture, database = i3_charging
    open_and_wait(qtbot, window, capture, [database])
    top, _bottom = show_two_plots(window)
    key = "9" * 64
    elsewhere = Workspace(tmp_path / "elsewhere.sqlite")
    stored = Label.by_technician(key, 0.5, 1.0, "isolation_fault")
    elsewhere.save_label(stored)
    labels = window.labels
    labels.open_session(key, None, list(window.plot_stack.traces.values()),
                        labels=elsewhere.labels(key), sink=elsewhere)  # fmt: skip
    assert [lab.id for lab in labels.book] == [stored.id]
    assert list(labels.overlay.regions_of(top)) == [stored.id]

    labels.set_label_mode(True)
    drag(qtbot, top, 2.0, 3.0)
    qtbot.waitUntil(lambda: labels.editor is not None and labels.editor.isVisible())
    labels.editor.accept()
    assert len(elsewhere.labels(key)) == 2
    assert labels.workspace.labels(key) == [], "the local workspace must not see them"
    elsewhere.close()


def test_right_click_on_a_label_offers_accept_and_delete(qtbot, window, i3_charging):
    from PySide6.QtWidgets import QMenu

    from app.labels import Label

    capture, database = i3_charging
    key = file_sha256(capture)
    with Workspace() as workspace:
        workspace.save_label(Label.from_rule(key, 1.0, 3.0, "cell_imbalance", "spread", 0.7))
    open_and_wait(qtbot, window, capture, [database])
    top, _bottom = show_two_plots(window)
    labels = window.labels
    (rule,) = labels.book.labels()

    def menu_after_right_click() -> QMenu:
        where = at_time(top, 2.0)
        _send(top.viewport(), QEvent.Type.MouseButtonPress, where, Qt.MouseButton.RightButton,
              Qt.MouseButton.RightButton)  # fmt: skip
        _send(top.viewport(), QEvent.Type.MouseButtonRelease, where, Qt.MouseButton.RightButton,
              NO_BUTTON)  # fmt: skip
        shown = []
        qtbot.waitUntil(
            lambda: bool(shown.extend(m for m in window.findChildren(QMenu) if m.isVisible())
                         or shown),
        )  # fmt: skip
        return shown[0]

    menu = menu_after_right_click()
    actions = {a.text(): a for a in menu.actions() if a.text()}
    assert list(actions) == ["Edit…", "Zoom to label", "Accept", "Reject", "Delete"]
    actions["Accept"].trigger()
    menu.close()
    assert labels.book.get(rule.id).status == "accepted"

    menu = menu_after_right_click()
    next(a for a in menu.actions() if a.text() == "Delete").trigger()
    menu.close()
    assert rule.id not in labels.book
    with Workspace() as workspace:
        assert workspace.labels(key) == []
    labels.undo()
    assert labels.book.get(rule.id).status == "accepted"
