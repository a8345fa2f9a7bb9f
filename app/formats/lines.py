"""Line-oriented text formats: the per-line parser loop, bad-line accounting, fast chunks.

A text format subclasses :class:`LineReader` and writes ``parse_line`` (one line in, one
:data:`Row` or ``None`` out, :class:`BadLine` for a line that is wrong). A format with a
vectorised fast path also writes ``parse_chunk``: it parses the lines of a chunk it
recognises in bulk and returns the others for ``parse_line``. Frames keep file order.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from app.formats.base import FormatReader, RawRead, ReadIssue
from app.formats.source import Source
from app.frames import CLASSIC_WIDTH, FD_WIDTH, FrameTable
from app.progress import ProgressCallback

logger = logging.getLogger(__name__)

#: issues kept per file; past this only the count grows (a garbage file must not eat memory)
MAX_ISSUES = 1000
#: chunks parsed at once (the machines this runs on have at least two cores)
PARSE_THREADS = 2


class Row(NamedTuple):
    """One frame from the slow path, in FrameTable's words."""

    timestamp: float
    channel: int
    arbitration_id: int
    is_extended_id: bool
    dlc: int
    data: bytes
    is_fd: bool = False
    is_error: bool = False
    is_remote: bool = False


class BadLine(Exception):
    """A line that looks like it should be a frame but is not one; it is skipped."""

    def __init__(self, detail: str, kind: str = "bad-line"):
        super().__init__(detail)
        self.kind = kind
        self.detail = detail


@dataclass
class ChunkResult:
    """What ``parse_chunk`` made of a chunk: frames with their line numbers, and the rest."""

    frames: FrameTable
    lines: np.ndarray  # 1-based line number of each frame
    other_lines: list[tuple[int, str]] = field(default_factory=list)


def rows_to_table(rows: list[Row]) -> FrameTable:
    width = FD_WIDTH if any(r.is_fd or len(r.data) > CLASSIC_WIDTH for r in rows) else 8
    table = FrameTable.empty(len(rows), width)
    if not rows:
        return table
    table.timestamp[:] = [r.timestamp for r in rows]
    table.channel[:] = [r.channel for r in rows]
    table.arbitration_id[:] = [r.arbitration_id for r in rows]
    table.is_extended_id[:] = [r.is_extended_id for r in rows]
    table.is_fd[:] = [r.is_fd for r in rows]
    table.is_error[:] = [r.is_error for r in rows]
    table.is_remote[:] = [r.is_remote for r in rows]
    table.dlc[:] = [r.dlc for r in rows]
    for i, r in enumerate(rows):
        payload = r.data[:width]
        if payload:
            table.data[i, : len(payload)] = np.frombuffer(payload, np.uint8)
    return table


class IssueLog:
    """Collects read issues, keeping the first :data:`MAX_ISSUES` and counting the rest."""

    def __init__(self) -> None:
        self.issues: list[ReadIssue] = []
        self.dropped = 0
        self.total = 0

    def add(self, kind: str, line: int | None, detail: str) -> None:
        self.total += 1
        if len(self.issues) < MAX_ISSUES:
            self.issues.append(ReadIssue(kind, line, detail))
        else:
            self.dropped += 1

    def finish(self) -> list[ReadIssue]:
        if self.dropped:
            self.issues.append(
                ReadIssue("more-issues", None, f"{self.dropped} more bad lines not listed")
            )
        return self.issues


class LineReader(FormatReader):
    """Base of the text formats: header handling, per-line parsing, merging fast chunks."""

    def new_state(self) -> dict[str, Any]:
        """Per-file parser state (number base, columns from a header line ...)."""
        return {}

    def parse_chunk(self, chunk: bytes, first_line: int, state: dict) -> ChunkResult | None:
        """Parse a chunk in bulk, or return None to parse it line by line."""
        return None

    def parse_line(self, text: str, line: int, state: dict) -> Row | None:
        """One line: a Row, None for a line that carries no frame, BadLine if it is wrong."""
        raise NotImplementedError

    def finish(self, raw: RawRead, state: dict) -> None:
        """Fill in file-level facts (start time, time unit) once every line was read."""

    def read(self, source: Source, progress: ProgressCallback | None = None) -> RawRead:
        state = self.new_state()
        log = IssueLog()
        tables: list[FrameTable] = []
        line_numbers: list[np.ndarray] = []

        def take(fast: ChunkResult | None, chunk: bytes, first_line: int) -> None:
            if fast is None:
                numbered = _numbered_lines(chunk, first_line)
            else:
                tables.append(fast.frames)
                line_numbers.append(fast.lines)
                numbered = fast.other_lines
            rows, numbers = self._parse_lines(numbered, state, log)
            if rows:
                tables.append(rows_to_table(rows))
                line_numbers.append(np.asarray(numbers, np.int64))

        # The first chunk is parsed alone (it holds the header that sets up ``state``); the
        # others two at a time (numpy releases the GIL), their leftovers in file order.
        chunks = source.line_chunks(progress)
        with ThreadPoolExecutor(max_workers=PARSE_THREADS) as pool:
            in_flight: deque = deque()
            for index, (chunk, first_line) in enumerate(chunks):
                if index == 0:
                    take(self.parse_chunk(chunk, first_line, state), chunk, first_line)
                    continue
                job = pool.submit(self.parse_chunk, chunk, first_line, state)
                in_flight.append((job, chunk, first_line))
                if len(in_flight) > PARSE_THREADS:
                    job, chunk, first_line = in_flight.popleft()
                    take(job.result(), chunk, first_line)
            while in_flight:
                job, chunk, first_line = in_flight.popleft()
                take(job.result(), chunk, first_line)

        frames = _in_line_order(tables, line_numbers)
        raw = RawRead(frames=frames, issues=log.finish(), skipped=log.total)
        if source.starts_with_bom():
            raw.issues.insert(0, ReadIssue("bom", 1, "a UTF-8 byte-order mark was removed"))
        self.finish(raw, state)
        return raw

    def _parse_lines(
        self, numbered: list[tuple[int, str]], state: dict, log: IssueLog
    ) -> tuple[list[Row], list[int]]:
        rows: list[Row] = []
        numbers: list[int] = []
        for number, text in numbered:
            try:
                row = self.parse_line(text, number, state)
            except BadLine as bad:
                log.add(bad.kind, number, bad.detail)
                continue
            except (ValueError, IndexError, KeyError) as exc:
                log.add("bad-line", number, f"cannot parse {_clip(text)!r}: {exc}")
                continue
            if row is None:
                continue
            problem = _out_of_range(row)
            if problem:
                log.add("bad-line", number, problem)
                continue
            rows.append(row)
            numbers.append(number)
        return rows, numbers


def _out_of_range(row: Row) -> str | None:
    """Why a parsed row cannot be a frame (a number too big for its column), or None."""
    if not 0 <= row.arbitration_id < 1 << 29:
        return f"ID {row.arbitration_id:X} is longer than 29 bits"
    if not -(1 << 15) <= row.channel < 1 << 15:
        return f"bus number {row.channel} is out of range"
    if not 0 <= row.dlc <= 64 or len(row.data) > 64:
        return f"{max(row.dlc, len(row.data))} data bytes is more than CAN FD's 64"
    if not math.isfinite(row.timestamp):
        return f"time stamp {row.timestamp} is not a number"
    return None


def _numbered_lines(chunk: bytes, first_line: int) -> list[tuple[int, str]]:
    text = chunk.decode("latin-1")
    parts = text.split("\n")
    if parts and parts[-1] == "":
        parts.pop()
    return [(first_line + i, p.rstrip("\r")) for i, p in enumerate(parts)]


def _in_line_order(tables: list[FrameTable], line_numbers: list[np.ndarray]) -> FrameTable:
    if not tables:
        return FrameTable.empty()
    frames = FrameTable.concat(tables)
    numbers = np.concatenate(line_numbers)
    if len(numbers) > 1 and np.any(numbers[1:] < numbers[:-1]):
        frames = frames.take(np.argsort(numbers, kind="stable"))
    return frames


def _clip(text: str, size: int = 60) -> str:
    text = text.strip()
    return text if len(text) <= size else text[:size] + "..."


def clip(text: str, size: int = 60) -> str:
    """A line shortened for a message."""
    return _clip(text, size)
