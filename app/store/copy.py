"""PostgreSQL's binary COPY format, built and read with numpy, never a Python loop per row.

A binary COPY stream is a signature and two zero words, then one tuple after another (a
16-bit field count, and per field a 32-bit length and the big-endian value), then -1 as a
16-bit word. Every tuple here has fixed-width fields, so a tuple is one numpy record.
"""

from __future__ import annotations

import numpy as np

HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
TRAILER = b"\xff\xff"

# PostgreSQL counts time from 2000-01-01 UTC in microseconds
PG_EPOCH_UNIX_US = 946_684_800_000_000

SAMPLE_ROW = np.dtype(
    [
        ("fields", ">i2"),
        ("time_len", ">i4"),
        ("time_us", ">i8"),
        ("session_len", ">i4"),
        ("session_id", ">i4"),
        ("signal_len", ">i4"),
        ("signal_id", ">i4"),
        ("value_len", ">i4"),
        ("value", ">f8"),
    ]
)

MINUTE_ROW = np.dtype(
    [
        ("fields", ">i2"),
        ("bucket_len", ">i4"),
        ("bucket_us", ">i8"),
        ("session_len", ">i4"),
        ("session_id", ">i4"),
        ("signal_len", ">i4"),
        ("signal_id", ">i4"),
        ("min_len", ">i4"),
        ("min_value", ">f8"),
        ("max_len", ">i4"),
        ("max_value", ">f8"),
        ("mean_len", ">i4"),
        ("mean_value", ">f8"),
        ("count_len", ">i4"),
        ("sample_count", ">i8"),
    ]
)

# what ``COPY (SELECT time, value ...) TO STDOUT (FORMAT BINARY)`` sends back
TIME_VALUE_ROW = np.dtype(
    [
        ("fields", ">i2"),
        ("time_len", ">i4"),
        ("time_us", ">i8"),
        ("value_len", ">i4"),
        ("value", ">f8"),
    ]
)


def _fill_lengths(rows: np.ndarray) -> None:
    rows["fields"] = (len(rows.dtype.names) - 1) // 2
    for name in rows.dtype.names:
        if name.endswith("_len"):
            rows[name] = 4 if rows.dtype[rows.dtype.names.index(name) + 1].itemsize == 4 else 8


def sample_rows(
    time_us: np.ndarray, session_id: int, signal_ids: np.ndarray, values: np.ndarray
) -> bytes:
    """Tuples of (time, session_id, signal_id, value); ``time_us`` is PostgreSQL's clock."""
    rows = np.empty(len(time_us), dtype=SAMPLE_ROW)
    _fill_lengths(rows)
    rows["time_us"] = time_us
    rows["session_id"] = session_id
    rows["signal_id"] = signal_ids
    rows["value"] = values
    return rows.tobytes()


def minute_rows(
    bucket_us: np.ndarray,
    session_id: int,
    signal_ids: np.ndarray,
    minimum: np.ndarray,
    maximum: np.ndarray,
    mean: np.ndarray,
    count: np.ndarray,
) -> bytes:
    rows = np.empty(len(bucket_us), dtype=MINUTE_ROW)
    _fill_lengths(rows)
    rows["bucket_us"] = bucket_us
    rows["session_id"] = session_id
    rows["signal_id"] = signal_ids
    rows["min_value"] = minimum
    rows["max_value"] = maximum
    rows["mean_value"] = mean
    rows["sample_count"] = count
    return rows.tobytes()


def parse_time_value(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """(time_us on PostgreSQL's clock, value) from a binary COPY of two NOT NULL columns."""
    if not data:
        return np.empty(0, np.int64), np.empty(0, np.float64)
    if not data.startswith(HEADER[:11]):
        raise ValueError("not a binary COPY stream")
    extension = int.from_bytes(data[15:19], "big")
    body = memoryview(data)[19 + extension : len(data) - len(TRAILER)]
    rows = np.frombuffer(body, dtype=TIME_VALUE_ROW)
    return rows["time_us"].astype(np.int64), rows["value"].astype(np.float64)
