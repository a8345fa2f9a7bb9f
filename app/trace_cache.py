"""A cache of decoded traces and of the captures they came from, in the workspace's folder.

Decoding a large capture takes seconds to minutes; opening it again should not. An entry
of decoded traces is keyed by the sha256 of the capture's bytes, the sha256s of the
databases (in the order given) and the decoder's version, so a changed database or a new
decoder never serves stale traces. An entry of a capture (its frames and what was read about
it) is keyed by the capture's sha256 and the reader's version: with both, a reopen neither
parses nor decodes, and opening the capture with another database only decodes.

Reopening must cost a small fraction of the first open, so the arrays are stored as they
are held: uncompressed ``.npy`` files that are memory-mapped read-only on reading (no
decompression, no conversion, pages read when first touched) beside a small JSON index::

    trace-cache/
      <digest>.traces/   index.json (every trace's metadata), time_s.npy, values.npy, valid.npy
      <digest>.frames/   capture.json (format, issues, timestamp report), one .npy per column
      file-hashes.json   (resolved path, size, mtime_ns, ...) -> sha256 of captures seen
      .tmp-*/            entries being written

``time_s.npy`` holds each time axis once: the traces of one message share one array after
decoding, and share one (read-only) view of the file after reading. An entry is written into
a temporary folder and renamed into place, so a killed process never leaves a half-written
entry under a valid name; an entry that does not read back (truncated, wrong shapes) is
logged, counted as a miss and removed, and the pipeline writes it again. A capture whose
(resolved path, size, mtime_ns, inode, ctime_ns) are unchanged is not hashed again. Entries
least recently used go first when the folder outgrows its limit (5 GB unless
``EVBM_TRACE_CACHE_LIMIT_GB`` or ``limit_bytes`` says otherwise).

Cached arrays are read-only: nothing in the application writes into a trace's arrays (a
write raises instead of corrupting the cache). Parquet is the export format of a session's
traces (:mod:`app.export`): ``write_traces_parquet``/``read_traces_parquet`` live here too.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from app import paths
from app.traces import Trace

log = logging.getLogger(__name__)

CACHE_VERSION = 2  # the layout of the cache's entries; 1 was one Parquet file per entry
PARQUET_FORMAT_VERSION = 1  # the layout of exported trace Parquet files
METADATA_KEY = b"ev_battery_monitor.traces"
CACHE_FOLDER = "trace-cache"
DEFAULT_LIMIT_BYTES = 5 * 10**9
LIMIT_ENVIRONMENT = "EVBM_TRACE_CACHE_LIMIT_GB"
HASHES_FILE = "file-hashes.json"
HASHES_KEPT = 500  # captures whose hash is remembered, the most recently opened
# A file modified this recently may change again within its file system's timestamp
# resolution without its size or mtime changing: its hash is not remembered yet.
RACY_WINDOW_NS = 3 * 10**9
STALE_TEMPORARY_S = 3600  # a temporary folder this old belongs to a process that died

TRACES_SUFFIX = ".traces"
FRAMES_SUFFIX = ".frames"
TRACE_ARRAYS = {"time_s": np.float64, "values": np.float64, "valid": np.bool_}


class DamagedEntry(ValueError):
    """A cache entry that does not read back as written."""


@dataclass(frozen=True)
class CacheKey:
    """What decoded traces depend on."""

    capture_sha256: str
    database_sha256s: tuple[str, ...]
    decoder_version: str

    @property
    def digest(self) -> str:
        text = "\n".join(
            [f"format {CACHE_VERSION}", self.capture_sha256, *self.database_sha256s]
            + [f"decoder {self.decoder_version}"]
        )
        return hashlib.sha256(text.encode()).hexdigest()


class TraceCache:
    """``get(key)``/``put(key, traces)`` and ``get_capture``/``put_capture`` over a folder.

    ``key`` is a :class:`CacheKey` or any string (hashed as is). ``limit_bytes`` bounds the
    folder (:func:`configured_limit_bytes` by default). ``hits``, ``misses`` and
    ``files_hashed`` count what happened, for tests and logs.
    """

    def __init__(self, folder: str | Path | None = None, limit_bytes: int | None = None):
        self.folder = Path(folder) if folder is not None else paths.data_dir() / CACHE_FOLDER
        self.limit_bytes = limit_bytes if limit_bytes is not None else configured_limit_bytes()
        self.hits = 0
        self.misses = 0
        self.files_hashed = 0

    # -- decoded traces

    def path_for(self, key: CacheKey | str) -> Path:
        """The folder of the traces stored under ``key``."""
        digest = (
            key.digest if isinstance(key, CacheKey) else hashlib.sha256(key.encode()).hexdigest()
        )
        return self.folder / f"{digest}{TRACES_SUFFIX}"

    def get(self, key: CacheKey | str) -> list[Trace] | None:
        traces = self._read(self.path_for(key), read_traces_entry)
        if traces is None:
            self.misses += 1
            return None
        self.hits += 1
        log.info("trace cache: %d traces read from %s", len(traces), self.path_for(key).name)
        return traces

    def put(self, key: CacheKey | str, traces: Sequence[Trace]) -> None:
        """Store traces; a cache that cannot be written is logged and otherwise ignored (it
        only costs time next time)."""
        axes = {id(t.time_s): t.time_s.nbytes for t in traces}  # each shared axis once
        size = sum(t.values.nbytes + t.valid.nbytes for t in traces) + sum(axes.values())
        if self._write(self.path_for(key), size, lambda folder: write_traces_entry(traces, folder)):
            log.info("trace cache: %d traces written to %s", len(traces), self.path_for(key).name)

    # -- captures

    def capture_path_for(self, key: CacheKey) -> Path:
        """The folder of the capture ``key`` names (its sha256 and the reader's version)."""
        text = f"frames {CACHE_VERSION}\n{key.capture_sha256}\n{key.decoder_version}"
        return self.folder / f"{hashlib.sha256(text.encode()).hexdigest()}{FRAMES_SUFFIX}"

    def put_capture(self, key: CacheKey, capture) -> None:
        """Store a capture's frames and what was read about it (an app.formats.Capture)."""
        path = self.capture_path_for(key)
        if self._write(path, capture.frames.nbytes, lambda f: write_capture_entry(capture, f)):
            log.info("trace cache: %d frames written to %s", capture.frame_count, path.name)

    def get_capture(self, key: CacheKey, capture_path: str | Path):
        """The capture stored under ``key`` as an app.formats.Capture whose ``path`` is
        ``capture_path`` (where it is now), with read-only frames, or None."""
        path = self.capture_path_for(key)
        capture = self._read(path, lambda folder: read_capture_entry(folder, capture_path))
        if capture is not None:
            log.info("trace cache: %d frames read from %s", capture.frame_count, path.name)
        return capture

    # -- the capture's hash

    def capture_sha256(
        self, path: str | Path, hash_file: Callable[[str | Path], str] | None = None
    ) -> str:
        """The sha256 of the file at ``path``: remembered when its resolved path, size,
        mtime_ns, inode and ctime_ns are as when it was hashed, else ``hash_file(path)``
        (sha256 of the bytes by default; the pipeline's raises its own error for a file it
        cannot read)."""
        hash_file = hash_file or _sha256_of_file
        try:
            resolved = str(Path(path).resolve())
            before = _file_state(os.stat(resolved))
        except OSError:
            return hash_file(path)  # the hasher says what is wrong with the file

        hashes = self._load_hashes()
        known = hashes.get(resolved)
        if known is not None and known.get("state") == before:
            return known["sha256"]

        sha256 = hash_file(path)
        self.files_hashed += 1
        try:
            after = _file_state(os.stat(resolved))
        except OSError:
            return sha256
        settled = time.time_ns() - after[1] > RACY_WINDOW_NS
        if after == before and settled:
            self._remember_hash(resolved, after, sha256)
        return sha256

    def _load_hashes(self) -> dict:
        path = self.folder / HASHES_FILE
        try:
            hashes = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            log.warning("trace cache: ignoring unreadable %s: %s", path, exc)
            return {}
        return hashes if isinstance(hashes, dict) else {}

    def _remember_hash(self, resolved: str, state: list[int], sha256: str) -> None:
        hashes = self._load_hashes()  # again: another process may have added some
        hashes.pop(resolved, None)
        hashes[resolved] = {"state": state, "sha256": sha256}
        kept = dict(list(hashes.items())[-HASHES_KEPT:])  # the most recently remembered
        path = self.folder / HASHES_FILE
        temporary = self.folder / f".{HASHES_FILE}.{uuid.uuid4().hex}.tmp"
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            temporary.write_text(json.dumps(kept), encoding="utf-8")
            os.replace(temporary, path)
        except OSError as exc:
            log.warning("trace cache: cannot remember the hash of %s: %s", resolved, exc)
            temporary.unlink(missing_ok=True)

    # -- entries on disk

    def _read(self, path: Path, reader):
        """``reader(path)``, or None when the entry is missing or damaged (then it goes)."""
        if not path.is_dir():
            return None
        try:
            result = reader(path)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("trace cache: removing damaged entry %s: %s", path.name, exc)
            _remove_entry(path)
            return None
        try:
            os.utime(path)  # least recently used goes first when pruning
        except OSError as exc:
            log.debug("trace cache: cannot mark %s as used: %s", path.name, exc)
        return result

    def _write(self, path: Path, size_bytes: int, writer: Callable[[Path], None]) -> bool:
        """Write an entry into a temporary folder with ``writer`` and rename it to ``path``."""
        if size_bytes > self.limit_bytes:
            log.info(
                "trace cache: not storing %s: %d bytes, over the cache's limit of %d",
                path.name, size_bytes, self.limit_bytes,
            )  # fmt: skip
            return False
        temporary = self.folder / f".tmp-{path.name}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        try:
            temporary.mkdir(parents=True)
            writer(temporary)
            if path.exists():  # a damaged entry, or one another process wrote meanwhile
                _remove_entry(path)
            os.rename(temporary, path)
        except OSError as exc:
            log.warning("trace cache: cannot write %s: %s", path.name, exc)
            shutil.rmtree(temporary, ignore_errors=True)
            return False
        self.prune(keep=path)
        return True

    def entries(self) -> list[tuple[Path, int, float]]:
        """Every entry as (folder, bytes, last used), least recently used first."""
        found = []
        for path in self.folder.glob("*"):
            if path.name.startswith(".") or path.suffix not in (TRACES_SUFFIX, FRAMES_SUFFIX):
                continue
            try:
                size = sum(f.stat().st_size for f in path.iterdir())
                found.append((path, size, path.stat().st_mtime))
            except OSError:
                continue  # removed meanwhile by another process
        return sorted(found, key=lambda entry: entry[2])

    def prune(self, keep: Path | None = None) -> None:
        """Remove the least recently used entries until the folder is within its limit (never
        ``keep``, the entry just written), plus what a dead process or an older version of
        the cache left behind."""
        self._remove_leftovers()
        entries = self.entries()
        total = sum(size for _, size, _ in entries)
        for path, size, _ in entries:
            if total <= self.limit_bytes:
                break
            if path == keep:
                continue
            if _remove_entry(path):
                total -= size
                log.info(
                    "trace cache: removed %s (%d bytes) to stay within %d bytes",
                    path.name, size, self.limit_bytes,
                )  # fmt: skip

    def clear(self) -> None:
        for path, _, _ in self.entries():
            _remove_entry(path)

    def _remove_leftovers(self) -> None:
        now = time.time()
        for path in self.folder.glob(".tmp-*"):
            try:
                if now - path.stat().st_mtime > STALE_TEMPORARY_S:
                    shutil.rmtree(path, ignore_errors=True)
            except OSError:
                continue  # gone meanwhile
        for path in self.folder.glob("*.parquet"):  # entries of cache version 1
            path.unlink(missing_ok=True)


def configured_limit_bytes() -> int:
    """The cache's size limit: ``EVBM_TRACE_CACHE_LIMIT_GB`` (decimal gigabytes) when set."""
    text = os.environ.get(LIMIT_ENVIRONMENT, "").strip()
    if not text:
        return DEFAULT_LIMIT_BYTES
    try:
        return max(0, int(float(text) * 10**9))
    except ValueError:
        log.warning("%s=%r is not a number of gigabytes; using 5", LIMIT_ENVIRONMENT, text)
        return DEFAULT_LIMIT_BYTES


def _remove_entry(path: Path) -> bool:
    """Remove an entry: renamed aside first, so no reader sees it half removed."""
    aside = path.with_name(f".tmp-removed-{path.name}-{uuid.uuid4().hex[:8]}")
    try:
        os.rename(path, aside)
    except FileNotFoundError:
        return False
    except OSError as exc:  # e.g. still mapped by a window on Windows: try next time
        log.warning("trace cache: cannot remove %s: %s", path.name, exc)
        return False
    shutil.rmtree(aside, ignore_errors=True)
    return True


def _file_state(stat: os.stat_result) -> list[int]:
    return [stat.st_size, stat.st_mtime_ns, stat.st_ino, stat.st_ctime_ns]


def _sha256_of_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while block := stream.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


# ---------------------------------------------------------------------------------------------
# Entries: .npy arrays memory-mapped read-only, beside a JSON index


def write_traces_entry(traces: Sequence[Trace], folder: Path) -> None:
    """``time_s.npy`` (each time axis once), ``values.npy``, ``valid.npy`` and ``index.json``
    (written last) into ``folder``."""
    axes: list[np.ndarray] = []
    axis_of: dict[int, int] = {}  # id of a time array -> its position in ``axes``
    described = []
    for trace in traces:
        axis = axis_of.setdefault(id(trace.time_s), len(axes))
        if axis == len(axes):
            axes.append(trace.time_s)
        described.append(_describe(trace, len(trace)) | {"axis": axis})

    _save_joined(folder / "time_s.npy", axes, np.float64)
    _save_joined(folder / "values.npy", [t.values for t in traces], np.float64)
    _save_joined(folder / "valid.npy", [t.valid for t in traces], np.bool_)
    index = {"version": CACHE_VERSION, "axes": [len(a) for a in axes], "traces": described}
    (folder / "index.json").write_text(json.dumps(index), encoding="utf-8")


def read_traces_entry(folder: Path) -> list[Trace]:
    index = _read_index(folder / "index.json")
    axis_lengths = [int(n) for n in index["axes"]]
    described = index["traces"]
    samples = sum(int(entry["count"]) for entry in described)
    times = _load(folder / "time_s.npy", np.float64, (sum(axis_lengths),))
    values = _load(folder / "values.npy", np.float64, (samples,))
    valid = _load(folder / "valid.npy", np.bool_, (samples,))

    starts = np.concatenate([[0], np.cumsum(axis_lengths)]).astype(int)
    axes = [times[starts[i] : starts[i + 1]] for i in range(len(axis_lengths))]
    traces = []
    start = 0
    for entry in described:
        count, axis = int(entry["count"]), int(entry["axis"])
        if not 0 <= axis < len(axes) or len(axes[axis]) != count:
            raise DamagedEntry(f"trace {entry.get('key')}: {count} samples, time axis {axis}")
        end = start + count
        traces.append(_rebuild(entry, axes[axis], values[start:end], valid[start:end]))
        start = end
    return traces


def write_capture_entry(capture, folder: Path) -> None:
    """A capture's frame table, one ``.npy`` per column, and ``capture.json`` (last)."""
    frames = capture.frames
    for column in fields(frames):
        np.save(folder / f"{column.name}.npy", np.ascontiguousarray(getattr(frames, column.name)))
    report = asdict(capture.timestamp_report)
    report["backward_frames"] = [int(i) for i in report["backward_frames"]]
    described = {
        "version": CACHE_VERSION,
        "frames": len(frames),
        "width": int(frames.data.shape[1]),
        "capture_format": capture.format,
        "format_title": capture.format_title,
        "start_time_epoch": capture.start_time_epoch,
        "skipped_total": capture.skipped_total,
        "issues": [[i.kind, i.line, i.detail] for i in capture.issues],
        "timestamp_report": report,
    }
    (folder / "capture.json").write_text(json.dumps(described), encoding="utf-8")


def read_capture_entry(folder: Path, capture_path: str | Path):
    from app.formats import Capture, ReadIssue  # the formats package only when it is used
    from app.frames import FrameTable
    from app.timestamps import TimestampReport

    described = _read_index(folder / "capture.json")
    n, width = int(described["frames"]), int(described["width"])
    empty = FrameTable.empty(0, width)
    columns = {}
    for column in fields(FrameTable):
        dtype = getattr(empty, column.name).dtype
        shape = (n, width) if column.name == "data" else (n,)
        columns[column.name] = _load(folder / f"{column.name}.npy", dtype, shape)
    return Capture(
        path=Path(capture_path),
        format=described["capture_format"],
        frames=FrameTable(**columns),
        issues=[ReadIssue(kind, line, detail) for kind, line, detail in described["issues"]],
        start_time_epoch=described["start_time_epoch"],
        timestamp_report=TimestampReport(**described["timestamp_report"]),
        format_title=described["format_title"],
        skipped_total=described["skipped_total"],
    )


def _save_joined(path: Path, parts: Sequence[np.ndarray], dtype) -> None:
    """One ``.npy`` of ``parts`` end to end, written part by part (no joined copy)."""
    dtype = np.dtype(dtype)
    header = {
        "descr": np.lib.format.dtype_to_descr(dtype),
        "fortran_order": False,
        "shape": (sum(len(p) for p in parts),),
    }
    with open(path, "wb") as stream:
        np.lib.format.write_array_header_1_0(stream, header)
        for part in parts:
            stream.write(np.ascontiguousarray(part, dtype).data)


def _load(path: Path, dtype, shape: tuple[int, ...]) -> np.ndarray:
    """The array in ``path`` memory-mapped read-only, as a plain ndarray view."""
    array = np.load(path, mmap_mode="r", allow_pickle=False)
    if array.dtype != np.dtype(dtype) or array.shape != shape:
        raise DamagedEntry(
            f"{path.name}: {array.dtype} {array.shape}, expected {np.dtype(dtype)} {shape}"
        )
    return np.asarray(array)


def _read_index(path: Path) -> dict:
    index = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(index, dict) or index.get("version") != CACHE_VERSION:
        raise DamagedEntry(f"{path.name}: not an index of cache version {CACHE_VERSION}")
    return index


# ---------------------------------------------------------------------------------------------
# Traces <-> Arrow and Parquet (the export format of a session's traces)


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
        "format": PARQUET_FORMAT_VERSION,
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
    if described.get("format") != PARQUET_FORMAT_VERSION:
        raise ValueError(
            f"trace file format {described.get('format')}, expected {PARQUET_FORMAT_VERSION}"
        )
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
