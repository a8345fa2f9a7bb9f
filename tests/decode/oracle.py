"""cantools' ``decode_message`` as the oracle for :func:`app.decode.decode_frames`.

The frames' timestamps are replaced by their row numbers, so every sample of a trace names
the frame it came from and can be compared with cantools' decoding of that frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import cantools
import numpy as np

from app.decode import EXTENDED_FLAG, decode_frames
from app.frames import FrameTable


@dataclass
class Comparison:
    compared: int = 0
    frames_decoded: int = 0
    unknown_multiplexer_frames: int = 0
    mismatches: list[str] = field(default_factory=list)
    result: object = None  # our DecodeResult


def numbered(frames: FrameTable) -> FrameTable:
    """The same frames with timestamp = row number."""
    return replace(frames, timestamp=np.arange(len(frames), dtype=np.float64))


def cantools_reference(frames: FrameTable, database) -> tuple[dict, set[int], int]:
    """(message name, signal) -> {row: value}; rows with unknown multiplexer values; count."""
    by_id = {}
    for message in database.db.messages:
        if message.protocol == "j1939" or getattr(message, "is_container", False):
            continue
        key = (message.frame_id & ~EXTENDED_FLAG, bool(message.is_extended_frame))
        by_id[key] = message
    expected: dict[tuple[str, str], dict[int, float]] = {}
    unknown_mux_rows: set[int] = set()
    decoded = 0
    for row in range(len(frames)):
        if frames.is_error[row] or frames.is_remote[row]:
            continue
        if database.channel is not None and frames.channel[row] != database.channel:
            continue
        message = by_id.get((int(frames.arbitration_id[row]), bool(frames.is_extended_id[row])))
        if message is None:
            continue
        try:
            values = message.decode(
                frames.payload(row), decode_choices=False, scaling=True, allow_truncated=True
            )
        except cantools.database.DecodeError as exc:
            if "multiplexer" in str(exc):
                unknown_mux_rows.add(row)
                continue
            raise
        decoded += 1
        for signal, value in values.items():
            expected.setdefault((message.name, signal), {})[row] = float(value)
    return expected, unknown_mux_rows, decoded


def compare(frames: FrameTable, databases) -> Comparison:
    """Decode ``frames`` both ways and list every difference."""
    frames = numbered(frames)
    result = decode_frames(frames, databases)
    comparison = Comparison(result=result)

    ours: dict[tuple[str, str], dict[int, float]] = {}
    for trace in result.traces:
        key = (trace.extra["dbc_message"], trace.signal)
        samples = ours.setdefault(key, {})
        for row, value in zip(trace.time_s.astype(int), trace.values, strict=True):
            samples[int(row)] = float(value)

    for database in databases:
        expected, unknown_rows, decoded = cantools_reference(frames, database)
        comparison.frames_decoded += decoded
        comparison.unknown_multiplexer_frames += len(unknown_rows)
        for key, rows in expected.items():
            got = ours.get(key, {})
            for row, value in rows.items():
                comparison.compared += 1
                if row not in got:
                    comparison.mismatches.append(f"{key} row {row}: missing, cantools {value}")
                elif not _same(got[row], value):
                    comparison.mismatches.append(
                        f"{key} row {row}: ours {got[row]!r}, cantools {value!r}"
                    )
        for key, rows in ours.items():
            for row, value in rows.items():
                if row in unknown_rows or math.isnan(value):
                    continue
                if row not in expected.get(key, {}) and _owned(database, key):
                    comparison.mismatches.append(f"{key} row {row}: ours {value}, cantools none")
    return comparison


def _owned(database, key) -> bool:
    return any(m.name == key[0] for m in database.db.messages)


def _same(ours: float, theirs: float) -> bool:
    if math.isnan(ours) and math.isnan(theirs):
        return True
    if math.isinf(theirs) or math.isinf(ours):
        return ours == theirs
    return math.isclose(ours, theirs, rel_tol=1e-9, abs_tol=1e-9)
