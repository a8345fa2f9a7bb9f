"""ISO-TP reassembly: the Hyundai Kona UDS capture with CSS Electronics' tp_uds.dbc."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.databases import load_database
from app.decode import decode_frames
from app.frames import FrameTable
from app.isotp import reassemble
from tests.decode.oracle import compare

KONA = "css-api-examples/LOG/17BD1DB7/00000006/00000170.MF4"
UDS_DBC = "css-api-examples/dbc_files/tp_uds.dbc"


@pytest.fixture(scope="module")
def kona_frames(shared_data):
    pytest.importorskip("asammdf")
    from app.formats import read_capture

    return read_capture(shared_data / KONA).frames


def reference_reassembly(frames: FrameTable, frame_id: int) -> list[tuple[float, bytes]]:
    """A frame-by-frame reassembler written from ISO 15765-2, to check the vectorised one."""
    done, current, expected_length, sequence = [], None, 0, 0
    for row in np.flatnonzero(frames.arbitration_id == frame_id):
        payload = frames.payload(row)
        kind = payload[0] >> 4
        if kind == 0:
            length = payload[0] & 0x0F
            if length:
                done.append((frames.timestamp[row], payload[: 1 + length]))
            current = None
        elif kind == 1:
            expected_length = ((payload[0] & 0x0F) << 8) | payload[1]
            current, sequence = bytearray(payload[1:8]), 1
        elif kind == 2 and current is not None:
            if payload[0] & 0x0F != sequence % 16:
                current = None
                continue
            current += payload[1:8]
            sequence += 1
            if len(current) - 1 >= expected_length:
                done.append((frames.timestamp[row], bytes(current[: 1 + expected_length])))
                current = None
    return done


@pytest.mark.parametrize("frame_id", [0x7EC, 0x7BB])
def test_reassembly_matches_a_frame_by_frame_reference(kona_frames, frame_id):
    own = kona_frames.take(kona_frames.arbitration_id == frame_id)

    result = reassemble(own)

    expected = reference_reassembly(kona_frames, frame_id)
    assert result.transfers == len(expected) > 0
    got = [
        (result.frames.timestamp[i], result.frames.payload(i)) for i in range(len(result.frames))
    ]
    assert got == expected


def test_kona_soc_decodes_after_reassembly(shared_data, kona_frames):
    database = load_database(shared_data / UDS_DBC)

    result = decode_frames(kona_frames, [database])

    (soc,) = [t for t in result.traces if t.signal == "M_SID_0x220101_StateOfChargeBMS"]
    assert soc.unit == "%"
    battery = [m for m in result.report.messages if m.message == "Battery"][0]
    assert battery.isotp_transfers == len(soc) > 50
    # By hand: the SoC is the second data byte of the first consecutive frame, in half percent.
    first_transfer = reference_reassembly(kona_frames, 0x7EC)[0][1]
    assert soc.values[0] == first_transfer[8] * 0.5
    assert 5 <= np.median(soc.valid_values()) <= 100
    assert any("ISO-TP" in line for line in result.report.summary_lines())


def test_reassembled_transfers_decode_like_cantools(shared_data, kona_frames):
    database = load_database(shared_data / UDS_DBC)
    transfers = FrameTable.concat(
        [
            reassemble(kona_frames.take(kona_frames.arbitration_id == frame_id)).frames
            for frame_id in (0x7EC, 0x7BB)
        ]
    )

    comparison = compare(transfers, [database])

    assert not comparison.mismatches, comparison.mismatches[:10]
    assert comparison.compared > 500


def test_a_classic_message_longer_than_eight_bytes_without_isotp_is_short(tmp_path):
    path = tmp_path / "long.dbc"
    path.write_text(
        'VERSION ""\nNS_ :\nBS_:\nBU_: A\nBO_ 100 Long: 12 A\n'
        ' SG_ Head : 0|8@1+ (1,0) [0|0] "" A\n SG_ Tail : 80|8@1+ (1,0) [0|0] "" A\n'
    )
    frames = FrameTable.empty(2)
    frames.arbitration_id[:] = 100
    frames.dlc[:] = 8
    frames.data[:, 0] = [0x05, 0x33]  # no first frame (0x1_): not ISO-TP

    result = decode_frames(frames, [load_database(path)])

    (report,) = result.report.messages
    assert (report.isotp_transfers, report.short_payloads) == (0, 2)
    head = [t for t in result.traces if t.signal == "Head"][0]
    assert head.values.tolist() == [5, 0x33]


@st.composite
def isotp_traffic(draw):
    """Single and multi-frame transfers, some with consecutive frames lost or reordered."""
    frames = []
    for _ in range(draw(st.integers(1, 12))):
        length = draw(st.integers(1, 90))
        data = bytes(draw(st.lists(st.integers(0, 255), min_size=length, max_size=length)))
        if length <= 7:
            frames.append(bytes([length]) + data + bytes(7 - length))
            continue
        frames.append(bytes([0x10 | length >> 8, length & 0xFF]) + data[:6])
        rest = data[6:]
        consecutive = [
            bytes([0x20 | (k + 1) % 16]) + rest[7 * k : 7 * k + 7].ljust(7, b"\0")
            for k in range(-(-len(rest) // 7))
        ]
        damage = draw(st.sampled_from(["none", "none", "drop", "swap"]))
        if damage == "drop" and consecutive:
            consecutive.pop(draw(st.integers(0, len(consecutive) - 1)))
        elif damage == "swap" and len(consecutive) > 1:
            consecutive[0], consecutive[1] = consecutive[1], consecutive[0]
        frames.extend(consecutive)
    table = FrameTable.empty(len(frames))
    table.arbitration_id[:] = 0x7E8
    table.dlc[:] = 8
    table.timestamp[:] = np.arange(len(frames)) * 0.001
    for row, payload in enumerate(frames):
        table.data[row] = np.frombuffer(payload, np.uint8)
    return table


@settings(max_examples=60, deadline=None)
@given(frames=isotp_traffic())
def test_reassembly_of_random_traffic_matches_the_reference(frames):
    expected = [(t, p[:64]) for t, p in reference_reassembly(frames, 0x7E8)]

    result = reassemble(frames)

    got = [
        (result.frames.timestamp[i], result.frames.payload(i)) for i in range(len(result.frames))
    ]
    assert got == expected
