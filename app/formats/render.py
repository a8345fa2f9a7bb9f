"""Vectorised text building for the fast writers: numbers to ASCII columns, lines to bytes.

A line is a list of *parts*: constant bytes, or an ``(n, w)`` matrix of characters with a
mask of the ones to keep. :func:`assemble` lays the parts side by side and keeps the masked
characters row by row, which gives every line its own length without a Python loop.
"""

from __future__ import annotations

import numpy as np

HEX_UPPER = np.frombuffer(b"0123456789ABCDEF", np.uint8)
SPACE = ord(" ")

Part = bytes | tuple[np.ndarray, np.ndarray]


def decimal(values: np.ndarray, min_digits: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Non-negative integers as right-aligned ASCII digits without leading zeros."""
    values = np.asarray(values, np.int64)
    top = int(values.max()) if len(values) else 0
    width = max(len(str(top)), min_digits)
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    digits = (values[:, None] // powers) % 10
    chars = (digits + 48).astype(np.uint8)
    length = np.maximum(_digit_count(values), min_digits)
    keep = np.arange(width) >= (width - length)[:, None]
    return chars, keep


def _digit_count(values: np.ndarray) -> np.ndarray:
    count = np.ones(len(values), np.int64)
    limit = 10
    while True:
        more = values >= limit
        if not more.any():
            return count
        count += more
        limit *= 10


def hex_fixed(values: np.ndarray, width: int) -> np.ndarray:
    """Integers as upper-case hex with leading zeros, ``(n, width)``."""
    values = np.asarray(values, np.uint64)
    shifts = (4 * np.arange(width - 1, -1, -1)).astype(np.uint64)
    return HEX_UPPER[((values[:, None] >> shifts) & np.uint64(15)).astype(np.intp)]


def hex_trimmed(
    values: np.ndarray, width: int, min_digits: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """Upper-case hex without leading zeros (at least ``min_digits``)."""
    chars = hex_fixed(values, width)
    values = np.asarray(values, np.uint64)
    length = np.full(len(values), min_digits, np.int64)
    for k in range(min_digits, width):
        length = np.where(values >> np.uint64(4 * k) != 0, k + 1, length)
    keep = np.arange(width) >= (width - length)[:, None]
    return chars, keep


def data_bytes(
    data: np.ndarray, lengths: np.ndarray, separator: bytes = b" "
) -> tuple[np.ndarray, np.ndarray]:
    """Payloads as hex pairs, ``separator`` between them; ``lengths`` bytes per row."""
    n, width = data.shape
    step = 2 + len(separator)
    chars = np.zeros((n, width * step), np.uint8)
    chars[:, 0::step] = HEX_UPPER[data >> 4]
    chars[:, 1::step] = HEX_UPPER[data & 15]
    for i, c in enumerate(separator):
        chars[:, 2 + i :: step] = c
    used = lengths * step - len(separator)
    keep = np.arange(width * step) < np.maximum(used, 0)[:, None]
    return chars, keep


def padding(lengths: np.ndarray, width: int, char: int = SPACE) -> tuple[np.ndarray, np.ndarray]:
    """``lengths`` copies of ``char`` per row (for left-aligned fields)."""
    chars = np.full((len(lengths), width), char, np.uint8)
    return chars, np.arange(width) < np.asarray(lengths)[:, None]


def choose(condition: np.ndarray, if_true: bytes, if_false: bytes) -> tuple[np.ndarray, np.ndarray]:
    """One of two words per row."""
    width = max(len(if_true), len(if_false))
    a = np.frombuffer(if_true.ljust(width), np.uint8)
    b = np.frombuffer(if_false.ljust(width), np.uint8)
    chars = np.where(condition[:, None], a, b).astype(np.uint8)
    lengths = np.where(condition, len(if_true), len(if_false))
    return chars, np.arange(width) < lengths[:, None]


def assemble(parts: list[Part], n: int) -> tuple[bytes, np.ndarray]:
    """The rows' kept characters, row after row, as one bytes object, and each row's length."""
    if n == 0:
        return b"", np.zeros(0, np.int64)
    matrices, masks = [], []
    for part in parts:
        if isinstance(part, bytes):
            matrices.append(np.broadcast_to(np.frombuffer(part, np.uint8), (n, len(part))))
            masks.append(np.ones((1, len(part)), bool).repeat(n, axis=0))
        else:
            chars, keep = part
            matrices.append(chars)
            masks.append(keep)
    matrix = np.concatenate(matrices, axis=1)
    mask = np.concatenate(masks, axis=1)
    return matrix[mask].tobytes(), mask.sum(axis=1)


def seconds_text(seconds: np.ndarray, decimals: int = 6) -> list[Part]:
    """Seconds with a fixed number of decimals ("-12.000500"), sign only when negative."""
    scale = 10**decimals
    ticks = np.rint(np.asarray(seconds, np.float64) * scale).astype(np.int64)
    negative = ticks < 0
    ticks = np.abs(ticks)
    whole = decimal(ticks // scale)
    fraction = decimal_fixed(ticks % scale, decimals)
    sign = choose(negative, b"-", b"")
    return [sign, whole, b".", (fraction, np.ones(fraction.shape, bool))]


def decimal_fixed(values: np.ndarray, width: int) -> np.ndarray:
    """Integers as decimal digits with leading zeros, ``(n, width)``."""
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return ((values[:, None] // powers) % 10 + 48).astype(np.uint8)


def splice(out, text: bytes, lengths: np.ndarray, fast_rows, special_rows, line_of) -> None:
    """Write bulk-rendered lines and one-by-one lines (``line_of(row)``) in frame order."""
    if len(special_rows) == 0:
        out.write(text)
        return
    ends = np.cumsum(lengths)
    written_rows = 0
    written_bytes = 0
    for row in special_rows:
        before = int(np.searchsorted(fast_rows, row))
        if before > written_rows:
            end = int(ends[before - 1])
            out.write(text[written_bytes:end])
            written_rows, written_bytes = before, end
        out.write(line_of(int(row)))
    out.write(text[written_bytes:])
