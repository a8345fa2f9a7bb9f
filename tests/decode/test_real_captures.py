"""Real captures decoded with their real databases, value by value against cantools."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from app.databases import load_database
from app.decode import decode_frames
from tests.decode.captures import read_i3_csv, read_with_python_can
from tests.decode.oracle import compare

FOXBMS_DBC = "foxbms-2/tools/dbc/foxbms.dbc"
I3_DBC = "bmw-i3-ccs/i3_LIM_dbc1.dbc"
I3_CSV = "bmw-i3-ccs/CAN_Logs/AC-charging/1.ptcan_start-end-chrg_69perc.csv"


def test_foxbms_trc_decodes_like_cantools(shared_data):
    frames = read_with_python_can(shared_data / "foxbms-2/tests/fox-cmds/etl/can-log.trc")
    database = load_database(shared_data / FOXBMS_DBC)

    comparison = compare(frames, [database])

    assert not comparison.mismatches, comparison.mismatches[:10]
    assert comparison.frames_decoded == len(frames)
    assert comparison.compared > 50
    names = {t.signal for t in comparison.result.traces}
    assert {"MaximumCellVoltage", "MinimumCellVoltage"} <= names
    assert any(name.startswith("CellVoltage_") for name in names)  # a multiplexed matrix


def test_foxbms_trc_keeps_the_file_timestamps(shared_data):
    frames = read_with_python_can(shared_data / "foxbms-2/tests/fox-cmds/etl/can-log.trc")
    database = load_database(shared_data / FOXBMS_DBC)

    result = decode_frames(frames, [database])

    for trace in result.traces:
        assert np.all(np.isin(trace.time_s, frames.timestamp))
        assert np.all(np.diff(trace.time_s) >= 0)


def test_foxbms_asc_excerpt_matches_the_documented_values(shared_data):
    """foxBMS documents this excerpt's decoded IVT current (decoded_can_log.txt).

    In that setup the current sensor sends on 0x35C; foxbms.dbc places the same
    Isabellenhuette layout on 0x521. With foxbms.dbc as it is, 0x35C is an unknown ID; moved
    to 0x521 it decodes to the documented values.
    """
    frames = read_with_python_can(shared_data / "foxbms-2/docs/tools/fox/etl/txt/can_log.txt")
    database = load_database(shared_data / FOXBMS_DBC)
    documented = _documented_currents(
        shared_data / "foxbms-2/docs/tools/fox/etl/txt/decoded_can_log.txt"
    )

    as_is = decode_frames(frames, [database])
    ivt_frames = int(np.count_nonzero(frames.arbitration_id == 0x35C))
    assert as_is.report.unknown_ids[(int(frames.channel[0]), 0x35C, False)] == ivt_frames

    moved = replace(
        frames,
        arbitration_id=np.where(
            frames.arbitration_id == 0x35C, 0x521, frames.arbitration_id
        ).astype(np.uint32),
    )
    result = decode_frames(moved, [database])
    (current,) = [t for t in result.traces if t.signal == "IVT_Result_I"]
    assert current.unit == "mA"
    got = dict(zip(np.round(current.time_s, 6), current.values, strict=True))
    assert documented and len(documented) <= len(got)
    for timestamp, value in documented.items():
        assert got[timestamp] == value
    assert not compare(moved, [database]).mismatches


def _documented_currents(path) -> dict[float, float]:
    values = {}
    for line in path.read_text().splitlines():
        if '"Timestamp"' not in line:
            continue
        timestamp = float(line.split('"Timestamp":')[1].split(",")[0])
        value = float(line.split('"0x35C_IVT0_Result_I_mA":')[1].rstrip("}"))
        values[round(timestamp, 6)] = value
    return values


@pytest.mark.parametrize(
    "dbc, decodes",
    [("ThinkCity.dbc", True), ("LeafPowertrainBus.dbc", False), ("bms.dbc", False)],
)
def test_savvycan_capture_with_its_databases(shared_data, dbc, decodes):
    frames = read_with_python_can(shared_data / "savvycan-examples/candump.log")
    database = load_database(shared_data / "savvycan-examples" / dbc)

    comparison = compare(frames, [database])

    assert not comparison.mismatches, comparison.mismatches[:10]
    report = comparison.result.report
    assert report.decoded_frames + report.unknown_frames + report.skipped_frames == len(frames)
    if decodes:
        assert comparison.compared > 1000
    else:  # the capture is from another car: every frame is counted by its ID
        assert report.decoded_frames == comparison.frames_decoded


def test_bmw_i3_charging_csv_decodes_like_cantools(shared_data):
    frames = read_i3_csv(
        shared_data / "bmw-i3-ccs/CAN_Logs/AC-charging/1.ptcan_start-end-chrg_69perc.csv"
    )
    database = load_database(shared_data / "bmw-i3-ccs/i3_LIM_dbc1.dbc")

    comparison = compare(frames, [database])

    assert not comparison.mismatches, comparison.mismatches[:10]
    assert comparison.compared > 3000
    by_name = {t.signal: t for t in comparison.result.traces}
    soc = by_name["HVBatt_SOC"]
    assert 0 < np.median(soc.valid_values()) <= 100
    volts = by_name["Battery_Volts"]
    assert 250 < np.median(volts.valid_values()) < 420  # an i3 pack: 96 cells in series


SAVVYCAN_CAPTURES = [
    "GVRET_Log.csv",
    "CRTD_Log.txt",
    "BusMasterLog.log",
    "GenericID_Log.csv",
    "MicrochipLog.log",
    "candump.log",
    "CarBusAnalyzer.trc",
]


@pytest.mark.parametrize("name", SAVVYCAN_CAPTURES)
def test_savvycan_formats_read_by_us_decode_like_cantools(shared_data, name):
    from app.formats import read_capture

    capture = read_capture(shared_data / "savvycan-examples" / name)
    database = load_database(shared_data / "savvycan-examples/ThinkCity.dbc")

    comparison = compare(capture.frames, [database])

    assert not comparison.mismatches, comparison.mismatches[:10]
    report = comparison.result.report
    assert report.decoded_frames + report.unknown_frames + report.skipped_frames == len(
        capture.frames
    )
    if name != "CarBusAnalyzer.trc":  # 55 frames of another recording, none on ThinkCity IDs
        assert comparison.compared > 1000


def test_our_reader_and_python_can_give_the_same_traces(shared_data):
    """The same candump file through both readers decodes to the same traces."""
    from app.formats import read_capture

    path = shared_data / "savvycan-examples/candump.log"
    database = load_database(shared_data / "savvycan-examples/ThinkCity.dbc")

    ours = decode_frames(read_capture(path).frames, [database]).traces
    reference = decode_frames(read_with_python_can(path), [database]).traces

    assert [t.key for t in ours] == [t.key for t in reference]
    for a, b in zip(ours, reference, strict=True):
        np.testing.assert_array_equal(a.values, b.values)
        np.testing.assert_array_equal(a.valid, b.valid)


def test_bmw_i3_csv_read_by_us_decodes_like_cantools(shared_data):
    from app.formats import read_capture

    capture = read_capture(shared_data / I3_CSV)

    comparison = compare(capture.frames, [load_database(shared_data / I3_DBC)])

    assert not comparison.mismatches, comparison.mismatches[:10]
    assert comparison.compared > 3000


def test_i3_validity_follows_the_database(shared_data):
    """i3_LIM_dbc1.dbc: a seconds counter with the range [0|2704] that every value exceeds
    (a placeholder: not applied), a DC voltage at 511 * 2 V that the value table names
    "Invalid" (not a measurement), and a current range [0|819] A that excludes the small
    negative idle currents (applied, as the database says)."""
    frames = read_i3_csv(shared_data / I3_CSV)
    database = load_database(shared_data / I3_DBC)

    result = decode_frames(frames, [database])

    by_name = {t.signal: t for t in result.traces}
    seconds = by_name["Seconds_ctr"]
    assert seconds.extra["range_ignored"] and seconds.valid.all()
    dc_volts = by_name["DC_Chg_Volts"]
    assert set(dc_volts.values) == {1022.0} and not dc_volts.valid.any()
    # the table is keyed by physical value: raw 511 at scale 2 is 1022 V, named "Invalid"
    assert dc_volts.choices[1022.0] == "Invalid"
    assert dc_volts.label_for(1022.0) == "Invalid" and dc_volts.label_for(511.0) is None
    current = by_name["Battery_Current"]
    assert not current.extra["range_ignored"]
    assert current.valid.tolist() == (current.values >= 0).tolist()


def test_foxbms_one_bit_flags_named_invalid_are_values_not_markers(shared_data):
    """foxbms.dbc names the raw values of its one-bit cell flags 0 "Invalid", 1 "Valid":
    the flag's 0 is a reading of the flag, not a missing flag."""
    frames = read_with_python_can(shared_data / "foxbms-2/tests/fox-cmds/etl/can-log.trc")
    result = decode_frames(frames, [load_database(shared_data / FOXBMS_DBC)])

    flags = [t for t in result.traces if t.signal.endswith("_invalidFlag")]

    assert flags and all(t.valid.all() for t in flags)
    assert all(t.choices == {0: "Invalid", 1: "Valid"} for t in flags)
