"""Fixtures of the store tests: a real PostgreSQL 15 server, one fresh database per test.

The server starts once per test session (about a second with fsync off) and is stopped at
the end. ``pg_server.kill()`` and ``pg_server.restart_after_kill()`` crash and recover it for
the fault tests. Passwords reach the application through a real keyring backend that keeps
them in memory (the machine's own keyring is never touched).
"""

from __future__ import annotations

import itertools
import os
import shutil

import keyring
import keyring.backend
import psycopg
import pytest
from psycopg import sql

from tests.store.pgserver import ServerUnavailable, TestServer, start_server

_database_numbers = itertools.count(1)


class MemoryKeyring(keyring.backend.KeyringBackend):
    """A keyring that forgets everything when the test session ends."""

    priority = 1

    def __init__(self):
        super().__init__()
        self.secrets: dict[tuple[str, str], str] = {}

    def get_password(self, service, username):
        return self.secrets.get((service, username))

    def set_password(self, service, username, password):
        self.secrets[(service, username)] = password

    def delete_password(self, service, username):
        self.secrets.pop((service, username), None)


@pytest.fixture(scope="session")
def pg_server():
    try:
        server = start_server()
    except ServerUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)
    yield server
    server.stop()
    keep_log = os.environ.get("EVBM_PG_LOG")  # where to keep the server's log, to debug
    if keep_log:
        shutil.copy(server.data / "server.log", keep_log)
    server.remove()


@pytest.fixture(autouse=True)
def memory_keyring():
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture
def database(pg_server: TestServer) -> str:
    """A new, empty database on the server; its name."""
    name = f"evbm_test_{next(_database_numbers)}"
    with psycopg.connect(pg_server.conninfo(), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return name


@pytest.fixture
def admin_conninfo(pg_server: TestServer, database: str) -> str:
    """Connects to the test database as the server's superuser (the schema owner)."""
    return pg_server.conninfo(dbname=database)


@pytest.fixture
def timescaledb_available(pg_server: TestServer) -> bool:
    with psycopg.connect(pg_server.conninfo(), autocommit=True) as conn:
        row = conn.execute(
            "SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'"
        ).fetchone()
        preload = conn.execute("SHOW shared_preload_libraries").fetchone()[0]
    return row is not None and "timescaledb" in preload
