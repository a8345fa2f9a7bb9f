"""The local workspace: round trips, durability under SIGKILL, damaged files set aside."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap

import pytest

from app import paths
from app.errors import StoreError
from app.labels import Label, LabelBook
from app.workspace import SCHEMA_VERSION, Workspace, default_path, file_sha256

SESSION = "c" * 64


def test_workspace_lives_in_the_data_folder_with_the_current_schema():
    with Workspace() as workspace:
        assert workspace.path == paths.data_dir() / "workspace.sqlite"
        assert workspace.schema_version == SCHEMA_VERSION
        assert workspace.notice is None
    journal = sqlite3.connect(default_path()).execute("PRAGMA journal_mode").fetchone()[0]
    assert journal == "wal"


def test_session_vehicle_databases_and_labels_round_trip(shared_data):
    capture = shared_data / "foxbms-2/tests/fox-cmds/etl/can-log.trc"
    database = shared_data / "foxbms-2/tools/dbc/foxbms.dbc"
    key = file_sha256(capture)
    with Workspace() as workspace:
        vehicle = workspace.vehicle(vin="wba1z51000v123456")
        assert workspace.vehicle(vin="WBA1Z51000V123456").id == vehicle.id
        workspace.record_session(
            key, capture, [(database, file_sha256(database))], vehicle, "trc", 1_600_000_000.0
        )
        labels = [
            Label.by_technician(key, 0.5, 1.5, "cell_imbalance", note="ü spread", tags=("a", "b")),
            Label.from_rule(key, 2.0, 3.0, "over_temperature", "temp_limit", 0.9),
        ]
        for label in labels:
            workspace.save_label(label)

    with Workspace() as workspace:
        record = workspace.session(key)
        assert record.capture_path == str(capture) and record.capture_format == "trc"
        assert record.capture_size == capture.stat().st_size
        assert record.vehicle.vin == "WBA1Z51000V123456"
        assert record.databases == [(str(database), file_sha256(database))]
        assert record.start_epoch_s == 1_600_000_000.0
        assert workspace.labels(key) == labels
        # opening again without naming the vehicle keeps it
        workspace.record_session(key, capture)
        assert workspace.session(key).vehicle.id == record.vehicle.id
        assert [s.key for s in workspace.sessions()] == [key]


def test_vehicle_by_name_when_there_is_no_vin():
    with Workspace() as workspace:
        first = workspace.vehicle(name="Workshop Leaf (blue)")
        assert workspace.vehicle(name="Workshop Leaf (blue)").id == first.id
        assert workspace.vehicle(name="Other car").id != first.id
        with pytest.raises(StoreError, match="VIN or a name"):
            workspace.vehicle()


def test_layouts_and_settings_round_trip():
    layout = {"plots": [{"traces": ["0/Pack/Voltage"], "y_range": [300.0, 400.0]}], "x": [0, 5]}
    with Workspace() as workspace:
        assert workspace.load_layout(SESSION) is None
        workspace.save_layout(SESSION, layout)
        workspace.set_setting("margin_s", 2.5)
    with Workspace() as workspace:
        assert workspace.load_layout(SESSION) == layout
        assert workspace.setting("margin_s") == 2.5
        assert workspace.setting("absent", "default") == "default"


CHILD = textwrap.dedent(
    """
    import sys, time
    from app.labels import Label, LabelBook
    from app.workspace import Workspace

    session = sys.argv[1]
    workspace = Workspace()
    book = LabelBook(session, workspace.labels(session), sink=workspace)
    label = book.add(Label.by_technician(session, 3.0, 4.0, "charging_fault"))
    book.change(label.id, end_s=9.25, note="charger stopped")
    print(label.id, flush=True)
    time.sleep(60)
    """
)


def test_a_label_edit_survives_sigkill_right_after_it(tmp_path):
    script = tmp_path / "child.py"
    script.write_text(CHILD, encoding="utf-8")
    child = subprocess.Popen(
        [sys.executable, str(script), SESSION],
        stdout=subprocess.PIPE,
        text=True,
        cwd=os.getcwd(),
        env=os.environ | {"PYTHONPATH": os.getcwd()},
    )
    try:
        label_id = child.stdout.readline().strip()
        child.send_signal(signal.SIGKILL)
        assert child.wait(timeout=10) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
        child.stdout.close()

    assert label_id, "the child died before making its edit"
    with Workspace() as workspace:
        assert workspace.notice is None
        label = workspace.label(label_id)
        assert label is not None, "the edit was lost"
        assert (label.start_s, label.end_s, label.note) == (3.0, 9.25, "charger stopped")
        assert label.version == 2


def test_a_file_that_is_not_a_database_is_reported_and_set_aside():
    path = default_path()
    path.parent.mkdir(parents=True)
    damage = b"this was a workspace before a disk filled up\n" * 100
    path.write_bytes(damage)

    with Workspace() as workspace:
        assert workspace.set_aside is not None and workspace.set_aside.read_bytes() == damage
        assert workspace.set_aside.name.startswith("workspace.sqlite.damaged-")
        assert "not an SQLite database" in workspace.notice
        assert str(workspace.set_aside) in workspace.notice and str(path) in workspace.notice
        workspace.save_label(Label.by_technician(SESSION, 0, 1, "other"))
        assert len(workspace.labels(SESSION)) == 1


def test_a_database_that_fails_its_integrity_check_is_reported_and_set_aside():
    with Workspace() as workspace:
        book = LabelBook(SESSION, sink=workspace)
        for i in range(400):
            book.add(Label.by_technician(SESSION, i, i + 0.5, "other", note="n" * 200))
    path = default_path()
    page_size = 4096
    with open(path, "r+b") as stream:  # scribble over an interior b-tree page
        stream.seek(3 * page_size)
        stream.write(b"\xff" * page_size)
    damaged = path.read_bytes()

    with Workspace() as workspace:
        assert workspace.set_aside is not None
        assert workspace.set_aside.read_bytes() == damaged, "the damaged file was changed"
        assert "damaged" in workspace.notice and str(workspace.set_aside) in workspace.notice
        assert workspace.labels(SESSION) == []


def test_a_workspace_from_a_newer_program_is_refused_untouched():
    path = default_path()
    path.parent.mkdir(parents=True)
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    db.close()
    before = path.read_bytes()
    with pytest.raises(StoreError, match=f"schema version {SCHEMA_VERSION + 1}, newer"):
        Workspace()
    assert path.read_bytes() == before


def test_an_unusable_data_folder_keeps_the_workspace_in_memory_and_says_so(tmp_path, monkeypatch):
    from app.workspace import shared_workspace

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the data folder should be\n", encoding="utf-8")
    monkeypatch.setenv("EVBM_HOME", str(blocker))
    workspace = shared_workspace()
    assert "cannot be opened" in workspace.notice and "kept in memory" in workspace.notice
    assert str(default_path()) in workspace.notice
    workspace.save_label(Label.by_technician(SESSION, 0.0, 1.0, "other"))
    assert len(workspace.labels(SESSION)) == 1
    assert shared_workspace() is workspace, "one workspace per data folder, not one per call"
    assert blocker.read_text(encoding="utf-8") == "a file where the data folder should be\n"
