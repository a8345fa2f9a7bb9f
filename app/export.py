"""Exports: labels, labelled data slices, a session's traces.

Labels go out as CSV or JSON with the columns Grafana's PostgreSQL annotation queries read
(``time`` and ``timeend`` in epoch milliseconds, ``text``, ``tags`` as a comma-separated
string in CSV and a list in JSON), followed by every field of the label, so importing the
file gives back the same labels. When the wall clock of a session is unknown, ``time`` and
``timeend`` count from the epoch (the session's seconds times 1000); ``start_s`` and
``end_s`` always hold the session's own seconds.

Data slices (for model training) hold, for each label, every trace's samples from the
label's start minus a margin to its end plus the margin, one row per sample with the label's
id and class. A session's traces go out as Parquet (the trace cache's layout, readable by
pandas and by :func:`read_traces`), CSV (one row per sample), or MF4 when asammdf is there.

Every writer writes into a temporary file beside the destination and renames it over the
destination only when complete; a destination that cannot be written raises
:class:`ExportError` naming it, and leaves what was there before untouched.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from app.errors import ExportError
from app.labels import Label, LabelError, Taxonomy
from app.trace_cache import read_traces_parquet, traces_to_table, write_traces_parquet
from app.traces import Trace

log = logging.getLogger(__name__)

LABEL_COLUMNS = (
    "time", "timeend", "text", "tags",  # what Grafana's annotation query reads
    "class", "source", "session", "vehicle",
    "id", "start_s", "end_s", "origin_epoch_s", "note", "author", "confidence", "status",
    "created_at", "modified_at", "version",
)  # fmt: skip
TRACE_FORMATS = ("parquet", "csv", "mf4")


@contextmanager
def atomic_output(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` when the block ends
    without error. Any OSError becomes an ExportError naming ``path``."""
    path = Path(path)
    # the real suffix last: some writers (asammdf) insist on it
    temporary = path.with_name(f".{path.stem}.{os.getpid()}.part{path.suffix}")
    if not path.parent.is_dir():
        raise ExportError(f"{path}: cannot export there: the folder {path.parent} does not exist")
    try:
        yield temporary
        os.replace(temporary, path)
    except OSError as exc:
        raise ExportError(f"{path}: cannot write the export: {exc.strerror or exc}") from exc
    finally:
        try:
            temporary.unlink(missing_ok=True)
        except OSError:  # an unwritable folder: there is no temporary file to remove either
            pass
    log.info("exported %s", path)


def _format(path: Path, given: str | None, allowed: Sequence[str]) -> str:
    name = (given or path.suffix.lstrip(".")).lower()
    name = {"mdf": "mf4", "pq": "parquet"}.get(name, name)
    if name not in allowed:
        raise ExportError(f"{path}: unknown export format {name!r}; use one of {allowed}")
    return name


# ---------------------------------------------------------------------------------------------
# Labels


def label_records(
    labels: Iterable[Label],
    vehicles: Mapping[str, str] | None = None,
    taxonomy: Taxonomy | None = None,
) -> list[dict]:
    """One dict per label with :data:`LABEL_COLUMNS`; ``vehicles`` maps session -> vehicle."""
    records = []
    for label in labels:
        origin = label.origin_epoch_s or 0.0
        class_name = taxonomy.get(label.label_class).name if taxonomy else label.label_class
        records.append(
            {
                "time": int(round((origin + label.start_s) * 1000)),
                "timeend": int(round((origin + label.end_s) * 1000)),
                "text": f"{class_name}: {label.note}" if label.note else class_name,
                "tags": list(label.tags),
                "class": label.label_class,
                "source": label.source,
                "session": label.session,
                "vehicle": (vehicles or {}).get(label.session, ""),
                "id": label.id,
                "start_s": label.start_s,
                "end_s": label.end_s,
                "origin_epoch_s": label.origin_epoch_s,
                "note": label.note,
                "author": label.author,
                "confidence": label.confidence,
                "status": label.status,
                "created_at": label.created_at,
                "modified_at": label.modified_at,
                "version": label.version,
            }
        )
    return records


def write_labels(
    labels: Iterable[Label],
    path: str | Path,
    format: str | None = None,
    vehicles: Mapping[str, str] | None = None,
    taxonomy: Taxonomy | None = None,
) -> int:
    """Write labels as ``csv`` or ``json`` (from the suffix unless ``format`` says)."""
    path = Path(path)
    kind = _format(path, format, ("csv", "json"))
    records = label_records(labels, vehicles, taxonomy)
    with atomic_output(path) as temporary:
        if kind == "json":
            temporary.write_text(json.dumps(records, indent=1) + "\n", encoding="utf-8")
        else:
            with open(temporary, "w", newline="", encoding="utf-8") as stream:
                writer = csv.DictWriter(stream, LABEL_COLUMNS)
                writer.writeheader()
                for record in records:
                    writer.writerow(_csv_cells(record))
    return len(records)


def read_labels(path: str | Path, format: str | None = None) -> list[Label]:
    """Read labels written by :func:`write_labels`. A bad row raises ExportError naming the
    file and the line (CSV) or entry (JSON)."""
    path = Path(path)
    kind = _format(path, format, ("csv", "json"))
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ExportError(f"{path}: cannot read labels: {exc}") from exc

    if kind == "json":
        try:
            records = json.loads(text)
        except ValueError as exc:
            raise ExportError(f"{path}: not valid JSON: {exc}") from exc
        if not isinstance(records, list):
            raise ExportError(f"{path}: expected a list of labels")
        numbered = [(f"entry {i + 1}", r) for i, r in enumerate(records)]
    else:
        reader = csv.DictReader(io.StringIO(text, newline=""))
        missing = {"id", "session", "start_s", "end_s", "class"} - set(reader.fieldnames or ())
        if missing:
            raise ExportError(f"{path}, line 1: missing columns {', '.join(sorted(missing))}")
        numbered = [(f"line {reader.line_num}", row) for row in reader]

    labels = []
    for where, record in numbered:
        try:
            labels.append(_label_from_record(record))
        except (KeyError, TypeError, ValueError, LabelError) as exc:
            raise ExportError(f"{path}, {where}: not a label: {exc}") from exc
    return labels


def _csv_cells(record: dict) -> dict:
    cells = dict(record)
    cells["tags"] = ",".join(record["tags"])
    for name, value in cells.items():
        if value is None:
            cells[name] = ""
        elif isinstance(value, float):
            cells[name] = repr(value)  # the shortest text that reads back to the same float
    return cells


def _label_from_record(record: Mapping) -> Label:
    def number(name: str) -> float | None:
        value = record.get(name)
        return None if value in (None, "") else float(value)

    tags = record.get("tags") or ()
    return Label(
        id=str(record["id"]),
        session=str(record["session"]),
        start_s=float(record["start_s"]),
        end_s=float(record["end_s"]),
        label_class=str(record["class"]),
        note=str(record.get("note") or ""),
        tags=tags.split(",") if isinstance(tags, str) else tuple(tags),
        author=str(record.get("author") or ""),
        source=str(record.get("source") or "technician"),
        confidence=number("confidence"),
        status=str(record.get("status") or "accepted"),
        origin_epoch_s=number("origin_epoch_s"),
        created_at=number("created_at") or 0.0,
        modified_at=number("modified_at") or 0.0,
        version=int(float(record.get("version") or 1)),
    )


# ---------------------------------------------------------------------------------------------
# Labelled data slices


def slices_table(labels: Iterable[Label], traces: Sequence[Trace], margin_s: float = 0.0):
    """A table with one row per sample of each trace inside each label's range +- margin:
    ``label_id``, ``class``, ``trace``, ``unit``, ``time_s``, ``offset_s`` (from the label's
    start), ``value``, ``valid``."""
    labels = list(labels)
    label_rows, trace_rows, time_parts, offset_parts, value_parts, valid_parts = (
        [] for _ in range(6)
    )
    for label_index, label in enumerate(labels):
        start, end = label.start_s - margin_s, label.end_s + margin_s
        for trace_index, trace in enumerate(traces):
            first = int(np.searchsorted(trace.time_s, start, side="left"))
            last = int(np.searchsorted(trace.time_s, end, side="right"))
            if last <= first:
                continue
            time_s = trace.time_s[first:last]
            label_rows.append(np.full(last - first, label_index, np.int32))
            trace_rows.append(np.full(last - first, trace_index, np.int32))
            time_parts.append(time_s)
            offset_parts.append(time_s - label.start_s)
            value_parts.append(trace.values[first:last])
            valid_parts.append(trace.valid[first:last])

    def joined(parts: list, dtype) -> np.ndarray:
        return np.concatenate(parts).astype(dtype, copy=False) if parts else np.zeros(0, dtype)

    def encoded(rows: list, words: list[str]) -> pa.DictionaryArray:
        return pa.DictionaryArray.from_arrays(
            pa.array(joined(rows, np.int32)), pa.array(words, pa.string())
        )

    return pa.table(
        {
            "label_id": encoded(label_rows, [label.id for label in labels]),
            "class": encoded(label_rows, [label.label_class for label in labels]),
            "trace": encoded(trace_rows, [trace.key for trace in traces]),
            "unit": encoded(trace_rows, [trace.unit for trace in traces]),
            "time_s": joined(time_parts, np.float64),
            "offset_s": joined(offset_parts, np.float64),
            "value": joined(value_parts, np.float64),
            "valid": joined(valid_parts, bool),
        }
    )


def write_slices(
    labels: Iterable[Label],
    traces: Sequence[Trace],
    path: str | Path,
    margin_s: float = 0.0,
    format: str | None = None,
) -> int:
    """Write labelled slices as one ``parquet`` or ``csv`` file; returns the row count."""
    path = Path(path)
    kind = _format(path, format, ("parquet", "csv"))
    if margin_s < 0:
        raise ExportError(f"{path}: the margin must not be negative (got {margin_s} s)")
    table = slices_table(labels, traces, margin_s)
    with atomic_output(path) as temporary:
        _write_table(table, temporary, kind)
    return table.num_rows


def read_slices(path: str | Path):
    """The slices file as a pandas DataFrame (Parquet or CSV)."""
    path = Path(path)
    kind = _format(path, None, ("parquet", "csv"))
    if kind == "parquet":
        return pq.read_table(path).to_pandas()
    return pa_csv.read_csv(path).to_pandas()


def _write_table(table: pa.Table, path: Path, kind: str) -> None:
    if kind == "parquet":
        pq.write_table(table, path, compression="zstd")
    else:
        plain = table.cast(
            pa.schema(
                [
                    pa.field(f.name, pa.string() if pa.types.is_dictionary(f.type) else f.type)
                    for f in table.schema
                ]
            )
        )
        pa_csv.write_csv(plain, path)


# ---------------------------------------------------------------------------------------------
# A session's traces


def write_traces(
    traces: Sequence[Trace],
    path: str | Path,
    format: str | None = None,
    progress: Callable[[int, int], bool] | None = None,
) -> None:
    """Write a session's decoded traces as ``parquet``, ``csv`` or ``mf4``."""
    path = Path(path)
    kind = _format(path, format, TRACE_FORMATS)
    if kind == "mf4":
        _require_asammdf(path)
    with atomic_output(path) as temporary:
        if kind == "parquet":
            write_traces_parquet(traces, temporary, compression="zstd")
        elif kind == "csv":
            _write_traces_csv(traces, temporary)
        else:
            _write_traces_mf4(traces, temporary)


def read_traces(path: str | Path, format: str | None = None) -> list[Trace]:
    """Read traces written by :func:`write_traces` (CSV keeps key, unit and samples only)."""
    path = Path(path)
    kind = _format(path, format, TRACE_FORMATS)
    try:
        if kind == "parquet":
            return read_traces_parquet(path)
        if kind == "csv":
            return _read_traces_csv(path)
        _require_asammdf(path)
        return _read_traces_mf4(path)
    except (OSError, ValueError, KeyError, pa.ArrowException) as exc:
        raise ExportError(f"{path}: cannot read traces: {exc}") from exc


def _write_traces_csv(traces: Sequence[Trace], path: Path) -> None:
    table = traces_to_table(traces).replace_schema_metadata(None)
    rows = np.repeat(np.arange(len(traces), dtype=np.int32), [len(t) for t in traces])
    units = pa.DictionaryArray.from_arrays(
        pa.array(rows), pa.array([t.unit for t in traces], pa.string())
    )
    table = table.add_column(1, "unit", units)
    _write_table(table, path, "csv")


def _read_traces_csv(path: Path) -> list[Trace]:
    table = pa_csv.read_csv(path)
    keys = table.column("trace").to_numpy(zero_copy_only=False)
    units = table.column("unit").to_numpy(zero_copy_only=False)
    time_s = table.column("time_s").to_numpy().astype(np.float64)
    values = table.column("value").to_numpy().astype(np.float64)
    valid = table.column("valid").to_numpy(zero_copy_only=False).astype(bool)
    if len(keys) == 0:
        return []
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    ends = np.r_[starts[1:], len(keys)]
    traces = []
    for first, last in zip(starts, ends, strict=True):
        channel, message, signal = str(keys[first]).split("/", 2)
        unit = units[first] if isinstance(units[first], str) else ""
        traces.append(
            Trace(
                signal, message, int(channel), time_s[first:last].copy(),
                values[first:last].copy(), valid[first:last].copy(), unit=unit,
            )
        )  # fmt: skip
    return traces


def _require_asammdf(path: Path) -> None:
    try:
        import asammdf  # noqa: F401  (optional extra)
    except ImportError as exc:
        raise ExportError(
            f"{path}: MF4 needs the optional asammdf package "
            "(pip install 'ev-battery-monitor[mf4]')"
        ) from exc


def _write_traces_mf4(traces: Sequence[Trace], path: Path) -> None:
    from asammdf import MDF, Signal

    # one channel group per message and time base, as a logger would record it
    groups: dict[tuple, list[Trace]] = {}
    for trace in traces:
        groups.setdefault((trace.channel, trace.message, len(trace)), []).append(trace)

    mdf = MDF(version="4.10")
    for (_channel, message, _n), members in groups.items():
        for batch in _same_time_base(members):
            signals = [
                Signal(
                    samples=np.asarray(t.values, np.float64),
                    timestamps=np.asarray(t.time_s, np.float64),
                    name=t.signal,
                    unit=t.unit,
                    comment=t.key,
                    invalidation_bits=~np.asarray(t.valid, bool),
                )
                for t in batch
            ]
            mdf.append(signals, acq_name=message, comment=message)
    mdf.save(path, overwrite=True)
    mdf.close()


def _same_time_base(traces: list[Trace]) -> list[list[Trace]]:
    batches: list[list[Trace]] = []
    for trace in traces:
        for batch in batches:
            if np.array_equal(batch[0].time_s, trace.time_s):
                batch.append(trace)
                break
        else:
            batches.append([trace])
    return batches


def _read_traces_mf4(path: Path) -> list[Trace]:
    from asammdf import MDF

    traces = []
    with MDF(path) as mdf:
        for group_index, group in enumerate(mdf.groups):
            for channel_index, channel in enumerate(group.channels):
                if channel_index == mdf.masters_db.get(group_index) or channel.channel_type == 2:
                    continue  # the time channel
                signal = mdf.get(
                    group=group_index, index=channel_index, ignore_invalidation_bits=True
                )
                key = signal.comment or f"0/{group_index}/{signal.name}"
                channel_no, message, name = key.split("/", 2)
                invalid = signal.invalidation_bits
                valid = (
                    np.ones(len(signal.samples), bool) if invalid is None else ~np.asarray(invalid)
                )
                traces.append(
                    Trace(
                        name, message, int(channel_no), np.asarray(signal.timestamps, np.float64),
                        np.asarray(signal.samples, np.float64), valid, unit=signal.unit or "",
                    )
                )  # fmt: skip
    return traces
