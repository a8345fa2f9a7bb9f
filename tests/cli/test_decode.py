"""``ev-battery-monitor decode``: long-form tables checked against cantools.decode_message."""

from __future__ import annotations

import json
from collections import defaultdict

import can
import cantools
import numpy as np
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest

from app.paths import shipped_dir
from app.simulate import truth_path

COLUMNS = ["time", "message", "signal", "value", "valid"]
SHIPPED_DBC = shipped_dir("dbc") / "ev_battery.dbc"


def _oracle(messages, database) -> dict[tuple[str, str], list[float]]:
    """(message, signal) -> values in frame order, as cantools decodes them."""
    expected = defaultdict(list)
    for frame in messages:
        try:
            message = database.get_message_by_frame_id(frame.arbitration_id)
        except KeyError:
            continue
        decoded = message.decode(bytes(frame.data), decode_choices=False, allow_truncated=True)
        for name, value in decoded.items():
            expected[(message.name, name)].append(float(value))
    return expected


def _by_signal(table) -> dict[tuple[str, str], np.ndarray]:
    frame = table.to_pandas()
    return {
        (str(m), str(s)): group["value"].to_numpy()
        for (m, s), group in frame.groupby(["message", "signal"], observed=True, sort=False)
    }


def test_real_foxbms_capture_matches_cantools(run_cli, shared_data, tmp_path):
    capture = shared_data / "foxbms-2" / "tests" / "fox-cmds" / "etl" / "can-log.trc"
    database = shared_data / "foxbms-2" / "tools" / "dbc" / "foxbms.dbc"
    out = tmp_path / "fox.parquet"

    result = run_cli("decode", capture, "--dbc", database, "--out", out)

    assert result.status == 0, result.err
    table = pq.read_table(out)
    assert table.column_names == COLUMNS
    assert "samples" in result.out
    expected = _oracle(can.TRCReader(str(capture)), cantools.database.load_file(database))
    ours = _by_signal(table)
    assert set(ours) == set(expected)
    for key, values in expected.items():
        assert ours[key] == pytest.approx(values), key


def test_simulated_recording_to_csv_matches_cantools(run_cli, tmp_path):
    capture = tmp_path / "sim.asc"
    assert run_cli("simulate", capture, "--duration", "20s", "--seed", "9").status == 0
    out = tmp_path / "sim.csv"

    result = run_cli("decode", capture, "--dbc", SHIPPED_DBC, "--out", out)

    assert result.status == 0, result.err
    table = pcsv.read_csv(out)
    assert table.column_names == COLUMNS
    expected = _oracle(can.ASCReader(str(capture)), cantools.database.load_file(SHIPPED_DBC))
    ours = _by_signal(table)
    for key in [
        ("BMS_PackStatus", "PackCurrent"),
        ("BMS_CellVoltages", "CellVoltage096"),
        ("BMS_CellTemperatures", "CellTemperature17"),
        ("VCU_Odometer", "Odometer"),
    ]:
        assert ours[key] == pytest.approx(expected[key]), key
    assert sum(len(v) for v in ours.values()) == table.num_rows


def test_not_available_samples_are_written_as_invalid(run_cli, tmp_path):
    """Seed 3 makes temperature sensor 29 report "not available" (all ones) for a moment."""
    capture = tmp_path / "glitch.blf"
    run_cli("simulate", capture, "--duration", "60s", "--seed", "3", "--anomalies", "sensor_glitch")
    truth = json.loads(truth_path(capture).read_text(encoding="utf-8"))
    glitch = truth["anomalies"][0]
    assert glitch["params"]["reading"] == "not_available"
    out = tmp_path / "glitch.parquet"

    assert run_cli("decode", capture, "--dbc", SHIPPED_DBC, "--out", out).status == 0

    frame = pq.read_table(out).to_pandas()
    invalid = frame[~frame["valid"]]
    sensor = f"CellTemperature{glitch['where']['sensors'][0]:02d}"
    assert len(invalid) > 0 and set(invalid["signal"].astype(str)) == {sensor}
    assert np.all(invalid["value"] > 125)
    seconds = invalid["time"] - truth["start_epoch"]
    assert seconds.min() >= glitch["start_s"] and seconds.max() < glitch["end_s"]


def test_bad_output_suffix_and_missing_database_fail_cleanly(run_cli, tmp_path):
    capture = tmp_path / "c.log"
    capture.write_text("(1700000000.0) can0 110#0000000000000000\n", encoding="utf-8")

    result = run_cli("decode", capture, "--dbc", SHIPPED_DBC, "--out", tmp_path / "out.xlsx")
    assert result.status == 2 and "out.xlsx" in result.err and ".parquet" in result.err

    result = run_cli("decode", capture, "--dbc", tmp_path / "gone.dbc", "--out", tmp_path / "o.csv")
    assert result.status == 2 and "gone.dbc" in result.err
    assert not (tmp_path / "o.csv").exists()


def test_database_warnings_are_printed(run_cli, shared_data, tmp_path):
    """The Tesla DBC fails strict loading (overlapping signals): decoding goes on, warned."""
    capture = tmp_path / "c.log"
    capture.write_text("(1700000000.0) can0 132#0000000000000000\n", encoding="utf-8")
    database = shared_data / "model3dbc" / "Model3CAN.dbc"
    result = run_cli("decode", capture, "--dbc", database, "--out", tmp_path / "o.parquet")
    assert result.status == 0, result.err
    assert "warning: Model3CAN.dbc" in result.err
