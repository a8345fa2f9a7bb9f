"""The columnar frame table every capture reader returns.

A *frame* is one received CAN frame, with python-can's words: ``timestamp``,
``arbitration_id``, ``is_extended_id``, ``dlc`` (the number of data bytes, as python-can
counts it for CAN FD too) and ``data``. A capture of millions of frames is held as one numpy
array per column, never as a Python object per frame.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields

import numpy as np

CLASSIC_WIDTH = 8
FD_WIDTH = 64

# The data length codes of CAN FD above 8 map onto these byte counts.
FD_LENGTHS = (0, 1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 20, 24, 32, 48, 64)


@dataclass
class FrameTable:
    """Frames in file order, one numpy array per column.

    ``data`` is ``uint8`` of shape ``(n, 8)`` when every frame is classic CAN and
    ``(n, 64)`` when any frame is CAN FD; bytes past ``dlc`` are zero. ``channel`` is the
    0-based bus number as python-can counts it (a file's "channel 1" is bus 0; 0 when the
    file names none).
    """

    timestamp: np.ndarray  # float64 seconds, as the file gives them (see app.timestamps)
    channel: np.ndarray  # int16
    arbitration_id: np.ndarray  # uint32
    is_extended_id: np.ndarray  # bool
    is_fd: np.ndarray  # bool
    is_error: np.ndarray  # bool
    is_remote: np.ndarray  # bool
    dlc: np.ndarray  # uint8, number of data bytes
    data: np.ndarray  # uint8 (n, 8) or (n, 64)

    def __post_init__(self) -> None:
        n = len(self.timestamp)
        for field in fields(self):
            column = getattr(self, field.name)
            if len(column) != n:
                raise ValueError(f"column {field.name} has {len(column)} rows, expected {n}")

    def __len__(self) -> int:
        return len(self.timestamp)

    @property
    def nbytes(self) -> int:
        return sum(getattr(self, f.name).nbytes for f in fields(self))

    @classmethod
    def empty(cls, n: int = 0, width: int = CLASSIC_WIDTH) -> FrameTable:
        """A table of ``n`` zeroed frames, for readers that fill columns in place."""
        return cls(
            timestamp=np.zeros(n, np.float64),
            channel=np.zeros(n, np.int16),
            arbitration_id=np.zeros(n, np.uint32),
            is_extended_id=np.zeros(n, bool),
            is_fd=np.zeros(n, bool),
            is_error=np.zeros(n, bool),
            is_remote=np.zeros(n, bool),
            dlc=np.zeros(n, np.uint8),
            data=np.zeros((n, width), np.uint8),
        )

    def take(self, index: np.ndarray | slice) -> FrameTable:
        """The frames picked by a boolean mask, an index array or a slice."""
        return FrameTable(**{f.name: getattr(self, f.name)[index] for f in fields(self)})

    @classmethod
    def concat(cls, tables: Sequence[FrameTable]) -> FrameTable:
        """Join tables in order, widening ``data`` to 64 bytes if any of them is FD."""
        if not tables:
            return cls.empty()
        width = max(t.data.shape[1] for t in tables)
        columns = {}
        for field in fields(cls):
            if field.name == "data":
                parts = [_widen(t.data, width) for t in tables]
            else:
                parts = [getattr(t, field.name) for t in tables]
            columns[field.name] = np.concatenate(parts)
        return cls(**columns)

    @classmethod
    def from_messages(cls, messages: Iterable) -> FrameTable:
        """Build a table from python-can ``Message`` objects (the slow reference path)."""
        messages = list(messages)
        width = FD_WIDTH if any(m.is_fd for m in messages) else CLASSIC_WIDTH
        table = cls.empty(len(messages), width)
        for i, m in enumerate(messages):
            table.timestamp[i] = m.timestamp
            table.channel[i] = m.channel if isinstance(m.channel, int) else 0
            table.arbitration_id[i] = m.arbitration_id
            table.is_extended_id[i] = m.is_extended_id
            table.is_fd[i] = m.is_fd
            table.is_error[i] = m.is_error_frame
            table.is_remote[i] = m.is_remote_frame
            payload = bytes(m.data or b"")[:width]
            table.dlc[i] = len(payload) if not m.is_remote_frame else m.dlc
            table.data[i, : len(payload)] = np.frombuffer(payload, np.uint8)
        return table

    def payload(self, i: int) -> bytes:
        """The data bytes of frame ``i`` (for tests and the frame inspector)."""
        return self.data[i, : self.dlc[i]].tobytes()


def _widen(data: np.ndarray, width: int) -> np.ndarray:
    if data.shape[1] == width:
        return data
    wide = np.zeros((len(data), width), np.uint8)
    wide[:, : data.shape[1]] = data
    return wide
