"""The shared database's schema: versioned migrations, the two modes, and what ``info`` says.

Everything lives in the schema ``evbm``. Each migration runs in one transaction under an
advisory lock, records itself in ``evbm.schema_version`` and is skipped when already there, so
connecting any number of times (or from two machines at once) is safe.

Two modes, chosen when the samples table is first made and kept in ``evbm.settings``:

* ``timescaledb``: ``samples`` is a hypertable (one-day chunks) compressed per session and
  signal after a week, ``samples_1m`` a continuous aggregate (per-minute min/max/mean)
  refreshed by a policy and after each upload; raw samples can have a retention policy and
  the aggregate keeps the minutes.
* ``postgresql``: ``samples`` is partitioned by session (one partition per upload, loaded
  unindexed, then given a BRIN index on signal and time and attached) and ``samples_1m`` is a
  table the upload fills in the same transaction, standing in for the continuous aggregate.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import psycopg
from psycopg import sql

from app.errors import StoreError

log = logging.getLogger(__name__)

SCHEMA = "evbm"
TECHNICIAN_ROLE = "evbm_technician"
READER_ROLE = "evbm_reader"
MODE_TIMESCALEDB = "timescaledb"
MODE_POSTGRESQL = "postgresql"
_LOCK_KEY = 0x45564D42  # "EVMB": serialises migrations between clients

PLAIN_POSTGRESQL_LACKS = (
    "no compression of old samples",
    "the per-minute summary is a table filled at upload, not a continuous aggregate",
    "retention drops whole sessions' raw samples, not time chunks",
)


# ---------------------------------------------------------------------- the migrations


def _v1_core(cur: psycopg.Cursor, mode: str) -> None:
    cur.execute("""
        CREATE TABLE evbm.settings (
            key text PRIMARY KEY,
            value text NOT NULL
        );
        CREATE TABLE evbm.vehicles (
            id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            name text NOT NULL UNIQUE,
            vin text UNIQUE,
            created_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE TABLE evbm.sessions (
            id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            vehicle_id integer NOT NULL REFERENCES evbm.vehicles (id),
            name text NOT NULL,
            source_file text NOT NULL,
            source_sha256 text NOT NULL CHECK (source_sha256 ~ '^[0-9a-f]{64}$'),
            databases jsonb NOT NULL DEFAULT '[]',
            origin timestamptz NOT NULL,
            clock text NOT NULL DEFAULT 'capture',
            time_start timestamptz,
            time_end timestamptz,
            sample_count bigint NOT NULL DEFAULT 0,
            uploaded_by text NOT NULL DEFAULT current_user,
            uploaded_at timestamptz NOT NULL DEFAULT now(),
            UNIQUE (vehicle_id, source_sha256)
        );
        CREATE TABLE evbm.signals (
            id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            name text NOT NULL,
            message text NOT NULL,
            unit text NOT NULL DEFAULT '',
            channel integer NOT NULL DEFAULT 0,
            UNIQUE (message, name, unit, channel)
        );
        CREATE TABLE evbm.session_signals (
            session_id integer NOT NULL REFERENCES evbm.sessions (id) ON DELETE CASCADE,
            signal_id integer NOT NULL REFERENCES evbm.signals (id),
            role text,
            sample_count bigint NOT NULL,
            invalid_count bigint NOT NULL DEFAULT 0,
            first_time timestamptz,
            last_time timestamptz,
            last_value double precision,
            min_value double precision,
            max_value double precision,
            minimum double precision,
            maximum double precision,
            choices jsonb,
            comment text NOT NULL DEFAULT '',
            PRIMARY KEY (session_id, signal_id)
        );
        CREATE INDEX session_signals_role ON evbm.session_signals (role) WHERE role IS NOT NULL;
        CREATE TABLE evbm.labels (
            id uuid PRIMARY KEY,
            session_id integer NOT NULL REFERENCES evbm.sessions (id) ON DELETE CASCADE,
            vehicle_id integer NOT NULL REFERENCES evbm.vehicles (id),
            "time" timestamptz NOT NULL,
            timeend timestamptz NOT NULL CHECK (timeend >= "time"),
            text text NOT NULL DEFAULT '',
            tags text[] NOT NULL DEFAULT '{}',
            class text NOT NULL,
            source text NOT NULL DEFAULT 'technician',
            confidence real CHECK (confidence BETWEEN 0 AND 1),
            status text NOT NULL DEFAULT 'accepted'
                CHECK (status IN ('accepted', 'rejected', 'pending')),
            author text NOT NULL DEFAULT '',
            version integer NOT NULL DEFAULT 1,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_by text NOT NULL DEFAULT current_user,
            updated_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX labels_session_time ON evbm.labels (session_id, "time");
        CREATE INDEX labels_time ON evbm.labels ("time", timeend);
    """)


def _v2_samples(cur: psycopg.Cursor, mode: str) -> None:
    cur.execute(
        "INSERT INTO evbm.settings (key, value) VALUES ('mode', %s) "
        "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
        (mode,),
    )
    if mode == MODE_TIMESCALEDB:
        _samples_timescaledb(cur)
    else:
        _samples_postgresql(cur)


def _samples_postgresql(cur: psycopg.Cursor) -> None:
    cur.execute("""
        CREATE TABLE evbm.samples (
            "time" timestamptz NOT NULL,
            session_id integer NOT NULL,
            signal_id integer NOT NULL,
            value double precision NOT NULL
        ) PARTITION BY LIST (session_id);
        CREATE INDEX samples_signal_time ON evbm.samples
            USING brin (signal_id, "time") WITH (pages_per_range = 16);
        CREATE TABLE evbm.samples_1m (
            bucket timestamptz NOT NULL,
            session_id integer NOT NULL,
            signal_id integer NOT NULL,
            min_value double precision NOT NULL,
            max_value double precision NOT NULL,
            mean_value double precision NOT NULL,
            sample_count bigint NOT NULL,
            PRIMARY KEY (session_id, signal_id, bucket)
        );
    """)
    # The technician may not create or attach partitions (that needs ownership of the parent);
    # these two functions do it for them, for one session at a time, and nothing else.
    cur.execute("""
        CREATE FUNCTION evbm.begin_session_samples(p_session integer) RETURNS text
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
        DECLARE
            part text := 'samples_s' || p_session;
        BEGIN
            IF NOT EXISTS (SELECT 1 FROM evbm.sessions WHERE id = p_session) THEN
                RAISE EXCEPTION 'session % does not exist', p_session;
            END IF;
            EXECUTE format('CREATE TABLE evbm.%I (LIKE evbm.samples, '
                           'CHECK (session_id = %s))', part, p_session);
            EXECUTE format('GRANT INSERT ON evbm.%I TO evbm_technician', part);
            RETURN part;
        END $$;
        CREATE FUNCTION evbm.finish_session_samples(p_session integer) RETURNS void
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
        DECLARE
            part text := 'samples_s' || p_session;
        BEGIN
            EXECUTE format('REVOKE INSERT ON evbm.%I FROM evbm_technician', part);
            EXECUTE format('CREATE INDEX %I ON evbm.%I USING brin (signal_id, "time") '
                           'WITH (pages_per_range = 16)', part || '_signal_time', part);
            EXECUTE format('ALTER TABLE evbm.samples ATTACH PARTITION evbm.%I '
                           'FOR VALUES IN (%s)', part, p_session);
        END $$;
        REVOKE ALL ON FUNCTION evbm.begin_session_samples(integer) FROM PUBLIC;
        REVOKE ALL ON FUNCTION evbm.finish_session_samples(integer) FROM PUBLIC;
    """)


def _samples_timescaledb(cur: psycopg.Cursor) -> None:
    cur.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
    cur.execute("""
        CREATE TABLE evbm.samples (
            "time" timestamptz NOT NULL,
            session_id integer NOT NULL,
            signal_id integer NOT NULL,
            value double precision NOT NULL
        )
    """)
    cur.execute(
        "SELECT create_hypertable('evbm.samples', 'time', "
        "chunk_time_interval => INTERVAL '1 day', create_default_indexes => false)"
    )
    cur.execute(
        'CREATE INDEX samples_session_signal_time ON evbm.samples (session_id, signal_id, "time")'
    )
    cur.execute(
        "ALTER TABLE evbm.samples SET (timescaledb.compress, "
        "timescaledb.compress_segmentby = 'session_id, signal_id', "
        "timescaledb.compress_orderby = 'time')"
    )
    cur.execute("SELECT add_compression_policy('evbm.samples', INTERVAL '7 days')")
    cur.execute("""
        CREATE MATERIALIZED VIEW evbm.samples_1m WITH (timescaledb.continuous) AS
        SELECT time_bucket(INTERVAL '1 minute', "time") AS bucket, session_id, signal_id,
               min(value) AS min_value, max(value) AS max_value, avg(value) AS mean_value,
               count(*) AS sample_count
        FROM evbm.samples GROUP BY 1, 2, 3 WITH NO DATA
    """)
    cur.execute(
        "SELECT add_continuous_aggregate_policy('evbm.samples_1m', start_offset => NULL, "
        "end_offset => INTERVAL '1 minute', schedule_interval => INTERVAL '1 minute')"
    )


def _v3_roles(cur: psycopg.Cursor, mode: str) -> None:
    """The reader reads; the technician also uploads sessions and writes labels."""
    for role in (READER_ROLE, TECHNICIAN_ROLE):
        cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,))
        if cur.fetchone() is None:
            cur.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(role)))
    cur.execute("""
        GRANT USAGE ON SCHEMA evbm TO evbm_reader, evbm_technician;
        GRANT SELECT ON ALL TABLES IN SCHEMA evbm TO evbm_reader, evbm_technician;
        ALTER DEFAULT PRIVILEGES IN SCHEMA evbm
            GRANT SELECT ON TABLES TO evbm_reader, evbm_technician;
        GRANT INSERT ON evbm.vehicles, evbm.sessions, evbm.signals, evbm.session_signals
            TO evbm_technician;
        GRANT INSERT, UPDATE, DELETE ON evbm.labels TO evbm_technician;
        REVOKE ALL ON evbm.settings FROM evbm_technician;
        GRANT SELECT ON evbm.settings TO evbm_technician;
    """)
    if mode == MODE_POSTGRESQL:
        cur.execute("""
            GRANT INSERT ON evbm.samples_1m TO evbm_technician;
            GRANT EXECUTE ON FUNCTION evbm.begin_session_samples(integer),
                evbm.finish_session_samples(integer) TO evbm_technician;
        """)
    else:
        cur.execute("GRANT INSERT ON evbm.samples TO evbm_technician")


def _v4_analyse_sessions(cur: psycopg.Cursor, mode: str) -> None:
    """Plain PostgreSQL: give each new partition its statistics in the upload's transaction,
    or the planner, knowing nothing of it, scans a whole session instead of using its index."""
    if mode != MODE_POSTGRESQL:
        return
    cur.execute("""
        CREATE OR REPLACE FUNCTION evbm.finish_session_samples(p_session integer) RETURNS void
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
        DECLARE
            part text := 'samples_s' || p_session;
        BEGIN
            EXECUTE format('REVOKE INSERT ON evbm.%I FROM evbm_technician', part);
            EXECUTE format('CREATE INDEX %I ON evbm.%I USING brin (signal_id, "time") '
                           'WITH (pages_per_range = 16)', part || '_signal_time', part);
            EXECUTE format('ANALYZE evbm.%I', part);
            EXECUTE format('ALTER TABLE evbm.samples ATTACH PARTITION evbm.%I '
                           'FOR VALUES IN (%s)', part, p_session);
        END $$;
    """)
    cur.execute("""
        SELECT format('ANALYZE evbm.%I', c.relname) FROM pg_inherits i
        JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'evbm.samples'::regclass
    """)
    for (statement,) in cur.fetchall():
        cur.execute(statement)


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    apply: Callable[[psycopg.Cursor, str], None]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "vehicles, sessions, signals, labels", _v1_core),
    Migration(2, "samples and their per-minute summary", _v2_samples),
    Migration(3, "technician and reader roles", _v3_roles),
    Migration(4, "statistics for each session's samples", _v4_analyse_sessions),
)
LATEST_VERSION = MIGRATIONS[-1].version


# ---------------------------------------------------------------------- running them


def schema_version(conn: psycopg.Connection) -> int:
    """The highest migration applied, 0 for a database this program has never touched."""
    row = conn.execute("SELECT to_regclass('evbm.schema_version') IS NOT NULL").fetchone()
    if not row[0]:
        return 0
    row = conn.execute("SELECT coalesce(max(version), 0) FROM evbm.schema_version").fetchone()
    return int(row[0])


def timescaledb_state(conn: psycopg.Connection) -> tuple[str | None, str | None]:
    """(installed version, available version) of the TimescaleDB extension, None if not."""
    installed = conn.execute(
        "SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'"
    ).fetchone()
    available = conn.execute(
        "SELECT default_version FROM pg_available_extensions WHERE name = 'timescaledb'"
    ).fetchone()
    return (installed[0] if installed else None, available[0] if available else None)


def _choose_mode(conn: psycopg.Connection, prefer_timescaledb: bool) -> str:
    installed, available = timescaledb_state(conn)
    if installed:
        return MODE_TIMESCALEDB
    if not (prefer_timescaledb and available):
        return MODE_POSTGRESQL
    preload = conn.execute("SHOW shared_preload_libraries").fetchone()[0]
    if "timescaledb" not in preload:
        log.warning("TimescaleDB is installed but not preloaded; using plain PostgreSQL")
        return MODE_POSTGRESQL
    return MODE_TIMESCALEDB


def current_mode(conn: psycopg.Connection) -> str | None:
    if schema_version(conn) < 2:
        return None
    row = conn.execute("SELECT value FROM evbm.settings WHERE key = 'mode'").fetchone()
    return row[0] if row else None


def migrate(
    conn: psycopg.Connection, target: int = LATEST_VERSION, prefer_timescaledb: bool = True
) -> list[int]:
    """Bring the schema up to ``target``; the versions applied now (none when up to date)."""
    start = schema_version(conn)
    conn.rollback()  # leave no transaction open from the version check
    if start >= target:
        return []

    applied = []
    for migration in MIGRATIONS:
        if migration.version > target:
            break
        with conn.transaction(), conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
            cur.execute("CREATE SCHEMA IF NOT EXISTS evbm")
            cur.execute("""
                CREATE TABLE IF NOT EXISTS evbm.schema_version (
                    version integer PRIMARY KEY,
                    description text NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now(),
                    applied_by text NOT NULL DEFAULT current_user
                )
            """)
            cur.execute(
                "SELECT 1 FROM evbm.schema_version WHERE version = %s", (migration.version,)
            )
            if cur.fetchone() is not None:
                continue  # another client applied it while we waited for the lock
            mode = current_mode(conn) or _choose_mode(conn, prefer_timescaledb)
            migration.apply(cur, mode)
            cur.execute(
                "INSERT INTO evbm.schema_version (version, description) VALUES (%s, %s)",
                (migration.version, migration.description),
            )
        applied.append(migration.version)
        log.info("schema migrated to version %d: %s", migration.version, migration.description)
    return applied


def ensure_schema(conn: psycopg.Connection, prefer_timescaledb: bool = True) -> None:
    """Migrate when this user may; otherwise say clearly that the schema is too old."""
    version = schema_version(conn)
    conn.rollback()
    if version >= LATEST_VERSION:
        return
    try:
        migrate(conn, prefer_timescaledb=prefer_timescaledb)
    except psycopg.errors.InsufficientPrivilege as exc:
        raise StoreError(
            f"the shared database's schema is at version {version} and this program needs "
            f"{LATEST_VERSION}; user {conn.info.user!r} may not upgrade it: ask the database "
            "owner to connect once (ev-battery-monitor db info --db ...)"
        ) from exc


# ---------------------------------------------------------------------- info


@dataclass
class StoreInfo:
    server_version: str
    timescaledb_version: str | None
    timescaledb_available: str | None
    mode: str | None
    schema_version: int
    latest_version: int
    user: str
    rights: list[str] = field(default_factory=list)
    lacks: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        if self.timescaledb_version:
            tsdb = f"TimescaleDB {self.timescaledb_version}"
        elif self.timescaledb_available:
            tsdb = f"TimescaleDB {self.timescaledb_available} available but not installed"
        else:
            tsdb = "no TimescaleDB"
        lines = [
            f"server: PostgreSQL {self.server_version}, {tsdb}",
            f"mode: {self.mode or 'not set up yet'}",
            f"schema version: {self.schema_version} (this program: {self.latest_version})",
            f"user: {self.user} ({', '.join(self.rights) or 'no rights on the schema'})",
        ]
        if self.lacks:
            lines.append("plain PostgreSQL lacks: " + "; ".join(self.lacks))
        return lines


def info(conn: psycopg.Connection) -> StoreInfo:
    server = conn.execute("SHOW server_version").fetchone()[0]
    installed, available = timescaledb_state(conn)
    version = schema_version(conn)
    mode = current_mode(conn)
    result = StoreInfo(
        server_version=server.split()[0],
        timescaledb_version=installed,
        timescaledb_available=available,
        mode=mode,
        schema_version=version,
        latest_version=LATEST_VERSION,
        user=conn.info.user,
        rights=rights(conn) if version >= 1 else [],
        lacks=list(PLAIN_POSTGRESQL_LACKS) if mode == MODE_POSTGRESQL else [],
    )
    conn.rollback()
    return result


def rights(conn: psycopg.Connection) -> list[str]:
    """What the connected user may do, in words: read, upload, write labels, own."""
    row = conn.execute("""
        SELECT has_table_privilege('evbm.sessions', 'SELECT'),
               has_table_privilege('evbm.sessions', 'INSERT'),
               has_table_privilege('evbm.labels', 'UPDATE'),
               pg_has_role((SELECT nspowner FROM pg_namespace WHERE nspname = 'evbm'),
                           'MEMBER')
    """).fetchone()
    names = ["read", "upload sessions", "write labels", "own the schema"]
    return [name for name, granted in zip(names, row, strict=True) if granted]
