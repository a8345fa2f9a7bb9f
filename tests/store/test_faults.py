"""Connection failures, each with its own message and never a password; a server killed in
the middle of an upload; cancel."""

from __future__ import annotations

import json
import logging
import subprocess

import pytest

from app.errors import LoadCancelled
from app.store import (
    AuthenticationFailed,
    ConnectionRefused,
    Profile,
    TlsMismatch,
    UploadInterrupted,
    connect,
    list_sessions,
    migrate,
    redact,
    save_profile,
    upload_session,
)
from app.store.connection import profiles_file
from tests.store.helpers import make_upload
from tests.store.pgserver import SUPERUSER, SUPERUSER_PASSWORD, _free_port

pytestmark = pytest.mark.postgres


def _profile(pg_server, database, **changes) -> Profile:
    profile = Profile(
        name="workshop",
        host=pg_server.host,
        port=pg_server.port,
        dbname=database,
        user=SUPERUSER,
        sslmode="disable",
    )
    for key, value in changes.items():
        setattr(profile, key, value)
    return profile


def test_a_saved_profile_keeps_its_password_in_the_keyring_only(
    pg_server, database, memory_keyring
):
    save_profile(_profile(pg_server, database), password=SUPERUSER_PASSWORD)

    assert SUPERUSER_PASSWORD not in profiles_file().read_text()
    assert json.loads(profiles_file().read_text())["profiles"][0]["name"] == "workshop"
    assert SUPERUSER_PASSWORD in memory_keyring.secrets.values()
    with connect("workshop") as conn:
        assert conn.execute("SELECT current_user").fetchone()[0] == SUPERUSER


def test_connection_refused_has_its_own_message(caplog):
    caplog.set_level(logging.DEBUG)
    port = _free_port()
    target = f"host=127.0.0.1 port={port} dbname=x user=u password=hunter2 sslmode=disable"
    with pytest.raises(ConnectionRefused, match=f"127.0.0.1:{port}: connection refused") as err:
        connect(target)
    assert "hunter2" not in str(err.value) and "hunter2" not in caplog.text


def test_a_wrong_password_has_its_own_message(pg_server, database, caplog):
    caplog.set_level(logging.DEBUG)
    target = pg_server.conninfo(dbname=database, password="wrong'one")
    with pytest.raises(
        AuthenticationFailed, match=f"refused the password for user '{SUPERUSER}'"
    ) as err:
        connect(target)
    assert "wrong'one" not in str(err.value) and "wrong'one" not in caplog.text


def test_no_stored_password_says_so(pg_server, database):
    with pytest.raises(AuthenticationFailed, match="none is stored"):
        connect(_profile(pg_server, database))


def test_tls_verify_full_passes_with_the_servers_ca(pg_server, database):
    profile = _profile(
        pg_server, database, sslmode="verify-full", sslrootcert=str(pg_server.ca_file)
    )
    with connect(profile, password=SUPERUSER_PASSWORD) as conn:
        assert conn.pgconn.ssl_in_use


def test_tls_mismatch_has_its_own_message(pg_server, database, tmp_path):
    other_ca = tmp_path / "other-ca.crt"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            str(tmp_path / "k"),
            "-subj",
            "/CN=another CA",
            "-days",
            "1",
            "-out",
            str(other_ca),
        ],
        check=True,
        capture_output=True,
    )
    profile = _profile(pg_server, database, sslmode="verify-full", sslrootcert=str(other_ca))
    with pytest.raises(TlsMismatch, match="TLS mismatch .*verify-full.*certificate") as err:
        connect(profile, password=SUPERUSER_PASSWORD)
    assert SUPERUSER_PASSWORD not in str(err.value)


def test_redact_hides_passwords_in_both_forms():
    assert redact("host=h password='a b' user=u") == "host=h password=*** user=u"
    assert redact("postgresql://u:s3cret@h:5432/db") == "postgresql://u:***@h:5432/db"


def test_cancel_stores_nothing(admin_conninfo):
    with connect(admin_conninfo) as conn:
        migrate(conn, prefer_timescaledb=False)
        seen = []

        def progress(done, total):
            seen.append(done)
            return len(seen) < 3

        with pytest.raises(LoadCancelled):
            upload_session(conn, make_upload(samples=50_000), progress, chunk_rows=10_000)
        assert list_sessions(conn) == []
        assert upload_session(conn, make_upload(samples=50_000)).sample_count > 0


def test_a_server_killed_mid_upload_leaves_nothing_and_a_retry_succeeds(pg_server, admin_conninfo):
    with connect(admin_conninfo) as conn:
        migrate(conn, prefer_timescaledb=False)
    upload = make_upload(samples=50_000)
    calls = []

    def kill_on_third_chunk(done, total):
        calls.append(done)
        if len(calls) == 3:
            pg_server.kill()
        return True

    try:
        with (
            connect(admin_conninfo) as conn,
            pytest.raises(
                UploadInterrupted, match="lost during the upload of .*nothing of it was stored"
            ),
        ):
            upload_session(conn, upload, kill_on_third_chunk, chunk_rows=5_000)
    finally:
        pg_server.restart_after_kill()

    with connect(admin_conninfo) as conn:
        assert list_sessions(conn) == []
        assert conn.execute("SELECT count(*) FROM evbm.samples").fetchone()[0] == 0
        result = upload_session(conn, upload)
        assert not result.already_present
        assert [s.id for s in list_sessions(conn)] == [result.session_id]
