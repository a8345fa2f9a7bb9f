"""CRTD text logs (GVRET-PC, SavvyCAN, OVMS): seconds, a record type, the ID, hex bytes."""

from __future__ import annotations

import re

from app.formats.base import RawRead
from app.formats.lines import BadLine, LineReader, Row, clip
from app.formats.source import Head

# SavvyCAN: 166.064000 R11 0000021A FE 36 12 FE 69 05 07 AD
# OVMS:     1542365220.460588 R29 18FF50E5 01 02 03
FRAME = re.compile(
    r"^(?P<ts>\d+(?:\.\d+)?)\s+(?P<dir>[RT])(?P<bits>11|29)\s+(?P<id>[0-9A-Fa-f]{1,8})"
    r"(?P<data>(?:\s+[0-9A-Fa-f]{2})*)\s*$"
)
# SavvyCAN: 166.064000 CXX GVRET-PC Reverse Engineering Tool Output V138
OTHER_RECORD = re.compile(r"^\d+(?:\.\d+)?\s+C[A-Z]{2}\b")


class CrtdReader(LineReader):
    name = "crtd"
    title = "CRTD"

    def sniff(self, head: Head) -> int:
        lines = head.content_lines()
        frames = sum(bool(FRAME.match(line)) for line in lines)
        known = frames + sum(bool(OTHER_RECORD.match(line)) for line in lines)
        return 90 if frames and known >= len(lines) - 1 else 0

    def parse_line(self, text: str, line: int, state: dict) -> Row | None:
        text = text.strip()
        if not text or OTHER_RECORD.match(text):
            return None  # comments (CXX), events (CEV) and errors (CER) carry no frame
        match = FRAME.match(text)
        if not match:
            raise BadLine(f"not a CRTD line: {clip(text)!r}")
        payload = bytes.fromhex(match["data"].replace(" ", ""))
        if len(payload) > 8:
            raise BadLine(f"{len(payload)} data bytes in a classic CAN frame")
        return Row(float(match["ts"]), 0, int(match["id"], 16), match["bits"] == "29",
                   len(payload), payload)  # fmt: skip

    def finish(self, raw: RawRead, state: dict) -> None:
        raw.time_resolution_s = 1e-6
