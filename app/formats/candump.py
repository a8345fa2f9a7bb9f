"""SocketCAN candump captures: the ``-L`` log format and candump's default screen text.

The ``-L`` reader has a vectorised fast path; lines it does not recognise (remote and error
frames, odd spacing, damage) go through the per-line parser, which follows python-can's
``CanutilsLogReader`` so that both give the same frames.
"""

from __future__ import annotations

import re
from functools import partial

import numpy as np

from app.formats import render
from app.formats.base import RawRead
from app.formats.lines import BadLine, ChunkResult, LineReader, Row, clip
from app.formats.render import splice
from app.formats.scan import (
    HEX_VALUE,
    WHITESPACE,
    Tokens,
    Window,
    gather,
    line_bounds,
    parse_decimal,
    parse_hex,
    parse_hex_bytes,
)
from app.formats.source import Head
from app.frames import CLASSIC_WIDTH, FD_LENGTHS, FD_WIDTH, FrameTable

CAN_ERR_FLAG = 0x20000000
CAN_ERR_BUSERROR = 0x00000080

# candump -L:  (1436509053.650713) vcan0 1F334455#1122334455667788
# python-can:  (1436509053.650713) vcan0 123#1122 R     (direction suffix)
# CAN FD:      (1436509053.650713) can1 123##311223344  (flags digit after ##)
LOG_LINE = re.compile(
    r"^\((?P<ts>[^)\s]*)\)\s+(?P<iface>\S+)\s+(?P<id>[0-9A-Fa-f]{1,8})#(?P<data>\S*)"
    r"(?:\s+(?P<dir>[RrTt]))?$"
)

# candump vcan0:       "  vcan0  123   [8]  11 22 33 44 55 66 77 88"
# candump -ta vcan0:   " (1579876543.123456)  vcan0  18FEF100   [8]  11 22 33 44 55 66 77 88"
# candump -x vcan0:    "  vcan0  TX - -  123   [4]  remote request"
# CAN FD (dlc 2 digits): "  can1  123  [12]  00 11 22 33 44 55 66 77 88 99 AA BB"
TEXT_LINE = re.compile(
    r"^\s*(?:\((?P<ts>[-\d.]+)\)\s+)?(?P<iface>[A-Za-z][\w.-]*)\s+"
    r"(?:(?:RX|TX)\s+\S\s+\S\s+)?(?P<id>[0-9A-Fa-f]{3,8})\s+\[(?P<dlc>\d{1,2})\]"
    r"(?P<rest>.*)$"
)
# one data byte of the screen text: "1F"
HEX_BYTE = re.compile(r"[0-9A-Fa-f]{2}")
# the bus number at the end of an interface name: "vcan0", "can1"
TRAILING_DIGITS = re.compile(r"(\d+)$")


def channel_number(name: str) -> int:
    """A bus number from an interface name: "can1" -> 1, "vcan0" -> 0, "2" -> 2."""
    match = TRAILING_DIGITS.search(name)
    return int(match.group(1)) if match else 0


class CandumpLogReader(LineReader):
    name = "candump"
    title = "candump -L log"

    def sniff(self, head: Head) -> int:
        lines = head.content_lines()
        hits = sum(bool(LOG_LINE.match(line)) for line in lines)
        return 95 if lines and hits >= max(1, len(lines) // 2) else 0

    def new_state(self) -> dict:
        return {"channels": {}}

    def parse_line(self, text: str, line: int, state: dict) -> Row | None:
        text = text.strip()
        if not text:
            return None
        match = LOG_LINE.match(text)
        if not match:
            raise BadLine(f"not a candump -L line: {clip(text)!r}")
        timestamp = float(match["ts"])
        id_text, data = match["id"], match["data"]
        ident = int(id_text, 16)
        if ident & CAN_ERR_FLAG and ident & CAN_ERR_BUSERROR:
            return Row(timestamp, 0, 0, False, 0, b"", is_error=True)
        channel = channel_number(match["iface"])
        extended = len(id_text) > 3
        is_fd = data.startswith("#")
        if is_fd:
            if len(data) < 2 or HEX_VALUE[ord(data[1]) & 0xFF] == 255:
                raise BadLine(f"CAN FD frame without its flags digit: {clip(text)!r}")
            data = data[2:]
        if data[:1] in ("R", "r"):
            dlc = int(data[1:]) if len(data) > 1 else 0
            return Row(
                timestamp, channel, ident & 0x1FFFFFFF, extended, dlc, b"", is_fd, False, True
            )
        if len(data) % 2:
            raise BadLine(f"odd number of hex digits in the data {data!r}")
        payload = bytes.fromhex(data)
        return Row(timestamp, channel, ident & 0x1FFFFFFF, extended, len(payload), payload, is_fd)

    def parse_chunk(self, chunk: bytes, first_line: int, state: dict) -> ChunkResult:
        buf = np.frombuffer(chunk, np.uint8)
        win = Window(buf)
        starts, ends = line_bounds(buf)
        tokens = Tokens(buf, starts, ends, WHITESPACE)
        starts3, ends3 = tokens.take_first(3)
        ts_start, if_start, fr_start = starts3.T
        ts_end, if_end, fr_end = ends3.T

        # Shape: "(ts) iface ID#DATA" with an optional R/T token after it.
        ok = (tokens.count == 3) | (tokens.count == 4)
        ok &= (win.at(ts_start) == ord("(")) & (win.at(ts_end - 1) == ord(")"))
        timestamp, ts_ok = parse_decimal(win, ts_start + 1, ts_end - 1)
        ok &= ts_ok

        # The frame token: a 3- or 8-digit ID, '#', optional '#F' for CAN FD, hex data
        # (other ID widths go through the per-line parser).
        short = win.at(fr_start + 3) == ord("#")
        hash_pos = np.where(short, fr_start + 3, fr_start + 8)
        ok &= (short | (win.at(fr_start + 8) == ord("#"))) & (hash_pos < fr_end)
        ident, id_ok = parse_hex(win, fr_start, hash_pos, 8)
        ok &= id_ok & ~((ident & CAN_ERR_FLAG != 0) & (ident & CAN_ERR_BUSERROR != 0))
        after = win.at(hash_pos + 1)
        is_fd = (after == ord("#")) & (hash_pos + 1 < fr_end)
        ok &= (after != ord("R")) & (after != ord("r"))
        ok &= ~is_fd | (HEX_VALUE[win.at(hash_pos + 2)] != 255)
        data_start = hash_pos + 1 + 2 * is_fd
        digits = fr_end - data_start
        nbytes = digits // 2
        ok &= (digits >= 0) & (digits % 2 == 0) & (nbytes <= np.where(is_fd, 64, 8))

        width = FD_WIDTH if (is_fd & ok).any() else CLASSIC_WIDTH
        data, data_ok = parse_hex_bytes(win, data_start, np.where(ok, nbytes, 0), width)
        ok &= data_ok

        rows = np.flatnonzero(ok)
        table = FrameTable.empty(len(rows), width)
        table.timestamp[:] = timestamp[rows]
        table.channel[:] = self._channels(win, if_start[rows], if_end[rows], state)
        table.arbitration_id[:] = ident[rows] & 0x1FFFFFFF
        table.is_extended_id[:] = (hash_pos - fr_start)[rows] > 3
        table.is_fd[:] = is_fd[rows]
        table.dlc[:] = nbytes[rows]
        table.data[:] = data[rows]
        return self._result(buf, starts, first_line, ok, table, tokens.count)

    @staticmethod
    def _result(buf, starts, first_line, ok, table, count=None) -> ChunkResult:
        lines = first_line + np.arange(len(starts))
        if table is None:
            table = FrameTable.empty()
        other = ~ok if count is None else ~ok & (count > 0)
        chunk_text = buf.tobytes()
        other_lines = []
        ends = np.concatenate((starts[1:], [len(buf)]))
        for i in np.flatnonzero(other):
            text = chunk_text[starts[i] : ends[i]].decode("latin-1").rstrip("\r\n")
            other_lines.append((int(lines[i]), text))
        return ChunkResult(table, lines[ok], other_lines)

    @staticmethod
    def _channels(win, start, end, state) -> np.ndarray:
        """Bus numbers of the interface names, looking each distinct name up once."""
        names = gather(win, start, end, int(min(max((end - start).max(initial=1), 1), 16)))
        if len(names) == 0:
            return np.zeros(0, np.int16)
        if (names == names[0]).all():
            unique, inverse = names[:1], np.zeros(len(names), np.int64)
        else:
            unique, inverse = np.unique(names, axis=0, return_inverse=True)
        cache = state["channels"]
        numbers = []
        for row in unique:
            key = row.tobytes().rstrip(b"\0").decode("latin-1")
            if key not in cache:
                cache[key] = channel_number(key)
            numbers.append(cache[key])
        return np.asarray(numbers, np.int16)[inverse.ravel()]


class CandumpTextReader(LineReader):
    name = "candump-text"
    title = "candump screen text"

    def sniff(self, head: Head) -> int:
        lines = head.content_lines()
        hits = sum(bool(TEXT_LINE.match(line)) for line in lines)
        return 85 if lines and hits >= max(1, len(lines) // 2) else 0

    def new_state(self) -> dict:
        return {"with_time": 0, "without_time": 0}

    def parse_line(self, text: str, line: int, state: dict) -> Row | None:
        if not text.strip():
            return None
        match = TEXT_LINE.match(text)
        if not match:
            raise BadLine(f"not a candump line: {clip(text)!r}")
        if match["ts"] is not None:
            state["with_time"] += 1
            timestamp = float(match["ts"])
        else:
            state["without_time"] += 1
            timestamp = float(line)  # a placeholder the timestamp checks replace
        id_text = match["id"]
        ident = int(id_text, 16)
        dlc = int(match["dlc"])
        rest = match["rest"]
        is_fd = len(match["dlc"]) == 2  # candump prints CAN FD lengths with two digits
        if "ERRORFRAME" in rest:
            return Row(timestamp, channel_number(match["iface"]), 0, False, 0, b"", is_error=True)
        if "remote request" in rest:
            extended = len(id_text) > 3
            return Row(
                timestamp, channel_number(match["iface"]), ident, extended, dlc, b"", is_remote=True
            )
        payload = bytes(int(b, 16) for b in _leading_hex_bytes(rest))
        if len(payload) != dlc:
            raise BadLine(f"[{dlc}] announces {dlc} bytes but the line has {len(payload)}")
        if is_fd and dlc not in FD_LENGTHS:
            raise BadLine(f"{dlc} is not a CAN FD data length")
        return Row(
            timestamp, channel_number(match["iface"]), ident, len(id_text) > 3, dlc, payload, is_fd
        )

    def finish(self, raw: RawRead, state: dict) -> None:
        if state["without_time"] and not state["with_time"]:
            raw.time_unit = "none"
        raw.time_resolution_s = 1e-6


def _leading_hex_bytes(rest: str) -> list[str]:
    found = []
    for word in rest.split():
        if not HEX_BYTE.fullmatch(word):
            break
        found.append(word)
    return found


# --- writing -------------------------------------------------------------------------------

WRITE_BLOCK = 1 << 19


def write_candump(frames: FrameTable, path) -> None:
    """Write a ``candump -L`` log: ``(seconds) canN ID#DATA``, one frame per line.

    Data, CAN FD and remote frames are rendered in bulk; error frames one by one (as
    python-can writes them: the bus-error ID with the error flag).
    """
    with open(path, "wb") as out:
        for begin in range(0, len(frames), WRITE_BLOCK):
            block = frames.take(slice(begin, begin + WRITE_BLOCK))
            plain = ~block.is_error
            rows = np.flatnonzero(plain)
            text, lengths = render.assemble(_log_parts(block.take(rows)), len(rows))
            special = np.flatnonzero(~plain)
            splice(out, text, lengths, rows, special, partial(_error_line, block))


def _log_parts(frames: FrameTable) -> list:
    n = len(frames)
    if n == 0:
        return []
    id_chars = render.hex_fixed(frames.arbitration_id, 8)
    id_keep = np.arange(8) >= np.where(frames.is_extended_id, 0, 5)[:, None]
    fd_flags = render.HEX_UPPER[np.zeros(n, np.intp)][:, None]
    lengths = np.where(frames.is_remote, 0, frames.dlc).astype(np.int64)
    return [
        b"(",
        *render.seconds_text(frames.timestamp),
        b") can",
        render.decimal(np.maximum(frames.channel.astype(np.int64), 0)),
        b" ",
        (id_chars, id_keep),
        b"#",
        render.choose(frames.is_fd, b"#", b""),
        (fd_flags, frames.is_fd[:, None]),
        render.choose(frames.is_remote, b"R", b""),
        (render.decimal(frames.dlc)[0][:, -1:], (frames.is_remote & (frames.dlc > 0))[:, None]),
        render.data_bytes(frames.data, lengths, separator=b""),
        b"\n",
    ]


def _error_line(frames: FrameTable, i: int) -> bytes:
    data = frames.data[i, : frames.dlc[i]].tobytes().hex().upper()
    channel = max(int(frames.channel[i]), 0)
    ident = CAN_ERR_FLAG | CAN_ERR_BUSERROR
    return f"({frames.timestamp[i]:f}) can{channel} {ident:08X}#{data}\n".encode()
