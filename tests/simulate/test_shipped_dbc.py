"""The database we ship: loads strictly, covers the battery, and marks "not available"."""

from __future__ import annotations

import cantools
import pytest

from app.databases import load_database
from app.paths import shipped_dir
from app.roles import load_mapping, mapping_for

DBC = shipped_dir("dbc") / "ev_battery.dbc"
ROLES = shipped_dir("dbc") / "roles" / "ev_battery.toml"


@pytest.fixture(scope="module")
def db():
    return cantools.database.load_file(DBC, strict=True)


def test_loads_in_cantools_strict_mode_and_through_our_loader_without_warnings():
    loaded = load_database(DBC)
    assert loaded.mode == "strict"
    assert loaded.warnings == [] and loaded.repairs == []


def test_cells_and_sensors_are_multiplexed(db):
    cells = db.get_message_by_name("BMS_CellVoltages")
    temps = db.get_message_by_name("BMS_CellTemperatures")
    assert cells.is_multiplexed() and temps.is_multiplexed()
    voltages = [s for s in cells.signals if s.name.startswith("CellVoltage0")]
    sensors = [s for s in temps.signals if s.name.startswith("CellTemperature")]
    assert len(voltages) == 96 and len(sensors) == 32
    assert {tuple(s.multiplexer_ids) for s in voltages} == {(g,) for g in range(24)}
    assert {tuple(s.multiplexer_ids) for s in sensors} == {(g,) for g in range(8)}


def test_has_both_byte_orders_signed_signals_value_tables_and_an_extended_id(db):
    signals = [s for m in db.messages for s in m.signals]
    assert {s.byte_order for s in signals} == {"little_endian", "big_endian"}
    assert any(s.is_signed for s in signals)
    assert {"ContactorState", "ChargerState", "BmsMode"} <= {s.name for s in signals if s.choices}
    assert any(m.is_extended_frame for m in db.messages)


def test_every_plain_unsigned_signal_puts_all_ones_outside_its_range(db):
    """So that a "not available" raw value can never pass as a measurement."""
    for message in db.messages:
        for signal in message.signals:
            if signal.is_signed or signal.is_multiplexer or signal.choices:
                continue
            if "Counter" in signal.name:
                assert signal.maximum < (1 << signal.length) - 1
                continue
            all_ones = ((1 << signal.length) - 1) * signal.scale + signal.offset
            assert all_ones > signal.maximum, f"{message.name}.{signal.name}"


def test_role_mapping_is_for_this_file_and_names_only_real_signals(db):
    mapping = load_mapping(ROLES)
    assert mapping_for(load_database(DBC), [mapping]) is mapping
    assert load_database(DBC).sha256 in mapping.sha256, "update the sha256 in the mapping"
    for role, (message, signal) in mapping.roles.items():
        names = {s.name for s in db.get_message_by_name(message).signals}
        assert signal in names, role
    assert {f"cell_voltage:{i}" for i in range(1, 97)} <= set(mapping.roles)
    assert {f"cell_temperature:{i}" for i in range(1, 33)} <= set(mapping.roles)
