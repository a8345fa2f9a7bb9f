"""The local workspace: one SQLite file in the user's data folder.

It holds what a technician makes and must never lose: vehicles (by VIN or by name), sessions
(one capture of one vehicle, with the databases it was decoded with), labels, plot layouts
and settings. Decoded traces are not here; they live in :mod:`app.trace_cache`.

Durability. Every label change is its own committed transaction by the time the call
returns. The journal is WAL with ``synchronous=FULL``: a commit returns only after the WAL
is flushed to the disk, so a change survives not only the program being killed (WAL with
NORMAL would already survive that) but also a power cut or an OS crash, which is what a
workshop laptop on a charger cable meets. Label edits come at the speed of a hand, so the
extra flush per commit costs nothing anyone can notice.

Damage. A file that is not an SQLite database, or that fails ``PRAGMA integrity_check``, is
never repaired in place or overwritten: it is renamed aside with a timestamp
(``workspace.sqlite.damaged-20260101-120000``) and a fresh workspace is started. The
:attr:`Workspace.notice` says what happened and where the old file went, for the window to
show; the same goes to the log.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from app import paths
from app.errors import StoreError
from app.labels import Label

log = logging.getLogger(__name__)

WORKSPACE_FILE = "workspace.sqlite"
MEMORY = ":memory:"  # a workspace that lives and dies with the process
SQLITE_MAGIC = b"SQLite format 3\x00"

# Each entry brings the schema from version i to i + 1. Never edit an entry that has shipped;
# append a new one.
MIGRATIONS: list[str] = [
    # 0 -> 1: the first schema
    """
    CREATE TABLE vehicles (
        id INTEGER PRIMARY KEY,
        vin TEXT UNIQUE,
        name TEXT NOT NULL,
        created_at REAL NOT NULL
    );
    CREATE TABLE sessions (
        key TEXT PRIMARY KEY,              -- sha256 of the capture file
        capture_path TEXT NOT NULL,        -- where it was last opened from
        capture_size INTEGER,
        capture_format TEXT,
        start_epoch_s REAL,                -- wall clock of the capture's start, when known
        vehicle_id INTEGER REFERENCES vehicles(id),
        created_at REAL NOT NULL,
        opened_at REAL NOT NULL
    );
    CREATE TABLE session_databases (
        session_key TEXT NOT NULL REFERENCES sessions(key) ON DELETE CASCADE,
        path TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        position INTEGER NOT NULL,
        PRIMARY KEY (session_key, position)
    );
    CREATE TABLE labels (
        id TEXT PRIMARY KEY,
        session_key TEXT NOT NULL,
        start_s REAL NOT NULL,
        end_s REAL NOT NULL,
        origin_epoch_s REAL,
        class TEXT NOT NULL,
        note TEXT NOT NULL DEFAULT '',
        tags TEXT NOT NULL DEFAULT '[]',   -- JSON list of strings
        author TEXT NOT NULL DEFAULT '',
        source TEXT NOT NULL,
        confidence REAL,
        status TEXT NOT NULL,
        created_at REAL NOT NULL,
        modified_at REAL NOT NULL,
        version INTEGER NOT NULL,
        deleted INTEGER NOT NULL DEFAULT 0 -- kept as a tombstone so a sync can see deletions
    );
    CREATE INDEX labels_by_session ON labels (session_key, deleted, start_s);
    CREATE TABLE layouts (
        session_key TEXT PRIMARY KEY,
        layout TEXT NOT NULL,              -- JSON, as the window gives it
        saved_at REAL NOT NULL
    );
    CREATE TABLE settings (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL                -- JSON
    );
    """,
]
SCHEMA_VERSION = len(MIGRATIONS)

_LABEL_COLUMNS = (
    "id, session_key, start_s, end_s, origin_epoch_s, class, note, tags, author, source, "
    "confidence, status, created_at, modified_at, version"
)


@dataclass
class Vehicle:
    id: int
    name: str
    vin: str | None = None


@dataclass
class SessionRecord:
    key: str
    capture_path: str
    capture_size: int | None = None
    capture_format: str | None = None
    start_epoch_s: float | None = None
    vehicle: Vehicle | None = None
    databases: list[tuple[str, str]] = field(default_factory=list)  # (path, sha256)
    created_at: float = 0.0
    opened_at: float = 0.0


def file_sha256(path: str | Path, chunk_bytes: int = 4 << 20) -> str:
    """The sha256 of a file's bytes, the key of its session and of its cached traces."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(chunk_bytes):
            digest.update(chunk)
    return digest.hexdigest()


def default_path() -> Path:
    return paths.data_dir() / WORKSPACE_FILE


_shared: Workspace | None = None
_shared_lock = threading.Lock()


def shared_workspace() -> Workspace:
    """The process's one open workspace at :func:`default_path` (opened on first use; opened
    anew when the data folder changes, as it does between tests).

    When the data folder cannot hold a workspace (read-only, not a folder), the window still
    works: the workspace is kept in memory for this run and its ``notice`` says so."""
    global _shared
    with _shared_lock:
        wanted = default_path()
        if _shared is None or _shared.requested_path != wanted:
            if _shared is not None:
                _shared.close()
            try:
                _shared = Workspace(wanted)
            except (OSError, StoreError) as exc:
                log.error("cannot open the workspace %s: %s", wanted, exc)
                _shared = Workspace(MEMORY)
                _shared.notice = (
                    f"The workspace {wanted} cannot be opened ({exc}). Labels and layouts "
                    "are kept in memory and will be lost when the program closes."
                )
            _shared.requested_path = wanted
        return _shared


class Workspace:
    """The open workspace. Safe to share between the GUI thread and a worker: one connection
    behind a lock."""

    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path is not None else default_path()
        self.requested_path = self.path
        self.notice: str | None = None  # what went wrong on opening, for the user
        self.set_aside: Path | None = None  # where a damaged file was moved
        self._lock = threading.RLock()
        if str(self.path) != MEMORY:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            problem = _check_file(self.path)
            if problem is not None:
                self._move_aside(problem)
        self._db = self._connect()
        self._migrate()

    # -- opening

    def _connect(self) -> sqlite3.Connection:
        try:
            db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:  # before anything writes to it, WAL mode included
                db.close()
                raise StoreError(
                    f"{self.path}: the workspace has schema version {version}, newer than this "
                    f"program's {SCHEMA_VERSION}; use a newer version of the program"
                )
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.execute("PRAGMA foreign_keys=ON")
            db.execute("PRAGMA busy_timeout=5000")
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: cannot open the workspace: {exc}") from exc
        return db

    def _move_aside(self, problem: str) -> None:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        target = self.path.with_name(f"{self.path.name}.damaged-{stamp}")
        n = 1
        while target.exists():
            n += 1
            target = self.path.with_name(f"{self.path.name}.damaged-{stamp}-{n}")
        try:
            self.path.rename(target)
            for suffix in ("-wal", "-shm"):
                companion = self.path.with_name(self.path.name + suffix)
                if companion.exists():
                    companion.rename(target.with_name(target.name + suffix))
        except OSError as exc:
            raise StoreError(
                f"{self.path}: the workspace is damaged ({problem}) and could not be moved "
                f"aside: {exc}; nothing was changed"
            ) from exc
        self.set_aside = target
        self.notice = (
            f"The workspace {self.path} was damaged ({problem}). It was moved to {target} "
            f"and a new, empty workspace was started."
        )
        log.error("%s", self.notice)

    def _migrate(self) -> None:
        with self._lock:
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            for target in range(version + 1, SCHEMA_VERSION + 1):
                with self._transaction():
                    for statement in _statements(MIGRATIONS[target - 1]):
                        self._db.execute(statement)
                    self._db.execute(f"PRAGMA user_version={target}")
                log.info("workspace %s: schema migrated to version %d", self.path, target)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def schema_version(self) -> int:
        return self._query_one("PRAGMA user_version")[0]

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    yield self._db
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:  # disk full, read-only folder, locked by another program
                raise StoreError(f"{self.path}: the workspace could not save: {exc}") from exc

    def _query_one(self, sql: str, params: Iterable = ()) -> tuple | None:
        with self._lock:
            return self._db.execute(sql, tuple(params)).fetchone()

    def _query(self, sql: str, params: Iterable = ()) -> list[tuple]:
        with self._lock:
            return self._db.execute(sql, tuple(params)).fetchall()

    # -- vehicles

    def vehicle(self, name: str | None = None, vin: str | None = None) -> Vehicle:
        """The vehicle with this VIN (or, without one, this name), made if new."""
        if not vin and not name:
            raise StoreError("a vehicle needs a VIN or a name")
        vin = vin.strip().upper() if vin else None
        name = (name or vin or "").strip()
        with self._transaction() as db:
            if vin:
                row = db.execute(
                    "SELECT id, name, vin FROM vehicles WHERE vin=?", (vin,)
                ).fetchone()
            else:
                row = db.execute(
                    "SELECT id, name, vin FROM vehicles WHERE vin IS NULL AND name=?", (name,)
                ).fetchone()
            if row is None:
                cursor = db.execute(
                    "INSERT INTO vehicles (vin, name, created_at) VALUES (?, ?, ?)",
                    (vin, name, time.time()),
                )
                row = (cursor.lastrowid, name, vin)
        return Vehicle(row[0], row[1], row[2])

    def vehicles(self) -> list[Vehicle]:
        rows = self._query("SELECT id, name, vin FROM vehicles ORDER BY name")
        return [Vehicle(*row) for row in rows]

    # -- sessions

    def record_session(
        self,
        key: str,
        capture_path: str | Path,
        databases: Iterable[tuple[str | Path, str]] = (),
        vehicle: Vehicle | None = None,
        capture_format: str | None = None,
        start_epoch_s: float | None = None,
    ) -> SessionRecord:
        """Note that the capture with sha256 ``key`` was opened (from ``capture_path``, decoded
        with ``databases`` as (path, sha256) pairs). Keeps the vehicle already recorded when
        ``vehicle`` is None."""
        capture_path = Path(capture_path)
        size = capture_path.stat().st_size if capture_path.exists() else None
        now = time.time()
        with self._transaction() as db:
            db.execute(
                """INSERT INTO sessions (key, capture_path, capture_size, capture_format,
                       start_epoch_s, vehicle_id, created_at, opened_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT (key) DO UPDATE SET
                       capture_path=excluded.capture_path,
                       capture_size=excluded.capture_size,
                       capture_format=COALESCE(excluded.capture_format, capture_format),
                       start_epoch_s=COALESCE(excluded.start_epoch_s, start_epoch_s),
                       vehicle_id=COALESCE(excluded.vehicle_id, vehicle_id),
                       opened_at=excluded.opened_at""",
                (
                    key, str(capture_path), size, capture_format, start_epoch_s,
                    vehicle.id if vehicle else None, now, now,
                ),
            )  # fmt: skip
            databases = list(databases)
            if databases:
                db.execute("DELETE FROM session_databases WHERE session_key=?", (key,))
                db.executemany(
                    "INSERT INTO session_databases (session_key, path, sha256, position) "
                    "VALUES (?, ?, ?, ?)",
                    [(key, str(p), sha, i) for i, (p, sha) in enumerate(databases)],
                )
        log.info("session %s recorded (%s)", key[:12], capture_path.name)
        return self.session(key)

    def session(self, key: str) -> SessionRecord | None:
        row = self._query_one(
            """SELECT s.key, s.capture_path, s.capture_size, s.capture_format, s.start_epoch_s,
                      s.created_at, s.opened_at, v.id, v.name, v.vin
               FROM sessions s LEFT JOIN vehicles v ON v.id = s.vehicle_id WHERE s.key=?""",
            (key,),
        )
        if row is None:
            return None
        databases = self._query(
            "SELECT path, sha256 FROM session_databases WHERE session_key=? ORDER BY position",
            (key,),
        )
        vehicle = Vehicle(row[7], row[8], row[9]) if row[7] is not None else None
        return SessionRecord(
            key=row[0], capture_path=row[1], capture_size=row[2], capture_format=row[3],
            start_epoch_s=row[4], vehicle=vehicle, databases=[tuple(d) for d in databases],
            created_at=row[5], opened_at=row[6],
        )  # fmt: skip

    def sessions(self) -> list[SessionRecord]:
        keys = self._query("SELECT key FROM sessions ORDER BY opened_at DESC")
        return [self.session(key) for (key,) in keys]

    def set_vehicle(self, key: str, vehicle: Vehicle | None) -> None:
        with self._transaction() as db:
            db.execute(
                "UPDATE sessions SET vehicle_id=? WHERE key=?",
                (vehicle.id if vehicle else None, key),
            )

    # -- labels (the LabelSink of app.labels.LabelBook)

    def save_label(self, label: Label) -> None:
        """Insert or replace a label; committed (and flushed) when this returns."""
        row = (
            label.id, label.session, label.start_s, label.end_s, label.origin_epoch_s,
            label.label_class, label.note, json.dumps(list(label.tags)), label.author,
            label.source, label.confidence, label.status, label.created_at, label.modified_at,
            label.version,
        )  # fmt: skip
        with self._transaction() as db:
            db.execute(
                f"INSERT OR REPLACE INTO labels ({_LABEL_COLUMNS}, deleted) "
                f"VALUES ({', '.join('?' * len(row))}, 0)",
                row,
            )
        log.debug("label %s saved (version %d)", label.id, label.version)

    def delete_label(self, label_id: str) -> None:
        """Mark a label deleted (kept as a tombstone); committed when this returns."""
        with self._transaction() as db:
            db.execute(
                "UPDATE labels SET deleted=1, modified_at=?, version=version+1 WHERE id=?",
                (time.time(), label_id),
            )
        log.debug("label %s deleted", label_id)

    def save_labels(self, labels: Iterable[Label]) -> int:
        """Insert or replace many labels in one transaction (an import)."""
        count = 0
        with self._transaction() as db:
            for label in labels:
                row = (
                    label.id, label.session, label.start_s, label.end_s, label.origin_epoch_s,
                    label.label_class, label.note, json.dumps(list(label.tags)), label.author,
                    label.source, label.confidence, label.status, label.created_at,
                    label.modified_at, label.version,
                )  # fmt: skip
                db.execute(
                    f"INSERT OR REPLACE INTO labels ({_LABEL_COLUMNS}, deleted) "
                    f"VALUES ({', '.join('?' * len(row))}, 0)",
                    row,
                )
                count += 1
        return count

    def labels(self, session_key: str | None = None, include_deleted: bool = False) -> list[Label]:
        """The labels of a session (or of all sessions), by start time."""
        where, params = [], []
        if session_key is not None:
            where.append("session_key=?")
            params.append(session_key)
        if not include_deleted:
            where.append("deleted=0")
        sql = f"SELECT {_LABEL_COLUMNS} FROM labels"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY session_key, start_s, end_s"
        return [_label_from_row(row) for row in self._query(sql, params)]

    def label(self, label_id: str) -> Label | None:
        row = self._query_one(
            f"SELECT {_LABEL_COLUMNS} FROM labels WHERE id=? AND deleted=0", (label_id,)
        )
        return _label_from_row(row) if row else None

    # -- layouts and settings

    def save_layout(self, session_key: str, layout: dict) -> None:
        text = json.dumps(layout)
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO layouts (session_key, layout, saved_at) VALUES (?, ?, ?)",
                (session_key, text, time.time()),
            )

    def load_layout(self, session_key: str) -> dict | None:
        row = self._query_one("SELECT layout FROM layouts WHERE session_key=?", (session_key,))
        return json.loads(row[0]) if row else None

    def set_setting(self, key: str, value) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)",
                (key, json.dumps(value)),
            )

    def setting(self, key: str, default=None):
        row = self._query_one("SELECT value FROM settings WHERE key=?", (key,))
        return json.loads(row[0]) if row else default


def _label_from_row(row: tuple) -> Label:
    return Label(
        id=row[0], session=row[1], start_s=row[2], end_s=row[3], origin_epoch_s=row[4],
        label_class=row[5], note=row[6], tags=tuple(json.loads(row[7])), author=row[8],
        source=row[9], confidence=row[10], status=row[11], created_at=row[12],
        modified_at=row[13], version=row[14],
    )  # fmt: skip


def _check_file(path: Path) -> str | None:
    """Why the file at ``path`` cannot be used as a workspace, or None when it can (or does
    not exist yet)."""
    if not path.exists() or path.stat().st_size == 0:
        return None
    with open(path, "rb") as stream:
        if stream.read(len(SQLITE_MAGIC)) != SQLITE_MAGIC:
            return "not an SQLite database"
    try:
        db = sqlite3.connect(path)
        try:
            rows = db.execute("PRAGMA integrity_check").fetchall()
        finally:
            db.close()
    except sqlite3.DatabaseError as exc:
        return f"SQLite cannot read it: {exc}"
    if rows != [("ok",)]:
        first = "; ".join(str(r[0]) for r in rows[:3])
        return f"integrity check failed: {first}"
    return None


def _statements(script: str) -> list[str]:
    """Split a migration script into statements (they hold no semicolons inside)."""
    lines = [line.split("--", 1)[0] for line in script.splitlines()]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]
