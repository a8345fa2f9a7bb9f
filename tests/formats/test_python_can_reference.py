"""Our readers give python-can's frames, in python-can's order.

For every python-can fixture, for the real TRC and MF4 captures, and for big simulated
captures written by python-can's own writers in the test.
"""

from __future__ import annotations

import can
import pytest

from app.formats import detect_format, read_capture
from app.formats.writers import iter_messages
from app.frames import FrameTable
from tests.formats.reference import assert_same_frames, reference_frames
from tests.formats.simulated import random_frames

FIXTURES = [
    ("issue_1256.asc", "asc"),
    ("issue_1299.asc", "asc"),
    ("logfile.asc", "asc"),
    ("logfile_errorframes.asc", "asc"),
    ("single_frame.asc", "asc"),
    ("single_frame_us_locale.asc", "asc"),
    ("test_CanErrorFrames.asc", "asc"),
    ("test_CanFdMessage.asc", "asc"),
    ("test_CanFdMessage64.asc", "asc"),
    ("test_CanFdRemoteMessage.asc", "asc"),
    ("test_CanMessage.asc", "asc"),
    ("test_CanMessage.asc.gz", "asc"),
    ("test_CanRemoteMessage.asc", "asc"),
    ("issue_1905.blf", "blf"),
    ("test_CanErrorFrameExt.blf", "blf"),
    ("test_CanFdMessage.blf", "blf"),
    ("test_CanFdMessage64.blf", "blf"),
    ("test_CanMessage.blf", "blf"),
    ("test_CanMessage2.blf", "blf"),
    ("test_CanMessage.trc", "trc"),
    ("test_CanMessage_V1_0_BUS1.trc", "trc"),
    ("test_CanMessage_V1_1.trc", "trc"),
    ("test_CanMessage_V1_3.trc", "trc"),
    ("test_CanMessage_V2_0_BUS1.trc", "trc"),
    ("test_CanMessage_V2_1.trc", "trc"),
]


def _python_can_reference(path, format: str) -> FrameTable:
    reference = reference_frames(path, format)
    if format == "trc":
        reference.channel -= 1  # python-can keeps TRC's 1-based bus; we count from 0
    return reference


@pytest.mark.parametrize(("name", "format"), FIXTURES)
def test_python_can_fixture_gives_the_same_frames(shared_data, name, format):
    path = shared_data / "python-can-testdata" / name
    assert detect_format(path) == format
    capture = read_capture(path)
    assert capture.format == format
    assert_same_frames(capture.frames, _python_can_reference(path, format))


def test_pcan_explorer_trace_gives_the_same_frames(shared_data):
    path = shared_data / "foxbms-2" / "tests" / "fox-cmds" / "etl" / "can-log.trc"
    capture = read_capture(path)
    assert capture.format == "trc"
    assert capture.start_time_epoch == pytest.approx(1740489946.623, abs=1e-3)
    assert_same_frames(capture.frames, _python_can_reference(path, "trc"))


def test_mf4_bus_logging_gives_the_same_frames(shared_data):
    pytest.importorskip("asammdf")
    path = shared_data / "css-api-examples" / "LOG" / "17BD1DB7" / "00000006" / "00000170.MF4"
    capture = read_capture(path)
    assert capture.format == "mf4"
    with can.MF4Reader(str(path)) as reader:
        messages = list(reader)
    reference = FrameTable.from_messages(messages)
    reference.channel[:] = [m.channel - 1 for m in messages]
    assert_same_frames(capture.frames, reference)


def test_candump_log_gives_python_cans_frames(shared_data):
    path = shared_data / "savvycan-examples" / "candump.log"
    capture = read_capture(path)
    reference = reference_frames(path, "candump")
    # The file has whole seconds only; python-can keeps them, we spread them (reported).
    assert "whole-seconds" in capture.timestamp_report.problems
    capture.frames.timestamp = reference.timestamp
    assert_same_frames(capture.frames, reference)


WRITERS = {"blf": can.BLFWriter, "asc": can.ASCWriter, "candump": can.CanutilsLogWriter}
SUFFIX = {"blf": ".blf", "asc": ".asc", "candump": ".log"}


@pytest.mark.parametrize("format", ["blf", "asc", "candump"])
def test_big_capture_written_by_python_can_reads_the_same(tmp_path, format):
    """100k frames (FD, remote and error frames mixed in) through the fast paths."""
    frames = random_frames(100_000, seed=7, fd=True, remote=True, errors=True)
    path = tmp_path / f"python-can{SUFFIX[format]}"
    with WRITERS[format](str(path)) as writer:
        for message in iter_messages(frames):
            writer.on_message_received(message)

    capture = read_capture(path)

    assert capture.format == format
    assert not capture.issues
    assert_same_frames(capture.frames, reference_frames(path, format))
    assert len(capture.frames) == len(frames)
