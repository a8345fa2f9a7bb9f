"""Schema creation, migration from every earlier version, roles and info."""

from __future__ import annotations

import psycopg
import pytest
from psycopg import sql

from app.errors import StoreError
from app.labels import Label
from app.store import (
    LATEST_VERSION,
    MODE_POSTGRESQL,
    add_label,
    connect,
    ensure_schema,
    info,
    list_sessions,
    migrate,
    schema_version,
    upload_session,
)
from app.store.schema import MIGRATIONS
from tests.store.helpers import make_upload

pytestmark = pytest.mark.postgres


def _tables(conn) -> set[str]:
    rows = conn.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'evbm' AND c.relkind IN ('r', 'p', 'v', 'm')"
    ).fetchall()
    return {row[0] for row in rows}


def test_a_new_database_gets_every_migration_once(admin_conninfo):
    with connect(admin_conninfo) as conn:
        assert schema_version(conn) == 0
        assert migrate(conn, prefer_timescaledb=False) == [m.version for m in MIGRATIONS]
        assert migrate(conn, prefer_timescaledb=False) == []
        assert schema_version(conn) == LATEST_VERSION
        assert {"vehicles", "sessions", "signals", "samples", "samples_1m", "labels"} <= _tables(
            conn
        )
        columns = {
            row[0]
            for row in conn.execute(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_schema = 'evbm' AND table_name = 'labels'"
            )
        }
        assert {"time", "timeend", "text", "tags", "class", "version"} <= columns


@pytest.mark.parametrize("earlier", [m.version for m in MIGRATIONS[:-1]])
def test_migration_from_each_earlier_version(admin_conninfo, earlier):
    with connect(admin_conninfo) as conn:
        migrate(conn, target=earlier, prefer_timescaledb=False)
        assert schema_version(conn) == earlier

        applied = migrate(conn, prefer_timescaledb=False)

        assert applied == list(range(earlier + 1, LATEST_VERSION + 1))
        assert upload_session(conn, make_upload()).sample_count > 0


def test_info_says_the_mode_and_what_plain_postgresql_lacks(admin_conninfo):
    with connect(admin_conninfo) as conn:
        ensure_schema(conn, prefer_timescaledb=False)
        found = info(conn)
    assert found.server_version.startswith("15")
    assert found.mode == MODE_POSTGRESQL
    assert found.schema_version == LATEST_VERSION
    assert any("compression" in lack for lack in found.lacks)
    assert "own the schema" in found.rights
    text = "\n".join(found.lines())
    assert "mode: postgresql" in text and "plain PostgreSQL lacks" in text


def _login(pg_server, database, user, password, group):
    with psycopg.connect(pg_server.conninfo(), autocommit=True) as admin:
        admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(user)))
        admin.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {} IN ROLE {}").format(
                sql.Identifier(user), sql.Literal(password), sql.Identifier(group)
            )
        )
    return pg_server.conninfo(dbname=database, user=user, password=password)


@pytest.fixture
def roles(pg_server, database, admin_conninfo):
    with connect(admin_conninfo) as conn:
        ensure_schema(conn, prefer_timescaledb=False)
    technician = _login(pg_server, database, f"tech_{database}", "t'pw", "evbm_technician")
    reader = _login(pg_server, database, f"read_{database}", "r'pw", "evbm_reader")
    return technician, reader


def test_the_technician_uploads_and_labels(roles):
    technician, _ = roles
    with connect(technician) as conn:
        result = upload_session(conn, make_upload())
        assert not result.already_present
        add_label(conn, result.session_id, Label.by_technician("x", 1.0, 2.0, "other"))
        assert info(conn).rights == ["read", "upload sessions", "write labels"]
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("DROP TABLE evbm.samples")
        conn.rollback()
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("DELETE FROM evbm.sessions")


def test_the_reader_reads_but_cannot_write(roles, admin_conninfo):
    technician, reader = roles
    with connect(technician) as conn:
        session_id = upload_session(conn, make_upload()).session_id
    with connect(reader) as conn:
        assert [s.id for s in list_sessions(conn)] == [session_id]
        assert info(conn).rights == ["read"]
        with pytest.raises(StoreError, match="may not upload"):
            upload_session(conn, make_upload(name="another"))
        with pytest.raises(StoreError, match="may not write labels"):
            add_label(conn, session_id, Label.by_technician("x", 1.0, 2.0, "other"))
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("INSERT INTO evbm.samples VALUES (now(), 1, 1, 1.0)")


def test_a_user_who_may_not_migrate_is_told_to_ask_the_owner(pg_server, database, admin_conninfo):
    with connect(admin_conninfo) as conn:
        migrate(conn, target=1, prefer_timescaledb=False)
        conn.execute("GRANT USAGE ON SCHEMA evbm TO PUBLIC")
        conn.execute("GRANT SELECT ON ALL TABLES IN SCHEMA evbm TO PUBLIC")
        conn.commit()
    with psycopg.connect(pg_server.conninfo(), autocommit=True) as admin:
        admin.execute("DROP ROLE IF EXISTS nobody_special")
        admin.execute("CREATE ROLE nobody_special LOGIN PASSWORD 'n'")
    stranger = pg_server.conninfo(dbname=database, user="nobody_special", password="n")
    with connect(stranger) as conn, pytest.raises(StoreError, match="ask the database owner"):
        ensure_schema(conn, prefer_timescaledb=False)
