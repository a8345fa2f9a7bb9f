"""cantools' ``decode_message`` as the oracle for :func:`app.decode.decode_frames`.

The frames' timestamps are replaced by their row numbers, so every sample of a trace names
the frame it came from and can be compared with cantools' decoding of that frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import cantools
import numpy as np
from cantools.database.errors import DecodeError
from cantools.database.utils import create_encode_decode_formats, decode_data

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
    by_pgn = {}
    for message in database.db.messages:
        if getattr(message, "is_container", False):
            continue
        by_id[(message.frame_id & ~EXTENDED_FLAG, bool(message.is_extended_frame))] = message
        if message.protocol == "j1939" and message.is_extended_frame:
            # other source addresses of the same parameter group: the first message wins
            by_pgn.setdefault(pgn_of(message.frame_id), message)
    expected: dict[tuple[str, str], dict[int, float]] = {}
    unknown_mux_rows: set[int] = set()
    decoded = 0
    for row in range(len(frames)):
        if frames.is_error[row] or frames.is_remote[row]:
            continue
        if database.channel is not None and frames.channel[row] != database.channel:
            continue
        frame_id, extended = int(frames.arbitration_id[row]), bool(frames.is_extended_id[row])
        message = by_id.get((frame_id, extended))
        if message is None and extended:
            message = by_pgn.get(pgn_of(frame_id))
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
            if "unpacking failed" not in str(exc):
                raise
            # Overlapping signals defeat cantools' unpacker: ask it one signal at a time.
            values = decode_one_by_one(message, frames.payload(row))
            if values is None:
                unknown_mux_rows.add(row)
                continue
        decoded += 1
        for signal, value in values.items():
            expected.setdefault((message.name, signal), {})[row] = float(value)
    return expected, unknown_mux_rows, decoded


def pgn_of(frame_id: int) -> int:
    """J1939 parameter group number, written out here from SAE J1939-21 (not app.decode)."""
    data_page = (frame_id >> 24) & 0x3
    pdu_format = (frame_id >> 16) & 0xFF
    pdu_specific = (frame_id >> 8) & 0xFF
    if pdu_format < 240:
        pdu_specific = 0  # PDU1: the specific byte is a destination address
    return (data_page << 16) | (pdu_format << 8) | pdu_specific


def decode_one_by_one(message, payload: bytes) -> dict | None:
    """cantools' decoding of each signal on its own; None for an unknown multiplexer value."""
    values: dict[str, float] = {}
    raw: dict[str, int] = {}
    pending = list(message.signals)
    while pending:
        progressed = False
        for signal in list(pending):
            parent = signal.multiplexer_signal
            if parent is not None and parent not in raw:
                if parent not in {s.name for s in pending}:
                    pending.remove(signal)  # its multiplexer did not fit or did not match
                continue
            pending.remove(signal)
            progressed = True
            if parent is not None and raw[parent] not in signal.multiplexer_ids:
                continue
            for scaling, target in ((True, values), (False, raw)):
                try:
                    decoded = decode_data(
                        payload,
                        message.length,
                        [signal],
                        create_encode_decode_formats([signal], message.length),
                        False,
                        scaling,
                        True,
                        True,
                    )
                except DecodeError:
                    decoded = {}  # the signal reaches past the message: cantools has no value
                target.update(decoded)
        if not progressed:
            break
    for signal in message.signals:
        if signal.is_multiplexer and signal.name in raw:
            known = {i for s in message.signals if s.multiplexer_signal == signal.name
                     for i in s.multiplexer_ids or ()}  # fmt: skip
            if known and raw[signal.name] not in known:
                return None
    return values


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
