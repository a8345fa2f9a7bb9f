"""Every real capture in the shared data opens, with the right format and sane counts.

Expected frame counts are not typed in: each comes from a plain rule over the file's lines
(how many lines carry a frame in that format), so the test says what a person would count.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from app.errors import UnknownFormatError
from app.formats import detect_format, read_capture


def _lines(path: Path) -> list[str]:
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    return [line for line in raw.decode("latin-1").replace("\r", "\n").split("\n") if line.strip()]


def _all_lines(skip_header: int = 0):
    return lambda path: len(_lines(path)) - skip_header


def _lines_where(test):
    return lambda path: sum(1 for line in _lines(path) if test(line))


CAPTURES = {
    "bmw-i3-ccs/CAN_Logs/AC-charging/1.ptcan_start-end-chrg_69perc.csv": (
        "gvret-csv",
        _all_lines(1),
    ),
    "bmw-i3-ccs/CAN_Logs/AC-charging/original/1.ptcan_start-end-chrg_69perc.txt": (
        "bmw-hex",
        _all_lines(),
    ),
    "bmw-i3-ccs/CAN_Logs/General/2019_is_startupa.csv": ("gvret-csv", _all_lines(1)),
    "foxbms-2/docs/tools/fox/etl/txt/can_log.txt": ("asc", _lines_where(lambda x: " Rx " in x)),
    "foxbms-2/tests/fox-cmds/etl/can-log.trc": (
        "trc",
        _lines_where(lambda x: not x.startswith(";")),
    ),
    "foxbms-2/tools/dbc/test_log.txt": ("python-can-text", _all_lines()),
    "savvycan-examples/BusMasterLog.log": ("busmaster", _lines_where(lambda x: " Rx " in x)),
    "savvycan-examples/CRTD_Log.txt": (
        "crtd",
        _lines_where(lambda x: " R11 " in x or " R29 " in x),
    ),
    "savvycan-examples/CarBusAnalyzer.trc": ("carbus", _all_lines(1)),
    "savvycan-examples/GVRET_Log.csv": ("gvret-csv", _all_lines(1)),
    "savvycan-examples/GenericID_Log.csv": ("generic-id-csv", _all_lines(1)),
    "savvycan-examples/MicrochipLog.log": ("microchip", _lines_where(lambda x: ";RX;" in x)),
    "savvycan-examples/candump.log": ("candump", _all_lines()),
    "css-api-examples/LOG/17BD1DB7/00000006/00000170.MF4": ("mf4", None),
}
PYTHON_CAN_SUFFIX = {".asc": "asc", ".gz": "asc", ".blf": "blf", ".trc": "trc"}
NOT_CAPTURES = {
    "foxbms-2/docs/tools/fox/etl/txt/decoded_can_log.txt",  # decoded values as JSON lines
}
CAPTURE_SUFFIXES = {".asc", ".blf", ".gz", ".log", ".trc", ".csv", ".txt", ".mf4"}


def _all_captures(shared_data: Path) -> list[str]:
    found = []
    for path in sorted(shared_data.rglob("*")):
        relative = path.relative_to(shared_data).as_posix()
        if path.suffix.lower() not in CAPTURE_SUFFIXES or relative in NOT_CAPTURES:
            continue
        if relative.startswith("canze-renault/"):
            continue  # CanZE field definitions, not captures
        found.append(relative)
    return found


def test_every_capture_in_the_shared_data_is_listed(shared_data):
    python_can = {f for f in _all_captures(shared_data) if f.startswith("python-can-testdata/")}
    assert python_can, "no python-can fixtures found"
    unlisted = set(_all_captures(shared_data)) - set(CAPTURES) - python_can
    assert not unlisted, f"captures without an expectation here: {sorted(unlisted)}"


@pytest.mark.parametrize("relative", sorted(CAPTURES))
def test_real_capture_opens(shared_data, relative):
    if relative.endswith(".MF4"):
        pytest.importorskip("asammdf")
    path = shared_data / relative
    format, expected = CAPTURES[relative]

    assert detect_format(path) == format
    capture = read_capture(path)

    assert capture.format == format
    assert capture.frame_count > 0
    if expected is not None:
        assert capture.frame_count == expected(path)
    _assert_sane(capture)


def test_python_can_fixtures_open(shared_data):
    for relative in _all_captures(shared_data):
        if not relative.startswith("python-can-testdata/"):
            continue
        path = shared_data / relative
        capture = read_capture(path)
        assert capture.format == PYTHON_CAN_SUFFIX[path.suffix], relative
        assert capture.frame_count > 0, relative
        assert not capture.issues, (relative, capture.issue_messages())
        _assert_sane(capture, standard_ids_fit=False)  # python-can's fixtures break this


def _assert_sane(capture, standard_ids_fit: bool = True) -> None:
    frames = capture.frames
    assert np.isfinite(frames.timestamp).all()
    assert (frames.arbitration_id < (1 << 29)).all()
    if standard_ids_fit:
        assert (frames.arbitration_id[~frames.is_extended_id] < (1 << 11)).all()
    assert (frames.dlc <= 64).all()
    assert (frames.dlc[~frames.is_fd & ~frames.is_remote] <= 8).all()
    assert np.diff(frames.timestamp).min(initial=0) >= 0 or capture.timestamp_report.problems


def test_headless_asc_excerpt_reports_its_ellipsis_lines(shared_data):
    path = shared_data / "foxbms-2" / "docs" / "tools" / "fox" / "etl" / "txt" / "can_log.txt"
    capture = read_capture(path)
    lines = _lines(path)
    dots = [i + 1 for i, line in enumerate(lines) if line.strip() == "..."]
    assert [issue.line for issue in capture.issues] == dots
    assert all(str(path) in message for message in capture.issue_messages())
    assert set(capture.frames.arbitration_id.tolist()) == {0x240, 0x35C}


def test_canze_definitions_are_not_captures(shared_data):
    path = shared_data / "canze-renault" / "ZOE" / "_Frames.csv"
    with pytest.raises(UnknownFormatError) as error:
        read_capture(path)
    assert str(path) in str(error.value)
    assert "gvret-csv" in error.value.tried and "blf" in error.value.tried


SAVVYCAN_SAME_CAPTURE = [
    "GVRET_Log.csv",
    "CRTD_Log.txt",
    "BusMasterLog.log",
    "MicrochipLog.log",
    "candump.log",
    "GenericID_Log.csv",
]


def test_savvycan_exports_of_one_capture_give_the_same_frames(shared_data):
    folder = shared_data / "savvycan-examples"
    captures = {name: read_capture(folder / name) for name in SAVVYCAN_SAME_CAPTURE}
    reference = captures["GVRET_Log.csv"].frames
    for name, capture in captures.items():
        frames = capture.frames
        assert len(frames) == len(reference), name
        assert (frames.arbitration_id == reference.arbitration_id).all(), name
        assert (frames.dlc == reference.dlc).all(), name
        assert (frames.data == reference.data).all(), name


def test_savvycan_exports_agree_on_time(shared_data):
    folder = shared_data / "savvycan-examples"
    gvret = read_capture(folder / "GVRET_Log.csv").frames.timestamp
    for name in ("CRTD_Log.txt", "MicrochipLog.log", "BusMasterLog.log"):
        other = read_capture(folder / name).frames.timestamp
        np.testing.assert_allclose(other, gvret, atol=1.5e-3, err_msg=name)


def test_bmw_hex_records_are_the_csv_frames(shared_data):
    folder = shared_data / "bmw-i3-ccs" / "CAN_Logs" / "AC-charging"
    csv = read_capture(folder / "1.ptcan_start-end-chrg_69perc.csv").frames
    hex_records = read_capture(folder / "original" / "1.ptcan_start-end-chrg_69perc.txt").frames
    assert len(hex_records) == len(csv)
    assert (hex_records.arbitration_id == csv.arbitration_id).all()
    assert (hex_records.dlc == csv.dlc).all()
    assert (hex_records.data == csv.data).all()
