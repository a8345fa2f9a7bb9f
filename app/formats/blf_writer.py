"""Writing Vector BLF in bulk: every object of a block built as numpy records at once,
cut into 128 KiB containers, compressed on two threads (zlib releases the GIL).

The layout is python-can's ``BLFWriter``'s (which the tests read back with python-can's
reader): CAN_MESSAGE, CAN_FD_MESSAGE and CAN_ERROR_EXT objects with nanosecond times.
"""

from __future__ import annotations

import datetime
import zlib
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from app.formats.blf import (
    CAN_ERROR_EXT,
    CAN_ERROR_RECORD,
    CAN_FD_MESSAGE,
    CAN_FD_RECORD,
    CAN_MESSAGE,
    CAN_MESSAGE_RECORD,
    CAN_MSG_EXT,
    CONTAINER,
    FD_LENGTH_TABLE,
    FILE_HEADER,
    FILE_HEADER_SIZE,
    LOG_CONTAINER,
    OBJECT_BASE,
    REMOTE_FLAG,
    ZLIB_DEFLATE,
)
from app.frames import CLASSIC_WIDTH, FD_WIDTH, FrameTable

CONTAINER_BYTES = 128 * 1024
WRITE_BLOCK = 1 << 20
APPLICATION_ID = 5
TIME_ONE_NANS = 2
EPOCH_1990 = 631152000


def epoch_to_systemtime(epoch: float | None) -> tuple[int, ...]:
    if epoch is None or epoch < EPOCH_1990:
        return (0,) * 8
    t = datetime.datetime.fromtimestamp(round(epoch, 3), tz=datetime.UTC)
    return (t.year, t.month, t.isoweekday() % 7, t.day, t.hour, t.minute, t.second,
            t.microsecond // 1000)  # fmt: skip


def write_blf(frames: FrameTable, path, compression_level: int = 1) -> None:
    """Write a BLF file of CAN, CAN FD and error-frame objects in compressed containers.

    Timestamps are stored in nanoseconds from the header's start time (whole milliseconds
    of the first frame, as python-can's writer does, when it is a wall-clock time).
    """
    n = len(frames)
    first = float(frames.timestamp[0]) if n else 0.0
    start = int(first * 1000) / 1000 if first >= EPOCH_1990 else 0.0
    stop = float(frames.timestamp[-1]) if n else 0.0
    uncompressed_total = FILE_HEADER_SIZE
    with open(path, "wb") as out, ThreadPoolExecutor(max_workers=2) as pool:
        out.write(b"\0" * FILE_HEADER_SIZE)
        carry = b""
        for begin in range(0, n, WRITE_BLOCK):
            block = frames.take(slice(begin, begin + WRITE_BLOCK))
            stream = carry + _object_bytes(block, start)
            whole = len(stream) // CONTAINER_BYTES * CONTAINER_BYTES
            carry = stream[whole:]
            pieces = [stream[i : i + CONTAINER_BYTES] for i in range(0, whole, CONTAINER_BYTES)]
            uncompressed_total += _write_containers(out, pool, pieces, compression_level)
        if carry:
            uncompressed_total += _write_containers(out, pool, [carry], compression_level)
        size = out.tell()
        out.seek(0)
        header = FILE_HEADER.pack(
            b"LOGG", FILE_HEADER_SIZE, APPLICATION_ID, 0, 0, 0, 2, 6, 8, 1,
            size, uncompressed_total, n, 0,
            *epoch_to_systemtime(start if start else None),
            *epoch_to_systemtime(stop if start else None),
        )  # fmt: skip
        out.write(header)


def _write_containers(out, pool, pieces: list[bytes], level: int) -> int:
    written = 0
    compressed = pool.map(lambda piece: zlib.compress(piece, level), pieces)
    for piece, packed in zip(pieces, compressed, strict=True):
        size = OBJECT_BASE.size + CONTAINER.size + len(packed)
        out.write(OBJECT_BASE.pack(b"LOBJ", OBJECT_BASE.size, 1, size, LOG_CONTAINER))
        out.write(CONTAINER.pack(ZLIB_DEFLATE, len(piece)))
        out.write(packed)
        out.write(b"\0" * (size % 4))
        written += OBJECT_BASE.size + CONTAINER.size + len(piece)
    return written


def _object_bytes(frames: FrameTable, start: float) -> bytes:
    """The uncompressed objects of ``frames``, in order."""
    n = len(frames)
    ticks = np.maximum((frames.timestamp - start) * 1e9, 0).astype(np.uint64)
    can_id = frames.arbitration_id.astype(np.uint32) | np.where(
        frames.is_extended_id, np.uint32(CAN_MSG_EXT), np.uint32(0)
    )
    channel = np.maximum(frames.channel.astype(np.int64) + 1, 0)
    kinds = np.where(
        frames.is_error, CAN_ERROR_EXT, np.where(frames.is_fd, CAN_FD_MESSAGE, CAN_MESSAGE)
    )
    sizes = np.select(
        [kinds == CAN_MESSAGE, kinds == CAN_FD_MESSAGE],
        [CAN_MESSAGE_RECORD.itemsize, CAN_FD_RECORD.itemsize],
        CAN_ERROR_RECORD.itemsize,
    )
    if (kinds == CAN_MESSAGE).all():
        records = _records(CAN_MESSAGE_RECORD, CAN_MESSAGE, ticks)
        _classic_fields(records, frames, channel, can_id)
        return records.tobytes()

    offsets = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    out = np.zeros(int(sizes.sum()), np.uint8)
    for kind, dtype, fill in (
        (CAN_MESSAGE, CAN_MESSAGE_RECORD, _classic_fields),
        (CAN_FD_MESSAGE, CAN_FD_RECORD, _fd_fields),
        (CAN_ERROR_EXT, CAN_ERROR_RECORD, _error_fields),
    ):
        rows = np.flatnonzero(kinds == kind)
        if len(rows) == 0:
            continue
        records = _records(dtype, kind, ticks[rows])
        fill(records, frames.take(rows), channel[rows], can_id[rows])
        flat = records.view(np.uint8).reshape(len(rows), dtype.itemsize)
        out[offsets[rows][:, None] + np.arange(dtype.itemsize)] = flat
    assert n == len(kinds)
    return out.tobytes()


def _records(dtype: np.dtype, kind: int, ticks: np.ndarray) -> np.ndarray:
    records = np.zeros(len(ticks), dtype)
    records["signature"] = b"LOBJ"
    records["header_size"] = 32
    records["header_version"] = 1
    records["object_size"] = dtype.itemsize
    records["object_type"] = kind
    records["flags"] = TIME_ONE_NANS
    records["ticks"] = ticks
    return records


def _classic_fields(records, frames, channel, can_id) -> None:
    records["channel"] = channel
    records["message_flags"] = np.where(frames.is_remote, REMOTE_FLAG, 0)
    records["dlc"] = frames.dlc
    records["can_id"] = can_id
    keep = np.arange(CLASSIC_WIDTH) < np.where(frames.is_remote, 0, frames.dlc)[:, None]
    records["data"] = np.where(keep, frames.data[:, :CLASSIC_WIDTH], 0)


def _fd_fields(records, frames, channel, can_id) -> None:
    lengths = frames.dlc.astype(np.int64)
    codes = np.searchsorted(FD_LENGTH_TABLE, lengths)
    records["channel"] = channel
    records["message_flags"] = np.where(frames.is_remote, REMOTE_FLAG, 0)
    records["dlc"] = codes
    records["can_id"] = can_id
    records["fd_flags"] = 1
    records["valid_bytes"] = np.where(frames.is_remote, 0, lengths)
    data = np.zeros((len(frames), FD_WIDTH), np.uint8)
    data[:, : frames.data.shape[1]] = frames.data
    records["data"] = data


def _error_fields(records, frames, channel, can_id) -> None:
    records["channel"] = channel
    records["dlc"] = np.minimum(frames.dlc, CLASSIC_WIDTH)
    records["can_id"] = can_id
    records["data"] = frames.data[:, :CLASSIC_WIDTH]
