"""The raw hex lines of the BMW i3 CCS logger: one 15-byte record per line, no time.

The layout, worked out against the CSV export of the same capture (same frames, same
order): ``FF`` marker, the ID as 4 bytes little-endian, the data length, 8 data bytes
(zero-padded) and an XOR of the 13 bytes between marker and checksum::

    FF 12010000 08 FA1FC70E3A72855F A5   ->  ID 0x112, 8 bytes FA 1F C7 0E 3A 72 85 5F
"""

from __future__ import annotations

import re
from functools import reduce
from operator import xor

from app.formats.base import RawRead
from app.formats.lines import BadLine, LineReader, Row, clip
from app.formats.source import Head

# BMW i3 CCS logger: FF1201000008FA1FC70E3A72855FA5
RECORD = re.compile(r"^FF[0-9A-Fa-f]{28}$")


class BmwHexReader(LineReader):
    name = "bmw-hex"
    title = "BMW i3 CCS logger hex records (no timestamps)"

    def sniff(self, head: Head) -> int:
        lines = head.content_lines()
        hits = sum(bool(RECORD.match(line)) for line in lines)
        return 90 if hits and hits >= len(lines) - 1 else 0

    def parse_line(self, text: str, line: int, state: dict) -> Row | None:
        text = text.strip()
        if not text:
            return None
        if not RECORD.match(text):
            raise BadLine(f"not a 15-byte FF... record: {clip(text)!r}")
        record = bytes.fromhex(text)
        body, checksum = record[1:14], record[14]
        if reduce(xor, body, 0) != checksum:
            raise BadLine(f"checksum {checksum:02X} does not match the record", "bad-checksum")
        ident = int.from_bytes(body[0:4], "little")
        length = body[4]
        if length > 8:
            raise BadLine(f"data length {length} in an 8-byte record")
        return Row(float(line), 0, ident, ident > 0x7FF, length, body[5 : 5 + length])

    def finish(self, raw: RawRead, state: dict) -> None:
        raw.time_unit = "none"
