"""SavvyCAN / GVRET CSV, the EV community's most common capture format.

Two header variants occur in real files (SavvyCAN, GVRET-PC, the BMW i3 logs)::

    Time Stamp,ID,Extended,Bus,LEN,D1,D2,D3,D4,D5,D6,D7,D8
    Time Stamp,ID,Extended,Dir,Bus,LEN,D1,D2,D3,D4,D5,D6,D7,D8

The time column counts microseconds; some tools write a row counter there instead, which
:mod:`app.timestamps` detects. Rows are parsed in bulk; damaged rows (spreadsheet-mangled
IDs such as ``3.00E+09``, missing fields) are skipped and reported with their line.
"""

from __future__ import annotations

import re

import numpy as np

from app.formats import render
from app.formats.base import RawRead
from app.formats.lines import BadLine, ChunkResult, LineReader, Row, clip
from app.formats.scan import (
    Tokens,
    Window,
    equals,
    line_bounds,
    parse_decimal,
    parse_hex,
    parse_hex_bytes,
    parse_uint,
    separators,
)
from app.formats.source import Head
from app.frames import CLASSIC_WIDTH, FD_WIDTH, FrameTable

# SavvyCAN: Time Stamp,ID,Extended,Dir,Bus,LEN,D1,D2,D3,D4,D5,D6,D7,D8
HEADER = re.compile(r"^\s*time\s*stamp\s*,\s*id\s*,\s*extended\s*,", re.IGNORECASE)
# A spreadsheet's rewrite of the ID 3E9 (or a long time stamp): 3.00E+09
SPREADSHEET_NUMBER = re.compile(r"^\d+(?:\.\d+)?E[+-]?\d+$", re.IGNORECASE)
COMMA = separators(b", \t")
MICROSECOND = 1e-6


class GvretCsvReader(LineReader):
    name = "gvret-csv"
    title = "SavvyCAN/GVRET CSV"

    def sniff(self, head: Head) -> int:
        lines = head.content_lines(2)
        return 98 if lines and HEADER.match(lines[0]) else 0

    def new_state(self) -> dict:
        return {"columns": None}

    def parse_line(self, text: str, line: int, state: dict) -> Row | None:
        if not text.strip():
            return None
        if state["columns"] is None or HEADER.match(text):
            if not HEADER.match(text):
                raise BadLine(
                    f"expected the header 'Time Stamp,ID,Extended,...', got {clip(text)!r}"
                )
            state["columns"] = _columns(text)
            return None
        columns = state["columns"]
        fields = [f.strip() for f in text.split(",")]
        if len(fields) < columns["first_byte"]:
            raise BadLine(f"{len(fields)} fields, expected at least {columns['first_byte']}")

        id_text = fields[columns["id"]]
        if SPREADSHEET_NUMBER.match(id_text):
            raise BadLine(
                f"ID {id_text!r} was turned into a number by a spreadsheet; the real ID is lost",
                kind="spreadsheet-id",
            )
        stamp_text = fields[columns["time"]]
        if SPREADSHEET_NUMBER.match(stamp_text):
            raise BadLine(
                f"time stamp {stamp_text!r} was rounded by a spreadsheet", "spreadsheet-number"
            )
        timestamp = float(stamp_text) * MICROSECOND
        ident = int(id_text, 16)
        extended = fields[columns["extended"]].lower() in ("true", "1")
        bus = int(fields[columns["bus"]]) if columns["bus"] is not None else 0
        length = int(fields[columns["length"]])
        first = columns["first_byte"]
        words = [w for w in fields[first : first + length]]
        if len(words) < length or length > 64:
            raise BadLine(f"LEN is {length} but the row has {len(words)} data bytes")
        payload = bytes(int(w, 16) for w in words)
        return Row(timestamp, bus, ident, extended, length, payload, is_fd=length > 8)

    def parse_chunk(self, chunk: bytes, first_line: int, state: dict) -> ChunkResult | None:
        if state["columns"] is None:
            cut = chunk.find(b"\n") + 1
            header = chunk[: cut or len(chunk)].decode("latin-1")
            if not HEADER.match(header):
                return None  # no header: the per-line parser reports the first line
            state["columns"] = _columns(header)
            chunk, first_line = chunk[cut:] if cut else b"", first_line + 1
        return _fast_rows(chunk, first_line, state["columns"])

    def finish(self, raw: RawRead, state: dict) -> None:
        raw.time_unit = "us"
        raw.time_resolution_s = MICROSECOND


def _columns(header: str) -> dict:
    names = [name.strip().lower().replace(" ", "") for name in header.split(",")]
    index = {name: i for i, name in enumerate(names) if name}
    first = index.get("d1", index.get("data"))
    if first is None or "len" not in index:
        raise BadLine(f"the header names no LEN and D1 columns: {clip(header)!r}")
    return {
        "time": index["timestamp"],
        "id": index["id"],
        "extended": index["extended"],
        "bus": index.get("bus"),
        "length": index["len"],
        "first_byte": first,
        "byte_columns": len(names) - first,
    }


def _fast_rows(chunk: bytes, first_line: int, columns: dict) -> ChunkResult:
    buf = np.frombuffer(chunk, np.uint8)
    win = Window(buf)
    starts, ends = line_bounds(buf)
    tokens = Tokens(buf, starts, ends, COMMA)
    count = tokens.count

    ts_s, ts_e = tokens.take(columns["time"])
    id_s, id_e = tokens.take(columns["id"])
    ext_s, ext_e = tokens.take(columns["extended"])
    len_s, len_e = tokens.take(columns["length"])

    length_dec, len_ok = parse_uint(win, len_s, len_e, 2)
    ok = len_ok & (length_dec <= FD_WIDTH)
    first = columns["first_byte"]
    ok &= count >= first + length_dec
    stamp, ts_ok = parse_decimal(win, ts_s, ts_e)
    ident, id_ok = parse_hex(win, id_s, id_e, 8)
    is_true = equals(win, ext_s, ext_e, b"true") | equals(win, ext_s, ext_e, b"1")
    is_false = equals(win, ext_s, ext_e, b"false") | equals(win, ext_s, ext_e, b"0")
    ok &= ts_ok & id_ok & (is_true | is_false)
    if columns["bus"] is not None:
        bus_s, bus_e = tokens.take(columns["bus"])
        bus, bus_ok = parse_hex(win, bus_s, bus_e, 2)
        ok &= bus_ok & (bus < 10)
    else:
        bus = np.zeros(len(starts), np.uint64)

    width = FD_WIDTH if (ok & (length_dec > 8)).any() else CLASSIC_WIDTH
    data_s, _ = tokens.take(first)
    data, data_ok = parse_hex_bytes(
        win, data_s, np.where(ok, length_dec, 0).astype(np.int64), width, stride=3, sep=ord(",")
    )
    ok &= data_ok

    rows = np.flatnonzero(ok)
    table = FrameTable.empty(len(rows), width)
    table.timestamp[:] = stamp[rows] * MICROSECOND
    table.channel[:] = bus[rows]
    table.arbitration_id[:] = ident[rows]
    table.is_extended_id[:] = is_true[rows]
    table.is_fd[:] = length_dec[rows] > 8
    table.dlc[:] = length_dec[rows]
    table.data[:] = data[rows]

    numbers = first_line + np.arange(len(starts))
    bounds = np.concatenate((starts, [len(buf)]))
    other_lines = [
        (int(numbers[i]), chunk[bounds[i] : bounds[i + 1]].decode("latin-1").rstrip("\r\n"))
        for i in np.flatnonzero(~ok & (count > 0))
    ]
    return ChunkResult(table, numbers[rows], other_lines)


# --- writing -------------------------------------------------------------------------------

WRITE_BLOCK = 1 << 19


def write_gvret(frames: FrameTable, path) -> None:
    """Write SavvyCAN's CSV: microsecond time, 8-digit hex ID, at least 8 data columns."""
    width = FD_WIDTH if (frames.dlc > CLASSIC_WIDTH).any() else CLASSIC_WIDTH
    columns = ",".join(f"D{i + 1}" for i in range(width))
    with open(path, "wb") as out:
        out.write(f"Time Stamp,ID,Extended,Bus,LEN,{columns}\n".encode())
        for begin in range(0, len(frames), WRITE_BLOCK):
            block = frames.take(slice(begin, begin + WRITE_BLOCK))
            n = len(block)
            micros = np.rint(block.timestamp * 1e6).astype(np.int64)
            fields = max(CLASSIC_WIDTH, width)
            shown = np.where(block.dlc > CLASSIC_WIDTH, block.dlc, CLASSIC_WIDTH)
            data = np.zeros((n, fields), np.uint8)
            data[:, : block.data.shape[1]] = np.where(
                np.arange(block.data.shape[1]) < block.dlc[:, None], block.data, 0
            )
            parts = [
                render.choose(micros < 0, b"-", b""),
                render.decimal(np.abs(micros)),
                b",",
                (render.hex_fixed(block.arbitration_id, 8), np.ones((n, 8), bool)),
                b",",
                render.choose(block.is_extended_id, b"true", b"false"),
                b",",
                render.decimal(np.maximum(block.channel.astype(np.int64), 0)),
                b",",
                render.decimal(block.dlc.astype(np.int64)),
                b",",
                render.data_bytes(data, shown, separator=b","),
                b",\n",
            ]
            text, _ = render.assemble(parts, n)
            out.write(text)
