"""The reader interface every capture format implements, and the results it returns.

A reader is one object per format: it scores how well the first bytes of a file look like
its format (``sniff``) and turns a whole file into a :class:`RawRead` (``read``). The
registry in :mod:`app.formats.registry` holds one instance of each.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

from app.formats.source import Head, Source
from app.frames import FrameTable
from app.progress import ProgressCallback


@dataclass(frozen=True)
class ReadIssue:
    """Something wrong in a capture that did not stop it from loading.

    ``kind`` is a short word ("bad-line", "truncated", "bom", "spreadsheet-id" ...), ``line``
    the 1-based line (or, for binary formats, None with the byte offset in ``detail``).
    """

    kind: str
    line: int | None
    detail: str

    def __str__(self) -> str:
        where = "" if self.line is None else f"line {self.line}: "
        return f"{where}{self.detail} ({self.kind})"


@dataclass
class RawRead:
    """What a reader found, before the timestamps are checked.

    ``time_unit`` says how the file's time column was read: "s" (already seconds), or
    "none" when the format has no timestamps at all. ``time_resolution_s`` is the smallest
    step the file can express (1e-6 for six decimals), used by the timestamp checks.
    """

    frames: FrameTable
    issues: list[ReadIssue] = field(default_factory=list)
    start_time_epoch: float | None = None
    time_unit: str = "s"
    time_resolution_s: float | None = None
    notes: list[str] = field(default_factory=list)
    #: rows skipped in all (``issues`` lists at most the first thousand); None: count issues
    skipped: int | None = None


class FormatReader(ABC):
    """One capture format: how to recognise it and how to read it."""

    #: short name reported to the user and accepted by ``read_capture(format=...)``
    name: str = ""
    #: a few words for messages ("Vector BLF", "SavvyCAN/GVRET CSV")
    title: str = ""

    @abstractmethod
    def sniff(self, head: Head) -> int:
        """How sure we are that ``head`` starts a file of this format: 0 (no) to 100."""

    @abstractmethod
    def read(self, source: Source, progress: ProgressCallback | None = None) -> RawRead:
        """Read the whole file into a frame table, skipping and counting bad rows."""
