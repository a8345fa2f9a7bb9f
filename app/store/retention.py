"""How long raw samples are kept; the per-minute summary is kept for good.

With TimescaleDB a retention policy drops whole chunks of ``samples`` older than the limit,
and the continuous aggregate's refresh window is narrowed to the same limit so that a refresh
never recomputes (and so empties) minutes whose raw samples are gone. Without it the raw
samples of every session that ended before the limit are dropped (its partition goes) when
:func:`apply_retention` runs; ``samples_1m`` keeps their minutes either way.

Only the schema's owner may change retention.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import psycopg
from psycopg import sql

from app.errors import StoreError
from app.store.schema import MODE_TIMESCALEDB, current_mode

log = logging.getLogger(__name__)


def set_retention(conn: psycopg.Connection, days: float | None) -> None:
    """Keep raw samples for ``days`` (None: for ever)."""
    if days is not None and days <= 0:
        raise StoreError(f"a retention of {days} days keeps nothing; give a positive number")
    mode = current_mode(conn)
    conn.rollback()  # the change below is a transaction of its own, not a savepoint
    try:
        with conn.transaction(), conn.cursor() as cur:
            if days is None:
                cur.execute("DELETE FROM evbm.settings WHERE key = 'retention_days'")
            else:
                cur.execute(
                    "INSERT INTO evbm.settings (key, value) VALUES ('retention_days', %s) "
                    "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                    (str(days),),
                )
            if mode == MODE_TIMESCALEDB:
                _timescaledb_policies(cur, days)
    except psycopg.errors.InsufficientPrivilege as exc:
        raise StoreError(
            f"user {conn.info.user!r} may not change retention (only the schema's owner may)"
        ) from exc
    log.info("raw samples kept for %s", "ever" if days is None else f"{days} days")


def retention_days(conn: psycopg.Connection) -> float | None:
    row = conn.execute("SELECT value FROM evbm.settings WHERE key = 'retention_days'").fetchone()
    conn.rollback()
    return float(row[0]) if row else None


def _timescaledb_policies(cur: psycopg.Cursor, days: float | None) -> None:
    cur.execute("SELECT remove_retention_policy('evbm.samples', if_exists => true)")
    cur.execute("SELECT remove_continuous_aggregate_policy('evbm.samples_1m', if_exists => true)")
    keep = None if days is None else timedelta(days=days)
    if keep is not None:
        cur.execute("SELECT add_retention_policy('evbm.samples', drop_after => %s)", (keep,))
    cur.execute(
        "SELECT add_continuous_aggregate_policy('evbm.samples_1m', start_offset => %s, "
        "end_offset => INTERVAL '1 minute', schedule_interval => INTERVAL '1 minute')",
        (keep,),
    )


def apply_retention(conn: psycopg.Connection) -> list[int]:
    """Plain PostgreSQL: drop the raw samples of sessions that ended before the limit; the
    sessions whose samples went. With TimescaleDB its own job does this; nothing happens."""
    days = retention_days(conn)
    mode = current_mode(conn)
    conn.rollback()
    if days is None or mode == MODE_TIMESCALEDB:
        return []
    dropped = []
    with conn.transaction(), conn.cursor() as cur:
        cur.execute(
            "SELECT s.id, c.relname FROM evbm.sessions s "
            "JOIN pg_inherits i ON i.inhparent = 'evbm.samples'::regclass "
            "JOIN pg_class c ON c.oid = i.inhrelid AND c.relname = 'samples_s' || s.id "
            "WHERE s.time_end < now() - %s",
            (timedelta(days=days),),
        )
        for session_id, partition in cur.fetchall():
            cur.execute(
                sql.SQL("ALTER TABLE evbm.samples DETACH PARTITION evbm.{}").format(
                    sql.Identifier(partition)
                )
            )
            cur.execute(sql.SQL("DROP TABLE evbm.{}").format(sql.Identifier(partition)))
            dropped.append(session_id)
    if dropped:
        log.info("raw samples of %d sessions dropped by retention (%s days)", len(dropped), days)
    return dropped
