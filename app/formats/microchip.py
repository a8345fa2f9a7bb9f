"""Microchip CAN BUS Analyzer logs (also as exported by SavvyCAN): milliseconds; fields."""

from __future__ import annotations

import re
from datetime import datetime

from app.formats.base import RawRead
from app.formats.lines import BadLine, LineReader, Row, clip
from app.formats.source import Head

# Microchip CAN BUS Analyzer: 166064;RX;0x0000021A;8;0xFE;0x36;0x12;0xFE;0x69;0x05;0x07;0xAD;
FRAME = re.compile(
    r"^(?P<ms>\d+(?:\.\d+)?);(?P<dir>RX|TX);0x(?P<id>[0-9A-Fa-f]{1,8});(?P<dlc>\d+);"
    r"(?P<data>(?:0x[0-9A-Fa-f]{2};?)*)\s*$",
    re.IGNORECASE,
)
# Microchip CAN BUS Analyzer: Logging Started: 23/9/2015 22:17:43
STARTED = re.compile(r"^Logging Started:\s*(?P<when>.+)$", re.IGNORECASE)
BANNER = ("//", "Microchip", "CAN BUS Analyzer", "SavvyCAN Exporter")


class MicrochipReader(LineReader):
    name = "microchip"
    title = "Microchip CAN BUS Analyzer log"

    def sniff(self, head: Head) -> int:
        text = "\n".join(head.content_lines(10))
        if "CAN BUS Analyzer" in text or "Microchip" in text:
            return 95
        lines = head.content_lines()
        hits = sum(bool(FRAME.match(x)) for x in lines)
        return 70 if hits and hits >= len(lines) // 2 else 0

    def new_state(self) -> dict:
        return {"start": None}

    def parse_line(self, text: str, line: int, state: dict) -> Row | None:
        text = text.strip()
        if not text:
            return None
        if match := STARTED.match(text):
            try:
                state["start"] = datetime.strptime(
                    match["when"].strip(), "%d/%m/%Y %H:%M:%S"
                ).timestamp()
            except ValueError:
                state["start"] = None  # an unknown date layout: the capture loads without it
            return None
        if text.startswith(BANNER):
            return None
        match = FRAME.match(text)
        if not match:
            raise BadLine(f"not a CAN BUS Analyzer line: {clip(text)!r}")
        payload = bytes(int(b, 16) for b in re.findall(r"0x([0-9A-Fa-f]{2})", match["data"]))
        dlc = int(match["dlc"])
        if len(payload) != dlc:
            raise BadLine(f"DLC {dlc} but {len(payload)} data bytes")
        ident = int(match["id"], 16)
        return Row(float(match["ms"]) / 1000, 0, ident, ident > 0x7FF, dlc, payload)

    def finish(self, raw: RawRead, state: dict) -> None:
        raw.start_time_epoch = state["start"]
        raw.time_unit = "ms"
        raw.time_resolution_s = 1e-3
