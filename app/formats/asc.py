"""Vector ASC text logs (also gzipped, also headless excerpts of one).

Classic CAN data frames in hex go through a vectorised fast path; everything else (the
header, CAN FD, remote and error frames, events) goes through the per-line parser, which
follows python-can's ``ASCReader`` so that both give the same frames. Timestamps stay
relative to the trigger block, as python-can gives them; the trigger block's wall clock
becomes the capture's start time.
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import partial

import numpy as np

from app.formats import render
from app.formats.base import RawRead
from app.formats.lines import BadLine, ChunkResult, LineReader, Row, clip
from app.formats.render import splice
from app.formats.scan import (
    HEX_VALUE,
    IS_DIGIT,
    WHITESPACE,
    Tokens,
    Window,
    equals_any,
    line_bounds,
    parse_decimal,
    parse_hex,
    parse_hex_bytes,
    parse_uint,
)
from app.formats.source import Head
from app.frames import CLASSIC_WIDTH, FD_LENGTHS, FrameTable

# date Sat Sep 30 10:06:13.191 PM 2017
DATE_LINE = re.compile(r"^date\s+\w+\s+(?P<when>.+)$", re.IGNORECASE)
# base hex  timestamps absolute
BASE_LINE = re.compile(r"^base\s+(?P<base>hex|dec)(?:\s+timestamps\s+(?P<kind>\w+))?", re.I)
# Begin Triggerblock Sat Sep 30 10:06:13.191 PM 2017
TRIGGER_LINE = re.compile(r"^begin\s+triggerblock\s+\w+\s+(?P<when>.+)$", re.IGNORECASE)
# internal events logged / no internal events logged / End TriggerBlock / // version 9.0.0
HEADER_WORDS = re.compile(
    r"^(?:(?:no\s+)?internal\s+events\s+logged|end\s+triggerblock|begin\s+triggerblock|//)",
    re.IGNORECASE,
)
#    2.501000 1  C8              Tx   d 8 09 08 07 06 05 04 03 02
#   17.876708 1  6F9             Rx   d 8 05 0C 00 00 00 00 00 00  Length = 0 BitCount = 0
#    3.148421 1  ErrorFrame
#   30.300981 CANFD   3 Tx     50005x  1 0 d 64 A1 ...
EVENT_LINE = re.compile(r"^(?P<ts>-?\d+\.\d+)\s+(?P<rest>\S.*)$")
FRAME_START = re.compile(r"^(?:\d+\s+(?:\w+\s+(?:Tx|Rx)|ErrorFrame)|CANFD)", re.I | re.ASCII)

MONTHS = {
    "Jan": 1, "Feb": 2, "Mar": 3, "Mär": 3, "Apr": 4, "May": 5, "Mai": 5, "Jun": 6,
    "Jul": 7, "Aug": 8, "Sep": 9, "Oct": 10, "Okt": 10, "Nov": 11, "Dec": 12, "Dez": 12,
}  # fmt: skip
DATE_FORMATS = ("%m %d %I:%M:%S.%f %p %Y", "%m %d %I:%M:%S %p %Y", "%m %d %H:%M:%S.%f %Y",
                "%m %d %H:%M:%S %Y")  # fmt: skip


def asc_datetime(text: str) -> float | None:
    """Epoch seconds (local time, as CANoe writes it) of an ASC date, or None."""
    for name, number in MONTHS.items():
        text = text.replace(name, f"{number:02d}")
    for pattern in DATE_FORMATS:
        try:
            return datetime.strptime(text.strip(), pattern).timestamp()
        except ValueError:
            continue
    return None


def dlc_to_length(dlc: int) -> int:
    return FD_LENGTHS[dlc] if 0 <= dlc < len(FD_LENGTHS) else 64


class AscReader(LineReader):
    name = "asc"
    title = "Vector ASC"

    def sniff(self, head: Head) -> int:
        lines = head.content_lines()
        if any(BASE_LINE.match(line) for line in lines[:10]) or any(
            TRIGGER_LINE.match(line) for line in lines[:12]
        ):
            return 95
        events = [EVENT_LINE.match(line) for line in lines]
        frames = sum(bool(m and FRAME_START.match(m["rest"])) for m in events)
        return 70 if frames and frames >= len(lines) // 2 else 0

    def new_state(self) -> dict:
        return {"base": 16, "date": None, "trigger": None, "checked_header": False}

    def parse_line(self, text: str, line: int, state: dict) -> Row | None:
        text = text.strip()
        if not text:
            return None
        event = EVENT_LINE.match(text)
        if event is None:
            return self._header_line(text, state)
        rest = event["rest"]
        if not FRAME_START.match(rest):
            return None  # statistics, status, J1939 TP and other events carry no frame
        timestamp = float(event["ts"])
        channel_text, body = rest.split(None, 1) if " " in rest else (rest, "")
        if channel_text.upper() == "CANFD":
            return self._fd_frame(timestamp, body, state)
        channel = int(channel_text) - 1
        if body.strip()[:10].lower() == "errorframe":
            return Row(timestamp, channel, 0, False, 0, b"", is_error=True)
        return self._classic_frame(timestamp, channel, body, state)

    def _header_line(self, text: str, state: dict) -> None:
        if match := BASE_LINE.match(text):
            state["base"] = 10 if match["base"].lower() == "dec" else 16
        elif match := DATE_LINE.match(text):
            state["date"] = asc_datetime(match["when"])
        elif match := TRIGGER_LINE.match(text):
            state["trigger"] = asc_datetime(match["when"])
        elif not HEADER_WORDS.match(text):
            raise BadLine(f"not an ASC line: {clip(text)!r}")
        return None

    def _classic_frame(self, timestamp: float, channel: int, body: str, state: dict) -> Row:
        base = state["base"]
        id_text, _direction, rest = body.split(None, 2)
        ident, extended = _asc_id(id_text, base)
        if rest[:1].lower() == "r":
            words = rest.split()
            dlc = int(words[1], base) if len(words) > 1 and words[1].isdigit() else 0
            return Row(timestamp, channel, ident, extended, dlc, b"", is_remote=True)
        words = rest.split()
        dlc = dlc_to_length(int(words[1], base))
        payload = _asc_bytes(words[2 : 2 + min(CLASSIC_WIDTH, dlc)], base)
        return Row(timestamp, channel, ident, extended, len(payload), payload)

    def _fd_frame(self, timestamp: float, body: str, state: dict) -> Row:
        base = state["base"]
        channel_text, _direction, rest = body.split(None, 2)
        channel = int(channel_text) - 1
        if rest.strip()[:10].lower() == "errorframe":
            return Row(timestamp, channel, 0, False, 0, b"", is_fd=True, is_error=True)
        id_text, name_or_brs, rest = rest.split(None, 2)
        if name_or_brs.isdigit():
            _esi, dlc_text, length_text, data = rest.split(None, 3)
        else:
            _brs, _esi, dlc_text, length_text, data = rest.split(None, 4)
        ident, extended = _asc_id(id_text, base)
        length = int(length_text)
        payload = _asc_bytes(data.split()[:length], base)
        if length == 0:
            dlc = int(dlc_text, base)
            return Row(
                timestamp, channel, ident, extended, dlc, payload, is_fd=True, is_remote=True
            )
        return Row(timestamp, channel, ident, extended, len(payload), payload, is_fd=True)

    def parse_chunk(self, chunk: bytes, first_line: int, state: dict) -> ChunkResult | None:
        if not state["checked_header"]:
            state["checked_header"] = True
            match = re.search(rb"(?im)^\s*base\s+(hex|dec)", chunk[:8192])
            if match and match.group(1).lower() == b"dec":
                state["base"] = 10
        if state["base"] != 16:
            return None
        return fast_classic_chunk(chunk, first_line)

    def finish(self, raw: RawRead, state: dict) -> None:
        raw.start_time_epoch = state["trigger"] if state["trigger"] is not None else state["date"]
        raw.time_resolution_s = 1e-6


def _asc_id(text: str, base: int) -> tuple[int, bool]:
    if text[-1:] in ("x", "X"):
        return int(text[:-1], base), True
    return int(text, base), False


def _asc_bytes(words: list[str], base: int) -> bytes:
    try:
        return bytes(int(word, base) for word in words)
    except ValueError as exc:
        raise BadLine(f"bad data byte in {' '.join(words)!r}") from exc


def fast_classic_chunk(chunk: bytes, first_line: int) -> ChunkResult:
    """Classic hex data frames of a chunk in bulk; every other line goes to the slow path.

    The shape is ``ts channel id[x] Rx|Tx d dlc byte byte ...`` with single spaces between
    the data bytes and anything after them ignored, as python-can does.
    """
    buf = np.frombuffer(chunk, np.uint8)
    win = Window(buf)
    starts, ends = line_bounds(buf)
    tokens = Tokens(buf, starts, ends, WHITESPACE)
    count = tokens.count

    starts7, ends7 = tokens.take_first(7)
    ts_s, ch_s, id_s, dir_s, kind_s, dlc_s, data_s = starts7.T
    ts_e, ch_e, id_e, dir_e, kind_e, dlc_e, _ = ends7.T

    ok = (count >= 6) & IS_DIGIT[win.at(ts_s)]
    ok &= equals_any(win, dir_s, dir_e, [b"Rx", b"Tx"])
    ok &= (kind_e - kind_s == 1) & (win.at(kind_s) == ord("d")) & (dlc_e - dlc_s == 1)
    dlc_code = HEX_VALUE[win.at(dlc_s)].astype(np.int64)
    ok &= dlc_code != 255
    nbytes = np.minimum(np.asarray(FD_LENGTHS)[np.where(ok, dlc_code, 0)], CLASSIC_WIDTH)
    ok &= count >= 6 + nbytes

    extended = (win.at(id_e - 1) | 0x20) == ord("x")
    ident, id_ok = parse_hex(win, id_s, id_e - extended, 8)
    timestamp, ts_ok = parse_decimal(win, ts_s, ts_e)
    channel, channel_ok = parse_uint(win, ch_s, ch_e, 4)
    data, data_ok = parse_hex_bytes(win, data_s, nbytes, CLASSIC_WIDTH, stride=3, sep=ord(" "))
    after_data = win.at(data_s + 3 * nbytes - 1)
    ok &= id_ok & ts_ok & channel_ok & data_ok
    ok &= (
        (nbytes == 0)
        | (after_data == ord(" "))
        | (after_data == 0)
        | (after_data == 10)
        | (after_data == 13)
    )

    rows = np.flatnonzero(ok)
    table = FrameTable.empty(len(rows))
    table.timestamp[:] = timestamp[rows]
    table.channel[:] = channel[rows] - 1
    table.arbitration_id[:] = ident[rows]
    table.is_extended_id[:] = extended[rows]
    table.dlc[:] = nbytes[rows]
    table.data[:] = data[rows]

    numbers = first_line + np.arange(len(starts))
    other = np.flatnonzero(~ok & (count > 0))
    bounds = np.concatenate((starts, [len(buf)]))
    other_lines = [
        (int(numbers[i]), chunk[bounds[i] : bounds[i + 1]].decode("latin-1").rstrip("\r\n"))
        for i in other
    ]
    return ChunkResult(table, numbers[rows], other_lines)


# --- writing -------------------------------------------------------------------------------

WRITE_BLOCK = 1 << 19
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def asc_date(epoch: float) -> str:
    """An ASC header date ("Sat Sep 30 10:06:13.191 PM 2017" style, 24 h, local time)."""
    when = datetime.fromtimestamp(epoch)
    return (
        f"{WEEKDAYS[when.weekday()]} {MONTH_NAMES[when.month - 1]} {when.day:02d} "
        f"{when:%H:%M:%S}.{when.microsecond // 1000:03d} {when.year}"
    )


def write_asc(frames: FrameTable, path) -> None:
    """Write an ASC log with timestamps relative to the first frame (python-can's layout).

    Classic data frames are rendered in bulk; CAN FD, remote and error frames one by one.
    """
    n = len(frames)
    first = float(frames.timestamp[0]) if n else 0.0
    date = asc_date(max(first, 0.0))
    with open(path, "wb") as out:
        out.write(
            f"date {date}\nbase hex  timestamps absolute\ninternal events logged\n"
            f"Begin Triggerblock {date}\n   0.000000 Start of measurement\n".encode()
        )
        for begin in range(0, n, WRITE_BLOCK):
            block = frames.take(slice(begin, begin + WRITE_BLOCK))
            relative = block.timestamp - first
            plain = ~(block.is_fd | block.is_error | block.is_remote)
            fast_rows = np.flatnonzero(plain)
            text, lengths = render.assemble(
                _classic_parts(block.take(fast_rows), relative[fast_rows]), len(fast_rows)
            )
            special = np.flatnonzero(~plain)
            splice(out, text, lengths, fast_rows, special, partial(_special_line, block, relative))
        out.write(b"End TriggerBlock\n")


def _classic_parts(frames: FrameTable, relative: np.ndarray) -> list:
    n = len(frames)
    if n == 0:
        return []
    ident = frames.arbitration_id.astype(np.uint64)
    id_chars, id_keep = render.hex_trimmed(ident, 8)
    id_length = id_keep.sum(axis=1) + frames.is_extended_id
    return [
        b" ",
        *render.seconds_text(relative),
        b" ",
        render.decimal(np.maximum(frames.channel.astype(np.int64) + 1, 0)),
        b"  ",
        (id_chars, id_keep),
        render.choose(frames.is_extended_id, b"x", b""),
        render.padding(np.maximum(15 - id_length, 0), 15),
        b" Rx   d ",
        (render.HEX_UPPER[np.minimum(frames.dlc, 15)][:, None], np.ones((n, 1), bool)),
        b" ",
        render.data_bytes(frames.data[:, :CLASSIC_WIDTH], np.minimum(frames.dlc, CLASSIC_WIDTH)),
        b"\n",
    ]


def _special_line(frames: FrameTable, relative_s: np.ndarray, i: int) -> bytes:
    relative = float(relative_s[i])
    channel = max(int(frames.channel[i]) + 1, 0)
    ident = f"{int(frames.arbitration_id[i]):X}" + ("x" if frames.is_extended_id[i] else "")
    dlc = int(frames.dlc[i])
    if frames.is_error[i]:
        return f"{relative: 9.6f} {channel}  ErrorFrame\n".encode()
    if frames.is_fd[i]:
        length = 0 if frames.is_remote[i] else dlc
        code = FD_LENGTHS.index(dlc) if dlc in FD_LENGTHS else 15
        data = frames.data[i, :length].tobytes().hex(" ").upper()
        return (
            f"{relative: 9.6f} CANFD {channel:>3} Rx   {ident:>8}  {'':>32} 0 0 {code:x} "
            f"{length:>2} {data} {0:>8} {0:>4} {1 << 12:>8X} {0:>8} {0:>8} {0:>8} {0:>8} {0:>8}\n"
        ).encode()
    return f"{relative: 9.6f} {channel}  {ident:<15} Rx   r {dlc:x} \n".encode()
