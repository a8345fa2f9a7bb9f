"""python-can as the reference: its readers' frames as a FrameTable, and table comparison."""

from __future__ import annotations

import gzip
import re

import can
import numpy as np

from app.frames import FrameTable

PYTHON_CAN_READERS = {
    "blf": can.BLFReader,
    "asc": can.ASCReader,
    "candump": can.CanutilsLogReader,
    "trc": can.TRCReader,
    "csv": can.CSVReader,
}


def _bus_number(channel) -> int:
    """python-can keeps candump interface names as strings; we keep their bus number."""
    if isinstance(channel, int):
        return channel
    match = re.search(r"(\d+)$", str(channel or ""))
    return int(match.group(1)) if match else 0


def reference_frames(path, format: str) -> FrameTable:
    """The frames python-can's reader for ``format`` gives for ``path``."""
    opened = gzip.open(path, "rt") if str(path).endswith(".gz") else str(path)
    with PYTHON_CAN_READERS[format](opened) as reader:
        messages = list(reader)
    table = FrameTable.from_messages(messages)
    table.channel[:] = [_bus_number(m.channel) for m in messages]
    return table


def assert_same_frames(ours: FrameTable, reference: FrameTable, atol: float = 1e-6) -> None:
    """Same frames in the same order (timestamps within ``atol`` seconds)."""
    assert len(ours) == len(reference), f"{len(ours)} frames, python-can has {len(reference)}"
    np.testing.assert_allclose(ours.timestamp, reference.timestamp, rtol=0, atol=atol)
    for column in ("channel", "arbitration_id", "is_extended_id", "is_fd", "is_error",
                   "is_remote", "dlc"):  # fmt: skip
        mine, theirs = getattr(ours, column), getattr(reference, column)
        if column == "is_extended_id":  # python-can marks ID-less error frames extended
            mine, theirs = mine[~reference.is_error], theirs[~reference.is_error]
        bad = np.flatnonzero(mine != theirs)
        assert len(bad) == 0, (
            f"{column} differs at frame {bad[0]}: ours {mine[bad[0]]}, python-can {theirs[bad[0]]}"
        )
    width = max(ours.data.shape[1], reference.data.shape[1])
    mine = np.zeros((len(ours), width), np.uint8)
    theirs = np.zeros((len(reference), width), np.uint8)
    mine[:, : ours.data.shape[1]] = ours.data
    theirs[:, : reference.data.shape[1]] = reference.data
    bad = np.flatnonzero((mine != theirs).any(axis=1))
    assert len(bad) == 0, f"data differs at frame {bad[0]}: {mine[bad[0]]} vs {theirs[bad[0]]}"
