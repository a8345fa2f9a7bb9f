"""The connection dialog and the fleet view, real widgets against the real server."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from app.labels import Label
from app.store import LATEST_VERSION, connect, load_profiles, migrate, read_labels, upload_session
from app.store.connection import profiles_file
from tests.store.helpers import make_upload
from tests.store.pgserver import SUPERUSER, SUPERUSER_PASSWORD

pytestmark = pytest.mark.postgres


@pytest.fixture
def dialog(qtbot, pg_server, database):
    from widgets.connection_dialog import ConnectionDialog

    dialog = ConnectionDialog()
    qtbot.addWidget(dialog)
    dialog.name_edit.setText("workshop")
    dialog.host_edit.setText(pg_server.host)
    dialog.port_spin.setValue(pg_server.port)
    dialog.dbname_edit.setText(database)
    dialog.user_edit.setText(SUPERUSER)
    dialog.tls_combo.setCurrentText("verify-full")
    dialog.ca_edit.setText(str(pg_server.ca_file))
    yield dialog
    dialog.done(0)


def test_test_connection_says_what_it_found(qtbot, dialog, admin_conninfo):
    with connect(admin_conninfo) as conn:
        migrate(conn, prefer_timescaledb=False)
    dialog.password_edit.setText(SUPERUSER_PASSWORD)

    with qtbot.waitSignal(dialog.tested, timeout=60_000) as blocker:
        dialog.test_button.click()

    ok, text = blocker.args
    assert ok, text
    assert "server: PostgreSQL 15" in text and "TimescaleDB" in text
    assert f"schema version: {LATEST_VERSION}" in text and "own the schema" in text
    assert dialog.result_label.text() == text


def test_a_wrong_password_is_reported_without_it(qtbot, dialog):
    dialog.password_edit.setText("bad'password")
    with qtbot.waitSignal(dialog.tested, timeout=60_000) as blocker:
        dialog.test_button.click()
    ok, text = blocker.args
    assert not ok and "refused the password" in text and "bad'password" not in text


def test_saving_a_profile_keeps_the_password_out_of_the_file(qtbot, dialog, memory_keyring):
    dialog.password_edit.setText(SUPERUSER_PASSWORD)
    dialog.save_button.click()

    assert "workshop" in load_profiles()
    assert SUPERUSER_PASSWORD not in profiles_file().read_text()
    assert list(memory_keyring.secrets.values()) == [SUPERUSER_PASSWORD]
    assert dialog.profile_list.currentItem().text() == "workshop"


def test_fleet_view_lists_vehicles_and_opens_a_session(qtbot, admin_conninfo):
    from widgets.fleet_view import FleetView

    with connect(admin_conninfo) as conn:
        migrate(conn, prefer_timescaledb=False)
        first = upload_session(conn, make_upload(name="drive", vehicle="car A"))
        upload_session(conn, make_upload(name="charge", vehicle="car B", seed=2))
    view = FleetView()
    qtbot.addWidget(view)

    with qtbot.waitSignal(view.loaded, timeout=60_000) as blocker:
        view.set_target(admin_conninfo)

    assert blocker.args == [2]
    car_a = view.tree.findItems("car A", Qt.MatchFlag.MatchExactly)[0]
    soc = next(t for t in make_upload(name="drive", vehicle="car A").traces if t.role == "soc")
    assert car_a.text(4) == f"{soc.values[soc.valid][-1]:.1f}"
    session_item = car_a.child(0)
    assert session_item.text(0) == "drive"
    with qtbot.waitSignal(view.session_activated) as activated:
        view.tree.itemActivated.emit(session_item, 0)
    assert activated.args == [first.session_id]
    view.wait()


def test_the_main_window_gets_a_database_menu_and_opens_a_session(qtbot, admin_conninfo):
    from widgets.main_window import MainWindow

    with connect(admin_conninfo) as conn:
        migrate(conn, prefer_timescaledb=False)
        result = upload_session(conn, make_upload(name="drive", vehicle="car A"))
    window = MainWindow()
    qtbot.addWidget(window)
    store = window.store
    texts = [a.text() for a in window.menu("&Database").actions()]
    assert any("Connect" in text for text in texts)

    with qtbot.waitSignal(store.fleet.loaded, timeout=60_000):
        store.fleet.set_target(admin_conninfo)
    store.fleet.session_activated.emit(result.session_id)
    qtbot.waitUntil(lambda: window.windowTitle().startswith("drive (car A)"), timeout=60_000)
    shown = window.plot_stack.shown_keys()
    assert shown and set(shown) <= {t.key for t in make_upload().traces}

    # a label made on a database session goes to the server at once, not to the workspace
    book = window.labels.book
    made = book.add(Label.by_technician(book.session, 5.0, 9.0, "other"))
    with connect(admin_conninfo) as other:
        ((stored, version),) = read_labels(other, result.session_id)
    assert (stored.id, stored.start_s, version) == (made.id, 5.0, 1)


def test_a_big_session_shows_the_servers_summary_and_fetches_detail_on_zoom(
    qtbot, admin_conninfo, monkeypatch
):
    from app.store.view import ServerSummary
    from widgets import fleet_view
    from widgets.main_window import MainWindow

    monkeypatch.setattr(fleet_view, "FULL_LOAD_MAX", 1_000)  # 20,000 samples count as big
    upload = make_upload(name="long drive", vehicle="car A", samples=20_000)
    with connect(admin_conninfo) as conn:
        migrate(conn, prefer_timescaledb=False)
        result = upload_session(conn, upload)
    window = MainWindow()
    qtbot.addWidget(window)
    store = window.store
    store.fleet.target = admin_conninfo

    store.fleet.session_activated.emit(result.session_id)
    qtbot.waitUntil(lambda: window.windowTitle().startswith("long drive"), timeout=60_000)
    stack = window.plot_stack
    shown = stack.shown_keys()
    assert shown and all(isinstance(stack.pyramids[k], ServerSummary) for k in shown)
    assert all(stack.pyramids[k].detail is None for k in shown)

    stack.set_x_range(100.0, 110.0)  # ten seconds: far finer than the overview

    def covered(key: str) -> bool:
        d0, d1 = stack.pyramids[key].detail_range
        return stack.pyramids[key].detail is not None and d0 <= 100.0 and 110.0 <= d1

    qtbot.waitUntil(lambda: all(covered(k) for k in shown), timeout=60_000)
    key = shown[0]
    detail = stack.pyramids[key].detail
    assert detail.source == "raw" and detail.bucket_s < 0.1
    original = next(t for t in upload.traces if t.key == key)
    inside = original.valid & (original.time_s >= 100.0) & (original.time_s < 110.0)
    assert detail.count.sum() == np.count_nonzero(inside)
    assert detail.minimum.min() == original.values[inside].min()
    store._detail_job.wait()


def test_db_on_the_command_line_opens_the_fleet_of_that_database(qtbot, admin_conninfo):
    import argparse

    from widgets.application import start_gui

    with connect(admin_conninfo) as conn:
        migrate(conn, prefer_timescaledb=False)
        upload_session(conn, make_upload(name="drive", vehicle="car A"))

    window = start_gui(argparse.Namespace(captures=[], dbc=[], demo=False, db=admin_conninfo))
    qtbot.addWidget(window)
    fleet = window.store.fleet

    qtbot.waitUntil(lambda: fleet.tree.topLevelItemCount() == 1, timeout=60_000)
    assert window.store.dock.isVisible()
    assert fleet.tree.topLevelItem(0).text(0) == "car A"
    fleet.wait()
