"""Formats are told apart by content, not by the file name."""

from __future__ import annotations

import shutil

import pytest

from app.formats import detect_format, rank_formats, read_capture

DISGUISES = [
    ("savvycan-examples/candump.log", "capture.txt", "candump"),
    ("savvycan-examples/GVRET_Log.csv", "capture.log", "gvret-csv"),
    ("savvycan-examples/CRTD_Log.txt", "capture.csv", "crtd"),
    ("savvycan-examples/CarBusAnalyzer.trc", "capture.asc", "carbus"),
    ("python-can-testdata/test_CanMessage.blf", "capture.asc", "blf"),
    ("python-can-testdata/test_CanMessage_V1_1.trc", "capture.log", "trc"),
    ("python-can-testdata/logfile.asc", "capture.trc", "asc"),
    ("python-can-testdata/test_CanMessage.asc.gz", "capture.bin", "asc"),
    ("foxbms-2/tools/dbc/test_log.txt", "capture.log", "python-can-text"),
]


@pytest.mark.parametrize(("source", "name", "format"), DISGUISES)
def test_content_decides_not_the_suffix(shared_data, tmp_path, source, name, format):
    path = tmp_path / name
    shutil.copy(shared_data / source, path)
    assert detect_format(path) == format
    assert rank_formats(path)[0][0] == format
    assert read_capture(path).format == format


def test_candump_default_text_with_and_without_time(tmp_path):
    # candump's screen output, as `candump can0` and `candump -ta can0` print it
    plain = tmp_path / "screen.txt"
    plain.write_text(
        "  can0  123   [8]  11 22 33 44 55 66 77 88\n"
        "  can0  18FEF100   [3]  01 02 03\n"
        "  can0  7DF   [2]  remote request\n"
    )
    timed = tmp_path / "screen-ta.txt"
    timed.write_text(
        " (1579876543.123456)  can1  123   [8]  11 22 33 44 55 66 77 88\n"
        " (1579876543.124000)  can1  18FEF100   [3]  01 02 03\n"
    )

    plain_capture = read_capture(plain)
    timed_capture = read_capture(timed)

    assert plain_capture.format == timed_capture.format == "candump-text"
    assert plain_capture.frames.arbitration_id.tolist() == [0x123, 0x18FEF100, 0x7DF]
    assert plain_capture.frames.is_extended_id.tolist() == [False, True, False]
    assert plain_capture.frames.is_remote.tolist() == [False, False, True]
    assert plain_capture.frames.payload(1) == bytes([1, 2, 3])
    assert plain_capture.timestamp_report.problems == ["none"]
    assert timed_capture.timestamp_report.ok
    assert timed_capture.frames.timestamp[0] == pytest.approx(1579876543.123456)
    assert timed_capture.frames.channel.tolist() == [1, 1]


def test_pcan_view_trace_without_its_header(tmp_path):
    # PCAN-View 1.1 lines with the ';' header cut off (as pasted into a bug report)
    path = tmp_path / "pasted.txt"
    path.write_text(
        "     1)     17535.4  Tx     00000100  8  00 00 00 00 00 00 00 00\n"
        "     2)     17540.3  Warng  FFFFFFFF  4  00 00 00 08  BUSHEAVY\n"
        "     3)     17700.3  Rx         0123  2  11 22\n"
        "     4)     48937.6  Rx         0704  1  RTR\n"
    )
    capture = read_capture(path)
    assert capture.format == "trc"
    assert capture.frames.arbitration_id.tolist() == [0x100, 0x123, 0x704]
    assert capture.frames.is_extended_id.tolist() == [True, False, False]
    assert capture.frames.is_remote.tolist() == [False, False, True]
    assert capture.frames.timestamp == pytest.approx([17.5354, 17.7003, 48.9376])


def test_a_named_format_overrides_detection(shared_data):
    from app.errors import CaptureError

    path = shared_data / "savvycan-examples" / "CRTD_Log.txt"
    assert read_capture(path, format="crtd").format == "crtd"
    with pytest.raises(CaptureError) as error:
        read_capture(path, format="xls")
    assert "gvret-csv" in str(error.value) and str(path) in str(error.value)


def test_wall_clock_times_date_the_capture(tmp_path):
    from app.formats import write_capture
    from tests.formats.simulated import random_frames

    path = tmp_path / "dated.log"
    frames = random_frames(100, seed=1, start_s=1.7e9)
    write_capture(frames, path)
    assert read_capture(path).start_time_epoch == pytest.approx(frames.timestamp[0], abs=1e-6)
    assert read_capture(_capture_timed_from_power_up(tmp_path)).start_time_epoch is None


def _capture_timed_from_power_up(folder):
    """A capture whose times start near zero (relative to power-up): no date."""
    path = folder / "relative.log"
    path.write_text("(0.000100) can0 123#11\n(0.000200) can0 124#22\n")
    return path
