"""Repairs the loader makes to DBC text, each one said, and what it refuses."""

from __future__ import annotations

import pytest

from app.databases import load_database
from app.decode import decode_frames
from app.errors import DatabaseError
from app.frames import FrameTable

HEADER = 'VERSION ""\nNS_ :\nBS_:\nBU_: ECU\n'


def test_signal_names_starting_with_a_digit_are_renamed(tmp_path):
    path = tmp_path / "digits.dbc"
    path.write_text(
        HEADER + "BO_ 100 Gears: 8 ECU\n"
        ' SG_ 1stGearRatio : 0|8@1+ (0.1,0) [0|25.5] "" ECU\n'
        ' SG_ Other : 8|8@1+ (1,0) [0|255] "" ECU\n'
        'CM_ SG_ 100 1stGearRatio "ratio of the first gear";\n'
        'VAL_ 100 1stGearRatio 0 "none" ;\n'
    )

    loaded = load_database(path)

    assert loaded.mode == "repaired"
    signal = loaded.db.get_message_by_name("Gears").get_signal_by_name("_1stGearRatio")
    assert signal.choices and signal.comment == "ratio of the first gear"
    assert any("1stGearRatio" in r and "digit" in r for r in loaded.repairs)


def test_message_names_starting_with_a_digit_are_renamed(tmp_path):
    path = tmp_path / "digits.dbc"
    path.write_text(
        HEADER + 'BO_ 1280 2ndMotor: 8 ECU\n SG_ Rpm : 0|16@1+ (1,0) [0|0] "rpm" ECU\n'
        'CM_ BO_ 1280 "the rear motor";\n'
    )

    loaded = load_database(path)

    assert loaded.db.get_message_by_frame_id(1280).name == "_2ndMotor"
    assert any("message 2ndMotor starts with a digit" in r for r in loaded.repairs)


def test_a_dbc_that_only_imports_says_so(tmp_path):
    (tmp_path / "common.dbc").write_text(
        HEADER + 'BO_ 200 Pack: 8 ECU\n SG_ Volts : 0|16@1+ (0.1,0) [0|1000] "V" ECU\n'
    )
    only = tmp_path / "car.dbc"
    only.write_text('CM_ "IMPORT common.dbc";\n' + HEADER)

    loaded = load_database(only)

    assert loaded.imports == ["common.dbc"]
    assert any("only imports common.dbc" in w for w in loaded.warnings)
    assert [m.name for m in loaded.db.messages] == ["Pack"]


def test_a_missing_import_is_said(tmp_path):
    path = tmp_path / "car.dbc"
    path.write_text('CM_ "IMPORT elsewhere.dbc";\n' + HEADER)

    loaded = load_database(path)

    assert any("elsewhere.dbc" in w and "not beside it" in w for w in loaded.warnings)


def test_value_tables_on_missing_signals_are_dropped(tmp_path):
    path = tmp_path / "dangling.dbc"
    path.write_text(
        HEADER + 'BO_ 300 M: 8 ECU\n SG_ A : 0|8@1+ (1,0) [0|255] "" ECU\n'
        'VAL_ 300 A 1 "on" ;\nVAL_ 300 Gone 1 "on" ;\nVAL_ 301 Nowhere 1 "on" ;\n'
    )

    loaded = load_database(path)

    assert loaded.mode == "repaired"
    assert loaded.db.get_message_by_name("M").get_signal_by_name("A").choices
    assert any("dropped 2 entries" in r for r in loaded.repairs)


def test_29_bit_ids_without_the_flag_decode_extended_frames(tmp_path):
    path = tmp_path / "ext.dbc"
    path.write_text(
        HEADER + 'BO_ 418316529 Charger: 8 ECU\n SG_ Volts : 0|16@1+ (0.1,0) [0|1000] "V" ECU\n'
        'CM_ BO_ 418316529 "a J1939-style charger message";\n'
    )
    loaded = load_database(path)
    frames = FrameTable.empty(1)
    frames.arbitration_id[0] = 418316529
    frames.is_extended_id[0] = True
    frames.dlc[0] = 8
    frames.data[0, :2] = [0x10, 0x0E]

    (volts,) = decode_frames(frames, [loaded]).traces

    assert loaded.db.messages[0].comment == "a J1939-style charger message"
    assert volts.values[0] == pytest.approx(360.0)


def test_nothing_loadable_raises_naming_the_file(tmp_path):
    path = tmp_path / "garbage.dbc"
    path.write_bytes(b"BO_ this is : not a database @@@\n")

    with pytest.raises(DatabaseError) as raised:
        load_database(path)

    assert "garbage.dbc" in str(raised.value) and "even after repairs" in str(raised.value)


def test_a_missing_file_raises_naming_it(tmp_path):
    with pytest.raises(DatabaseError, match="nowhere.dbc: cannot read"):
        load_database(tmp_path / "nowhere.dbc")


def test_an_unchanged_file_is_parsed_once(tmp_path):
    path = tmp_path / "once.dbc"
    path.write_text(HEADER + 'BO_ 5 M: 8 ECU\n SG_ A : 0|8@1+ (1,0) [0|255] "" ECU\n')

    first = load_database(path)
    second = load_database(path, channel=2)
    second.warnings.append("the caller's own note")
    path.write_text(HEADER + 'BO_ 6 N: 8 ECU\n SG_ B : 0|8@1+ (1,0) [0|255] "" ECU\n')
    third = load_database(path)

    assert second.db is first.db and (first.channel, second.channel) == (None, 2)
    assert first.warnings == []
    assert [m.name for m in third.db.messages] == ["N"]


def test_lines_cantools_cannot_parse_are_left_out_and_the_rest_loads(tmp_path):
    path = tmp_path / "broken.dbc"
    path.write_text(
        HEADER + 'BO_ 10 Good: 8 ECU\n SG_ Volts : 0|16@1+ (0.1,0) [0|1000] "V" ECU\n'
        ' SG_ Broken : 16|8@1+ (1,0) [0|255] "" ECU this is not dbc @@\n'
        ' SG_ Amps : 24|16@1- (0.1,0) [-500|500] "A" ECU\n'
    )

    loaded = load_database(path)

    assert loaded.mode == "repaired"
    names = [s.name for s in loaded.db.get_message_by_name("Good").signals]
    assert sorted(names) == ["Amps", "Volts"]
    assert any("line 7" in r and "Broken" in r for r in loaded.repairs)
