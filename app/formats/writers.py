"""Writing frame tables: the writer of each writable format, chosen by name or suffix.

BLF, ASC, candump and GVRET CSV have bulk writers of our own (no Python object per frame);
TRC, python-can CSV and MF4 go through python-can's writers, one message at a time.
A ``.gz`` suffix gzips the output of the format named by the suffix before it.
"""

from __future__ import annotations

import gzip
import logging
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from app.errors import CaptureError
from app.formats.asc import write_asc
from app.formats.blf_writer import write_blf
from app.formats.candump import write_candump
from app.formats.gvret import write_gvret
from app.frames import FrameTable

logger = logging.getLogger(__name__)

SUFFIXES = {
    ".blf": "blf",
    ".asc": "asc",
    ".log": "candump",
    ".candump": "candump",
    ".trc": "trc",
    ".csv": "gvret-csv",
    ".mf4": "mf4",
}


def iter_messages(frames: FrameTable, channel_base: int = 0) -> Iterator:
    """python-can Messages for a frame table (for python-can's writers).

    ``channel_base`` is added to our 0-based bus numbers for writers that store the
    number as given (MF4's BusChannel counts from 1).
    """
    import can

    for i in range(len(frames)):
        remote = bool(frames.is_remote[i])
        yield can.Message(
            timestamp=float(frames.timestamp[i]),
            arbitration_id=int(frames.arbitration_id[i]),
            is_extended_id=bool(frames.is_extended_id[i]),
            is_remote_frame=remote,
            is_error_frame=bool(frames.is_error[i]),
            is_fd=bool(frames.is_fd[i]),
            dlc=int(frames.dlc[i]),
            data=None if remote else frames.payload(i),
            channel=int(frames.channel[i]) + channel_base,
            check=False,
        )


def _python_can_writer(
    factory_name: str, channel_base: int = 0
) -> Callable[[FrameTable, Path], None]:
    def write(frames: FrameTable, path: Path) -> None:
        import can

        writer_class = getattr(can, factory_name)
        with writer_class(str(path)) as writer:
            for message in iter_messages(frames, channel_base):
                writer.on_message_received(message)

    return write


def _write_mf4(frames: FrameTable, path: Path) -> None:
    try:
        import asammdf  # noqa: F401 - only checks that the optional extra is there
    except ImportError as exc:
        raise CaptureError(
            path, "writing MF4 needs the optional asammdf package (pip install asammdf)"
        ) from exc
    _python_can_writer("MF4Writer", channel_base=1)(frames, path)


WRITERS: dict[str, Callable[[FrameTable, Path], None]] = {
    "blf": write_blf,
    "asc": write_asc,
    "candump": write_candump,
    "gvret-csv": write_gvret,
    "trc": _python_can_writer("TRCWriter"),
    "csv": _python_can_writer("CSVWriter"),
    "mf4": _write_mf4,
}


def format_for(path: Path) -> tuple[str, bool]:
    """The format a file name asks for, and whether it ends in ``.gz``."""
    suffixes = [s.lower() for s in path.suffixes]
    compressed = bool(suffixes) and suffixes[-1] == ".gz"
    if compressed:
        suffixes = suffixes[:-1]
    if not suffixes or suffixes[-1] not in SUFFIXES:
        known = ", ".join(sorted(SUFFIXES))
        raise CaptureError(path, f"cannot tell the format from the suffix; use one of {known}")
    return SUFFIXES[suffixes[-1]], compressed


def write(frames: FrameTable, path: Path, format: str | None = None) -> None:
    compressed = path.suffix.lower() == ".gz"
    if format is None:
        format, compressed = format_for(path)
    writer = WRITERS.get(format)
    if writer is None:
        raise CaptureError(
            path, f"cannot write the format {format!r}; writable: {', '.join(WRITERS)}"
        )
    logger.info("writing %d frames to %s as %s", len(frames), path, format)
    if not compressed:
        writer(frames, path)
        return
    with tempfile.TemporaryDirectory() as folder:
        plain = Path(folder) / path.with_suffix("").name
        writer(frames, plain)
        with open(plain, "rb") as source, gzip.open(path, "wb", compresslevel=6) as target:
            shutil.copyfileobj(source, target, 1 << 20)
