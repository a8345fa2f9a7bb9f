"""``ev-battery-monitor info`` on real captures, with python-can's readers as the oracle."""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter

import can
import pytest

from app.formats import read_capture

ROW = re.compile(r"^\s+(\d+)\s+0x([0-9A-F]+)\s+(\d+)\s+([\d.]+|-)\s+([\d,.]+)$")


def _rows(text: str) -> dict[int, tuple[int, str]]:
    """ID -> (frames over all channels, rate on the last channel listed) from the ID table."""
    rows = {}
    for line in text.splitlines():
        match = ROW.match(line)
        if match:
            frame_id = int(match.group(2), 16)
            before = rows.get(frame_id, (0, ""))[0]
            rows[frame_id] = (before + int(match.group(3)), match.group(4))
    return rows


def _field(text: str, name: str) -> str:
    return next(
        line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith(f"{name}:")
    )


@pytest.mark.parametrize(
    "relative, reader, format_name",
    [
        ("savvycan-examples/candump.log", can.CanutilsLogReader, "candump"),
        ("python-can-testdata/logfile.asc", can.ASCReader, "asc"),
        ("python-can-testdata/test_CanMessage.blf", can.BLFReader, "blf"),
    ],
)
def test_counts_per_id_match_python_can(run_cli, shared_data, relative, reader, format_name):
    path = shared_data / relative
    result = run_cli("info", path)
    assert result.status == 0, result.err

    assert _field(result.out, "format").startswith(format_name)
    messages = list(reader(str(path)))
    assert _field(result.out, "frames").split()[0] == str(len(messages))
    expected = Counter(m.arbitration_id for m in messages)
    assert {i: n for i, (n, _) in _rows(result.out).items()} == dict(expected)


def test_rates_are_frames_over_each_ids_own_span(run_cli, shared_data):
    path = shared_data / "savvycan-examples" / "GVRET_Log.csv"
    result = run_cli("info", path)
    frames = read_capture(path).frames
    rows = _rows(result.out)
    busiest = max(rows, key=lambda i: rows[i][0])
    stamps = frames.timestamp[frames.arbitration_id == busiest]
    expected = (len(stamps) - 1) / (stamps.max() - stamps.min())
    assert float(rows[busiest][1]) == pytest.approx(expected, abs=0.01)


def test_timestamp_trouble_is_reported(run_cli, shared_data):
    """The BMW i3 charging log's "Time Stamp" column is a row counter."""
    path = (
        shared_data
        / "bmw-i3-ccs"
        / "CAN_Logs"
        / "AC-charging"
        / "1.ptcan_start-end-chrg_69perc.csv"
    )
    result = run_cli("info", path)
    assert result.status == 0
    report = read_capture(path).timestamp_report
    assert not report.ok
    assert _field(result.out, "timestamps") == str(report)


def test_skipped_lines_are_counted_with_their_line_numbers(run_cli, tmp_path):
    path = tmp_path / "damaged.log"
    path.write_text(
        "(1700000000.000000) can0 123#0102\n"
        "(1700000000.010000) can0 this line is damaged\n"
        "(1700000000.020000) can0 123#0304\n",
        encoding="utf-8",
    )
    result = run_cli("info", path)
    assert result.status == 0
    assert _field(result.out, "frames").split()[0] == "2"
    assert _field(result.out, "skipped").startswith("1 ")
    assert "line 2" in result.out


def test_simulated_recording(run_cli, tmp_path):
    path = tmp_path / "sim.blf"
    assert run_cli("simulate", path, "--duration", "30s", "--anomalies", "none").status == 0
    result = run_cli("info", path)
    rows = _rows(result.out)
    assert float(rows[0x110][1]) == pytest.approx(100, rel=0.01)
    assert float(rows[0x120][1]) == pytest.approx(10, rel=0.01)
    assert "start:       2026-03-02 07:30:00" in result.out


def test_missing_file_and_unknown_content_fail_cleanly(run_cli, tmp_path):
    result = run_cli("info", tmp_path / "nowhere.blf")
    assert result.status == 2 and "nowhere.blf" in result.err and result.out == ""

    noise = tmp_path / "noise.bin"
    noise.write_bytes(bytes(range(256)) * 20)
    result = run_cli("info", noise)
    assert result.status == 2
    assert "noise.bin" in result.err and "tried" in result.err


def test_a_real_process_prints_no_traceback(tmp_path):
    completed = subprocess.run(
        [sys.executable, "-m", "app", "info", str(tmp_path / "nowhere.asc")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completed.returncode == 2
    assert "Traceback" not in completed.stderr
    assert "nowhere.asc" in completed.stderr
