"""python-can's CSV log: a header, then time, hex ID, flags, DLC and base64 data."""

from __future__ import annotations

import base64
import binascii
import re

from app.formats.base import RawRead
from app.formats.lines import BadLine, LineReader, Row, clip
from app.formats.source import Head

# python-can CSVWriter: timestamp,arbitration_id,extended,remote,error,dlc,data
HEADER = re.compile(r"^timestamp,arbitration_id,extended,remote,error,dlc,data\s*$")
# python-can CSVWriter: 1483389946.197,0x00dadada,1,0,0,6,WzQyLCA5XQ==
FRAME = re.compile(
    r"^(?P<ts>-?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?),(?:0x)?(?P<id>[0-9A-Fa-f]+),(?P<ext>[01]),"
    r"(?P<rtr>[01]),(?P<err>[01]),(?P<dlc>\d+),(?P<data>[A-Za-z0-9+/=]*)\s*$"
)


class PythonCanCsvReader(LineReader):
    name = "csv"
    title = "python-can CSV"

    def sniff(self, head: Head) -> int:
        lines = head.content_lines(2)
        return 98 if lines and HEADER.match(lines[0]) else 0

    def parse_line(self, text: str, line: int, state: dict) -> Row | None:
        text = text.strip()
        if not text or HEADER.match(text):
            return None
        match = FRAME.match(text)
        if not match:
            raise BadLine(f"not a python-can CSV row: {clip(text)!r}")
        try:
            payload = base64.b64decode(match["data"], validate=True)
        except binascii.Error as exc:
            raise BadLine(f"the data {match['data']!r} is not base64") from exc
        remote = match["rtr"] == "1"
        dlc = int(match["dlc"])
        return Row(float(match["ts"]), 0, int(match["id"], 16), match["ext"] == "1",
                   dlc if remote else len(payload), b"" if remote else payload,
                   len(payload) > 8, match["err"] == "1", remote)  # fmt: skip

    def finish(self, raw: RawRead, state: dict) -> None:
        raw.time_resolution_s = 1e-6
