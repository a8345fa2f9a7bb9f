"""ISO-TP (ISO 15765-2) reassembly of diagnostic responses, vectorised over a capture.

UDS responses longer than seven bytes arrive as a *first frame* (PCI 0x1, 12-bit length),
*consecutive frames* (PCI 0x2, sequence number 0..15) and, for short answers, a *single
frame* (PCI 0x0, 4-bit length). Databases written for the reassembled response (the CSS
Electronics convention, as in their ``tp_uds.dbc``) put the response's first data byte at
byte 1: byte 0 holds the length. :func:`reassemble` builds exactly that payload, so those
databases decode the result directly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.frames import FD_WIDTH, FrameTable

SINGLE, FIRST, CONSECUTIVE = 0, 1, 2
DATA_PER_CONSECUTIVE = 7


@dataclass
class Reassembly:
    frames: FrameTable  # one row per complete transfer, payload as described above
    transfers: int
    incomplete: int  # first frames whose consecutive frames were missing or out of order
    truncated: int  # transfers longer than 63 data bytes, cut to the table's 64 bytes


def looks_like_isotp(frames: FrameTable) -> bool:
    """True when the frames (of one ID) contain ISO-TP first frames."""
    if len(frames) == 0 or frames.data.shape[1] < 2:
        return False
    classic = bool(np.all(frames.dlc <= 8)) and not frames.is_fd.any()
    return classic and bool(np.any((frames.data[:, 0] >> 4) == FIRST))


def reassemble(frames: FrameTable) -> Reassembly:
    """Join the single, first and consecutive frames of one arbitration ID, in order."""
    pci = frames.data[:, 0] >> 4
    single = _single_frames(frames, pci)
    multi, incomplete, truncated = _multi_frame_transfers(frames, pci)
    joined = FrameTable.concat([single, multi])
    order = np.argsort(joined.timestamp, kind="stable")
    joined = joined.take(order)
    return Reassembly(joined, len(joined), incomplete, truncated)


def _single_frames(frames: FrameTable, pci: np.ndarray) -> FrameTable:
    rows = np.flatnonzero((pci == SINGLE) & (frames.dlc >= 1))
    length = frames.data[rows, 0] & 0x0F
    rows, length = rows[length >= 1], length[length >= 1]
    table = _table(frames, rows, len(rows))
    table.data[:, :8] = frames.data[rows, :8]
    table.dlc[:] = np.minimum(1 + length.astype(np.int64), frames.dlc[rows])
    _clear_past_dlc(table)
    return table


def _multi_frame_transfers(frames: FrameTable, pci: np.ndarray):
    n = len(frames)
    first = np.flatnonzero((pci == FIRST) & (frames.dlc == 8))
    length = ((frames.data[first, 0].astype(np.int64) & 0x0F) << 8) | frames.data[first, 1]
    needed = np.maximum(0, -(-(length - 6) // DATA_PER_CONSECUTIVE))  # ceil

    # The payload keeps the length's low byte at 0, then up to 63 data bytes.
    out = np.zeros((len(first), FD_WIDTH + DATA_PER_CONSECUTIVE), np.uint8)
    out[:, :7] = frames.data[first, 1:8]
    complete = np.ones(len(first), bool)
    last_row = first.copy()
    most = int(needed.max()) if len(needed) else 0
    reach = min(most, (FD_WIDTH - 7 + DATA_PER_CONSECUTIVE - 1) // DATA_PER_CONSECUTIVE)
    for k in range(1, most + 1):
        wanted = needed >= k
        rows = first + k
        present = rows < n
        rows = np.where(present, rows, 0)
        ok = present & (pci[rows] == CONSECUTIVE) & ((frames.data[rows, 0] & 0x0F) == k % 16)
        complete &= ~wanted | ok
        last_row = np.where(wanted & ok, rows, last_row)
        if k <= reach:
            start = 7 * k
            out[:, start : start + 7] = np.where((wanted & ok)[:, None], frames.data[rows, 1:8], 0)

    keep = complete & (length >= 7)
    table = _table(frames, last_row[keep], int(np.count_nonzero(keep)))
    table.data[:] = out[keep, :FD_WIDTH]
    table.dlc[:] = np.minimum(1 + length[keep], FD_WIDTH)
    table.is_fd[:] = False
    _clear_past_dlc(table)
    truncated = int(np.count_nonzero(length[keep] > FD_WIDTH - 1))
    return table, int(np.count_nonzero(~complete)), truncated


def _table(frames: FrameTable, rows: np.ndarray, count: int) -> FrameTable:
    table = FrameTable.empty(count, FD_WIDTH)
    table.timestamp[:] = frames.timestamp[rows]
    table.channel[:] = frames.channel[rows]
    table.arbitration_id[:] = frames.arbitration_id[rows]
    table.is_extended_id[:] = frames.is_extended_id[rows]
    return table


def _clear_past_dlc(table: FrameTable) -> None:
    columns = np.arange(table.data.shape[1])
    table.data[columns[None, :] >= table.dlc[:, None].astype(np.int64)] = 0
