"""Which readers and writers exist, by format name, and which suffix names which writer.

Readers register here in the order their ``sniff`` is tried; detection ranks them by score
(ties go to the earlier one). Writers are looked up by format name or file suffix.
"""

from __future__ import annotations

from app.formats.asc import AscReader
from app.formats.base import FormatReader
from app.formats.blf import BlfReader
from app.formats.bmw_hex import BmwHexReader
from app.formats.busmaster import BusmasterReader
from app.formats.candump import CandumpLogReader, CandumpTextReader
from app.formats.carbus import CarbusReader
from app.formats.crtd import CrtdReader
from app.formats.generic_id import GenericIdReader
from app.formats.gvret import GvretCsvReader
from app.formats.mf4 import Mf4Reader
from app.formats.microchip import MicrochipReader
from app.formats.pcsv import PythonCanCsvReader
from app.formats.printer import PrinterReader
from app.formats.trc import TrcReader

READERS: list[FormatReader] = [
    BlfReader(),
    Mf4Reader(),
    GvretCsvReader(),
    PythonCanCsvReader(),
    GenericIdReader(),
    BusmasterReader(),
    CarbusReader(),
    MicrochipReader(),
    CandumpLogReader(),
    TrcReader(),
    AscReader(),
    CrtdReader(),
    PrinterReader(),
    CandumpTextReader(),
    BmwHexReader(),
]


def register(reader: FormatReader) -> None:
    """Add a reader (a later format module calls this at import)."""
    if any(r.name == reader.name for r in READERS):
        return
    READERS.append(reader)


def reader_named(name: str) -> FormatReader | None:
    return next((r for r in READERS if r.name == name), None)
