"""BUSMASTER logs: a starred header, then one frame per line with a time of day."""

from __future__ import annotations

import re
from datetime import datetime

from app.formats.base import RawRead
from app.formats.lines import BadLine, LineReader, Row, clip
from app.formats.source import Head

# BUSMASTER 2.4: ***START DATE AND TIME 23:9:2015 22:17:28:928***
START = re.compile(r"^\*\*\*START DATE AND TIME (?P<d>\d+):(?P<mo>\d+):(?P<y>\d+) "
                   r"(?P<h>\d+):(?P<mi>\d+):(?P<s>\d+):(?P<ms>\d+)\*\*\*")  # fmt: skip
# BUSMASTER 2.4: 22:20:14:992 Rx 0 0000021A s 8 FE 36 12 FE 69 05 07 AD
FRAME = re.compile(
    r"^(?P<h>\d+):(?P<mi>\d+):(?P<s>\d+):(?P<frac>\d+)\s+(?P<dir>Rx|Tx)\s+(?P<ch>\d+)\s+"
    r"(?P<id>(?:0x)?[0-9A-Fa-f]+)\s+(?P<type>[sSxX]r?)\s+(?P<dlc>\d+)"
    r"(?P<data>(?:\s+[0-9A-Fa-f]+)*)\s*$"
)
DAY_S = 86400.0


class BusmasterReader(LineReader):
    name = "busmaster"
    title = "BUSMASTER log"

    def sniff(self, head: Head) -> int:
        lines = head.content_lines(3)
        return 98 if lines and lines[0].startswith("***BUSMASTER") else 0

    def new_state(self) -> dict:
        return {"start": None, "start_of_day": None, "base": 16, "mode": "system",
                "previous": None, "days": 0.0, "elapsed": 0.0, "tick_s": None}  # fmt: skip

    def parse_chunk(self, chunk: bytes, first_line: int, state: dict) -> None:
        if state["tick_s"] is None:
            # BUSMASTER writes tenths of milliseconds with four digits ("14:20:03:0512");
            # other exporters write plain milliseconds without padding ("22:20:15:2").
            four_digits = re.search(rb"(?m)^\d+:\d+:\d+:\d{4}\s", chunk)
            state["tick_s"] = 1e-4 if four_digits else 1e-3
        return None

    def parse_line(self, text: str, line: int, state: dict) -> Row | None:
        text = text.strip()
        if not text:
            return None
        if text.startswith("***"):
            _header(text, state)
            return None
        match = FRAME.match(text)
        if not match:
            raise BadLine(f"not a BUSMASTER line: {clip(text)!r}")
        base = state["base"]
        fraction = int(match["frac"]) * state["tick_s"]
        time_of_day = int(match["h"]) * 3600 + int(match["mi"]) * 60 + int(match["s"]) + fraction
        timestamp = _timestamp(time_of_day, state)
        payload = bytes(int(b, base) for b in match["data"].split())
        dlc = int(match["dlc"])
        remote = match["type"].lower().endswith("r")
        if not remote and len(payload) != dlc:
            raise BadLine(f"DLC {dlc} but {len(payload)} data bytes")
        ident = int(match["id"], 16 if match["id"].lower().startswith("0x") else base)
        channel = max(int(match["ch"]) - 1, 0)
        return Row(timestamp, channel, ident, match["type"].lower().startswith("x"),
                   dlc, b"" if remote else payload, is_remote=remote)  # fmt: skip

    def finish(self, raw: RawRead, state: dict) -> None:
        raw.start_time_epoch = state["start"]
        raw.time_resolution_s = 1e-4


def _header(text: str, state: dict) -> None:
    if match := START.match(text):
        d, mo, y, h, mi, s, ms = (int(match[k]) for k in ("d", "mo", "y", "h", "mi", "s", "ms"))
        try:
            state["start"] = datetime(y, mo, d, h, mi, s, ms * 1000).timestamp()
        except ValueError:
            state["start"] = None  # an impossible date: the frames still load
        state["start_of_day"] = h * 3600 + mi * 60 + s + ms / 1000
    elif text == "***DEC***":
        state["base"] = 10
    elif text == "***HEX***":
        state["base"] = 16
    elif text in ("***RELATIVE MODE***", "***ABSOLUTE MODE***", "***SYSTEM MODE***"):
        state["mode"] = text.strip("*").split()[0].lower()


def _timestamp(time_of_day: float, state: dict) -> float:
    """Seconds since the logging session started, whatever the file's time mode."""
    if state["mode"] == "relative":
        state["elapsed"] += time_of_day
        return state["elapsed"]
    if state["mode"] == "absolute":
        return time_of_day
    previous = state["previous"]
    if previous is not None and time_of_day < previous - DAY_S / 2:
        state["days"] += DAY_S  # the capture ran past midnight
    state["previous"] = time_of_day
    start = state["start_of_day"] or 0.0
    return time_of_day + state["days"] - start
