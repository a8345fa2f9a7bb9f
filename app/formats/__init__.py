"""Reading and writing CAN captures: the public API of the formats package.

``read_capture`` sniffs the content (never the extension), picks the best-scoring reader,
reads the file into a :class:`~app.frames.FrameTable`, checks the timestamps
(:mod:`app.timestamps`) and returns a :class:`Capture`. ``write_capture`` writes a frame
table in one of the writable formats. One module per format lives beside this one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from app.errors import CaptureError, UnknownFormatError
from app.formats.base import FormatReader, RawRead, ReadIssue
from app.formats.registry import READERS, reader_named
from app.formats.source import Source
from app.formats.writers import WRITERS, write
from app.frames import FrameTable
from app.progress import ProgressCallback
from app.timestamps import TimestampReport, check_timestamps

logger = logging.getLogger(__name__)

EPOCH_2001 = 1e9
EPOCH_2100 = 4.1e9

__all__ = [
    "Capture",
    "ReadIssue",
    "UnknownFormatError",
    "detect_format",
    "rank_formats",
    "read_capture",
    "write_capture",
    "WRITABLE_FORMATS",
    "FORMAT_NAMES",
]

#: every readable format's name, in the order detection tries them
FORMAT_NAMES = tuple(reader.name for reader in READERS)


@dataclass
class Capture:
    """A capture read from disk: its frames in file order and what was wrong with it."""

    path: Path
    format: str
    frames: FrameTable
    issues: list[ReadIssue] = field(default_factory=list)
    start_time_epoch: float | None = None
    timestamp_report: TimestampReport = field(default_factory=TimestampReport)
    format_title: str = ""
    #: rows skipped in all, when more were skipped than ``issues`` lists
    skipped_total: int | None = None

    @property
    def frame_count(self) -> int:
        return len(self.frames)

    @property
    def skipped_lines(self) -> int:
        """Rows or objects that were skipped because they could not be read."""
        if self.skipped_total is not None:
            return self.skipped_total
        return sum(1 for issue in self.issues if issue.kind not in ("bom", "note", "more-issues"))

    @property
    def duration_s(self) -> float:
        if len(self.frames) == 0:
            return 0.0
        return float(self.frames.timestamp.max() - self.frames.timestamp.min())

    def issue_messages(self) -> list[str]:
        """Every issue as a sentence naming the file and line, for the user."""
        messages = []
        for issue in self.issues:
            where = f"{self.path}" if issue.line is None else f"{self.path}, line {issue.line}"
            messages.append(f"{where}: {issue.detail}")
        return messages

    @property
    def channels(self) -> list[int]:
        return sorted({int(c) for c in set(self.frames.channel.tolist())})


def rank_formats(path: str | Path) -> list[tuple[str, int]]:
    """Every reader's score for this file's first bytes, best first (score > 0 only)."""
    head = Source(path).head()
    scores = [(reader.name, reader.sniff(head)) for reader in READERS]
    ranked = sorted((s for s in scores if s[1] > 0), key=lambda s: -s[1])
    return ranked


def detect_format(path: str | Path) -> str:
    """The name of the format the content looks like; UnknownFormatError if none."""
    ranked = rank_formats(path)
    if not ranked:
        raise UnknownFormatError(path, [reader.name for reader in READERS])
    return ranked[0][0]


def read_capture(
    path: str | Path, progress: ProgressCallback | None = None, format: str | None = None
) -> Capture:
    """Read a capture file (format detected from content unless ``format`` names one)."""
    source = Source(path)
    if format is not None:
        reader = reader_named(format)
        if reader is None:
            known = ", ".join(r.name for r in READERS)
            raise CaptureError(path, f"no reader for the format {format!r}; known: {known}")
        candidates = [reader]
    else:
        ranked = rank_formats(path)
        if not ranked:
            raise UnknownFormatError(path, [reader.name for reader in READERS])
        candidates = [reader_named(name) for name, _ in ranked]
        logger.info("%s: detected %s (scores %s)", source.path, ranked[0][0], ranked)

    raw, reader = _read_with_first_that_works(source, candidates, progress)
    timestamps, report = check_timestamps(
        raw.frames.timestamp, raw.time_unit, raw.time_resolution_s
    )
    raw.frames.timestamp = timestamps
    if raw.start_time_epoch is None and len(timestamps) and report.ok:
        if EPOCH_2001 <= timestamps[0] <= EPOCH_2100:  # the file's times are wall-clock times
            raw.start_time_epoch = float(timestamps[0])
    capture = Capture(
        path=source.path,
        format=reader.name,
        frames=raw.frames,
        issues=raw.issues,
        start_time_epoch=raw.start_time_epoch,
        timestamp_report=report,
        format_title=reader.title,
        skipped_total=raw.skipped if raw.skipped and raw.skipped > len(raw.issues) else None,
    )
    logger.info(
        "%s: read %d frames as %s, %d issues",
        source.path,
        capture.frame_count,
        reader.name,
        len(capture.issues),
    )
    for issue in capture.issues[:20]:
        logger.info("%s: %s", source.path, issue)
    return capture


def _read_with_first_that_works(
    source: Source, candidates: list[FormatReader], progress: ProgressCallback | None
) -> tuple[RawRead, FormatReader]:
    """Read with the best candidate; if it finds no frame at all, try the next ones.

    When none finds a frame, the best candidate's result (or its error) stands.
    """
    best: tuple[RawRead, FormatReader] | CaptureError | None = None
    for reader in candidates:
        try:
            raw = reader.read(source, progress)
        except CaptureError as exc:
            best = best or exc
            continue
        if len(raw.frames):
            return raw, reader
        best = best or (raw, reader)
    if isinstance(best, CaptureError):
        raise best
    assert best is not None
    return best


def write_capture(frames: FrameTable, path: str | Path, format: str | None = None) -> None:
    """Write ``frames`` to ``path``; the format comes from the suffix unless given."""
    write(frames, Path(path), format)


#: the formats ``write_capture`` can write (mf4 needs the optional asammdf package)
WRITABLE_FORMATS = tuple(WRITERS)
