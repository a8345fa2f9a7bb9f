"""Our readers give python-can's frames, in python-can's order, for its own fixtures."""

from __future__ import annotations

import pytest

from app.formats import detect_format, read_capture
from tests.formats.reference import assert_same_frames, reference_frames

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
]


@pytest.mark.parametrize(("name", "format"), FIXTURES)
def test_python_can_fixture_gives_the_same_frames(shared_data, name, format):
    path = shared_data / "python-can-testdata" / name
    assert detect_format(path) == format
    capture = read_capture(path)
    assert capture.format == format
    assert_same_frames(capture.frames, reference_frames(path, format))


def test_candump_log_gives_python_cans_frames(shared_data):
    path = shared_data / "savvycan-examples" / "candump.log"
    capture = read_capture(path)
    reference = reference_frames(path, "candump")
    # The file has whole seconds only; python-can keeps them, we spread them (reported).
    assert "whole-seconds" in capture.timestamp_report.problems
    capture.frames.timestamp = reference.timestamp
    assert_same_frames(capture.frames, reference)
