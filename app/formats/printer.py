"""python-can's text print-out of frames (``can.Printer``, ``python -m can.logger``).

foxBMS keeps such a log as ``tools/dbc/test_log.txt``.
"""

from __future__ import annotations

import re

from app.formats.base import RawRead
from app.formats.lines import BadLine, LineReader, Row, clip
from app.formats.source import Head

# python-can Message.__str__:
# Timestamp:      132.072247        ID: 0241    S Rx                DL:  8    00 07 ec bf 61 fb 2f d9
# Timestamp: 1600000000.000000    ID: 18ff50e5    X Rx   R F BS EI    DL: 64    00 ...   Channel: 0
FRAME = re.compile(
    r"^Timestamp:\s*(?P<ts>-?\d+(?:\.\d+)?)\s+ID:\s*(?P<id>[0-9A-Fa-f]+)\s+(?P<flags>(?:\S+\s+)*?)"
    r"DL:\s*(?P<dlc>\d+)(?P<data>(?:\s+[0-9A-Fa-f]{2})*)\s*(?:Channel:\s*(?P<ch>\S+))?\s*(?:'.*')?$"
)


class PrinterReader(LineReader):
    name = "python-can-text"
    title = "python-can printed frames"

    def sniff(self, head: Head) -> int:
        lines = head.content_lines()
        hits = sum(bool(FRAME.match(line)) for line in lines)
        return 90 if hits and hits >= len(lines) // 2 else 0

    def parse_line(self, text: str, line: int, state: dict) -> Row | None:
        text = text.strip()
        if not text:
            return None
        match = FRAME.match(text)
        if not match:
            raise BadLine(f"not a python-can frame print-out: {clip(text)!r}")
        flags = match["flags"].split()
        payload = bytes.fromhex(match["data"].replace(" ", ""))
        remote, error = "R" in flags, "E" in flags
        channel_text = match["ch"] or "0"
        channel = int(channel_text) if channel_text.isdigit() else 0
        dlc = int(match["dlc"])
        return Row(float(match["ts"]), channel, int(match["id"], 16), "X" in flags,
                   dlc if remote else len(payload), b"" if remote else payload,
                   "F" in flags, error, remote)  # fmt: skip

    def finish(self, raw: RawRead, state: dict) -> None:
        raw.time_resolution_s = 1e-6
