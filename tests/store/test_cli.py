"""The ``upload`` and ``db`` commands against the real server."""

from __future__ import annotations

import pytest

from app.cli import run
from app.store import LATEST_VERSION, connect, upload_session
from tests.store.helpers import make_upload

pytestmark = pytest.mark.postgres


def test_db_info_says_mode_schema_and_rights(admin_conninfo, capsys):
    assert run(["db", "info", "--db", admin_conninfo]) == 0
    out = capsys.readouterr().out
    assert "server: PostgreSQL 15" in out
    assert "mode: postgresql" in out or "mode: timescaledb" in out
    assert f"schema version: {LATEST_VERSION} (this program: {LATEST_VERSION})" in out
    assert "own the schema" in out


def test_db_sessions_lists_what_was_uploaded(admin_conninfo, capsys):
    with connect(admin_conninfo) as conn:
        session_id = upload_session(conn, make_upload(name="drive 'to' work")).session_id
    assert run(["db", "sessions", "--db", admin_conninfo]) == 0
    out = capsys.readouterr().out
    assert f"{session_id:>6}  WBY1Z21000V000001" in out and "drive 'to' work" in out


def test_a_connection_error_is_one_line_without_the_password(pg_server, database, capsys):
    target = pg_server.conninfo(dbname=database, password="not-the-password")
    assert run(["db", "info", "--db", target]) == 2
    err = capsys.readouterr().err
    assert "refused the password" in err and "not-the-password" not in err
    assert "Traceback" not in err


def test_a_profile_saved_from_the_command_line_connects(
    pg_server, database, memory_keyring, capsys, monkeypatch
):
    from tests.store.pgserver import SUPERUSER, SUPERUSER_PASSWORD

    monkeypatch.setattr("getpass.getpass", lambda prompt: SUPERUSER_PASSWORD)
    assert (
        run(
            [
                "db",
                "profile",
                "add",
                "shop",
                "--host",
                pg_server.host,
                "--port",
                str(pg_server.port),
                "--dbname",
                database,
                "--user",
                SUPERUSER,
                "--tls",
                "verify-full",
                "--ca-file",
                str(pg_server.ca_file),
            ]
        )
        == 0
    )
    assert run(["db", "info", "--db", "shop"]) == 0
    assert f"schema version: {LATEST_VERSION}" in capsys.readouterr().out
    assert run(["db", "profile", "remove", "shop"]) == 0
    assert memory_keyring.secrets == {}


def test_upload_decodes_a_real_capture_and_refuses_a_second_copy(
    admin_conninfo, shared_data, capsys
):
    pytest.importorskip("app.pipeline", reason="app.pipeline (simulate engineer) not landed")
    capture = shared_data / "foxbms-2/tests/fox-cmds/etl/can-log.trc"
    dbc = shared_data / "foxbms-2/tools/dbc/foxbms.dbc"
    args = [
        "upload",
        str(capture),
        "--dbc",
        str(dbc),
        "--db",
        admin_conninfo,
        "--vehicle",
        "foxBMS bench",
    ]
    assert run(args) == 0
    assert "stored for foxBMS bench as session 1" in capsys.readouterr().out
    assert run(args) == 0
    assert "already stored for foxBMS bench as session 1" in capsys.readouterr().out


def test_db_retention_sets_and_shows_the_limit(admin_conninfo, capsys):
    with connect(admin_conninfo) as conn:
        upload_session(conn, make_upload())  # samples from 2023
    assert run(["db", "retention", "--db", admin_conninfo]) == 0
    assert "kept for ever" in capsys.readouterr().out
    assert run(["db", "retention", "--db", admin_conninfo, "--days", "90"]) == 0
    out = capsys.readouterr().out
    assert "kept 90 days" in out
    with connect(admin_conninfo) as conn:
        mode = conn.execute("SELECT value FROM evbm.settings WHERE key = 'mode'").fetchone()[0]
        if mode == "postgresql":  # TimescaleDB's own job drops chunks later
            assert "raw samples of 1 sessions dropped" in out
            assert conn.execute("SELECT count(*) FROM evbm.samples").fetchone()[0] == 0
