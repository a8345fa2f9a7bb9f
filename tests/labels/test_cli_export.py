"""``ev-battery-monitor export labels|slices|traces`` on a real capture."""

from __future__ import annotations

import pytest

from app.__main__ import main
from app.export import read_labels, read_slices, read_traces, write_labels
from app.labels import Label
from app.workspace import Workspace, file_sha256
from tests.labels.test_trace_cache import assert_same_traces


@pytest.fixture
def labelled(i3_charging):
    """The i3 capture recorded in the workspace with its database, a vehicle and two labels."""
    capture, database = i3_charging
    key = file_sha256(capture)
    labels = [
        Label.by_technician(key, 0.5, 1.5, "charging_fault", note="pilot lost", tags=("ac",)),
        Label.from_rule(key, 3.0, 4.0, "voltage_sag_under_load", "sag", 0.6),
    ]
    with Workspace() as workspace:
        vehicle = workspace.vehicle(vin="WBY1Z21000V000001")
        workspace.record_session(key, capture, [(database, file_sha256(database))], vehicle)
        workspace.save_labels(labels)
    return capture, database, labels


def test_export_traces(tmp_path, i3_charging, i3_session, capsys):
    capture, database = i3_charging
    out = tmp_path / "traces.parquet"
    assert main(["export", "traces", str(capture), "--dbc", str(database), "-o", str(out)]) == 0
    assert_same_traces(read_traces(out), i3_session.traces)
    assert f"{out}: {len(i3_session.traces)} traces" in capsys.readouterr().out


@pytest.mark.parametrize("suffix", ["csv", "json"])
def test_export_labels_of_a_capture_from_the_workspace(tmp_path, labelled, suffix):
    capture, _database, labels = labelled
    out = tmp_path / f"labels.{suffix}"
    assert main(["export", "labels", str(capture), "-o", str(out)]) == 0
    assert read_labels(out) == labels
    text = out.read_text(encoding="utf-8")
    assert "WBY1Z21000V000001" in text and "Charging fault: pilot lost" in text


def test_export_slices_with_the_databases_the_workspace_remembers(tmp_path, labelled):
    capture, _database, labels = labelled
    out = tmp_path / "slices.parquet"
    args = ["export", "slices", str(capture), "--margin", "0.25", "-o", str(out)]
    assert main([*args, "--class", "charging_fault"]) == 0
    slices = read_slices(out)
    assert set(slices["label_id"].astype(str)) == {labels[0].id}
    assert slices["time_s"].min() >= 0.25 and slices["time_s"].max() <= 1.75


def test_export_slices_from_a_labels_file(tmp_path, i3_charging):
    capture, database = i3_charging
    labels_file = tmp_path / "mine.json"
    key = file_sha256(capture)
    write_labels([Label.by_technician(key, 2.0, 2.5, "sensor_glitch")], labels_file)
    out = tmp_path / "slices.csv"
    args = ["export", "slices", str(capture), "--dbc", str(database), "--labels", str(labels_file)]
    assert main([*args, "-o", str(out)]) == 0
    assert set(read_slices(out)["class"]) == {"sensor_glitch"}


def test_unwritable_output_is_one_line_and_status_2(tmp_path, labelled, capsys):
    capture, _database, _labels = labelled
    blocked = tmp_path / "labels.csv"
    blocked.mkdir()
    assert main(["export", "labels", str(capture), "-o", str(blocked)]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert error[-1].startswith(f"error: {blocked}: cannot write the export")


def test_traces_without_known_databases_say_so(tmp_path, i3_charging, capsys):
    capture, _database = i3_charging
    assert main(["export", "traces", str(capture), "-o", str(tmp_path / "t.csv")]) == 2
    assert "name the databases to decode it with (--dbc)" in capsys.readouterr().err


def test_slices_of_a_labels_file_for_another_capture_say_so(tmp_path, i3_charging, capsys):
    capture, database = i3_charging
    labels_file = tmp_path / "other.csv"
    write_labels([Label.by_technician("0" * 64, 2.0, 2.5, "other")], labels_file)
    args = ["export", "slices", str(capture), "--dbc", str(database), "--labels", str(labels_file)]
    assert main([*args, "-o", str(tmp_path / "s.parquet")]) == 2
    error = capsys.readouterr().err
    assert f"no labels of this capture in {labels_file} (1 labels of other captures)" in error
    assert not (tmp_path / "s.parquet").exists()
