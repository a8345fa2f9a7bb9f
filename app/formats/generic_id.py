"""SavvyCAN's generic ID CSV: an ID and its data bytes, no time at all."""

from __future__ import annotations

import re

from app.formats.base import RawRead
from app.formats.lines import BadLine, LineReader, Row, clip
from app.formats.source import Head

# SavvyCAN: ID,Data Bytes
HEADER = re.compile(r"^\s*ID\s*,\s*Data Bytes\s*$", re.IGNORECASE)
# SavvyCAN: 0000021A,FE 36 12 FE 69 05 07 AD
FRAME = re.compile(r"^(?P<id>[0-9A-Fa-f]{1,8}),(?P<data>(?:\s*[0-9A-Fa-f]{2})*)\s*$")


class GenericIdReader(LineReader):
    name = "generic-id-csv"
    title = "SavvyCAN generic ID CSV (no timestamps)"

    def sniff(self, head: Head) -> int:
        lines = head.content_lines(2)
        return 95 if lines and HEADER.match(lines[0]) else 0

    def parse_line(self, text: str, line: int, state: dict) -> Row | None:
        text = text.strip()
        if not text or HEADER.match(text):
            return None
        match = FRAME.match(text)
        if not match:
            raise BadLine(f"not an 'ID,Data Bytes' line: {clip(text)!r}")
        payload = bytes.fromhex(match["data"].replace(" ", ""))
        ident = int(match["id"], 16)
        return Row(
            float(line), 0, ident, ident > 0x7FF, len(payload), payload, is_fd=len(payload) > 8
        )

    def finish(self, raw: RawRead, state: dict) -> None:
        raw.time_unit = "none"
