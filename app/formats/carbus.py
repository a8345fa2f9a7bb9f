"""CARBUS-Analyzer text traces (``.trc``, not PEAK's): tab-separated, decimal-comma seconds."""

from __future__ import annotations

import re

from app.formats.base import RawRead
from app.formats.lines import BadLine, LineReader, Row, clip
from app.formats.source import Head

# CARBUS-Analyzer: @ TEXT @ 2 @ 64 @ 0 @ 55 @ 10078 @ 00:00:10.078 @
BANNER = re.compile(r"^@\s*TEXT\s*@")
# CARBUS-Analyzer: 46,016<TAB>1<TAB>0004<TAB>45A<TAB>8<TAB>5A 04 00 00 00 00 00 00<TAB>00000000<TAB>Z
FRAME = re.compile(
    r"^(?P<ts>\d+(?:[.,]\d+)?)\t(?P<ch>\d+)\t(?P<flags>[0-9A-Fa-f]+)\t(?P<id>[0-9A-Fa-f]{1,8})\t"
    r"(?P<dlc>\d+)\t(?P<data>[0-9A-Fa-f ]*)(?:\t.*)?$"
)


class CarbusReader(LineReader):
    name = "carbus"
    title = "CARBUS-Analyzer trace"

    def sniff(self, head: Head) -> int:
        lines = head.content_lines(2)
        return 95 if lines and BANNER.match(lines[0]) else 0

    def parse_line(self, text: str, line: int, state: dict) -> Row | None:
        if not text.strip() or BANNER.match(text.strip()):
            return None
        match = FRAME.match(text.strip("\r\n"))
        if not match:
            raise BadLine(f"not a CARBUS-Analyzer line: {clip(text)!r}")
        payload = bytes.fromhex(match["data"].replace(" ", ""))
        dlc = int(match["dlc"])
        if len(payload) != dlc:
            raise BadLine(f"DLC {dlc} but {len(payload)} data bytes")
        ident = int(match["id"], 16)
        timestamp = float(match["ts"].replace(",", "."))
        return Row(
            timestamp, max(int(match["ch"]) - 1, 0), ident, len(match["id"]) > 3, dlc, payload
        )

    def finish(self, raw: RawRead, state: dict) -> None:
        raw.time_resolution_s = 1e-3
