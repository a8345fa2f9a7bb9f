"""Frame tables from the real captures, read by python-can where it can read them.

python-can's readers are the reference path here (see app.formats for ours). The BMW i3
CSV is in a SavvyCAN-like layout python-can does not read; it is read with the csv module.
"""

from __future__ import annotations

import csv
from pathlib import Path

import can

from app.frames import FrameTable


def read_with_python_can(path: Path) -> FrameTable:
    readers = {
        ".trc": can.TRCReader,
        ".asc": can.ASCReader,
        ".txt": can.ASCReader,
        ".log": can.CanutilsLogReader,
        ".blf": can.BLFReader,
    }
    reader = readers[path.suffix.lower()](str(path))
    try:
        return FrameTable.from_messages(reader)
    finally:
        reader.stop()


def read_i3_csv(path: Path) -> FrameTable:
    """``Time Stamp,ID,Extended,Bus,LEN,D1..D8`` with hex IDs and bytes."""
    messages = []
    with path.open(newline="", encoding="utf-8-sig") as handle:
        for row in csv.DictReader(handle):
            length = int(row["LEN"])
            data = bytes(int(row[f"D{i}"], 16) for i in range(1, length + 1))
            messages.append(
                can.Message(
                    timestamp=float(row["Time Stamp"]),
                    arbitration_id=int(row["ID"], 16),
                    is_extended_id=row["Extended"].strip().lower() == "true",
                    channel=int(row["Bus"]),
                    data=data,
                )
            )
    return FrameTable.from_messages(messages)
