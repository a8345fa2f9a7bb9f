"""Reading sessions back: their list, whole traces, per-pixel summaries and the fleet.

A window showing a long session asks for :func:`summary` of the visible range: the server
groups the samples into ``width_px`` buckets and returns each bucket's min and max, so what
crosses the network is a few thousand numbers per trace whatever the session's size. When a
bucket spans a minute or more the per-minute summary (``samples_1m``) answers; zoomed in
further, the raw samples do.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import psycopg
from psycopg import sql

from app.errors import StoreError
from app.store import copy as pgcopy
from app.store.schema import MODE_TIMESCALEDB, current_mode
from app.traces import Trace

log = logging.getLogger(__name__)

MINUTE_US = 60_000_000
# above this many samples in the range the per-minute summary answers, even when a pixel
# spans less than a minute: the first view of a dense session must not read it all
RAW_ROWS_MAX = 1_000_000


@dataclass
class StoredSession:
    id: int
    vehicle: str
    name: str
    source_file: str
    source_sha256: str
    origin: datetime
    clock: str
    time_start: datetime | None
    time_end: datetime | None
    sample_count: int
    trace_count: int
    label_count: int
    uploaded_by: str
    uploaded_at: datetime
    databases: list[dict]

    @property
    def duration_s(self) -> float:
        if self.time_start is None or self.time_end is None:
            return 0.0
        return (self.time_end - self.time_start).total_seconds()


@dataclass
class StoredTrace:
    """What the database says about one trace of a session (no samples)."""

    signal_id: int
    signal: str
    message: str
    unit: str
    channel: int
    role: str | None
    sample_count: int
    invalid_count: int
    minimum: float | None
    maximum: float | None
    choices: dict[float, str] | None
    comment: str

    @property
    def key(self) -> str:
        return f"{self.channel}/{self.message}/{self.signal}"


@dataclass
class Summary:
    """Min and max of one trace per pixel bucket; ``time_s`` is each bucket's start."""

    signal_id: int
    time_s: np.ndarray
    minimum: np.ndarray
    maximum: np.ndarray
    count: np.ndarray
    bucket_s: float
    source: str  # "aggregate" or "raw"


@dataclass
class FleetVehicle:
    id: int
    name: str
    vin: str | None
    session_count: int
    latest_session_id: int | None
    latest_session: str | None
    latest_session_start: datetime | None
    soc_pct: float | None
    soc_time: datetime | None
    bms_soh_pct: float | None
    soh_time: datetime | None
    label_count: int


# ---------------------------------------------------------------------- sessions


_SESSION_QUERY = """
    SELECT s.id, v.name, s.name, s.source_file, s.source_sha256, s.origin, s.clock,
           s.time_start, s.time_end, s.sample_count,
           (SELECT count(*) FROM evbm.session_signals t WHERE t.session_id = s.id),
           (SELECT count(*) FROM evbm.labels l WHERE l.session_id = s.id),
           s.uploaded_by, s.uploaded_at, s.databases
    FROM evbm.sessions s JOIN evbm.vehicles v ON v.id = s.vehicle_id
"""


def list_sessions(conn: psycopg.Connection, vehicle: str | None = None) -> list[StoredSession]:
    query = _SESSION_QUERY
    params: tuple = ()
    if vehicle is not None:
        query += " WHERE v.name = %s"
        params = (vehicle,)
    rows = conn.execute(
        query + " ORDER BY s.time_start DESC NULLS LAST, s.id DESC", params
    ).fetchall()
    conn.rollback()
    return [StoredSession(*row[:14], databases=_json(row[14]) or []) for row in rows]


def get_session(conn: psycopg.Connection, session_id: int) -> StoredSession:
    row = conn.execute(_SESSION_QUERY + " WHERE s.id = %s", (session_id,)).fetchone()
    conn.rollback()
    if row is None:
        raise StoreError(f"there is no session {session_id} on the server")
    return StoredSession(*row[:14], databases=_json(row[14]) or [])


def session_traces(conn: psycopg.Connection, session_id: int) -> list[StoredTrace]:
    rows = conn.execute(
        "SELECT g.id, g.name, g.message, g.unit, g.channel, t.role, t.sample_count, "
        "t.invalid_count, t.minimum, t.maximum, t.choices, t.comment "
        "FROM evbm.session_signals t JOIN evbm.signals g ON g.id = t.signal_id "
        "WHERE t.session_id = %s ORDER BY g.channel, g.message, g.name",
        (session_id,),
    ).fetchall()
    conn.rollback()
    traces = []
    for row in rows:
        choices = _json(row[10])
        choices = {float(k): v for k, v in choices.items()} if choices else None
        traces.append(StoredTrace(*row[:10], choices=choices, comment=row[11]))
    return traces


def _json(value):
    return json.loads(value) if isinstance(value, str) else value


# ---------------------------------------------------------------------- whole traces


def read_traces(
    conn: psycopg.Connection, session_id: int, keys: list[str] | None = None
) -> list[Trace]:
    """The session's traces (or those with the given keys), samples on the session's time
    axis. Only valid samples were stored, so ``valid`` is all True."""
    session = get_session(conn, session_id)
    origin_us = _pg_us(session.origin)
    traces = []
    for stored in session_traces(conn, session_id):
        if keys is not None and stored.key not in keys:
            continue
        time_us, values = _copy_out(
            conn,
            sql.SQL(
                'COPY (SELECT "time", value FROM evbm.samples WHERE session_id = {} '
                'AND signal_id = {} ORDER BY "time") TO STDOUT (FORMAT BINARY)'
            ).format(sql.Literal(session_id), sql.Literal(stored.signal_id)),
        )
        traces.append(
            Trace(
                signal=stored.signal,
                message=stored.message,
                channel=stored.channel,
                time_s=(time_us - origin_us) / 1e6,
                values=values,
                valid=np.ones(len(values), dtype=bool),
                unit=stored.unit,
                minimum=stored.minimum,
                maximum=stored.maximum,
                choices=stored.choices,
                role=stored.role,
                comment=stored.comment,
                extra={"signal_id": stored.signal_id, "session_id": session_id},
            )
        )
    conn.rollback()
    return traces


def _copy_out(conn: psycopg.Connection, statement: sql.Composed) -> tuple[np.ndarray, ...]:
    buffer = bytearray()
    with conn.cursor() as cur, cur.copy(statement) as copy:
        for block in copy:
            buffer += block
    return pgcopy.parse_time_value(bytes(buffer))


def _pg_us(moment: datetime) -> int:
    """Microseconds since 2000-01-01 UTC, exactly (no float rounding)."""
    delta = moment - _PG_EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


_PG_EPOCH = datetime.fromisoformat("2000-01-01T00:00:00+00:00")


# ---------------------------------------------------------------------- summaries


def summary(
    conn: psycopg.Connection,
    session_id: int,
    signal_ids: list[int],
    start_s: float,
    end_s: float,
    width_px: int,
    source: str | None = None,
) -> dict[int, Summary]:
    """Min/max of each trace in ``width_px`` equal buckets of ``start_s``..``end_s`` (seconds
    on the session's time axis), computed by the server.

    The per-minute summary answers when a bucket spans a minute or more (its buckets then
    gather whole minutes, by the minute's start) or the range holds more than
    ``RAW_ROWS_MAX`` samples of these traces; else the raw samples do. ``source`` forces
    one ("aggregate" or "raw").
    """
    if width_px < 1 or not end_s > start_s:
        raise StoreError(
            f"a summary needs a width and a time range (got {width_px} px, {start_s}..{end_s} s)"
        )
    session = get_session(conn, session_id)
    t0_us = _pg_us(session.origin) + round(start_s * 1e6)
    t1_us = _pg_us(session.origin) + round(end_s * 1e6)
    bucket_us = max(1, math.ceil((t1_us - t0_us) / width_px))
    if source is None:
        wide = bucket_us >= MINUTE_US
        many = _estimated_rows(conn, session_id, signal_ids, t0_us, t1_us) > RAW_ROWS_MAX
        source = "aggregate" if wide or many else "raw"
        if source == "aggregate" and not _aggregate_covers(conn, session_id, signal_ids):
            log.info(
                "session %d is not in the per-minute summary yet; reading raw samples", session_id
            )
            source = "raw"

    params = {
        "session": session_id,
        "signals": list(signal_ids),
        "t0_us": t0_us,
        "bucket_us": bucket_us,
        "t0": _PG_EPOCH + timedelta(microseconds=t0_us),
        "t1": _PG_EPOCH + timedelta(microseconds=t1_us),
        "last": width_px - 1,
    }
    if source == "aggregate":
        params["t0_minute"] = _PG_EPOCH + timedelta(microseconds=t0_us // MINUTE_US * MINUTE_US)
        query = _AGGREGATE_SUMMARY
    else:
        query = _RAW_SUMMARY
    conn.execute("SET LOCAL jit = off")  # compiling costs more than these small queries take
    rows = conn.execute(query, params).fetchall()
    conn.rollback()
    return _summaries(rows, signal_ids, start_s, bucket_us, source)


def _aggregate_covers(conn: psycopg.Connection, session_id: int, signal_ids: list[int]) -> bool:
    """Whether the per-minute summary holds every sample of these traces. With TimescaleDB
    it may lag an upload until its refresh policy runs (a technician may not refresh it)."""
    if current_mode(conn) != MODE_TIMESCALEDB:
        return True  # the upload fills the table in its own transaction
    row = conn.execute(
        "SELECT (SELECT coalesce(sum(sample_count), 0) FROM evbm.samples_1m "
        "        WHERE session_id = %(s)s AND signal_id = ANY(%(ids)s)) "
        "    >= (SELECT coalesce(sum(sample_count), 0) FROM evbm.session_signals "
        "        WHERE session_id = %(s)s AND signal_id = ANY(%(ids)s))",
        {"s": session_id, "ids": list(signal_ids)},
    ).fetchone()
    return bool(row[0])


def _estimated_rows(conn, session_id: int, signal_ids: list[int], t0_us: int, t1_us: int) -> float:
    """Samples of the traces in the range, supposing each trace's rate is steady."""
    rows = conn.execute(
        "SELECT sample_count, first_time, last_time FROM evbm.session_signals "
        "WHERE session_id = %s AND signal_id = ANY(%s) AND sample_count > 0",
        (session_id, list(signal_ids)),
    ).fetchall()
    total = 0.0
    for count, first, last in rows:
        first_us, last_us = _pg_us(first), _pg_us(last)
        overlap = min(t1_us, last_us + 1) - max(t0_us, first_us)
        if overlap > 0:
            total += count * overlap / max(1, last_us + 1 - first_us)
    return total


# bucket number: whole microseconds since the range's start, divided by the bucket's width
# one trace at a time (the lateral join), so that the index can narrow each to its own rows:
# PostgreSQL 15's BRIN indexes do not use "signal_id = ANY(...)"
_RAW_SUMMARY = """
    SELECT sig.id, g.b, g.lo, g.hi, g.n
    FROM unnest(%(signals)s::integer[]) AS sig(id)
    CROSS JOIN LATERAL (
        SELECT ((EXTRACT(EPOCH FROM "time" - TIMESTAMPTZ '2000-01-01 00:00:00+00')
                 * 1000000)::bigint - %(t0_us)s::bigint) / %(bucket_us)s::bigint AS b,
               min(value) AS lo, max(value) AS hi, count(*) AS n
        FROM evbm.samples
        WHERE session_id = %(session)s::integer AND signal_id = sig.id
          AND "time" >= %(t0)s AND "time" < %(t1)s
        GROUP BY 1
    ) g
    ORDER BY 1, 2
"""

_AGGREGATE_SUMMARY = """
    SELECT signal_id,
           LEAST(GREATEST(((EXTRACT(EPOCH FROM bucket - TIMESTAMPTZ '2000-01-01 00:00:00+00')
                            * 1000000)::bigint - %(t0_us)s) / %(bucket_us)s, 0), %(last)s) AS b,
           min(min_value), max(max_value), sum(sample_count)::bigint
    FROM evbm.samples_1m
    WHERE session_id = %(session)s AND signal_id = ANY(%(signals)s)
      AND bucket >= %(t0_minute)s AND bucket < %(t1)s
    GROUP BY 1, 2 ORDER BY 1, 2
"""


def _summaries(rows, signal_ids, start_s, bucket_us, source) -> dict[int, Summary]:
    result = {}
    data = np.array([row[1:] for row in rows], dtype=np.float64).reshape(-1, 4)
    ids = np.array([row[0] for row in rows], dtype=np.int64)
    bucket_s = bucket_us / 1e6
    for signal_id in signal_ids:
        mine = data[ids == signal_id]
        result[signal_id] = Summary(
            signal_id=signal_id,
            time_s=start_s + mine[:, 0] * bucket_s,
            minimum=mine[:, 1],
            maximum=mine[:, 2],
            count=mine[:, 3].astype(np.int64),
            bucket_s=bucket_s,
            source=source,
        )
    return result


# ---------------------------------------------------------------------- the fleet


def fleet(conn: psycopg.Connection) -> list[FleetVehicle]:
    """Every vehicle with its latest session, latest SoC and BMS SoH (from the latest
    session that has a trace with that role), and how many labels its sessions have."""
    rows = conn.execute("""
        SELECT v.id, v.name, v.vin,
               (SELECT count(*) FROM evbm.sessions x WHERE x.vehicle_id = v.id),
               latest.id, latest.name, latest.time_start,
               soc.last_value, soc.last_time, soh.last_value, soh.last_time,
               (SELECT count(*) FROM evbm.labels l WHERE l.vehicle_id = v.id)
        FROM evbm.vehicles v
        LEFT JOIN LATERAL (
            SELECT s.id, s.name, s.time_start FROM evbm.sessions s WHERE s.vehicle_id = v.id
            ORDER BY s.time_start DESC NULLS LAST, s.id DESC LIMIT 1
        ) latest ON true
        LEFT JOIN LATERAL (
            SELECT t.last_value, t.last_time FROM evbm.session_signals t
            JOIN evbm.sessions s ON s.id = t.session_id
            WHERE s.vehicle_id = v.id AND t.role = 'soc' AND t.last_value IS NOT NULL
            ORDER BY t.last_time DESC LIMIT 1
        ) soc ON true
        LEFT JOIN LATERAL (
            SELECT t.last_value, t.last_time FROM evbm.session_signals t
            JOIN evbm.sessions s ON s.id = t.session_id
            WHERE s.vehicle_id = v.id AND t.role = 'bms_soh' AND t.last_value IS NOT NULL
            ORDER BY t.last_time DESC LIMIT 1
        ) soh ON true
        ORDER BY v.name
    """).fetchall()
    conn.rollback()
    return [FleetVehicle(*row) for row in rows]
