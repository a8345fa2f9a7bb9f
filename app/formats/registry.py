"""Which readers and writers exist, by format name, and which suffix names which writer.

Readers register here in the order their ``sniff`` is tried; detection ranks them by score
(ties go to the earlier one). Writers are looked up by format name or file suffix.
"""

from __future__ import annotations

from app.formats.asc import AscReader
from app.formats.base import FormatReader
from app.formats.blf import BlfReader
from app.formats.candump import CandumpLogReader, CandumpTextReader
from app.formats.gvret import GvretCsvReader

READERS: list[FormatReader] = [
    BlfReader(),
    GvretCsvReader(),
    CandumpLogReader(),
    AscReader(),
    CandumpTextReader(),
]


def register(reader: FormatReader) -> None:
    """Add a reader (a later format module calls this at import)."""
    if any(r.name == reader.name for r in READERS):
        return
    READERS.append(reader)


def reader_named(name: str) -> FormatReader | None:
    return next((r for r in READERS if r.name == name), None)
