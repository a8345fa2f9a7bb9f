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


class Window:
    """A chunk with zero padding on both sides, viewed as one row per byte offset.

    ``rows(start, width)`` copies ``width`` bytes from each start at once (a zero-copy
    strided view indexed by row), which is far cheaper than gathering byte by byte.
    """

    PAD = 256

    def __init__(self, buf: np.ndarray):
        self.buf = buf
        padded = np.zeros(len(buf) + 2 * self.PAD, np.uint8)
        padded[self.PAD : self.PAD + len(buf)] = buf
        self._padded = padded
        self._view = np.lib.stride_tricks.as_strided(
            padded, shape=(len(padded) - self.PAD + 1, self.PAD), strides=(1, 1), writeable=False
        )

    def __len__(self) -> int:
        return len(self.buf)

    def rows(self, start: np.ndarray, width: int) -> np.ndarray:
        """``(n, width)`` bytes from each ``start`` (positions outside the chunk read 0)."""
        index = np.clip(np.asarray(start) + self.PAD, 0, len(self._view) - 1)
        return self._view[index, :width]

    def at(self, position: np.ndarray) -> np.ndarray:
        """The byte at each position (0 outside the chunk)."""
        return self._padded[np.clip(np.asarray(position) + self.PAD, 0, len(self._padded) - 1)]


class Tokens:
    """The tokens of every line of a chunk, split at the separator table ``sep``.

    Separators are never tokens; runs of them count as one. ``first[i]`` is the index of
    line ``i``'s first token in ``start``/``end``, ``count[i]`` how many it has.
    """

    def __init__(self, buf: np.ndarray, starts: np.ndarray, ends: np.ndarray, sep: np.ndarray):
        # Separators padded on both sides: the edges then alternate, token start, token end.
        is_sep = np.ones(len(buf) + 2, bool)
        if sep is WHITESPACE:
            np.less_equal(buf, 32, out=is_sep[1:-1])  # space, tab, CR, LF (and other controls)
        else:
            is_sep[1:-1] = sep[buf]
        edges = np.flatnonzero(is_sep[1:] != is_sep[:-1])
        self.start = edges[0::2]
        self.end = edges[1::2]
        self.first = np.searchsorted(self.start, starts)
        self.count = np.searchsorted(self.start, ends) - self.first

    def take(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Start and end of token ``k`` of each line (lines with fewer tokens get 0, 0)."""
        if len(self.start) == 0:
            zero = np.zeros(len(self.first), np.int64)
            return zero, zero
        present = self.count > k
        index = np.minimum(self.first + k, len(self.start) - 1)
        start = self.start[index]
        end = self.end[index]
        if not present.all():
            start = np.where(present, start, 0)
            end = np.where(present, end, 0)
        return start, end

    def take_first(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Start and end of tokens ``0 .. k-1`` of each line as ``(n, k)`` arrays."""
        if len(self.start) == 0:
            zero = np.zeros((len(self.first), k), np.int64)
            return zero, zero
        index = np.minimum(self.first[:, None] + np.arange(k), len(self.start) - 1)
        start, end = self.start[index], self.end[index]
        missing = np.arange(k) >= self.count[:, None]
        if missing.any():
            start[missing] = 0
            end[missing] = 0
        return start, end


def gather(win: Window, start: np.ndarray, end: np.ndarray, width: int) -> np.ndarray:
    """Bytes ``[start:end]`` of each token, left-aligned in ``(n, width)``, zero-padded."""
    chars = win.rows(start, width)
    inside = np.arange(width) < (end - start)[:, None]
    return np.where(inside, chars, 0).astype(np.uint8)


def equals_any(win: Window, start: np.ndarray, end: np.ndarray, words: list[bytes]) -> np.ndarray:
    """Whether each token is one of ``words`` (all of the same length)."""
    size = len(words[0])
    chars = win.rows(start, size)
    ok = np.zeros(len(start), bool)
    for word in words:
        ok |= (chars == np.frombuffer(word, np.uint8)).all(axis=1)
    return ok & ((end - start) == size)


def equals(win: Window, start: np.ndarray, end: np.ndarray, word: bytes) -> np.ndarray:
    """Whether each token is exactly ``word`` (case-sensitive)."""
    chars = win.rows(start, len(word))
    return ((end - start) == len(word)) & (chars == np.frombuffer(word, np.uint8)).all(axis=1)


def _right_aligned(win: Window, start, end, width):
    """Each token's last ``width`` bytes, and which columns belong to the token."""
    chars = win.rows(end - width, width)
    used = np.arange(width) >= (width - (end - start))[:, None]
    return chars, used


def parse_hex(
    win: Window, start: np.ndarray, end: np.ndarray, max_digits: int = 8
) -> tuple[np.ndarray, np.ndarray]:
    """Hex tokens of 1 to ``max_digits`` digits as uint64, and which parsed."""
    length = end - start
    nibbles = HEX_VALUE[win.rows(end - max_digits, max_digits)]
    ok = (length >= 1) & (length <= max_digits)
    values = np.zeros(len(start), np.int64)
    for column in range(max_digits):
        inside = column >= max_digits - length
        nibble = nibbles[:, column]
        ok &= ~inside | (nibble != 255)
        values = (values << 4) | np.where(inside, nibble & 15, 0)
    return np.where(ok, values, 0).astype(np.uint64), ok


def parse_hex_bytes(
    win: Window, start: np.ndarray, count: np.ndarray, width: int, stride: int = 2, sep: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Data bytes written as hex pairs from ``start``: ``count`` pairs, ``stride`` apart.

    With ``stride`` 3 the byte between pairs must be ``sep``. Returns ``(data, ok)``;
    bytes past ``count`` are zero.
    """
    chars = win.rows(start, width * stride)
    high = HEX_VALUE[chars[:, 0::stride]]
    low = HEX_VALUE[chars[:, 1::stride]]
    used = np.arange(width) < count[:, None]
    bad = used & ((high == 255) | (low == 255))
    if stride > 2:
        between = chars[:, 2::stride][:, : width - 1]
        bad[:, 1:] |= used[:, 1:] & (between != sep)
    data = np.where(used, (high << 4) | (low & 15), 0).astype(np.uint8)
    return data, ~bad.any(axis=1)


def parse_decimal(
    win: Window, start: np.ndarray, end: np.ndarray, width: int = 24, comma: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Decimal tokens ("12.5", "-3", "1e-3") as float64, and which parsed.

    Tokens with the same number of decimals as the first one (the usual case: every
    timestamp of a file written alike) are computed from their digits directly; any other
    token goes through numpy's string conversion. ``comma`` reads "46,016" as 46.016.
    """
    n = len(start)
    values = np.zeros(n)
    ok = np.zeros(n, bool)
    if n == 0:
        return values, ok
    fast, fast_ok = _fixed_decimals(win, start, end, width, ord(",") if comma else ord("."))
    values[:] = fast
    ok[:] = fast_ok
    rest = np.flatnonzero(~fast_ok)
    if len(rest):
        values[rest], ok[rest] = _decimal_strings(win, start[rest], end[rest], width, comma)
    return values, ok


def _fixed_decimals(win, start, end, width, point):
    """Tokens laid out like the first one ("123.456789": same decimals) from their digits."""
    length = end - start
    width = int(min(width, max(int(length.max(initial=1)), 1)))
    chars = win.rows(end - width, width)
    with_point = np.flatnonzero((chars == point).any(axis=1) & (length > 0) & (length <= width))
    model = int(with_point[0]) if len(with_point) else 0
    first = chars[model, width - max(int(length[model]), 0) :].tobytes()
    dot = first.rfind(bytes([point]))
    decimals = len(first) - 1 - dot if dot >= 0 else 0
    whole_width = width - decimals - (1 if dot >= 0 else 0)
    ok = (length > decimals + (dot >= 0)) & (length <= width)
    if dot >= 0:
        ok &= chars[:, whole_width] == point

    digits = chars - np.uint8(48)  # wraps below '0', so one comparison checks a digit
    fraction = np.zeros(len(start), np.int64)
    for column in range(whole_width + 1, width):
        ok &= digits[:, column] <= 9
        fraction = fraction * 10 + digits[:, column]

    whole = np.zeros(len(start), np.int64)
    outside = np.arange(whole_width) < (width - length)[:, None]
    whole_digits = np.where(outside, 0, digits[:, :whole_width])
    ok &= (whole_digits <= 9).all(axis=1)
    for column in range(whole_width):
        whole = whole * 10 + whole_digits[:, column]

    values = whole + fraction / 10.0**decimals if decimals else whole.astype(np.float64)
    return np.where(ok, values, 0.0), ok


def _decimal_strings(win, start, end, width, comma):
    length = end - start
    chars = gather(win, start, end, width)
    if comma:
        chars = np.where(chars == ord(","), ord("."), chars).astype(np.uint8)
    used = np.arange(width) < length[:, None]
    ok = (length >= 1) & (length <= width)
    ok &= ~(used & ~IS_NUMBER_CHAR[chars]).any(axis=1)
    ok &= (used & IS_DIGIT[chars]).any(axis=1)
    chars[~ok] = 0
    chars[~ok, 0] = ord("0")
    text = np.ascontiguousarray(chars).view(f"S{width}").ravel()
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


def all_digits(win: Window, start: np.ndarray, end: np.ndarray, width: int = 6) -> np.ndarray:
    """Whether each token is 1 to ``width`` decimal digits."""
    length = end - start
    chars, used = _right_aligned(win, start, end, width)
    return (length >= 1) & (length <= width) & ~(used & ~IS_DIGIT[chars]).any(axis=1)


def parse_uint(
    win: Window, start: np.ndarray, end: np.ndarray, max_digits: int = 15
) -> tuple[np.ndarray, np.ndarray]:
    """Unsigned decimal integer tokens (up to 15 digits) as int64, and which parsed."""
    length = end - start
    digits = win.rows(end - max_digits, max_digits) - np.uint8(48)  # non-digits wrap past 9
    ok = (length >= 1) & (length <= max_digits)
    values = np.zeros(len(start), np.int64)
    for column in range(max_digits):
        inside = column >= max_digits - length
        digit = digits[:, column]
        ok &= ~inside | (digit <= 9)
        values = values * 10 + np.where(inside, digit, 0)
    return np.where(ok, values, 0), ok
