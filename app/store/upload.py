"""Uploading a session: metadata, traces and labels in one transaction, by binary COPY.

The samples go in as a binary COPY stream built with numpy, a million rows a write. On plain
PostgreSQL they fill a new, unindexed partition of their own (created in the same
transaction, so COPY can freeze the rows), which gets its BRIN index and is attached only
after the load; the per-minute summary is computed here with numpy and copied in beside
them. With TimescaleDB they go into the hypertable and the continuous aggregate is refreshed
for the session's time range once the upload is committed.

The same capture (same sha256) of the same vehicle is stored once: uploading it again says it
is already there. A lost connection rolls everything back on the server; the error says so.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import psycopg
from psycopg import sql

from app.errors import LoadCancelled, StoreError
from app.labels import Label
from app.progress import ProgressCallback, report
from app.store import copy as pgcopy
from app.store.labels import insert_labels
from app.store.schema import MODE_TIMESCALEDB, current_mode, ensure_schema
from app.traces import Trace

log = logging.getLogger(__name__)

CHUNK_ROWS = 1_000_000
MINUTE_US = 60_000_000


class UploadInterrupted(StoreError):
    """The connection broke during an upload; the server kept nothing of it."""


@dataclass
class SessionUpload:
    """Everything one upload stores. ``origin_epoch_s`` is the wall clock of the traces'
    time 0 (the capture's start); without it the session is placed to end at upload time."""

    vehicle: str
    name: str
    source_file: str
    source_sha256: str
    traces: list[Trace]
    origin_epoch_s: float | None = None
    databases: list[dict] = field(default_factory=list)  # [{"name": ..., "sha256": ...}]
    labels: list[Label] = field(default_factory=list)
    vin: str | None = None


@dataclass
class UploadResult:
    session_id: int
    already_present: bool
    sample_count: int
    seconds: float = 0.0

    @property
    def samples_per_s(self) -> float:
        return self.sample_count / self.seconds if self.seconds > 0 else 0.0


@dataclass
class _Prepared:
    """One trace ready for COPY: valid samples only, sorted by time, on PostgreSQL's clock."""

    trace: Trace
    time_us: np.ndarray  # int64, microseconds since 2000-01-01 UTC
    values: np.ndarray
    invalid_count: int
    signal_id: int = 0


def upload_session(
    conn: psycopg.Connection,
    upload: SessionUpload,
    progress: ProgressCallback | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> UploadResult:
    """Store ``upload``; cancel through ``progress`` (its unit is samples)."""
    ensure_schema(conn)
    mode = current_mode(conn)
    conn.rollback()
    started = time.perf_counter()

    existing = find_session(conn, upload.vehicle, upload.source_sha256)
    if existing is not None:
        log.info(
            "%s of %s is already stored as session %d", upload.source_file, upload.vehicle, existing
        )
        return UploadResult(existing, True, 0)

    origin_epoch_s, clock = _origin(upload)
    prepared = [_prepare(trace, origin_epoch_s) for trace in upload.traces]
    total = sum(len(p.time_us) for p in prepared)
    committing = False
    try:
        with conn.transaction(), conn.cursor() as cur:
            session_id = _insert_session(cur, upload, origin_epoch_s, clock, prepared, total)
            _insert_signals(cur, session_id, prepared)
            if mode == MODE_TIMESCALEDB:
                _compress_while_copying(cur)
                _copy_samples(
                    cur,
                    sql.SQL("evbm.samples"),
                    session_id,
                    prepared,
                    progress,
                    total,
                    chunk_rows,
                    freeze=False,
                )
            else:
                cur.execute("SELECT evbm.begin_session_samples(%s)", (session_id,))
                partition = sql.SQL("evbm.{}").format(sql.Identifier(cur.fetchone()[0]))
                _copy_samples(
                    cur, partition, session_id, prepared, progress, total, chunk_rows, freeze=True
                )
                _copy_minutes(cur, session_id, prepared)
                cur.execute("SELECT evbm.finish_session_samples(%s)", (session_id,))
            insert_labels(cur, session_id, upload.labels)
            committing = True
    except LoadCancelled:
        log.info("upload of %s cancelled; nothing was stored", upload.source_file)
        raise
    except psycopg.errors.UniqueViolation:
        # another technician stored the same capture while we were uploading it
        existing = find_session(conn, upload.vehicle, upload.source_sha256)
        if existing is None:
            raise
        return UploadResult(existing, True, 0)
    except psycopg.errors.InsufficientPrivilege as exc:
        raise StoreError(
            f"user {conn.info.user!r} may not upload sessions (needs the technician role): "
            f"{exc.diag.message_primary}"
        ) from None
    except psycopg.OperationalError as exc:
        raise _interrupted(upload, committing, exc) from None

    if mode == MODE_TIMESCALEDB:
        _refresh_aggregate(conn, prepared)
    seconds = time.perf_counter() - started
    log.info(
        "upload committed: %s as session %d, %d traces, %d samples in %.1f s",
        upload.source_file,
        session_id,
        len(prepared),
        total,
        seconds,
    )
    return UploadResult(session_id, False, total, seconds)


def find_session(conn: psycopg.Connection, vehicle: str, sha256: str) -> int | None:
    row = conn.execute(
        "SELECT s.id FROM evbm.sessions s JOIN evbm.vehicles v ON v.id = s.vehicle_id "
        "WHERE v.name = %s AND s.source_sha256 = %s",
        (vehicle, sha256),
    ).fetchone()
    conn.rollback()
    return row[0] if row else None


def _interrupted(upload: SessionUpload, committing: bool, exc: Exception) -> StoreError:
    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if committing:
        return UploadInterrupted(
            f"the connection was lost while committing the upload of {upload.source_file}; "
            "it may or may not be stored: upload it again (a stored capture is reported as "
            f"already there) ({reason})"
        )
    return UploadInterrupted(
        f"the connection to the database server was lost during the upload of "
        f"{upload.source_file}; nothing of it was stored. Upload it again when the server is "
        f"back ({reason})"
    )


# ---------------------------------------------------------------------- preparing


def _origin(upload: SessionUpload) -> tuple[float, str]:
    if upload.origin_epoch_s is not None:
        return float(upload.origin_epoch_s), "capture"
    end_s = max((float(t.time_s.max()) for t in upload.traces if len(t)), default=0.0)
    return time.time() - end_s, "upload"


def _prepare(trace: Trace, origin_epoch_s: float) -> _Prepared:
    keep = trace.valid & np.isfinite(trace.values) & np.isfinite(trace.time_s)
    time_s = trace.time_s[keep]
    values = trace.values[keep].astype(np.float64, copy=False)
    if len(time_s) > 1 and np.any(np.diff(time_s) < 0):
        order = np.argsort(time_s, kind="stable")
        time_s, values = time_s[order], values[order]
    origin_us = round(origin_epoch_s * 1e6) - pgcopy.PG_EPOCH_UNIX_US
    time_us = np.round(time_s * 1e6).astype(np.int64) + origin_us
    return _Prepared(trace, time_us, values, int(len(trace) - np.count_nonzero(keep)))


def _timestamp(pg_us: int) -> datetime:
    return datetime.fromtimestamp((pg_us + pgcopy.PG_EPOCH_UNIX_US) / 1e6, UTC)


# ---------------------------------------------------------------------- writing


def _insert_session(cur, upload, origin_epoch_s, clock, prepared, total) -> int:
    cur.execute(
        "INSERT INTO evbm.vehicles (name, vin) VALUES (%s, %s) ON CONFLICT (name) DO NOTHING",
        (upload.vehicle, upload.vin),
    )
    cur.execute("SELECT id FROM evbm.vehicles WHERE name = %s", (upload.vehicle,))
    vehicle_id = cur.fetchone()[0]

    starts = [int(p.time_us[0]) for p in prepared if len(p.time_us)]
    ends = [int(p.time_us[-1]) for p in prepared if len(p.time_us)]
    cur.execute(
        "INSERT INTO evbm.sessions (vehicle_id, name, source_file, source_sha256, databases, "
        "origin, clock, time_start, time_end, sample_count) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
        (
            vehicle_id,
            upload.name,
            upload.source_file,
            upload.source_sha256.lower(),
            json.dumps(upload.databases),
            datetime.fromtimestamp(origin_epoch_s, UTC),
            clock,
            _timestamp(min(starts)) if starts else None,
            _timestamp(max(ends)) if ends else None,
            total,
        ),
    )
    return cur.fetchone()[0]


def _insert_signals(cur: psycopg.Cursor, session_id: int, prepared: list[_Prepared]) -> None:
    """Add unknown signals to the dictionary, then describe each trace of the session."""
    names = [p.trace.signal for p in prepared]
    messages = [p.trace.message for p in prepared]
    units = [p.trace.unit or "" for p in prepared]
    channels = [int(p.trace.channel) for p in prepared]
    arrays = (names, messages, units, channels)
    cur.execute(
        "INSERT INTO evbm.signals (name, message, unit, channel) "
        "SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], %s::integer[]) "
        "ON CONFLICT DO NOTHING",
        arrays,
    )
    cur.execute(
        "SELECT s.id, s.name, s.message, s.unit, s.channel FROM evbm.signals s "
        "JOIN unnest(%s::text[], %s::text[], %s::text[], %s::integer[]) "
        "AS t(name, message, unit, channel) USING (name, message, unit, channel)",
        arrays,
    )
    ids = {tuple(row[1:]): row[0] for row in cur.fetchall()}
    for p in prepared:
        p.signal_id = ids[(p.trace.signal, p.trace.message, p.trace.unit or "", p.trace.channel)]

    if len(set(ids.values())) != len(prepared):
        keys = [p.trace.key for p in prepared]
        doubles = sorted({key for key in keys if keys.count(key) > 1})
        raise StoreError(f"the session has the same trace twice: {', '.join(doubles)}")
    cur.executemany(
        "INSERT INTO evbm.session_signals (session_id, signal_id, role, sample_count, "
        "invalid_count, first_time, last_time, last_value, min_value, max_value, minimum, "
        "maximum, choices, comment) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, "
        "%s, %s)",
        [_session_signal_row(session_id, p) for p in prepared],
    )


def _session_signal_row(session_id: int, p: _Prepared) -> tuple:
    has = len(p.values) > 0
    trace = p.trace
    choices = {str(k): v for k, v in trace.choices.items()} if trace.choices else None
    return (
        session_id,
        p.signal_id,
        trace.role,
        len(p.values),
        p.invalid_count,
        _timestamp(int(p.time_us[0])) if has else None,
        _timestamp(int(p.time_us[-1])) if has else None,
        float(p.values[-1]) if has else None,
        float(p.values.min()) if has else None,
        float(p.values.max()) if has else None,
        trace.minimum,
        trace.maximum,
        json.dumps(choices) if choices else None,
        trace.comment or "",
    )


def _copy_samples(cur, table, session_id, prepared, progress, total, chunk_rows, freeze):
    options = sql.SQL("(FORMAT BINARY, FREEZE)" if freeze else "(FORMAT BINARY)")
    statement = sql.SQL('COPY {} ("time", session_id, signal_id, value) FROM STDIN {}').format(
        table, options
    )
    done = 0
    report(progress, 0, total)
    with cur.copy(statement) as copy:
        copy.write(pgcopy.HEADER)
        for p, start, stop in _chunks(prepared, chunk_rows):
            copy.write(
                pgcopy.sample_rows(
                    p.time_us[start:stop], session_id, p.signal_id, p.values[start:stop]
                )
            )
            done += stop - start
            report(progress, done, total)
        copy.write(pgcopy.TRAILER)


def _compress_while_copying(cur: psycopg.Cursor) -> None:
    """TimescaleDB 2.21+ can compress rows as COPY brings them, skipping the index; ours come
    sorted as the compression wants them (per session and signal, by time)."""
    cur.execute("SELECT current_setting('timescaledb.enable_direct_compress_copy', true)")
    if cur.fetchone()[0] is None:
        return
    cur.execute("SET LOCAL timescaledb.enable_direct_compress_copy = on")
    cur.execute("SET LOCAL timescaledb.enable_direct_compress_copy_client_sorted = on")


def _chunks(prepared: list[_Prepared], chunk_rows: int) -> Iterator[tuple[_Prepared, int, int]]:
    for p in prepared:
        for start in range(0, len(p.time_us), chunk_rows):
            yield p, start, min(start + chunk_rows, len(p.time_us))


def _copy_minutes(cur: psycopg.Cursor, session_id: int, prepared: list[_Prepared]) -> None:
    """The per-minute min/max/mean/count of every trace, computed here, copied in."""
    parts = [minute_summary(p.time_us, p.values) for p in prepared]
    if not any(len(part[0]) for part in parts):
        return
    signal_ids = np.concatenate(
        [
            np.full(len(part[0]), p.signal_id, np.int32)
            for p, part in zip(prepared, parts, strict=True)
        ]
    )
    columns = [np.concatenate([part[i] for part in parts]) for i in range(5)]
    with cur.copy(
        "COPY evbm.samples_1m (bucket, session_id, signal_id, min_value, max_value, "
        "mean_value, sample_count) FROM STDIN (FORMAT BINARY)"
    ) as copy:
        copy.write(pgcopy.HEADER)
        copy.write(pgcopy.minute_rows(columns[0], session_id, signal_ids, *columns[1:]))
        copy.write(pgcopy.TRAILER)


def minute_summary(time_us: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, ...]:
    """(bucket start, min, max, mean, count) per whole UTC minute of time-sorted samples;
    ``time_us`` on PostgreSQL's clock, whose origin is a whole minute."""
    if len(time_us) == 0:
        empty = np.empty(0)
        return empty.astype(np.int64), empty, empty, empty, empty.astype(np.int64)
    minute = time_us // MINUTE_US
    starts = np.flatnonzero(np.r_[True, minute[1:] != minute[:-1]])
    counts = np.diff(np.r_[starts, len(minute)])
    return (
        minute[starts] * MINUTE_US,
        np.minimum.reduceat(values, starts),
        np.maximum.reduceat(values, starts),
        np.add.reduceat(values, starts) / counts,
        counts.astype(np.int64),
    )


def _refresh_aggregate(conn: psycopg.Connection, prepared: list[_Prepared]) -> None:
    """Bring the continuous aggregate up to date for the new session's minutes now, rather
    than when the refresh policy next runs."""
    starts = [int(p.time_us[0]) for p in prepared if len(p.time_us)]
    ends = [int(p.time_us[-1]) for p in prepared if len(p.time_us)]
    if not starts:
        return
    first = _timestamp(min(starts) // MINUTE_US * MINUTE_US)
    last = _timestamp((max(ends) // MINUTE_US + 1) * MINUTE_US)
    previous = conn.autocommit
    try:
        conn.autocommit = True
        conn.execute("CALL refresh_continuous_aggregate('evbm.samples_1m', %s, %s)", (first, last))
    except psycopg.errors.InsufficientPrivilege:
        # only the aggregate's owner may refresh it; its policy runs every minute, and until
        # then summaries of this session come from the raw samples
        log.info("the per-minute summary gets the new session from its refresh policy")
    except psycopg.Error as exc:
        log.warning("the per-minute summary will catch up with its refresh policy: %s", exc)
    finally:
        conn.autocommit = previous
