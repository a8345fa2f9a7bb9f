"""The database question: shipped databases offered, earlier choices ticked."""

from __future__ import annotations

from PySide6.QtCore import Qt

from app.paths import shipped_dir
from widgets.database_picker import DatabasePicker


def test_picker_offers_shipped_databases_and_ticks_the_remembered_ones(qtbot, shared_data):
    capture = shared_data / "savvycan-examples/GVRET_Log.csv"
    think_city = shared_data / "savvycan-examples/ThinkCity.dbc"
    picker = DatabasePicker(capture, [think_city])
    qtbot.addWidget(picker)

    listed = {
        picker.list.item(r).data(Qt.ItemDataRole.UserRole) for r in range(picker.list.count())
    }
    assert str((shipped_dir("dbc") / "ev_battery.dbc").resolve()) in listed
    assert picker.chosen() == [think_city.resolve()]  # only the remembered one is ticked

    leaf = shared_data / "savvycan-examples/LeafPowertrainBus.dbc"
    picker.add_database(leaf)
    picker.add_database(leaf)  # twice: still one row
    assert picker.chosen() == [think_city.resolve(), leaf.resolve()]
    assert picker.list.count() == len(listed) + 1
