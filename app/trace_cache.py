"""A cache of decoded traces, one Parquet file per (capture, databases, decoder) triple.

Decoding a large capture takes seconds to minutes; reading back its traces from a local
Parquet file takes a small fraction of that. The key is the sha256 of the capture's bytes,
the sha256s of the databases (in the order given) and the decoder's version, so a changed
database or a new decoder never serves stale traces.

The file layout is also what ``app.export`` writes for a session's traces: one row per
sample with the columns ``trace`` (the trace's key, dictionary-encoded), ``time_s``,
``value`` and ``valid``, rows grouped trace by trace; everything else a :class:`Trace` knows
(unit, limits, value table, role, ...) sits as JSON in the schema's metadata.
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
            write_traces_parquet(traces, path, compression="lz4")
        except OSError as exc:
            log.warning("trace cache: cannot write %s: %s", path, exc)
            return
        log.info("trace cache: %d traces written to %s", len(traces), path.name)
        self.prune()

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


def traces_to_table(traces: Sequence[Trace]) -> pa.Table:
    counts = np.array([len(t) for t in traces], np.int64)
    keys = [t.key for t in traces]
    indices = np.repeat(np.arange(len(traces), dtype=np.int32), counts)
    trace_column = pa.DictionaryArray.from_arrays(pa.array(indices), pa.array(keys, pa.string()))

    def joined(name: str, dtype) -> np.ndarray:
        parts = [np.asarray(getattr(t, name), dtype) for t in traces]
        return np.concatenate(parts) if parts else np.zeros(0, dtype)

    table = pa.table(
        {
            "trace": trace_column,
            "time_s": joined("time_s", np.float64),
            "value": joined("values", np.float64),
            "valid": joined("valid", bool),
        }
    )
    described = {
        "format": FORMAT_VERSION,
        "traces": [_describe(t, int(n)) for t, n in zip(traces, counts, strict=True)],
    }
    return table.replace_schema_metadata({METADATA_KEY: json.dumps(described).encode()})


def table_to_traces(table: pa.Table) -> list[Trace]:
    metadata = table.schema.metadata or {}
    if METADATA_KEY not in metadata:
        raise ValueError("no trace descriptions in the file's metadata")
    described = json.loads(metadata[METADATA_KEY])
    if described.get("format") != FORMAT_VERSION:
        raise ValueError(f"trace file format {described.get('format')}, expected {FORMAT_VERSION}")

    # Arrow hands out read-only views; traces are plain writable arrays everywhere else
    time_s = _writable(table.column("time_s").to_numpy())
    values = _writable(table.column("value").to_numpy())
    valid = _writable(table.column("valid").to_numpy(zero_copy_only=False))
    traces, start = [], 0
    for entry in described["traces"]:
        end = start + entry["count"]
        traces.append(_rebuild(entry, time_s[start:end], values[start:end], valid[start:end]))
        start = end
    if start != len(time_s):
        raise ValueError(f"descriptions cover {start} rows, the file has {len(time_s)}")
    return traces


def write_traces_parquet(traces: Sequence[Trace], path: str | Path, compression="zstd") -> None:
    """Write atomically: into a temporary file beside ``path``, then rename over it."""
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        pq.write_table(
            traces_to_table(traces),
            temporary,
            compression=compression,
            use_dictionary=["trace"],  # trying it on float columns costs time and never pays
            write_statistics=False,
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
        choices={int(k): v for k, v in choices.items()} if choices else None,
        role=entry.get("role"),
        comment=entry.get("comment") or "",
        extra=entry.get("extra") or {},
    )
