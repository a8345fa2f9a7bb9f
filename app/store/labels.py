"""Labels on the shared database, written as they are made, with optimistic concurrency.

Each stored label carries a ``version``. A change names the version it was made from; the
server applies it only if the label is still at that version, and bumps it. When another
technician got there first the change is refused with :class:`LabelConflict`, which says who
changed the label and when, instead of one of the two edits silently disappearing.

The table keeps the columns Grafana's annotation queries read (``time``, ``timeend``,
``text``, ``tags``), so a dashboard can show the labels over the samples directly.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import psycopg

from app.errors import StoreError
from app.labels import Label

log = logging.getLogger(__name__)


class LabelConflict(StoreError):
    """Someone else changed or deleted the label since this copy of it was read."""


_COLUMNS = (
    'l.id, l."time", l.timeend, l.text, l.tags, l.class, l.source, l.confidence, l.status, '
    "l.author, l.version, l.created_at, s.origin, s.source_sha256"
)


def insert_labels(cur: psycopg.Cursor, session_id: int, labels: list[Label]) -> None:
    """Add new labels to a session (part of an upload's transaction)."""
    if not labels:
        return
    cur.execute("SELECT origin, vehicle_id FROM evbm.sessions WHERE id = %s", (session_id,))
    origin, vehicle_id = cur.fetchone()
    cur.executemany(
        'INSERT INTO evbm.labels (id, session_id, vehicle_id, "time", timeend, text, tags, '
        "class, source, confidence, status, author) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        [_row(label, session_id, vehicle_id, origin) for label in labels],
    )


def _row(label: Label, session_id: int, vehicle_id: int, origin: datetime) -> tuple:
    return (
        label.id,
        session_id,
        vehicle_id,
        origin + timedelta(seconds=label.start_s),
        origin + timedelta(seconds=label.end_s),
        label.note,
        list(label.tags),
        label.label_class,
        label.source,
        label.confidence,
        label.status,
        label.author,
    )


def add_label(conn: psycopg.Connection, session_id: int, label: Label) -> int:
    """Store a new label of a session; its version (1)."""
    try:
        with conn.transaction(), conn.cursor() as cur:
            insert_labels(cur, session_id, [label])
    except psycopg.errors.UniqueViolation:
        raise LabelConflict(f"label {label.id} is already stored") from None
    except psycopg.errors.InsufficientPrivilege:
        raise _no_right(conn) from None
    log.info("label %s (%s) stored on session %d", label.id, label.label_class, session_id)
    return 1


def update_label(conn: psycopg.Connection, label: Label, expected_version: int) -> int:
    """Store a changed label if nobody changed it since ``expected_version``; the new one."""
    try:
        with conn.transaction(), conn.cursor() as cur:
            cur.execute(
                "UPDATE evbm.labels l SET \"time\" = s.origin + %s * INTERVAL '1 second', "
                "timeend = s.origin + %s * INTERVAL '1 second', text = %s, tags = %s, "
                "class = %s, source = %s, confidence = %s, status = %s, "
                "version = l.version + 1, updated_by = current_user, updated_at = now() "
                "FROM evbm.sessions s WHERE s.id = l.session_id AND l.id = %s "
                "AND l.version = %s RETURNING l.version",
                (
                    label.start_s,
                    label.end_s,
                    label.note,
                    list(label.tags),
                    label.label_class,
                    label.source,
                    label.confidence,
                    label.status,
                    label.id,
                    expected_version,
                ),
            )
            row = cur.fetchone()
            if row is None:
                raise _conflict(cur, label.id, expected_version, "change")
    except psycopg.errors.InsufficientPrivilege:
        raise _no_right(conn) from None
    log.info("label %s changed, now version %d", label.id, row[0])
    return row[0]


def delete_label(conn: psycopg.Connection, label_id: str, expected_version: int) -> None:
    try:
        with conn.transaction(), conn.cursor() as cur:
            cur.execute(
                "DELETE FROM evbm.labels WHERE id = %s AND version = %s RETURNING id",
                (label_id, expected_version),
            )
            if cur.fetchone() is None:
                raise _conflict(cur, label_id, expected_version, "delete")
    except psycopg.errors.InsufficientPrivilege:
        raise _no_right(conn) from None
    log.info("label %s deleted", label_id)


def read_labels(conn: psycopg.Connection, session_id: int) -> list[tuple[Label, int]]:
    """The session's labels in time order, each with its version."""
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM evbm.labels l JOIN evbm.sessions s ON s.id = l.session_id "
        'WHERE l.session_id = %s ORDER BY l."time", l.id',
        (session_id,),
    ).fetchall()
    conn.rollback()
    return [(_label(row), row[10]) for row in rows]


def _label(row: tuple) -> Label:
    (
        label_id,
        start,
        end,
        text,
        tags,
        cls,
        source,
        confidence,
        status,
        author,
        version,
        created_at,
        origin,
        sha256,
    ) = row
    return Label(
        session=sha256,
        start_s=(start - origin).total_seconds(),
        end_s=(end - origin).total_seconds(),
        label_class=cls,
        note=text,
        tags=tuple(tags),
        author=author,
        source=source,
        confidence=confidence,
        status=status,
        origin_epoch_s=origin.timestamp(),
        id=str(label_id),
        created_at=created_at.timestamp(),
        version=version,
    )


def _conflict(cur: psycopg.Cursor, label_id: str, expected: int, what: str) -> StoreError:
    cur.execute(
        "SELECT version, updated_by, updated_at FROM evbm.labels WHERE id = %s", (label_id,)
    )
    row = cur.fetchone()
    if row is None:
        return LabelConflict(
            f"cannot {what} label {label_id}: someone else deleted it since you opened it"
        )
    version, who, when = row
    return LabelConflict(
        f"cannot {what} label {label_id}: {who} changed it at "
        f"{when.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC since you opened it (you had version "
        f"{expected}, the server has {version}); reload the labels and make your change again"
    )


def _no_right(conn: psycopg.Connection) -> StoreError:
    return StoreError(f"user {conn.info.user!r} may not write labels (read-only access)")


class ServerLabelSink:
    """A :class:`app.labels.LabelSink` that writes a database session's labels to the server
    as they are made, remembering each label's version for the next change."""

    def __init__(self, conn: psycopg.Connection, session_id: int):
        self.conn = conn
        self.session_id = session_id
        self.versions: dict[str, int] = {}

    def load(self) -> list[Label]:
        stored = read_labels(self.conn, self.session_id)
        self.versions = {label.id: version for label, version in stored}
        return [label for label, _ in stored]

    def save_label(self, label: Label) -> None:
        if label.id in self.versions:
            self.versions[label.id] = update_label(self.conn, label, self.versions[label.id])
        else:
            self.versions[label.id] = add_label(self.conn, self.session_id, label)

    def delete_label(self, label_id: str) -> None:
        if label_id in self.versions:
            delete_label(self.conn, label_id, self.versions.pop(label_id))
