"""Battery roles: the shipped mapping files, applying them, and guessing without one."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from app.databases import load_database
from app.decode import decode_frames
from app.errors import DatabaseError
from app.paths import shipped_dir
from app.roles import ROLES, assign_roles, check_role, load_mapping, load_mappings, mapping_for
from tests.conftest import SHARED_DATA
from tests.decode.captures import read_i3_csv, read_with_python_can

MAPPINGS = sorted((shipped_dir("dbc") / "roles").glob("*.toml"))
I3_CSV = "bmw-i3-ccs/CAN_Logs/AC-charging/1.ptcan_start-end-chrg_69perc.csv"


def database_file(name: str):
    """Where a mapping's database lives: shipped in dbc/ or in the shared real data."""
    shipped = shipped_dir("dbc") / name
    if shipped.is_file():
        return shipped
    found = sorted(SHARED_DATA.rglob(name))
    return found[0] if found else None


def test_the_five_battery_mappings_are_shipped():
    names = {p.stem for p in MAPPINGS}
    assert {
        "foxbms",
        "bmw_i3_lim",
        "nissan_leaf_aze0",
        "nissan_leaf_ze1",
        "gm_high_voltage",
    } <= names


@pytest.mark.parametrize("path", MAPPINGS, ids=lambda p: p.stem)
def test_every_mapped_signal_exists_in_its_database(path):
    mapping = load_mapping(path)
    assert mapping.roles
    for file_name in mapping.files:
        database = load_database(database_file(file_name))
        assert mapping_for(database, [mapping]) is mapping
        if database.sha256 in mapping.sha256 or not mapping.sha256:
            for role, (message, signal) in mapping.roles.items():
                assert check_role(role) is None
                names = [s.name for s in database.db.get_message_by_name(message).signals]
                assert signal in names, f"{role}: {message}.{signal} not in {file_name}"


def test_foxbms_series_numbers_cells_from_one():
    mapping = load_mapping(shipped_dir("dbc") / "roles" / "foxbms.toml")
    assert mapping.roles["cell_voltage:1"] == ("f_CellVoltages", "CellVoltage_000")
    assert mapping.roles["cell_voltage:216"] == ("f_CellVoltages", "CellVoltage_215")
    assert mapping.roles["cell_temperature:180"] == ("f_CellTemperatures", "CellTemperature_179")


def test_foxbms_capture_gets_its_roles_from_the_mapping(shared_data):
    frames = read_with_python_can(shared_data / "foxbms-2/tests/fox-cmds/etl/can-log.trc")
    database = load_database(shared_data / "foxbms-2/tools/dbc/foxbms.dbc")
    traces = decode_frames(frames, [database]).traces

    warnings = assign_roles(traces, [database])

    assert warnings == []
    roles = {t.role: t for t in traces if t.role}
    assert roles["max_cell_voltage"].signal == "MaximumCellVoltage"
    cells = [r for r in roles if r.startswith("cell_voltage:")]
    assert cells and all(roles[r].extra["role_source"] == "mapping foxbms.toml" for r in cells)
    for role in cells:
        index = int(role.split(":")[1])
        assert roles[role].signal == f"CellVoltage_{index - 1:03d}"


def test_i3_capture_gets_mapped_roles(shared_data):
    frames = read_i3_csv(shared_data / I3_CSV)
    database = load_database(shared_data / "bmw-i3-ccs/i3_LIM_dbc1.dbc")
    traces = decode_frames(frames, [database]).traces

    assign_roles(traces, [database])

    roles = {t.role: t for t in traces if t.role}
    assert roles["pack_voltage"].signal == "Battery_Volts"
    assert roles["soc"].signal == "HVBatt_SOC"
    assert 250 < np.median(roles["pack_voltage"].valid_values()) < 420


def test_without_a_mapping_roles_are_guessed_and_said(shared_data, tmp_path):
    # The same DBC under another name and with other bytes: no mapping applies to it.
    renamed = tmp_path / "some_other_car.dbc"
    shutil.copy(shared_data / "bmw-i3-ccs/i3_LIM_dbc1.dbc", renamed)
    with renamed.open("a") as handle:
        handle.write("\n")
    database = load_database(renamed)
    traces = decode_frames(read_i3_csv(shared_data / I3_CSV), [database]).traces

    warnings = assign_roles(traces, [database])

    guessed = {t.role: t for t in traces if t.extra.get("role_source") == "guessed"}
    assert guessed["pack_voltage"].signal == "Battery_Volts"
    assert guessed["pack_current"].signal == "Battery_Current"
    assert "odometer" not in guessed  # 0x330 is not in this capture
    assert guessed["soc"].signal == "HVBatt_SOC"  # the battery's, not the display's
    assert any("guessed pack_voltage = BMSMsg112.Battery_Volts" in w for w in warnings)


def test_a_mapping_for_another_version_of_the_file_says_so(shared_data, tmp_path):
    # Same file name as the mapping names, other bytes and one signal renamed.
    text = (shared_data / "bmw-i3-ccs/i3_LIM_dbc1.dbc").read_text(encoding="cp1252")
    changed = tmp_path / "i3_LIM_dbc1.dbc"
    changed.write_text(text.replace("HVBatt_SOC", "HVBatt_SOC_New"), encoding="cp1252")
    database = load_database(changed)
    traces = decode_frames(read_i3_csv(shared_data / I3_CSV), [database]).traces

    warnings = assign_roles(traces, [database])

    assert any("another version" in w for w in warnings)
    assert any("BMSMsg112.HVBatt_SOC" in w and "does not define" in w for w in warnings)
    roles = {t.role: t.signal for t in traces if t.role}
    assert roles["pack_voltage"] == "Battery_Volts" and "soc" not in roles


def test_guessing_numbers_cell_series_from_one(tmp_path):
    path = tmp_path / "cells.dbc"
    path.write_text(
        'VERSION ""\nNS_ :\nBS_:\nBU_: BMS\nBO_ 300 CellBlock: 8 BMS\n'
        ' SG_ Cell_Voltage_0 : 0|16@1+ (0.001,0) [0|5] "V" BMS\n'
        ' SG_ Cell_Voltage_1 : 16|16@1+ (0.001,0) [0|5] "V" BMS\n'
        ' SG_ Cell_Temp_0 : 32|8@1- (1,0) [-40|100] "degC" BMS\n'
        ' SG_ Ambient_Temp : 40|8@1- (1,0) [-40|100] "degC" BMS\n'
    )
    database = load_database(path)
    frames = read_frames_for(300)
    traces = decode_frames(frames, [database]).traces

    assign_roles(traces, [database], mappings=[])

    roles = {t.signal: t.role for t in traces}
    assert roles == {
        "Cell_Voltage_0": "cell_voltage:1",
        "Cell_Voltage_1": "cell_voltage:2",
        "Cell_Temp_0": "cell_temperature:1",
        "Ambient_Temp": "ambient_temperature",
    }


def read_frames_for(frame_id: int):
    from app.frames import FrameTable

    frames = FrameTable.empty(2)
    frames.arbitration_id[:] = frame_id
    frames.dlc[:] = 8
    frames.timestamp[:] = [0.0, 0.1]
    return frames


@pytest.mark.parametrize(
    "text, problem",
    [
        ('[roles]\npack_voltage = "A.B"\n', "names no files"),
        ('[database]\nfiles = ["x.dbc"]\n[roles]\nstate_of_mind = "A.B"\n', "unknown role"),
        ('[database]\nfiles = ["x.dbc"]\n[roles]\n"cell_voltage:0" = "A.B"\n', "index from 1"),
        ('[database]\nfiles = ["x.dbc"]\n[roles]\nsoc = "no_dot"\n', "message.signal"),
        (
            '[database]\nfiles = ["x.dbc"]\n'
            '[[series]]\nrole = "soc"\nsignal = "A.B{n}"\ncount = 2\n',
            "not a numbered role",
        ),
        ("[database\n", "not a readable role mapping"),
    ],
)
def test_bad_mapping_files_say_what_is_wrong(tmp_path, text, problem):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(DatabaseError, match=problem) as raised:
        load_mapping(path)
    assert str(path) in str(raised.value)


def test_bad_mappings_are_skipped_not_fatal(tmp_path):
    (tmp_path / "good.toml").write_text('[database]\nfiles = ["a.dbc"]\n[roles]\nsoc = "M.S"\n')
    (tmp_path / "bad.toml").write_text("[database\n")
    assert [m.name for m in load_mappings(tmp_path)] == ["good"]


def test_every_role_name_checks():
    for role in ROLES:
        suffix = ":3" if role in ("cell_voltage", "cell_temperature") else ""
        assert check_role(role + suffix) is None


def traces_for_every_signal(database):
    """One sample per signal: enough for roles, which look at names and units only."""
    from app.traces import Trace

    return [
        Trace(
            signal=signal.name,
            message=message.name,
            channel=0,
            time_s=np.zeros(1),
            values=np.zeros(1),
            valid=np.ones(1, bool),
            unit=signal.unit or "",
            extra={"database": database.path.name},
        )
        for message in database.db.messages
        for signal in message.signals
    ]


@pytest.mark.parametrize(
    "relative, expected",
    [
        (
            "savvycan-examples/ThinkCity.dbc",
            {
                "pack_voltage": "BMS_System_Data_0.sys_voltage",
                "pack_current": "BMS_System_Data_0.sys_current",
                "soc": "BMS_SystemData_9.BatterySOC",
                "odometer": "RAC_Information.Odometer",
            },
        ),
        (
            "model3dbc/Model3CAN.dbc",
            {
                "pack_current": "ID132HVBattAmpVolt.SmoothBattCurrent132",
                "soc": "ID33AUI_rangeSOC.UI_SOC",
                "odometer": "ID3F3UI_odo.UI_odometer",
                "max_cell_voltage": "ID332BattCellMinMax.BattCellBrickVoltageMax332",
                "min_cell_temperature": "ID332BattCellMinMax.BattCellTempMin332",
                "cell_voltage:1": "ID401CellVoltages.Cell0",
            },
        ),
        ("savvycan-examples/bms.dbc", {"pack_voltage": "BMS_STATUS.PACKVOLTS"}),
    ],
)
def test_guesses_on_real_databases_pick_the_battery(shared_data, relative, expected):
    database = load_database(shared_data / relative)
    traces = traces_for_every_signal(database)

    assign_roles(traces, [database], mappings=[])

    guessed = {t.role: f"{t.message}.{t.signal}" for t in traces if t.role}
    for role, target in expected.items():
        assert guessed.get(role) == target
    assert (
        "bms_soh" not in guessed
        or "health" in guessed["bms_soh"].lower()
        or "soh" in guessed["bms_soh"].lower()
    )
