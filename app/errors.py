"""The exceptions the core raises for bad input, one small tree.

Every message names the file and, where there is one, the line or frame and what was wrong,
so the command line and the window can show it as it is, without a traceback.
"""

from __future__ import annotations

from pathlib import Path


class MonitorError(Exception):
    """Base of every error the core raises on purpose."""


class LoadCancelled(MonitorError):
    """The user cancelled a long operation through its progress callback."""


class CaptureError(MonitorError):
    """A capture cannot be read at all (not: some of its lines are bad)."""

    def __init__(self, path: str | Path, detail: str, line: int | None = None):
        self.path = Path(path)
        self.line = line
        self.detail = detail
        where = f"{self.path}" if line is None else f"{self.path}, line {line}"
        super().__init__(f"{where}: {detail}")


class UnknownFormatError(CaptureError):
    """No reader recognised the content; ``tried`` lists the formats that were tried."""

    def __init__(self, path: str | Path, tried: list[str]):
        self.tried = list(tried)
        super().__init__(
            path, "not a CAN capture this program knows; tried " + ", ".join(self.tried)
        )


class DatabaseError(MonitorError):
    """A CAN database (DBC, KCD, SYM, ARXML) cannot be loaded even after repairs."""

    def __init__(self, path: str | Path, detail: str):
        self.path = Path(path)
        self.detail = detail
        super().__init__(f"{self.path}: {detail}")


class StoreError(MonitorError):
    """The workspace or the shared database refused or failed an operation."""


class ExportError(MonitorError):
    """An export could not be written; nothing the user made was changed."""
