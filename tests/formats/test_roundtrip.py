"""Every writer round-trips through its reader; our bulk writers read back in python-can."""

from __future__ import annotations

import gzip

import pytest

from app.formats import detect_format, read_capture, write_capture
from tests.formats.reference import assert_same_frames, reference_frames
from tests.formats.simulated import random_frames

# format, file name, what the format can hold
CASES = [
    ("blf", "out.blf", {"fd": True, "remote": True, "errors": True}),
    ("asc", "out.asc", {"fd": True, "remote": True, "errors": True}),
    ("asc", "out.asc.gz", {"fd": True, "remote": True, "errors": True}),
    ("candump", "out.log", {"fd": True, "remote": True, "errors": True, "channels": 1}),
    ("trc", "out.trc", {}),
    ("csv", "out.pcan.csv", {"remote": True, "errors": True, "channels": 1}),
    ("gvret-csv", "out.csv", {"fd": True}),
    ("mf4", "out.mf4", {"fd": True}),
]


@pytest.mark.parametrize(("format", "name", "features"), CASES)
def test_writer_round_trips_through_its_reader(tmp_path, format, name, features):
    if format == "mf4":
        pytest.importorskip("asammdf")
    frames = random_frames(3000, seed=11, **features)
    path = tmp_path / name

    write_capture(frames, path, format=format)
    capture = read_capture(path)

    assert capture.format == format
    assert not capture.issues, capture.issue_messages()
    assert capture.timestamp_report.ok, str(capture.timestamp_report)
    expected = frames.take(slice(None))
    if format == "asc":  # ASC keeps time relative to its trigger block, which dates it
        expected.timestamp = frames.timestamp - frames.timestamp[0]
        assert capture.start_time_epoch == pytest.approx(frames.timestamp[0], abs=1e-3)
    if format == "gvret-csv":  # no FD flag in the format: only the length tells
        expected.is_fd = frames.dlc > 8
    assert_same_frames(capture.frames, expected, atol=1.5e-6)


@pytest.mark.parametrize(
    ("name", "format"),
    [("a.blf", "blf"), ("a.asc", "asc"), ("a.log", "candump"), ("a.trc", "trc"),
     ("a.csv", "gvret-csv"), ("a.asc.gz", "asc")],
)  # fmt: skip
def test_format_comes_from_the_suffix(tmp_path, name, format):
    path = tmp_path / name
    write_capture(random_frames(50, seed=2), path)
    assert detect_format(path) == format
    if name.endswith(".gz"):
        assert path.read_bytes()[:2] == b"\x1f\x8b"
        assert gzip.decompress(path.read_bytes()).startswith(b"date ")


@pytest.mark.parametrize(
    ("format", "name"), [("blf", "x.blf"), ("asc", "x.asc"), ("candump", "x.log")]
)
def test_python_can_reads_our_bulk_writers_output(tmp_path, format, name):
    frames = random_frames(20_000, seed=5, fd=True, remote=True, errors=True, channels=1)
    path = tmp_path / name
    write_capture(frames, path)
    assert_same_frames(read_capture(path).frames, reference_frames(path, format), atol=1.5e-6)


def test_unwritable_suffix_is_refused_with_the_file_named(tmp_path):
    from app.errors import CaptureError

    path = tmp_path / "frames.xlsx"
    with pytest.raises(CaptureError) as error:
        write_capture(random_frames(5), path)
    assert str(path) in str(error.value)
    assert ".blf" in str(error.value)
