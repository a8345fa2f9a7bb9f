"""Every real database in the shared data loads, and decodes random payloads like cantools.

The payloads are random bytes, some short, some all ones ("not available"), for every
message of every database, so that every signal layout a real file uses is exercised
(cascaded and extended multiplexing, CAN FD, floats, big-endian matrices).
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

from app.databases import load_database
from app.frames import FD_WIDTH, FrameTable
from tests.conftest import SHARED_DATA
from tests.decode.oracle import compare
from tests.decode.test_random_layouts import bits_of

SUFFIXES = {".dbc", ".kcd", ".sym", ".arxml"}
REAL_DATABASES = sorted(
    str(p.relative_to(SHARED_DATA))
    for p in SHARED_DATA.rglob("*")
    if p.suffix.lower() in SUFFIXES and p.is_file()
)

# What each file is known to need (checked below, so a regression in the loader shows).
EXPECTED_MODE = {
    "bmw-i3-ccs/i3_LIM_dbc1.dbc": "non-strict",
    "model3dbc/Model3CAN.dbc": "non-strict",
    "leaf_can_bus_messages/EV-can_ZE1.dbc": "non-strict",
    "opendbc/generator/gm/gm_global_a_powertrain.dbc": "repaired",
    "opendbc/generator/volkswagen/_vw_meb_common.dbc": "repaired",
    "foxbms-2/tools/dbc/foxbms.sym": "repaired",
    "foxbms-2/tests/dbc/overlapping-signals.sym": "repaired",
    "foxbms-2/tools/dbc/foxbms.dbc": "strict",
    "opendbc/gm_global_a_high_voltage_management.dbc": "strict",
}


@functools.cache
def real_database(relative: str):
    """Each real database loaded once per test run (loading the big ones takes seconds)."""
    return load_database(SHARED_DATA / relative)


def test_the_real_databases_are_there(shared_data):
    assert len(REAL_DATABASES) >= 30


@pytest.mark.parametrize("relative", REAL_DATABASES)
def test_real_database_loads(shared_data, relative):
    loaded_database = real_database(relative)

    assert loaded_database.mode in {"strict", "non-strict", "repaired"}
    assert len(loaded_database.sha256) == 64
    if relative in EXPECTED_MODE:
        assert loaded_database.mode == EXPECTED_MODE[relative], (
            loaded_database.warnings + loaded_database.repairs
        )
    if loaded_database.mode != "strict":
        assert loaded_database.warnings or loaded_database.repairs
    if loaded_database.mode == "repaired":
        assert loaded_database.repairs
    assert all(m.name != "VECTOR__INDEPENDENT_SIG_MSG" for m in loaded_database.db.messages)


def test_overlaps_are_each_reported(shared_data):
    loaded = real_database("leaf_can_bus_messages/EV-can_ZE1.dbc")
    overlaps = [w for w in loaded.warnings if "overlap" in w and "x5BC" in w]
    # strict mode names one pair; we name every pair that can be present together
    assert len(overlaps) >= 3
    assert any("Mux_5BC" in w and "LB_Remain_Cap_Segment_Swit_Flag" in w for w in overlaps)


def test_extended_ids_without_flag_are_repaired(shared_data):
    loaded = real_database("opendbc/generator/volkswagen/_vw_meb_common.dbc")
    message = loaded.db.get_message_by_name("VZE_04")
    assert message.is_extended_frame and message.frame_id == 0x12DD54A7
    assert any("0x12DD54A7" in r and "extended" in r for r in loaded.repairs)


def test_import_is_followed_and_said(shared_data):
    loaded = real_database("opendbc/generator/volkswagen/vw_meb.dbc")
    assert loaded.imports == ["_vw_meb_common.dbc"]
    assert any("imports _vw_meb_common.dbc" in w for w in loaded.warnings)
    assert loaded.db.get_message_by_name("VZE_04").is_extended_frame
    assert loaded.db.get_message_by_name("MEB_HVEM_01").frame_id == 190


def test_cp1252_text_is_read_and_said(shared_data):
    loaded = load_database(shared_data / "foxbms-2/tools/dbc/third-party/bender/iso165_IMD.dbc")
    assert any("cp1252" in r for r in loaded.repairs)
    assert loaded.db.messages


def test_dangling_value_tables_are_dropped_and_said(shared_data):
    loaded = real_database("opendbc/generator/gm/gm_global_a_powertrain.dbc")
    assert loaded.mode == "repaired"
    assert any("GasRegenCmdActiveInv" in r for r in loaded.repairs)


def set_raw(payload: np.ndarray, signal, value: int) -> None:
    """Write ``value`` into the bits of ``signal`` (bits past the payload are dropped)."""
    positions = bits_of(signal.start, signal.length, signal.byte_order == "big_endian")
    if signal.byte_order == "big_endian":
        positions = positions[::-1]  # least significant bit first, as for little endian
    for i, position in enumerate(positions):
        byte, bit = divmod(position, 8)
        if byte < len(payload):
            cleared = int(payload[byte]) & ~(1 << bit) & 0xFF
            payload[byte] = cleared | (((value >> i) & 1) << bit)


def choose_multiplexer_values(message, tree, payload, rng) -> None:
    """Pick a defined value for every multiplexer on one path of the signal tree."""
    for node in tree:
        if isinstance(node, dict):
            for name, branches in node.items():
                if not branches:
                    continue
                value = list(branches)[int(rng.integers(0, len(branches)))]
                set_raw(payload, message.get_signal_by_name(name), value)
                choose_multiplexer_values(message, branches[value], payload, rng)


def random_frames_for(database, rng: np.random.Generator, per_message: int) -> FrameTable:
    rows = []
    for message in database.db.messages:
        if getattr(message, "is_container", False):
            continue
        for k in range(per_message):
            size = message.length
            if k % 7 == 3:
                size = int(rng.integers(0, message.length + 1))  # short payload
            payload = rng.integers(0, 256, size, dtype=np.uint8)
            if k % 9 == 4:
                payload[:] = 0xFF
            elif k % 4:
                choose_multiplexer_values(message, message.signal_tree, payload, rng)
            rows.append((message.frame_id, message.is_extended_frame, payload))
    width = FD_WIDTH if any(len(p) > 8 for _, _, p in rows) else 8
    frames = FrameTable.empty(len(rows), width)
    order = rng.permutation(len(rows))
    for row, (frame_id, extended, payload) in zip(order, rows, strict=True):
        frames.arbitration_id[row] = frame_id
        frames.is_extended_id[row] = extended
        frames.is_fd[row] = len(payload) > 8
        frames.dlc[row] = len(payload)
        frames.data[row, : len(payload)] = payload
    return frames


@pytest.mark.parametrize("relative", [r for r in REAL_DATABASES if "cp1252" not in r])
def test_random_payloads_decode_like_cantools(shared_data, relative):
    database = real_database(relative)
    per_message = 40 if len(database.db.messages) < 60 else 8
    frames = random_frames_for(database, np.random.default_rng(7), per_message)
    if len(frames) == 0:
        pytest.skip(f"{relative} has no messages to decode without J1939 or containers")

    comparison = compare(frames, [database])

    assert not comparison.mismatches, "\n".join(comparison.mismatches[:20])
    if relative == "cantools-testdata/dbc/bad_message_length.dbc":
        # its only signal lies past the message's one byte: never a value, always invalid
        assert comparison.compared == 0
        assert all(not t.valid.any() for t in comparison.result.traces)
    else:
        assert comparison.compared > 0
    reported = sum(m.unknown_multiplexer_values for m in comparison.result.report.messages)
    assert reported == comparison.unknown_multiplexer_frames
