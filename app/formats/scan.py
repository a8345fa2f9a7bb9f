"""Vectorised text scanning: lines, tokens and numbers of a whole chunk at once.

The fast readers (ASC, candump, GVRET CSV) never make a Python object per frame: they view
a chunk of the file as a ``uint8`` array, find line and token boundaries with numpy, and
convert hex and decimal tokens column by column. Lines that do not fit the common shape are
handed back by line number to the format's per-line parser.
"""

from __future__ import annotations

import numpy as np

HEX_VALUE = np.full(256, 255, np.uint8)
for _i, _c in enumerate(b"0123456789"):
    HEX_VALUE[_c] = _i
for _i, _c in enumerate(b"abcdef"):
    HEX_VALUE[_c] = 10 + _i
    HEX_VALUE[_c - 32] = 10 + _i

IS_DIGIT = np.zeros(256, bool)
IS_DIGIT[list(b"0123456789")] = True

IS_NUMBER_CHAR = IS_DIGIT.copy()
IS_NUMBER_CHAR[list(b".+-eE")] = True


def separators(chars: bytes) -> np.ndarray:
    """A lookup table marking ``chars`` and line breaks as token separators."""
    table = np.zeros(256, bool)
    table[list(chars + b"\r\n")] = True
    return table


WHITESPACE = separators(b" \t")


def line_bounds(buf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and end (exclusive, without CR/LF) of every line in ``buf``."""
    if len(buf) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    newlines = np.flatnonzero(buf == 10)
    starts = np.concatenate(([0], newlines + 1))
    ends = np.concatenate((newlines, [len(buf)]))
    if len(buf) and buf[-1] == 10:
        starts, ends = starts[:-1], ends[:-1]
    has_cr = (ends > starts) & (buf[np.maximum(ends - 1, 0)] == 13)
    ends = ends - has_cr
    return starts, ends


class Tokens:
    """The tokens of every line of a chunk, split at the separator table ``sep``.

    Separators are never tokens; runs of them count as one. ``first[i]`` is the index of
    line ``i``'s first token in ``start``/``end``, ``count[i]`` how many it has.
    """

    def __init__(self, buf: np.ndarray, starts: np.ndarray, ends: np.ndarray, sep: np.ndarray):
        is_sep = sep[buf] if len(buf) else np.ones(1, bool)
        before = np.concatenate(([True], is_sep[:-1]))
        after = np.concatenate((is_sep[1:], [True]))
        solid = ~is_sep
        self.buf = buf
        self.start = np.flatnonzero(solid & before)
        self.end = np.flatnonzero(solid & after) + 1
        self.first = np.searchsorted(self.start, starts)
        self.count = np.searchsorted(self.start, ends) - self.first

    def take(self, k: int, lines: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Start and end of token ``k`` of each line (lines with fewer tokens get 0, 0)."""
        first = self.first if lines is None else self.first[lines]
        count = self.count if lines is None else self.count[lines]
        present = count > k
        index = np.where(present, first + k, 0)
        if len(self.start) == 0:
            zero = np.zeros(len(first), np.int64)
            return zero, zero
        start = np.where(present, self.start[index], 0)
        end = np.where(present, self.end[index], 0)
        return start, end


def gather(buf: np.ndarray, start: np.ndarray, end: np.ndarray, width: int) -> np.ndarray:
    """Bytes ``buf[start:end]`` of each token, left-aligned in ``(n, width)``, zero-padded."""
    columns = np.arange(width)
    index = start[:, None] + columns
    inside = columns < (end - start)[:, None]
    index = np.where(inside, index, 0)
    chars = buf[index] if len(buf) else np.zeros(index.shape, np.uint8)
    return np.where(inside, chars, 0).astype(np.uint8)


def equals(buf: np.ndarray, start: np.ndarray, end: np.ndarray, word: bytes) -> np.ndarray:
    """Whether each token is exactly ``word`` (case-sensitive)."""
    ok = (end - start) == len(word)
    for i, c in enumerate(word):
        ok &= buf[np.minimum(start + i, len(buf) - 1)] == c
    return ok


def parse_hex(
    buf: np.ndarray, start: np.ndarray, end: np.ndarray, max_digits: int = 8
) -> tuple[np.ndarray, np.ndarray]:
    """Hex tokens of 1 to ``max_digits`` digits as uint64, and which parsed."""
    length = end - start
    ok = (length >= 1) & (length <= max_digits)
    columns = np.arange(max_digits)
    used = columns >= (max_digits - length)[:, None]
    index = np.where(used, end[:, None] - max_digits + columns, 0)
    nibbles = HEX_VALUE[buf[index]] if len(buf) else np.zeros(index.shape, np.uint8)
    nibbles = np.where(used, nibbles, 0)
    ok &= ~(nibbles == 255).any(axis=1)
    shifts = (4 * (max_digits - 1 - columns)).astype(np.uint64)
    values = (nibbles.astype(np.uint64) << shifts).sum(axis=1, dtype=np.uint64)
    return np.where(ok, values, 0), ok


def parse_hex_bytes(
    buf: np.ndarray, start: np.ndarray, count: np.ndarray, width: int, stride: int = 2
) -> tuple[np.ndarray, np.ndarray]:
    """Data bytes written as hex pairs from ``start``: ``count`` pairs each, ``stride`` apart.

    Returns ``(data (n, width) uint8, ok)``; bytes past ``count`` are zero.
    """
    columns = np.arange(width)
    used = columns < count[:, None]
    high = np.where(used, start[:, None] + stride * columns, 0)
    if len(buf) == 0:
        return np.zeros((len(start), width), np.uint8), np.zeros(len(start), bool)
    high_nibble = HEX_VALUE[buf[np.minimum(high, len(buf) - 1)]]
    low_nibble = HEX_VALUE[buf[np.minimum(high + 1, len(buf) - 1)]]
    bad = used & ((high_nibble == 255) | (low_nibble == 255))
    data = np.where(used, (high_nibble << 4) | (low_nibble & 15), 0).astype(np.uint8)
    return data, ~bad.any(axis=1)


def parse_decimal(
    buf: np.ndarray, start: np.ndarray, end: np.ndarray, width: int = 24, comma: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Decimal tokens ("12.5", "-3", "1e-3") as float64, and which parsed.

    With ``comma`` a decimal comma ("46,016") is read as a point.
    """
    length = end - start
    chars = gather(buf, start, end, width)
    if comma:
        chars = np.where(chars == ord(","), ord("."), chars).astype(np.uint8)
    used = np.arange(width) < length[:, None]
    ok = (length >= 1) & (length <= width)
    ok &= ~(used & ~IS_NUMBER_CHAR[chars]).any(axis=1)
    ok &= (used & IS_DIGIT[chars]).any(axis=1)
    chars[~ok] = 0
    chars[~ok, 0] = ord("0")
    text = chars.view(f"S{width}").ravel()
    try:
        values = text.astype(np.float64)
    except ValueError:
        values = np.zeros(len(text))
        for i, word in enumerate(text):
            try:
                values[i] = float(word)
            except ValueError:
                ok[i] = False
    return np.where(ok, values, 0.0), ok


def all_digits(buf: np.ndarray, start: np.ndarray, end: np.ndarray, width: int = 6) -> np.ndarray:
    """Whether each token is 1 to ``width`` decimal digits."""
    length = end - start
    chars = gather(buf, start, end, width)
    used = np.arange(width) < length[:, None]
    return (length >= 1) & (length <= width) & ~(used & ~IS_DIGIT[chars]).any(axis=1)


def parse_uint(
    buf: np.ndarray, start: np.ndarray, end: np.ndarray, max_digits: int = 18
) -> tuple[np.ndarray, np.ndarray]:
    """Unsigned decimal integer tokens as int64, and which parsed."""
    length = end - start
    ok = (length >= 1) & (length <= max_digits)
    columns = np.arange(max_digits)
    used = columns >= (max_digits - length)[:, None]
    index = np.where(used, end[:, None] - max_digits + columns, 0)
    chars = buf[index] if len(buf) else np.zeros(index.shape, np.uint8)
    ok &= ~(used & ~IS_DIGIT[chars]).any(axis=1)
    digits = np.where(used, chars.astype(np.int64) - 48, 0)
    powers = 10 ** (max_digits - 1 - columns).astype(np.int64)
    return np.where(ok, (digits * powers).sum(axis=1), 0), ok
