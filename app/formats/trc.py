"""PEAK PCAN TRC traces, versions 1.0 to 2.1 (PCAN-View, PCAN-Explorer, PEAK-Converter).

Frame meanings follow python-can's ``TRCReader`` (the tests' reference): time offsets are
milliseconds after ``$STARTTIME`` (days since 1899-12-30, UTC; version 1.0 has none),
status, warning and error lines carry no frame, IDs of more than four digits are extended.
Bus numbers count from 1 in the file and from 0 here, as for BLF and ASC.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from app.formats.base import RawRead
from app.formats.lines import BadLine, LineReader, Row, clip
from app.formats.source import Head
from app.frames import FD_LENGTHS

# ;$FILEVERSION=1.3
DIRECTIVE = re.compile(r"^;\$(?P<key>[A-Z]+)=(?P<value>.*)$")
# PEAK-Converter v1.0:  "     1)     17535  00000100  8  00 00 00 00 00 00 00 00"
# PCAN-View v1.1:       "     1)     17535.4  Tx     00000100  8  00 00 00 00 00 00 00 00"
# PCAN-Explorer v1.3:   "     1)         1.000 1  Rx        0243 -  8    00 C7 C8 00 00 00 00 00"
# PEAK-Converter v2.1:  "      1     17535.400 DT 1  00000100 Tx -  8    00 00 00 00 00 00 00 00"
NUMBERED = re.compile(r"^\s*\d+\)?\s")
# PCAN-View without its header:  "     2)      7468.9  Tx         0000  8  RTR"
HEADLESS_V1 = re.compile(
    r"^\s*\d+\)\s+\d+(?:\.\d+)?\s+(?:\d+\s+)?(?:Rx|Tx|Warng|Error)?\s*[0-9A-Fa-f]+\s"
)
MESSAGE_TYPES_V1 = {"Rx", "Tx", "Warng", "Error"}
EXCEL_EPOCH = datetime(1899, 12, 30, tzinfo=UTC)
FD_TYPES = {"FD", "FB", "FE", "BI"}
FRAME_TYPES_V2 = {"DT", "RR"} | FD_TYPES


class TrcReader(LineReader):
    name = "trc"
    title = "PCAN TRC"

    def sniff(self, head: Head) -> int:
        lines = head.content_lines()
        if lines and lines[0].startswith(";$FILEVERSION"):
            return 95
        text = "\n".join(lines)
        if re.search(r"PCAN|PEAK|Start time:", text) and any(NUMBERED.match(x) for x in lines):
            return 90
        if lines and lines[0].startswith(";") and any(NUMBERED.match(x) for x in lines):
            return 60
        hits = sum(bool(HEADLESS_V1.match(x)) for x in lines)
        return 55 if hits and hits >= len(lines) - 1 else 0

    def new_state(self) -> dict:
        return {"version": None, "start": None, "columns": None}

    def parse_line(self, text: str, line: int, state: dict) -> Row | None:
        text = text.strip()
        if not text:
            return None
        if text.startswith(";"):
            _directive(text, state)
            return None
        if not NUMBERED.match(text):
            raise BadLine(f"not a TRC line: {clip(text)!r}")
        if state["version"] is None:
            state["version"] = _guess_version(text)
        version = state["version"]
        if version.startswith("2"):
            return _row_v2(text, state)
        words = text.split()
        if version == "1.1":
            return _row_v1(words, state, time=1, kind=2, bus=None, ident=3, dlc=4)
        if version in ("1.2", "1.3"):
            return _row_v1(
                words, state, time=1, kind=3, bus=2, ident=4, dlc=6 if version == "1.3" else 5
            )
        return _row_v1(words, state, time=1, kind=None, bus=None, ident=2, dlc=3)

    def finish(self, raw: RawRead, state: dict) -> None:
        raw.start_time_epoch = state["start"]
        raw.time_resolution_s = 1e-6


def _guess_version(text: str) -> str:
    """The layout of a trace without ``$FILEVERSION``: 1.0, or PCAN-View's 1.1 / 1.3 shapes."""
    words = text.split()
    if len(words) > 2 and words[2] in MESSAGE_TYPES_V1:
        return "1.1"
    if len(words) > 3 and words[3] in MESSAGE_TYPES_V1:
        return "1.3"
    return "1.0"


def _directive(text: str, state: dict) -> None:
    match = DIRECTIVE.match(text)
    if not match:
        return
    key, value = match["key"], match["value"].strip()
    if key == "FILEVERSION":
        state["version"] = value
    elif key == "STARTTIME":
        try:
            state["start"] = (EXCEL_EPOCH + timedelta(days=float(value))).timestamp()
        except (ValueError, OverflowError) as exc:
            raise BadLine(f"bad $STARTTIME {value!r}") from exc
    elif key == "COLUMNS":
        names = [c.strip() for c in value.split(",")]
        state["columns"] = {name: i for i, name in enumerate(names)}


def _row_v1(words, state, time, kind, bus, ident, dlc) -> Row | None:
    id_text = words[ident]
    if kind is not None and words[kind] not in ("Rx", "Tx"):
        return None  # Warng, Error, Status: bus events, not frames
    if kind is None and id_text == "FFFFFFFF":
        return None  # version 1.0 writes bus state changes with this ID
    offset = float(words[time]) / 1000
    timestamp = (
        offset if state["version"] == "1.0" or state["start"] is None else offset + state["start"]
    )
    channel = int(words[bus]) - 1 if bus is not None else 0
    count = int(words[dlc])
    extended = len(id_text) > 4
    if len(words) > dlc + 1 and words[dlc + 1] == "RTR":
        return Row(timestamp, channel, int(id_text, 16), extended, count, b"", is_remote=True)
    data = words[dlc + 1 : dlc + 1 + count]
    if len(data) < count:
        raise BadLine(f"the length is {count} but only {len(data)} data bytes follow")
    payload = bytes(int(b, 16) for b in data)
    return Row(timestamp, channel, int(id_text, 16), extended, count, payload)


def _row_v2(text: str, state: dict) -> Row | None:
    columns = state["columns"]
    if not columns:
        raise BadLine("version 2 trace without a $COLUMNS line")
    missing = [c for c in ("O", "T", "I", "D") if c not in columns]
    if missing:
        raise BadLine(f"$COLUMNS lacks {', '.join(missing)}")
    words = text.split(maxsplit=len(columns) - 1)
    kind = words[columns["T"]]
    if kind not in FRAME_TYPES_V2:
        return None  # ST (status), ER (error), EC, EV: not frames
    if "l" in columns:
        length = int(words[columns["l"]])
    elif "L" in columns:
        length = FD_LENGTHS[min(int(words[columns["L"]]), 15)]
    else:
        raise BadLine("no length column (L or l) in $COLUMNS")
    offset = float(words[columns["O"]]) / 1000
    timestamp = offset + (state["start"] or 0.0)
    id_text = words[columns["I"]]
    channel = int(words[columns["B"]]) - 1 if "B" in columns else 0
    remote = kind == "RR"
    payload = b""
    if length and not remote:
        payload = bytes.fromhex(words[columns["D"]]) if len(words) > columns["D"] else b""
        if len(payload) < length:
            raise BadLine(f"the length is {length} but only {len(payload)} data bytes follow")
    return Row(
        timestamp, channel, int(id_text, 16), len(id_text) > 4,
        length if remote else len(payload), payload, kind in FD_TYPES, False, remote,
    )  # fmt: skip
