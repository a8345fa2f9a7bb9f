"""ASAM MDF 4 bus logging (CAN_DataFrame, CAN_RemoteFrame, CAN_ErrorFrame channel groups).

Reading needs the optional asammdf package; without it the error says how to get it.
Groups are read whole as numpy columns and merged by time, as python-can's ``MF4Reader``
does. ``BusChannel`` counts from 1 in the file and from 0 here.
"""

from __future__ import annotations

import logging

import numpy as np

from app.errors import CaptureError
from app.formats.base import FormatReader, RawRead
from app.formats.source import Head, Source
from app.frames import CLASSIC_WIDTH, FD_WIDTH, FrameTable
from app.progress import ProgressCallback, report

logger = logging.getLogger(__name__)

MDF_MAGIC = (b"MDF     ", b"UnFinMF ")  # finalised, and as loggers leave it
KINDS = ("CAN_DataFrame", "CAN_RemoteFrame", "CAN_ErrorFrame")
MISSING = "reading MF4 needs the optional asammdf package (pip install 'ev-battery-monitor[mf4]')"


class Mf4Reader(FormatReader):
    name = "mf4"
    title = "ASAM MF4 bus logging"

    def sniff(self, head: Head) -> int:
        return 100 if head.data.startswith(MDF_MAGIC) else 0

    def read(self, source: Source, progress: ProgressCallback | None = None) -> RawRead:
        try:
            from asammdf import MDF
        except ImportError as exc:
            raise CaptureError(source.path, MISSING) from exc

        report(progress, 0, source.size)
        try:
            mdf = MDF(str(source.path))
        except Exception as exc:  # asammdf raises many kinds for a damaged file; name it
            raise CaptureError(source.path, f"asammdf cannot open it: {exc}") from exc
        try:
            start = mdf.header.start_time.timestamp()
            tables = []
            for index, group in enumerate(mdf.groups):
                names = {channel.name for channel in group.channels}
                kind = next((k for k in KINDS if k in names), None)
                if kind is None or group.channel_group.cycles_nr == 0:
                    continue
                signal = mdf.get(kind, index, raw=False)
                tables.append(_table(kind, signal, start))
                report(progress, source.size * (index + 1) // (len(mdf.groups) + 1), source.size)
        finally:
            mdf.close()
        report(progress, source.size, source.size)
        if not tables:
            return RawRead(FrameTable.empty(), start_time_epoch=start, time_resolution_s=1e-9)
        frames = FrameTable.concat(tables)
        frames = frames.take(np.argsort(frames.timestamp, kind="stable"))
        return RawRead(frames, start_time_epoch=start, time_resolution_s=1e-9)


def _field(samples, name: str, default=0) -> np.ndarray:
    if name in (samples.dtype.names or ()):
        return np.asarray(samples[name])
    return np.full(len(samples), default)


def _table(kind: str, signal, start: float) -> FrameTable:
    samples = signal.samples
    n = len(samples)
    lengths = _field(samples, f"{kind}.DataLength", 0).astype(np.int64)
    if kind != "CAN_DataFrame":
        lengths = np.zeros(n, np.int64)
    fd = _field(samples, f"{kind}.EDL", 0).astype(bool)
    width = FD_WIDTH if (lengths > CLASSIC_WIDTH).any() or fd.any() else CLASSIC_WIDTH
    table = FrameTable.empty(n, width)
    table.timestamp[:] = np.asarray(signal.timestamps, np.float64) + start
    bus = _field(samples, f"{kind}.BusChannel", 1).astype(np.int64)
    table.channel[:] = np.maximum(bus - 1, 0)
    table.arbitration_id[:] = _field(samples, f"{kind}.ID", 0).astype(np.int64) & 0x1FFFFFFF
    table.is_extended_id[:] = _field(samples, f"{kind}.IDE", 0).astype(bool)
    table.is_fd[:] = fd
    table.is_remote[:] = kind == "CAN_RemoteFrame"
    table.is_error[:] = kind == "CAN_ErrorFrame"
    dlc = _field(samples, f"{kind}.DLC", 0).astype(np.int64)
    table.dlc[:] = np.where(table.is_remote, dlc, np.minimum(lengths, width))
    if kind == "CAN_DataFrame" and n:
        raw = np.asarray(samples[f"{kind}.DataBytes"])
        raw = raw.reshape(n, -1)[:, :width].astype(np.uint8)
        keep = np.arange(raw.shape[1]) < lengths[:, None]
        table.data[:, : raw.shape[1]] = np.where(keep, raw, 0)
    return table
