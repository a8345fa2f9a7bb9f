"""A cache of decoded traces, one Parquet file per (capture, databases, decoder) triple.

Decoding a large capture takes seconds to minutes; reading back its traces from a local
Parquet file takes a small fraction of that. The key is the sha256 of the capture's bytes,
the sha256s of the databases (in the order given) and the decoder's version, so a changed
database or a new decoder never serves stale traces.

The file layout is also what ``app.export`` writes for a session's traces: one row per
sample with the columns ``trace`` (the trace's key, dictionary-encoded), ``time_s``,
``value`` and ``valid``, rows grouped trace by trace; everything else a :class:`Trace` knows
(unit, limits, value table, role, ...) sits as JSON in the schema's metadata.

The capture itself (its frames, format, issues and timestamp report) can be cached too, with
``put_capture``/``get_capture``, keyed by the capture's sha256 and the reader's version: a
reopen that finds both needs neither to parse the capture nor to decode it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from app import paths
from app.traces import Trace

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
METADATA_KEY = b"ev_battery_monitor.traces"
CACHE_FOLDER = "trace-cache"
DEFAULT_LIMIT_BYTES = 4 << 30
CACHE_COMPRESSION = "lz4"


@dataclass(frozen=True)
class CacheKey:
    """What decoded traces depend on."""

    capture_sha256: str
    database_sha256s: tuple[str, ...]
    decoder_version: str

    @property
    def digest(self) -> str:
        text = "\n".join(
            [f"format {FORMAT_VERSION}", self.capture_sha256, *self.database_sha256s]
            + [f"decoder {self.decoder_version}"]
        )
        return hashlib.sha256(text.encode()).hexdigest()


class TraceCache:
    """``get(key)`` and ``put(key, traces)`` over a folder of Parquet files.

    ``key`` is a :class:`CacheKey` or any string (hashed as is). A damaged file reads as a
    miss and is removed. Files least recently used go first when the folder outgrows
    ``limit_bytes``.
    """

    def __init__(self, folder: str | Path | None = None, limit_bytes: int = DEFAULT_LIMIT_BYTES):
        self.folder = Path(folder) if folder is not None else paths.data_dir() / CACHE_FOLDER
        self.limit_bytes = limit_bytes
        self.hits = 0
        self.misses = 0

    def path_for(self, key: CacheKey | str) -> Path:
        digest = (
            key.digest if isinstance(key, CacheKey) else hashlib.sha256(key.encode()).hexdigest()
        )
        return self.folder / f"{digest}.parquet"

    def get(self, key: CacheKey | str) -> list[Trace] | None:
        path = self.path_for(key)
        if not path.exists():
            self.misses += 1
            return None
        try:
            traces = read_traces_parquet(path)
        except (OSError, ValueError, KeyError, pa.ArrowException) as exc:
            log.warning("trace cache: dropping unreadable %s: %s", path, exc)
            path.unlink(missing_ok=True)
            self.misses += 1
            return None
        os.utime(path)  # least recently used goes first when pruning
        self.hits += 1
        log.info("trace cache: %d traces read from %s", len(traces), path.name)
        return traces

    def put(self, key: CacheKey | str, traces: Sequence[Trace]) -> None:
        """Store traces; a cache that cannot be written is logged and otherwise ignored (it
        only costs time next time)."""
        path = self.path_for(key)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            # lz4 reads back faster than no compression here (less to read) and far faster
            # than zstd; the cache is read far more often than disk space is short
            write_traces_parquet(traces, path, compression=CACHE_COMPRESSION, share_times=True)
        except OSError as exc:
            log.warning("trace cache: cannot write %s: %s", path, exc)
            return
        log.info("trace cache: %d traces written to %s", len(traces), path.name)
        self.prune()

    def capture_path_for(self, key: CacheKey) -> Path:
        text = f"frames {FORMAT_VERSION}\n{key.capture_sha256}\n{key.decoder_version}"
        return self.folder / f"{hashlib.sha256(text.encode()).hexdigest()}.frames.parquet"

    def put_capture(self, key: CacheKey, capture) -> None:
        """Store a capture's frames and what was read about it (an app.formats.Capture)."""
        path = self.capture_path_for(key)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            write_capture_parquet(capture, path)
        except OSError as exc:
            log.warning("trace cache: cannot write %s: %s", path, exc)
            return
        log.info("trace cache: %d frames written to %s", capture.frame_count, path.name)
        self.prune()

    def get_capture(self, key: CacheKey, capture_path: str | Path):
        """The capture stored under ``key`` as an app.formats.Capture whose ``path`` is
        ``capture_path`` (where it is now), or None."""
        path = self.capture_path_for(key)
        if not path.exists():
            return None
        try:
            capture = read_capture_parquet(path, capture_path)
        except (OSError, ValueError, KeyError, TypeError, pa.ArrowException) as exc:
            log.warning("trace cache: dropping unreadable %s: %s", path, exc)
            path.unlink(missing_ok=True)
            return None
        os.utime(path)
        log.info("trace cache: %d frames read from %s", capture.frame_count, path.name)
        return capture

    def prune(self) -> None:
        files = sorted(self.folder.glob("*.parquet"), key=lambda p: p.stat().st_mtime)
        total = sum(p.stat().st_size for p in files)
        while files and total > self.limit_bytes:
            oldest = files.pop(0)
            total -= oldest.stat().st_size
            oldest.unlink(missing_ok=True)
            log.info("trace cache: removed %s (over %d bytes)", oldest.name, self.limit_bytes)

    def clear(self) -> None:
        for path in self.folder.glob("*.parquet"):
            path.unlink(missing_ok=True)


# ---------------------------------------------------------------------------------------------
# Traces <-> Arrow


def traces_to_table(traces: Sequence[Trace], share_times: bool = False) -> pa.Table:
    """One row per sample. With ``share_times``, a trace whose time array is the very array
    of an earlier trace (the signals of one message share theirs) stores nulls in
    ``time_s`` and names that trace in its description: a third of the bytes, and the
    traces read back share one array again."""
    counts = np.array([len(t) for t in traces], np.int64)
    keys = [t.key for t in traces]
    indices = np.repeat(np.arange(len(traces), dtype=np.int32), counts)
    trace_column = pa.DictionaryArray.from_arrays(pa.array(indices), pa.array(keys, pa.string()))

    owners: dict[int, int] = {}  # id of a time array -> the first trace that has it
    time_of = []
    time_chunks = []
    for index, trace in enumerate(traces):
        owner = owners.setdefault(id(trace.time_s), index) if share_times else index
        time_of.append(owner)
        if owner == index:
            time_chunks.append(pa.array(np.asarray(trace.time_s, np.float64)))
        else:
            time_chunks.append(pa.nulls(len(trace), pa.float64()))

    def joined(name: str, dtype) -> np.ndarray:
        parts = [np.asarray(getattr(t, name), dtype) for t in traces]
        return np.concatenate(parts) if parts else np.zeros(0, dtype)

    time_column = pa.chunked_array(time_chunks, pa.float64()).combine_chunks()
    table = pa.table(
        {
            "trace": trace_column,
            "time_s": time_column,
            "value": joined("values", np.float64),
            "valid": joined("valid", bool),
        }
    )
    described = {
        "format": FORMAT_VERSION,
        "traces": [
            _describe(trace, int(count)) | {"time_of": owner}
            for trace, count, owner in zip(traces, counts, time_of, strict=True)
        ],
    }
    return table.replace_schema_metadata({METADATA_KEY: json.dumps(described).encode()})


def table_to_traces(table: pa.Table) -> list[Trace]:
    metadata = table.schema.metadata or {}
    if METADATA_KEY not in metadata:
        raise ValueError("no trace descriptions in the file's metadata")
    described = json.loads(metadata[METADATA_KEY])
    if described.get("format") != FORMAT_VERSION:
        raise ValueError(f"trace file format {described.get('format')}, expected {FORMAT_VERSION}")
    entries = described["traces"]
    if sum(entry["count"] for entry in entries) != table.num_rows:
        raise ValueError(f"the descriptions do not cover the file's {table.num_rows} rows")

    # Arrow hands out read-only views; traces are plain writable arrays everywhere else
    column = table.column("time_s")
    times = _writable(column.drop_null().to_numpy() if column.null_count else column.to_numpy())
    values = _writable(table.column("value").to_numpy())
    valid = _writable(table.column("valid").to_numpy(zero_copy_only=False))

    traces: list[Trace] = []
    start = time_start = 0
    for index, entry in enumerate(entries):
        end = start + entry["count"]
        owner = entry.get("time_of", index)
        if owner == index:
            time_s = times[time_start : time_start + entry["count"]]
            time_start += entry["count"]
        else:
            time_s = traces[owner].time_s
        traces.append(_rebuild(entry, time_s, values[start:end], valid[start:end]))
        start = end
    if time_start != len(times):
        raise ValueError(f"{len(times)} time stamps in the file, the descriptions use {time_start}")
    return traces


def write_traces_parquet(
    traces: Sequence[Trace], path: str | Path, compression="zstd", share_times: bool = False
) -> None:
    """Write atomically: into a temporary file beside ``path``, then rename over it."""
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        pq.write_table(
            traces_to_table(traces, share_times),
            temporary,
            compression=compression,
            use_dictionary=["trace"],  # trying it on float columns costs time and never pays
            write_statistics=False,
            row_group_size=max(1, sum(len(t) for t in traces)),  # one: no joining on reading
        )
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def read_traces_parquet(path: str | Path) -> list[Trace]:
    started = time.perf_counter()
    # the rows are grouped by trace in the order the metadata lists, so the (large) trace
    # column need not be read back
    traces = table_to_traces(pq.read_table(path, columns=["time_s", "value", "valid"]))
    log.debug("read %d traces from %s in %.3f s", len(traces), path, time.perf_counter() - started)
    return traces


FRAME_COLUMNS = (
    "timestamp", "channel", "arbitration_id", "is_extended_id", "is_fd", "is_error",
    "is_remote", "dlc",
)  # fmt: skip


def write_capture_parquet(capture, path: str | Path) -> None:
    """A capture's frame table as columns (``data`` as fixed-size binary) and everything else
    about it as JSON in the schema's metadata; written atomically."""
    frames = capture.frames
    n, width = frames.data.shape
    data = np.ascontiguousarray(frames.data)
    columns = {name: getattr(frames, name) for name in FRAME_COLUMNS}
    columns["data"] = pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(width), n, [None, pa.py_buffer(data)]
    )
    report = capture.timestamp_report
    described = {
        "format": FORMAT_VERSION,
        "capture_format": capture.format,
        "format_title": getattr(capture, "format_title", ""),
        "start_time_epoch": capture.start_time_epoch,
        "issues": [[i.kind, i.line, i.detail] for i in capture.issues],
        "timestamp_report": {
            name: getattr(report, name)
            for name in ("problems", "messages", "repaired", "backward_steps", "negative_frames")
        }
        | {"backward_frames": [int(i) for i in report.backward_frames]},
        "width": width,
    }
    table = pa.table(columns).replace_schema_metadata(
        {METADATA_KEY: json.dumps(described).encode()}
    )
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        pq.write_table(
            table, temporary, compression="lz4", use_dictionary=False, write_statistics=False,
            row_group_size=max(n, 1),
        )  # fmt: skip
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def read_capture_parquet(path: str | Path, capture_path: str | Path):
    from app.formats import Capture, ReadIssue  # the formats package only when it is used
    from app.frames import FrameTable
    from app.timestamps import TimestampReport

    table = pq.read_table(path)
    described = json.loads(table.schema.metadata[METADATA_KEY])
    if described.get("format") != FORMAT_VERSION:
        raise ValueError(f"frame file format {described.get('format')}, expected {FORMAT_VERSION}")
    columns = {
        name: _writable(table.column(name).to_numpy(zero_copy_only=False)) for name in FRAME_COLUMNS
    }
    n, width = table.num_rows, described["width"]
    data_column = table.column("data").combine_chunks()
    offset = data_column.offset * width
    data = np.frombuffer(data_column.buffers()[1], np.uint8)[offset : offset + n * width]
    frames = FrameTable(**columns, data=data.reshape(n, width).copy())
    return Capture(
        path=Path(capture_path),
        format=described["capture_format"],
        frames=frames,
        issues=[ReadIssue(kind, line, detail) for kind, line, detail in described["issues"]],
        start_time_epoch=described["start_time_epoch"],
        timestamp_report=TimestampReport(**described["timestamp_report"]),
        format_title=described.get("format_title", ""),
    )


def _writable(array: np.ndarray) -> np.ndarray:
    return array if array.flags.writeable else array.copy()


def _describe(trace: Trace, count: int) -> dict:
    return {
        "key": trace.key,
        "signal": trace.signal,
        "message": trace.message,
        "channel": int(trace.channel),
        "unit": trace.unit,
        "minimum": trace.minimum,
        "maximum": trace.maximum,
        "choices": {str(k): str(v) for k, v in (trace.choices or {}).items()} or None,
        "role": trace.role,
        "comment": trace.comment,
        "extra": json.loads(json.dumps(trace.extra, default=str)),
        "count": count,
    }


def _rebuild(entry: dict, time_s, values, valid) -> Trace:
    choices = entry.get("choices")
    return Trace(
        signal=entry["signal"],
        message=entry["message"],
        channel=entry["channel"],
        time_s=time_s,
        values=values,
        valid=valid,
        unit=entry.get("unit") or "",
        minimum=entry.get("minimum"),
        maximum=entry.get("maximum"),
        choices={float(k): v for k, v in choices.items()} if choices else None,
        role=entry.get("role"),
        comment=entry.get("comment") or "",
        extra=entry.get("extra") or {},
    )
