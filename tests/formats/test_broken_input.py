"""Damaged captures: the bad rows are skipped and reported by line, the rest loads."""

from __future__ import annotations

import sys
import zlib

import numpy as np
import pytest

from app.errors import CaptureError, LoadCancelled, UnknownFormatError
from app.formats import read_capture, write_capture
from tests.formats.reference import assert_same_frames
from tests.formats.simulated import random_frames


def _insert_lines(path, garbage: dict[int, str]) -> None:
    """Put ``garbage[n]`` in as line ``n`` (1-based), shifting the rest down."""
    lines = path.read_bytes().split(b"\n")
    for number in sorted(garbage):
        lines.insert(number - 1, garbage[number].encode())
    path.write_bytes(b"\n".join(lines))


def test_truncated_blf_loads_what_is_there(tmp_path):
    frames = random_frames(60_000, seed=3)
    whole = tmp_path / "whole.blf"
    write_capture(frames, whole)
    cut = tmp_path / "cut.blf"
    cut.write_bytes(whole.read_bytes()[: int(whole.stat().st_size * 0.6)])

    capture = read_capture(cut)

    assert 0 < capture.frame_count < len(frames)
    assert_same_frames(capture.frames, frames.take(slice(0, capture.frame_count)))
    truncated = [
        m
        for i, m in zip(capture.issues, capture.issue_messages(), strict=True)
        if i.kind == "truncated"
    ]
    assert truncated and all(str(cut) in m for m in truncated)
    assert any("byte" in m for m in truncated)


def test_blf_cut_inside_the_file_header_is_refused_with_the_file_named(tmp_path):
    path = tmp_path / "stub.blf"
    path.write_bytes(b"LOGG" + b"\0" * 20)
    with pytest.raises(CaptureError) as error:
        read_capture(path)
    assert str(path) in str(error.value)


@pytest.mark.parametrize(
    ("format", "name"), [("asc", "g.asc"), ("gvret-csv", "g.csv"), ("candump", "g.log")]
)
def test_garbage_lines_in_the_middle_are_skipped_and_named(tmp_path, format, name):
    frames = random_frames(30_000, seed=4, channels=1)
    path = tmp_path / name
    write_capture(frames, path)
    garbage = {1200: "#### garbage: \x01\x02 not a frame", 25_000: "oops 12.5 0x7FF"}
    _insert_lines(path, garbage)

    capture = read_capture(path)

    assert capture.format == format
    assert capture.frame_count == len(frames)
    assert [issue.line for issue in capture.issues] == sorted(garbage)
    for number, message in zip(sorted(garbage), capture.issue_messages(), strict=True):
        assert message.startswith(f"{path}, line {number}: ")


def test_spreadsheet_mangled_ids_are_reported(tmp_path):
    frames = random_frames(2000, seed=9, channels=1)
    path = tmp_path / "excel.csv"
    write_capture(frames, path, format="gvret-csv")
    lines = path.read_text().split("\n")
    lines[10] = "166064000,3.00E+09,false,0,8,FE,36,12,FE,69,05,07,AD,"
    lines[500] = "166065000,1.23E+03,false,0,2,FE,36,00,00,00,00,00,00,"
    path.write_text("\n".join(lines))

    capture = read_capture(path)

    assert capture.frame_count == len(frames) - 2
    assert [(i.kind, i.line) for i in capture.issues] == [
        ("spreadsheet-id", 11),
        ("spreadsheet-id", 501),
    ]
    assert "3.00E+09" in capture.issue_messages()[0] and str(path) in capture.issue_messages()[0]


@pytest.mark.parametrize(
    ("format", "name"), [("gvret-csv", "bom.csv"), ("candump", "bom.log"), ("asc", "bom.asc")]
)
def test_utf8_byte_order_mark_is_removed_and_said(tmp_path, format, name):
    frames = random_frames(500, seed=1, channels=1)
    path = tmp_path / name
    write_capture(frames, path)
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())

    capture = read_capture(path)

    assert capture.format == format
    assert capture.frame_count == len(frames)
    assert [(i.kind, i.line) for i in capture.issues] == [("bom", 1)]


def test_unknown_content_lists_what_was_tried(tmp_path):
    path = tmp_path / "notes.log"
    path.write_text("Dear diary,\ntoday the car would not charge.\n")
    with pytest.raises(UnknownFormatError) as error:
        read_capture(path)
    message = str(error.value)
    assert str(path) in message
    for name in ("blf", "asc", "candump", "gvret-csv", "trc", "crtd"):
        assert name in error.value.tried and name in message


def test_empty_file_is_an_unknown_format(tmp_path):
    path = tmp_path / "empty.asc"
    path.write_bytes(b"")
    with pytest.raises(UnknownFormatError):
        read_capture(path)


def test_missing_file_names_the_file(tmp_path):
    path = tmp_path / "nowhere.blf"
    with pytest.raises(CaptureError) as error:
        read_capture(path)
    assert str(path) in str(error.value)


@pytest.mark.parametrize("name", ["p.blf", "p.asc", "p.log"])
def test_progress_counts_bytes_and_can_cancel(tmp_path, name):
    path = tmp_path / name
    write_capture(random_frames(50_000, seed=6), path)
    size = path.stat().st_size
    calls = []
    read_capture(path, progress=lambda done, total: calls.append((done, total)) or True)
    assert calls[-1] == (size, size)
    assert all(total == size for _, total in calls)
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)

    with pytest.raises(LoadCancelled):
        read_capture(path, progress=lambda done, total: False)


def test_mf4_without_asammdf_says_how_to_get_it(shared_data, monkeypatch):
    monkeypatch.setitem(sys.modules, "asammdf", None)  # as if the optional extra were missing
    path = shared_data / "css-api-examples" / "LOG" / "17BD1DB7" / "00000006" / "00000170.MF4"
    with pytest.raises(CaptureError) as error:
        read_capture(path)
    assert "asammdf" in str(error.value) and str(path) in str(error.value)


def test_damaged_gzip_is_reported(tmp_path):
    path = tmp_path / "broken.asc.gz"
    write_capture(random_frames(20_000, seed=8), path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CaptureError) as error:
        read_capture(path)
    assert str(path) in str(error.value)


def test_asc_lines_with_bad_bytes_fall_back_and_are_reported(tmp_path):
    frames = random_frames(1000, seed=12, channels=1)
    path = tmp_path / "bytes.asc"
    write_capture(frames, path)
    lines = path.read_text().split("\n")
    number = next(i for i, line in enumerate(lines) if " d 8 " in line) + 1
    lines[number - 1] = lines[number - 1].replace(" d 8 ", " d 8 ZZ ", 1)
    path.write_text("\n".join(lines))

    capture = read_capture(path)

    assert capture.frame_count == len(frames) - 1
    assert [issue.line for issue in capture.issues] == [number]
    assert np.all(np.diff(capture.frames.timestamp) >= 0)


SMALL_CAPTURES = [
    "savvycan-examples/CarBusAnalyzer.trc",
    "python-can-testdata/logfile.asc",
    "python-can-testdata/issue_1905.blf",
    "python-can-testdata/test_CanFdMessage64.blf",
    "python-can-testdata/test_CanMessage_V2_1.trc",
    "python-can-testdata/test_CanMessage_V1_3.trc",
    "foxbms-2/tools/dbc/test_log.txt",
    "foxbms-2/tests/fox-cmds/etl/can-log.trc",
]


@pytest.mark.parametrize("relative", SMALL_CAPTURES)
def test_randomly_damaged_captures_load_or_say_why(shared_data, tmp_path, relative):
    """Flipped, cut and inserted bytes: a capture or one of our errors, never a crash."""
    rng = np.random.default_rng(zlib.crc32(relative.encode()))
    original = (shared_data / relative).read_bytes()
    for attempt in range(12):
        data = bytearray(original)
        for _ in range(int(rng.integers(1, 12))):
            at = int(rng.integers(0, len(data)))
            choice = rng.random()
            if choice < 0.4:
                data[at] = int(rng.integers(0, 256))
            elif choice < 0.7:
                del data[at : at + int(rng.integers(1, 40))]
            else:
                data[at:at] = rng.integers(
                    0, 256, int(rng.integers(1, 30)), dtype=np.uint8
                ).tobytes()
        path = tmp_path / f"damaged-{attempt}{(shared_data / relative).suffix}"
        path.write_bytes(bytes(data))
        try:
            capture = read_capture(path)
        except CaptureError as error:
            assert str(path) in str(error)
        else:
            assert len(capture.frames.timestamp) == capture.frame_count


def test_thousands_of_bad_lines_are_counted_though_not_all_listed(tmp_path):
    frames = random_frames(3000, seed=13, channels=1)
    path = tmp_path / "noisy.log"
    write_capture(frames, path)
    lines = path.read_text().split("\n")
    noisy = [line for pair in zip(lines, ["noise"] * len(lines), strict=True) for line in pair]
    path.write_text("\n".join(noisy))

    capture = read_capture(path)

    assert capture.frame_count == len(frames)
    assert capture.skipped_lines == len(frames) + 1  # every "noise" line (one after the end)
    assert len(capture.issues) <= 1001
    assert capture.issues[-1].kind == "more-issues"
