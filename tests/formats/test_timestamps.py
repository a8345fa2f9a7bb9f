"""Timestamp trouble is detected, reported and repaired; frames keep file order."""

from __future__ import annotations

import numpy as np
import pytest

from app import timestamps as ts
from app.formats import read_capture, write_capture
from tests.formats.simulated import random_frames


def test_clean_timestamps_are_left_alone():
    times = 1.7e9 + np.cumsum(np.full(1000, 0.0005))
    repaired, report = ts.check_timestamps(times, "s", 1e-6)
    assert report.ok and not report.repaired
    assert (repaired == times).all()


def test_no_timestamps_get_a_placeholder_axis():
    repaired, report = ts.check_timestamps(np.arange(5.0), "none")
    assert report.problems == [ts.NONE]
    assert repaired == pytest.approx(np.arange(5) * ts.PLACEHOLDER_STEP_S)


def test_row_counter_is_recognised():
    counter = np.arange(100, 400) * 1e-6  # 100, 101, ... read as microseconds
    repaired, report = ts.check_timestamps(counter, "us", 1e-6)
    assert report.problems == [ts.ROW_COUNTER]
    assert np.all(np.diff(repaired) == pytest.approx(ts.PLACEHOLDER_STEP_S))


def test_milliseconds_in_a_microsecond_column_are_scaled():
    millis = np.cumsum(np.full(2000, 2.0))  # a frame every 2 ms, written as "2", "4", ...
    repaired, report = ts.check_timestamps(millis * 1e-6, "us", 1e-6)
    assert report.problems == [ts.MILLIS_FOR_MICROS]
    assert repaired == pytest.approx(millis * 1e-3)


def test_whole_seconds_are_spread_over_their_second():
    seconds = np.repeat(np.arange(10.0, 14.0), 4)
    repaired, report = ts.check_timestamps(seconds, "s", 1e-6)
    assert report.problems == [ts.WHOLE_SECONDS]
    assert repaired[:4] == pytest.approx([10.0, 10.25, 10.5, 10.75])
    assert np.all(np.diff(repaired) > 0)


def test_backward_steps_are_reported_and_stitched():
    times = np.concatenate((np.arange(0, 1, 0.01), np.arange(0.5, 1.5, 0.01)))
    repaired, report = ts.check_timestamps(times, "s", 1e-6)
    assert report.problems == [ts.BACKWARDS]
    assert report.backward_steps == 1 and report.backward_frames == [100]
    assert np.all(np.diff(repaired) > 0)
    assert np.diff(repaired)[99] == pytest.approx(0.01)


def test_negative_timestamps_are_reported_and_kept():
    times = np.linspace(-1.0, 1.0, 50)
    repaired, report = ts.check_timestamps(times, "s", 1e-6)
    assert report.problems == [ts.NEGATIVE] and report.negative_frames == 25
    assert (repaired == times).all()


def test_bmw_csv_row_counter_is_detected(shared_data):
    path = (
        shared_data
        / "bmw-i3-ccs"
        / "CAN_Logs"
        / "AC-charging"
        / "1.ptcan_start-end-chrg_69perc.csv"
    )
    capture = read_capture(path)
    assert capture.timestamp_report.problems == [ts.ROW_COUNTER]
    assert "row counter" in str(capture.timestamp_report)


def test_bmw_startup_csv_microseconds_are_right(shared_data):
    path = shared_data / "bmw-i3-ccs" / "CAN_Logs" / "General" / "2019_is_startupa.csv"
    capture = read_capture(path)
    assert capture.timestamp_report.ok
    assert 20 < capture.duration_s < 30  # 38k frames at about 1.6 kHz


def test_candump_whole_seconds_and_generic_csv_without_time(shared_data):
    folder = shared_data / "savvycan-examples"
    assert read_capture(folder / "candump.log").timestamp_report.problems == [ts.WHOLE_SECONDS]
    assert read_capture(folder / "GenericID_Log.csv").timestamp_report.problems == [ts.NONE]


def test_gvret_written_in_milliseconds_is_caught(tmp_path):
    frames = random_frames(5000, seed=2, start_s=100.0, channels=1)
    path = tmp_path / "ms.csv"
    write_capture(frames, path)
    lines = path.read_text().split("\n")
    fixed = [lines[0]]
    for line in lines[1:]:
        if line:
            stamp, rest = line.split(",", 1)
            fixed.append(f"{int(stamp) // 1000},{rest}")  # microseconds -> milliseconds
    path.write_text("\n".join(fixed) + "\n")

    capture = read_capture(path)

    assert ts.MILLIS_FOR_MICROS in capture.timestamp_report.problems
    millis = np.rint(frames.timestamp * 1e6).astype(np.int64) // 1000
    np.testing.assert_allclose(capture.frames.timestamp, millis / 1e3, atol=1e-6)


def test_backwards_candump_keeps_file_order(tmp_path):
    frames = random_frames(1000, seed=3, start_s=50.0, channels=1)
    frames.timestamp[600:] -= 10.0  # the logger's clock jumped back
    path = tmp_path / "jump.log"
    write_capture(frames, path)

    capture = read_capture(path)

    assert capture.timestamp_report.backward_frames == [600]
    assert (capture.frames.arbitration_id == frames.arbitration_id).all()
    assert np.all(np.diff(capture.frames.timestamp) >= 0)
