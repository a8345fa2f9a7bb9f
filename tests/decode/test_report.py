"""What decoding reports and marks: validity, short payloads, unknown multiplexer values,
unknown IDs, extended against standard IDs, channels, J1939 senders, cancelling."""

from __future__ import annotations

import numpy as np
import pytest

from app.databases import load_database, load_databases
from app.decode import decode_frames
from app.errors import LoadCancelled
from app.frames import FrameTable

BATTERY_DBC = """VERSION ""
NS_ :
BS_:
BU_: BMS
BO_ 256 Pack: 8 BMS
 SG_ PackVoltage : 7|16@0+ (0.1,0) [0|1000] "V" BMS
 SG_ PackCurrent : 16|16@1- (0.1,0) [-500|500] "A" BMS
 SG_ Soc : 32|12@1+ (0.1,0) [0|100] "%" BMS
 SG_ Counter : 60|4@1+ (1,0) [0|15] "" BMS
 SG_ Flag : 44|1@1+ (1,0) [0|1] "" BMS
 SG_ Mode : 45|4@1+ (1,0) [0|15] "" BMS
BO_ 257 Cells: 8 BMS
 SG_ Index M : 0|8@1+ (1,0) [0|0] "" BMS
 SG_ Cell1 m0 : 8|16@1+ (0.001,0) [0|5] "V" BMS
 SG_ Cell2 m1 : 8|16@1+ (0.001,0) [0|5] "V" BMS
 SG_ Alive : 56|8@1+ (1,0) [0|255] "" BMS
BO_ 258 Charger: 8 BMS
 SG_ DcVolts : 0|9@1+ (2,0) [0|1000] "V" BMS
 SG_ PlugState : 16|2@1+ (1,0) [0|3] "" BMS
BO_ 2147484160 Extended: 8 BMS
 SG_ Temp : 0|8@1- (1,0) [-40|125] "degC" BMS
VAL_ 256 Mode 0 "Idle" 1 "Drive" 2 "Charge" 15 "Fault" ;
VAL_ 258 DcVolts 509 "Not_avail" 510 "Error" 511 "Invalid" ;
VAL_ 258 PlugState 0 "Unplugged" 1 "Plugged" 2 "Error" 3 "Invalid_Signal" ;
"""


@pytest.fixture
def battery_db(tmp_path):
    path = tmp_path / "battery.dbc"
    path.write_text(BATTERY_DBC)
    return load_database(path)


def frames_of(rows) -> FrameTable:
    """rows: (arbitration_id, extended, payload bytes[, channel])."""
    table = FrameTable.empty(len(rows))
    for i, row in enumerate(rows):
        frame_id, extended, payload = row[:3]
        table.timestamp[i] = 0.01 * i
        table.arbitration_id[i] = frame_id
        table.is_extended_id[i] = extended
        table.channel[i] = row[3] if len(row) > 3 else 0
        table.dlc[i] = len(payload)
        table.data[i, : len(payload)] = np.frombuffer(payload, np.uint8)
    return table


def trace(result, signal):
    (found,) = [t for t in result.traces if t.signal == signal]
    return found


def pack_payload(voltage_raw: int, current_raw: int, soc_raw: int, counter: int, mode: int):
    data = bytearray(8)
    data[0:2] = voltage_raw.to_bytes(2, "big")
    data[2:4] = (current_raw & 0xFFFF).to_bytes(2, "little")
    data[4] = soc_raw & 0xFF
    data[5] = (soc_raw >> 8) | (mode << 5 & 0xE0)
    data[6] = (mode >> 3) & 0x1
    data[7] = counter << 4
    return bytes(data)


def test_not_available_and_out_of_range_are_invalid_and_counted(battery_db):
    frames = frames_of(
        [
            (256, False, pack_payload(3600, -125, 800, 1, 1)),  # all fine
            (256, False, pack_payload(0xFFFF, 0xFFFF, 0xFFF, 15, 15)),  # "not available"
            (256, False, pack_payload(20000, 6000, 1001, 15, 2)),  # 2000 V, 600 A, 100.1 %
        ]
    )

    result = decode_frames(frames, [battery_db])

    voltage = trace(result, "PackVoltage")
    assert voltage.values[0] == pytest.approx(360.0)
    assert voltage.values[1] == pytest.approx(6553.5)  # kept, for exports to show
    assert list(voltage.valid) == [True, False, False]
    current = trace(result, "PackCurrent")
    assert current.values[0] == pytest.approx(-12.5)
    assert list(current.valid) == [True, True, False]  # signed: all ones is -0.1 A, valid
    assert list(trace(result, "Soc").valid) == [True, False, False]
    assert trace(result, "Counter").valid.all()  # counters run through all ones
    mode = trace(result, "Mode")
    assert mode.choices == {0: "Idle", 1: "Drive", 2: "Charge", 15: "Fault"}
    assert mode.valid.all()  # the value table names 15: a state, not "not available"
    (report,) = result.report.messages
    assert report.invalid_samples == {"PackVoltage": 2, "PackCurrent": 1, "Soc": 2}


def test_value_table_markers_are_not_measurements(battery_db):
    def charger(volts_raw: int, plug: int) -> bytes:
        return bytes([volts_raw & 0xFF, volts_raw >> 8, plug, 0, 0, 0, 0, 0])

    frames = frames_of([(258, False, charger(r, p)) for r, p in [(200, 1), (510, 2), (509, 3)]])

    result = decode_frames(frames, [battery_db])

    volts = trace(result, "DcVolts")
    assert volts.values.tolist() == [400.0, 1020.0, 1018.0]
    assert volts.valid.tolist() == [True, False, False]  # a voltage's named raws are markers
    plug = trace(result, "PlugState")
    assert plug.valid.tolist() == [True, True, False]  # "Error" is a state, "Invalid" is not
    assert plug.label_for(plug.values[1]) == "Error"


def test_trace_carries_what_the_database_says(battery_db):
    result = decode_frames(frames_of([(256, False, pack_payload(1, 2, 3, 4, 0))]), [battery_db])

    voltage = trace(result, "PackVoltage")
    assert (voltage.unit, voltage.minimum, voltage.maximum) == ("V", 0.0, 1000.0)
    assert voltage.message == "Pack" and voltage.channel == 0
    assert voltage.extra["database"] == "battery.dbc"
    assert voltage.extra["database_sha256"] == battery_db.sha256
    assert voltage.time_s.tolist() == [0.0]


def test_short_payloads_decode_what_fits(battery_db):
    full = pack_payload(3600, 100, 500, 3, 1)
    frames = frames_of([(256, False, full), (256, False, full[:3]), (256, False, b"")])

    result = decode_frames(frames, [battery_db])

    (report,) = result.report.messages
    assert report.short_payloads == 2
    voltage = trace(result, "PackVoltage")
    assert voltage.values[:2] == pytest.approx([360.0, 360.0])
    assert list(voltage.valid) == [True, True, False]
    soc = trace(result, "Soc")  # bytes 4-5: only the full frame has them
    assert list(soc.valid) == [True, False, False]
    assert np.isnan(soc.values[1:]).all()


def test_unknown_multiplexer_values_are_counted_and_the_rest_decodes(battery_db):
    frames = frames_of(
        [
            (257, False, bytes([0, 0x10, 0x0E, 0, 0, 0, 0, 7])),
            (257, False, bytes([1, 0x20, 0x0E, 0, 0, 0, 0, 8])),
            (257, False, bytes([9, 0x20, 0x0E, 0, 0, 0, 0, 9])),
            (257, False, bytes([200, 0, 0, 0, 0, 0, 0, 10])),
        ]
    )

    result = decode_frames(frames, [battery_db])

    (report,) = result.report.messages
    assert report.unknown_multiplexer_values == 2
    assert report.unknown_multiplexer_examples == [9, 200]
    assert trace(result, "Alive").values.tolist() == [7, 8, 9, 10]
    assert trace(result, "Index").values.tolist() == [0, 1, 9, 200]
    cell1, cell2 = trace(result, "Cell1"), trace(result, "Cell2")
    assert cell1.time_s.tolist() == [0.0] and cell1.values[0] == pytest.approx(3.600)
    assert cell2.time_s.tolist() == [0.01] and cell2.values[0] == pytest.approx(3.616)
    assert any("multiplexer values" in line for line in result.report.summary_lines())


def test_unknown_ids_and_wrong_id_kind_are_counted(battery_db):
    frames = frames_of(
        [
            (0x100, True, bytes(8)),  # 0x100 exists as a standard ID only
            (0x200, False, bytes(8)),  # 0x200 exists as an extended ID only
            (0x200, True, bytes([0xD8] + [0] * 7)),
            (0x7FF, False, bytes(2)),
            (0x7FF, False, bytes(2)),
        ]
    )

    result = decode_frames(frames, [battery_db])

    assert result.report.unknown_ids == {
        (0, 0x100, True): 1,
        (0, 0x200, False): 1,
        (0, 0x7FF, False): 2,
    }
    assert trace(result, "Temp").values.tolist() == [-40.0]
    assert result.report.decoded_frames == 1


def test_error_and_remote_frames_are_skipped(battery_db):
    frames = frames_of([(256, False, bytes(8))] * 3)
    frames.is_error[1] = True
    frames.is_remote[2] = True

    result = decode_frames(frames, [battery_db])

    assert result.report.skipped_frames == 2
    assert len(trace(result, "PackVoltage")) == 1


def test_databases_per_channel(battery_db, tmp_path):
    path = tmp_path / "battery.dbc"
    on_one, everywhere = load_databases([path, path], channels=[1, None])
    payload = pack_payload(3000, 0, 0, 0, 0)
    frames = frames_of([(256, False, payload, 0), (256, False, payload, 1)])

    only_one = decode_frames(frames, [on_one])
    both = decode_frames(frames, [everywhere])

    assert [t.channel for t in only_one.traces if t.signal == "PackVoltage"] == [1]
    assert only_one.report.unknown_ids == {(0, 256, False): 1}
    assert sorted(t.channel for t in both.traces if t.signal == "PackVoltage") == [0, 1]
    assert load_databases([path], channels={str(path): 3})[0].channel == 3


def test_j1939_matches_the_pgn_across_senders(shared_data):
    database = load_database(
        shared_data / "css-api-examples/dbc_files/CSS-Electronics-SAE-J1939-DEMO.dbc"
    )
    message = database.db.get_message_by_name("EEC1")
    speed = (1500 * 8).to_bytes(2, "little")
    payload = bytes(3) + speed + bytes(3)
    # EEC1 is 0x0CF004FE: priority 3, PGN 0xF004, source 0xFE. Other senders and priorities:
    frames = frames_of(
        [
            (0x0CF004FE, True, payload),
            (0x0CF00400, True, payload),
            (0x18F00400, True, payload),
            (0x0CF004FE, False, payload[:2]),  # not extended: not J1939
        ]
    )

    result = decode_frames(frames, [database])

    engine = [t for t in result.traces if t.signal == "EngineSpeed"]
    assert sorted(t.message for t in engine) == ["EEC1 (SA 0x00)", "EEC1 (SA 0xFE)"]
    by_source = {t.message: t for t in engine}
    assert len(by_source["EEC1 (SA 0x00)"]) == 2
    expected = message.decode(payload)["EngineSpeed"]
    assert all(t.values.tolist() == [expected] * len(t) for t in engine)
    assert result.report.unknown_ids == {(0, 0x0CF004FE, False): 1}


def test_progress_can_cancel(battery_db):
    frames = frames_of([(256, False, bytes(8)), (257, False, bytes(8))])
    seen = []

    def progress(done, total):
        seen.append((done, total))
        return done < 1

    with pytest.raises(LoadCancelled):
        decode_frames(frames, [battery_db], progress=progress)
    assert seen[0] == (0, 2)


def test_time_axis_is_shared_and_read_only(battery_db):
    result = decode_frames(frames_of([(256, False, bytes(8))] * 2), [battery_db])

    voltage = trace(result, "PackVoltage")
    with pytest.raises(ValueError):
        voltage.time_s[0] = 5.0


def test_container_messages_are_counted_and_said(shared_data):
    database = load_database(shared_data / "cantools-testdata/arxml/system-4.2.arxml")
    container = database.db.get_message_by_name("OneToContainThemAll")
    frames = frames_of([(container.frame_id, container.is_extended_frame, bytes(8))])

    result = decode_frames(frames, [database])

    assert result.report.unknown_frames == 1
    assert any("OneToContainThemAll is a container" in w for w in result.report.warnings)


def test_a_range_that_excludes_every_value_is_not_applied(battery_db):
    # Temp's range is [-40|125]: 0x7F (127 degC) twice is outside it every time.
    frames = frames_of([(0x200, True, bytes([0x7F] + [0] * 7))] * 2)

    result = decode_frames(frames, [battery_db])

    temp = trace(result, "Temp")
    assert temp.valid.all() and temp.extra["range_ignored"]
    (report,) = result.report.messages
    assert report.ranges_ignored == {"Temp": (-40.0, 125.0)}
    assert report.invalid_samples == {}
    assert any("excludes every value" in line for line in result.report.summary_lines())


def test_a_range_that_excludes_some_values_is_applied(battery_db):
    frames = frames_of([(0x200, True, bytes([0x7F] + [0] * 7)), (0x200, True, bytes(8))])

    temp = trace(decode_frames(frames, [battery_db]), "Temp")

    assert temp.valid.tolist() == [False, True] and not temp.extra["range_ignored"]


def test_two_messages_with_one_name_give_two_traces(shared_data):
    database = load_database(shared_data / "cantools-testdata/sym/jopp-6.0.sym")
    frames = frames_of([(0x22, True, bytes(8)), (0x23, True, bytes(8))])

    result = decode_frames(frames, [database])

    assert any("2 messages are named Message2" in w for w in database.warnings)
    keys = [t.key for t in result.traces]
    assert len(keys) == len(set(keys))
    assert {t.message for t in result.traces} == {"Message2 (0x22)", "Message2 (0x23)"}


def test_two_databases_with_one_message_name_give_two_traces(battery_db, tmp_path):
    other = tmp_path / "other.dbc"
    other.write_text(BATTERY_DBC.replace("[0|1000]", "[0|900]"))
    frames = frames_of([(256, False, pack_payload(3600, 0, 0, 0, 0))])

    result = decode_frames(frames, [battery_db, load_database(other)])

    voltages = [t for t in result.traces if t.signal == "PackVoltage"]
    assert sorted(t.message for t in voltages) == ["Pack [battery.dbc]", "Pack [other.dbc]"]
    assert len({t.key for t in result.traces}) == len(result.traces)
