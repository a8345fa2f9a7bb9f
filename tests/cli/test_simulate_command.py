"""``ev-battery-monitor simulate``: files, truth, formats and bad arguments."""

from __future__ import annotations

import json

import pytest

from app.formats import read_capture
from app.simulate import truth_path


@pytest.mark.parametrize(
    "suffix, format_name",
    [(".log", "candump"), (".trc", "trc"), (".csv", "gvret-csv"), (".asc.gz", "asc")],
)
def test_writes_any_writable_format_that_reads_back(run_cli, tmp_path, suffix, format_name):
    out = tmp_path / f"sim{suffix}"
    result = run_cli("simulate", out, "--duration", "15s", "--seed", "2")
    assert result.status == 0, result.err
    truth = json.loads(truth_path(out).read_text(encoding="utf-8"))
    capture = read_capture(out)
    assert capture.format == format_name
    assert capture.frame_count == truth["frames"]["count"]
    assert f"wrote {truth['frames']['count']} frames" in result.out


def test_requested_anomalies_are_in_the_truth_with_their_ranges(run_cli, tmp_path):
    out = tmp_path / "sim.blf"
    result = run_cli(
        "simulate",
        out,
        "--duration",
        "10m",
        "--anomalies",
        "voltage_sag,charge_stop",
        "--start",
        "2025-06-01T12:00:00+02:00",
    )
    assert result.status == 0, result.err
    truth = json.loads(truth_path(out).read_text(encoding="utf-8"))
    classes = {a["class"]: a for a in truth["anomalies"]}
    assert set(classes) == {"voltage_sag_under_load", "charging_fault"}
    schedule = {p["kind"]: p for p in truth["schedule"]}
    sag, stop = classes["voltage_sag_under_load"], classes["charging_fault"]
    assert (
        schedule["drive"]["start_s"] <= sag["start_s"] < sag["end_s"] <= schedule["drive"]["end_s"]
    )
    assert stop["end_s"] == schedule["charge"]["end_s"]
    assert truth["start_epoch"] == 1748772000.0
    assert read_capture(out).frames.timestamp[0] >= truth["start_epoch"]
    assert "anomaly: voltage_sag_under_load" in result.out


@pytest.mark.parametrize(
    "arguments, complaint",
    [
        (["--duration", "ten minutes"], "not a duration"),
        (["--anomalies", "gremlins"], "unknown anomaly gremlins"),
        (["--start", "yesterday"], "ISO 8601"),
        (["--duration", "5s"], "at least 10 s"),
        (["--format", "xls"], "cannot write the format"),
    ],
)
def test_bad_arguments_fail_with_a_message(run_cli, tmp_path, arguments, complaint):
    result = run_cli("simulate", tmp_path / "x.blf", *arguments)
    assert result.status == 2
    assert complaint in result.err
    assert not (tmp_path / "x.blf").exists()


def test_unknown_suffix_fails_before_simulating(run_cli, tmp_path):
    result = run_cli("simulate", tmp_path / "x.xyz", "--duration", "3d")
    assert result.status == 2 and "x.xyz" in result.err and "suffix" in result.err
