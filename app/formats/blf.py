"""Vector BLF (binary logging format): reading in bulk over decompressed containers.

A BLF file is a 144-byte ``LOGG`` header followed by ``LOG_CONTAINER`` objects, each a
zlib-compressed run of ``LOBJ`` objects (CAN frames, error frames, events); an object may
continue in the next container. We decompress a batch of containers, find every object
header with numpy, check that they chain (each starts where the previous ended, up to 7
padding bytes), and read the fields of each object type as columns. Object types and
meanings follow python-can's ``BLFReader``, which the tests use as the reference.
"""

from __future__ import annotations

import datetime
import logging
import struct
import zlib
from collections import deque
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from app.errors import CaptureError
from app.formats.base import FormatReader, RawRead, ReadIssue
from app.formats.source import Head, Source
from app.frames import CLASSIC_WIDTH, FD_LENGTHS, FD_WIDTH, FrameTable
from app.progress import ProgressCallback, report

logger = logging.getLogger(__name__)

FILE_HEADER = struct.Struct("<4sLBBBBBBBBQQLL8H8H")
FILE_HEADER_SIZE = 144
OBJECT_BASE = struct.Struct("<4sHHLL")  # signature, header size, version, size, type
CONTAINER = struct.Struct("<H6xL4x")  # compression method, uncompressed size

CAN_MESSAGE = 1
LOG_CONTAINER = 10
CAN_ERROR_EXT = 73
CAN_MESSAGE2 = 86
CAN_FD_MESSAGE = 100
CAN_FD_MESSAGE_64 = 101

NO_COMPRESSION = 0
ZLIB_DEFLATE = 2
CAN_MSG_EXT = 0x80000000
REMOTE_FLAG = 0x80
TIME_TEN_MICS = 1
LOBJ = int.from_bytes(b"LOBJ", "little")
BATCH_BYTES = 16 << 20
IN_FLIGHT = 64  # containers decompressed ahead of the parser
FD_LENGTH_TABLE = np.asarray(FD_LENGTHS, np.int64)


def systemtime_to_epoch(fields: tuple[int, ...]) -> float | None:
    """A SYSTEMTIME (year, month, weekday, day, h, m, s, ms) in UTC as epoch seconds."""
    year, month, _weekday, day, hour, minute, second, millis = fields
    try:
        when = datetime.datetime(
            year, month, day, hour, minute, second, millis * 1000, tzinfo=datetime.UTC
        )
    except ValueError:
        return None
    return when.timestamp()


class BlfReader(FormatReader):
    name = "blf"
    title = "Vector BLF"

    def sniff(self, head: Head) -> int:
        return 100 if head.data[:4] == b"LOGG" else 0

    def read(self, source: Source, progress: ProgressCallback | None = None) -> RawRead:
        raw, stream = source.open()
        try:
            return _read_blf(source, raw, stream, progress)
        finally:
            stream.close()
            raw.close()


def _read_blf(source: Source, raw, stream, progress) -> RawRead:
    header_bytes = stream.read(FILE_HEADER.size)
    if len(header_bytes) < FILE_HEADER.size or header_bytes[:4] != b"LOGG":
        raise CaptureError(source.path, "not a BLF file: the LOGG header is missing")
    header = FILE_HEADER.unpack(header_bytes)
    if not FILE_HEADER.size <= header[1] <= 1 << 20:
        raise CaptureError(source.path, f"the BLF header claims a size of {header[1]} bytes")
    start = systemtime_to_epoch(header[14:22])
    stream.read(header[1] - FILE_HEADER.size)
    issues: list[ReadIssue] = []
    parser = _ObjectParser(0.0 if start is None else start, issues)

    pending: list[bytes] = []
    pending_size = 0
    offset = header[1]
    jobs: deque = deque()

    def collect(keep: int) -> None:
        """Hand decompressed containers to the parser in order, leaving ``keep`` in flight."""
        nonlocal pending_size
        while len(jobs) > keep:
            data = jobs.popleft().result()
            if data:
                pending.append(data)
                pending_size += len(data)
            if pending_size >= BATCH_BYTES:
                parser.feed(b"".join(pending))
                pending.clear()
                pending_size = 0

    # Containers are decompressed on a second thread (zlib releases the GIL) while the
    # parser works through the batch before.
    with ThreadPoolExecutor(max_workers=2) as pool:
        while True:
            report(progress, raw.tell(), source.size)
            base = stream.read(OBJECT_BASE.size)
            if not base:
                break
            if len(base) < OBJECT_BASE.size:
                issues.append(
                    ReadIssue("truncated", None, f"file ends inside an object at byte {offset}")
                )
                break
            signature, _hsize, _version, size, kind = OBJECT_BASE.unpack(base)
            if signature != b"LOBJ" or size < OBJECT_BASE.size:
                issues.append(
                    ReadIssue(
                        "bad-object",
                        None,
                        f"no object header at byte {offset}; the rest is skipped",
                    )
                )
                break
            body = stream.read(size - OBJECT_BASE.size)
            stream.read(size % 4)
            truncated = len(body) < size - OBJECT_BASE.size
            if kind == LOG_CONTAINER:
                jobs.append(pool.submit(_unpack_container, body, offset, truncated, issues))
                collect(IN_FLIGHT)
            if truncated:
                if kind != LOG_CONTAINER:
                    issues.append(
                        ReadIssue("truncated", None, f"file ends inside an object at byte {offset}")
                    )
                break
            offset += size + size % 4
        collect(0)
    if pending:
        parser.feed(b"".join(pending))
    parser.close()
    report(progress, source.size, source.size)
    return RawRead(
        frames=FrameTable.concat(parser.tables) if parser.tables else FrameTable.empty(),
        issues=issues,
        start_time_epoch=start,
        time_resolution_s=1e-9,
    )


def _unpack_container(body: bytes, offset: int, truncated: bool, issues: list[ReadIssue]) -> bytes:
    if len(body) < CONTAINER.size:
        issues.append(
            ReadIssue("truncated", None, f"file ends inside the container at byte {offset}")
        )
        return b""
    method, _size = CONTAINER.unpack_from(body)
    payload = body[CONTAINER.size :]
    if method == NO_COMPRESSION:
        data = payload
    elif method == ZLIB_DEFLATE:
        try:
            data = zlib.decompressobj().decompress(payload)
        except zlib.error as exc:
            issues.append(ReadIssue("bad-container", None, f"container at byte {offset}: {exc}"))
            return b""
    else:
        issues.append(
            ReadIssue("bad-container", None, f"unknown compression {method} at byte {offset}")
        )
        return b""
    if truncated:
        issues.append(
            ReadIssue(
                "truncated",
                None,
                f"file ends inside the container at byte {offset}; "
                f"the {len(data)} bytes that could be decompressed were read",
            )
        )
    return data


class _ObjectParser:
    """Turns decompressed container bytes into frame tables, carrying partial objects."""

    def __init__(self, start: float, issues: list[ReadIssue]):
        self.start = start
        self.issues = issues
        self.tail = b""
        self.tables: list[FrameTable] = []

    def feed(self, data: bytes) -> None:
        if self.tail:
            data = self.tail + data
        buf = np.frombuffer(data, np.uint8)
        positions, consumed = _object_positions(buf, self.issues)
        self.tail = data[consumed:]
        if len(positions):
            self.tables.append(_frames(buf, positions, self.start))

    def close(self) -> None:
        if len(self.tail) >= OBJECT_BASE.size and b"LOBJ" in self.tail[:8]:
            self.issues.append(
                ReadIssue("truncated", None, "the last object is incomplete and was skipped")
            )


def _u8(buf, at):
    return buf[at].astype(np.int64)


def _u16(buf, at):
    return buf[at].astype(np.int64) | (buf[at + 1].astype(np.int64) << 8)


def _u32(buf, at):
    return _u16(buf, at) | (_u16(buf, at + 2) << 16)


def _u64(buf, at):
    return _u32(buf, at).astype(np.uint64) | (_u32(buf, at + 4).astype(np.uint64) << np.uint64(32))


def _object_positions(buf: np.ndarray, issues: list[ReadIssue]) -> tuple[np.ndarray, int]:
    """Start of every complete object in ``buf``, and how many bytes they cover."""
    n = len(buf)
    if n < OBJECT_BASE.size:
        return np.zeros(0, np.int64), 0
    uniform = _uniform_positions(buf)
    if uniform is not None:
        return uniform
    hit = (buf[:-3] == 76) & (buf[1:-2] == 79) & (buf[2:-1] == 66) & (buf[3:] == 74)
    candidates = np.flatnonzero(hit)
    candidates = candidates[candidates + OBJECT_BASE.size <= n]
    if len(candidates) == 0:
        return candidates, 0
    sizes = _u32(buf, candidates + 8)
    ends = candidates + sizes
    gaps = candidates[1:] - ends[:-1]
    chained = candidates[0] < 8 and bool(np.all((gaps >= 0) & (gaps < 8)))
    if chained:
        objects = candidates
    else:
        objects = _walk(candidates, ends, issues)
        sizes = _u32(buf, objects + 8)
        ends = objects + sizes
    complete = ends <= n
    valid = _u32(buf, objects + 8) >= OBJECT_BASE.size
    if complete.all():
        consumed = int(ends[-1])
    else:
        first_incomplete = int(np.argmin(complete))
        consumed = int(objects[first_incomplete])
        objects, valid = objects[:first_incomplete], valid[:first_incomplete]
    return objects[valid], consumed


def _uniform_positions(buf: np.ndarray) -> tuple[np.ndarray, int] | None:
    """Positions when every object has the size of the first (a CAN-only log), else None."""
    first = bytes(buf[:8]).find(b"LOBJ")
    if first < 0:
        return None
    size = int(_u32(buf, np.asarray([first + 8]))[0])
    if size < OBJECT_BASE.size or size % 4:
        return None
    count = (len(buf) - first) // size
    if count == 0:
        return None
    rows = buf[first : first + count * size].reshape(count, size)
    signatures = rows[:, :4].copy().view("<u4").ravel()
    sizes = rows[:, 8:12].copy().view("<u4").ravel()
    if not ((signatures == LOBJ) & (sizes == size)).all():
        return None
    end = first + count * size
    rest = bytes(buf[end : end + 8]).find(b"LOBJ")
    if rest >= 0 and len(buf) - end - rest >= OBJECT_BASE.size:
        rest_size = int(_u32(buf, np.asarray([end + rest + 8]))[0])
        if end + rest + rest_size <= len(buf):
            return None  # a smaller object follows: not a uniform run after all
    return first + size * np.arange(count, dtype=np.int64), end


def _walk(candidates: np.ndarray, ends: np.ndarray, issues: list[ReadIssue]) -> np.ndarray:
    """Follow the chain object by object when "LOBJ" also occurs inside some payload."""
    following = np.searchsorted(candidates, ends)
    kept = []
    i = 0
    while i < len(candidates):
        kept.append(i)
        j = int(following[i])
        if j >= len(candidates):
            break
        if candidates[j] - ends[i] >= 8:
            issues.append(
                ReadIssue("bad-object", None, "an object does not end where the next one starts")
            )
        i = j
    return candidates[np.asarray(kept, np.int64)]


def _frames(buf: np.ndarray, positions: np.ndarray, start: float) -> FrameTable:
    records = _can_message_records(buf, positions)
    if records is not None:
        return _frames_from_records(records, start)
    kind = _u32(buf, positions + 12)
    version = _u16(buf, positions + 6)
    wanted = np.isin(
        kind, (CAN_MESSAGE, CAN_MESSAGE2, CAN_ERROR_EXT, CAN_FD_MESSAGE, CAN_FD_MESSAGE_64)
    )
    wanted &= (version == 1) | (version == 2)
    positions, kind, version = positions[wanted], kind[wanted], version[wanted]

    flags = _u32(buf, positions + 16)
    ticks = _u64(buf, positions + 24).astype(np.float64)
    seconds = np.where(flags == TIME_TEN_MICS, ticks / 1e5, ticks / 1e9) + start
    body = positions + np.where(version == 1, 32, 40)

    width = FD_WIDTH if np.isin(kind, (CAN_FD_MESSAGE, CAN_FD_MESSAGE_64)).any() else CLASSIC_WIDTH
    table = FrameTable.empty(len(positions), width)
    table.timestamp[:] = seconds
    _classic(buf, body, kind, table)
    _errors(buf, body, kind, table)
    _fd(buf, body, kind, table)
    _fd64(buf, positions, body, kind, table)
    return table


def _can_message_records(buf: np.ndarray, positions: np.ndarray) -> np.ndarray | None:
    """The objects as CAN_MESSAGE records when they are nothing else, back to back."""
    size = CAN_MESSAGE_RECORD.itemsize
    n = len(positions)
    if n == 0 or positions[-1] - positions[0] != size * (n - 1):
        return None
    if n > 1 and not (np.diff(positions) == size).all():
        return None
    first = int(positions[0])
    records = buf[first : first + n * size].view(CAN_MESSAGE_RECORD)
    if not ((records["object_type"] == CAN_MESSAGE) & (records["header_version"] == 1)).all():
        return None
    return records


def _frames_from_records(records: np.ndarray, start: float) -> FrameTable:
    table = FrameTable.empty(len(records))
    ticks = records["ticks"].astype(np.float64)
    flags = records["flags"]
    table.timestamp[:] = np.where(flags == TIME_TEN_MICS, ticks / 1e5, ticks / 1e9) + start
    ident = records["can_id"]
    remote = (records["message_flags"] & REMOTE_FLAG) != 0
    dlc = records["dlc"]
    length = np.minimum(dlc, CLASSIC_WIDTH)
    table.channel[:] = records["channel"].astype(np.int64) - 1
    table.arbitration_id[:] = ident & 0x1FFFFFFF
    table.is_extended_id[:] = (ident & CAN_MSG_EXT) != 0
    table.is_remote[:] = remote
    table.dlc[:] = np.where(remote, dlc, length)
    keep = np.arange(CLASSIC_WIDTH) < np.where(remote, 0, length)[:, None]
    table.data[:] = np.where(keep, records["data"], 0)
    return table


def _fill_data(buf, table, rows, at, lengths, width):
    """Copy ``lengths`` payload bytes from ``at`` (python-can keeps none for remote frames)."""
    columns = np.arange(width)
    used = columns < lengths[:, None]
    index = np.where(used, at[:, None] + columns, 0)
    table.data[rows, :width] = np.where(used, buf[index], 0)


def _classic(buf, body, kind, table) -> None:
    rows = np.flatnonzero((kind == CAN_MESSAGE) | (kind == CAN_MESSAGE2))
    if len(rows) == 0:
        return
    at = body[rows]
    ident = _u32(buf, at + 4)
    dlc = _u8(buf, at + 3)
    remote = (_u8(buf, at + 2) & REMOTE_FLAG) != 0
    length = np.minimum(dlc, CLASSIC_WIDTH)
    table.channel[rows] = _u16(buf, at) - 1
    table.arbitration_id[rows] = ident & 0x1FFFFFFF
    table.is_extended_id[rows] = (ident & CAN_MSG_EXT) != 0
    table.is_remote[rows] = remote
    table.dlc[rows] = np.where(remote, dlc, length)
    _fill_data(buf, table, rows, at + 8, np.where(remote, 0, length), CLASSIC_WIDTH)


def _errors(buf, body, kind, table) -> None:
    rows = np.flatnonzero(kind == CAN_ERROR_EXT)
    if len(rows) == 0:
        return
    at = body[rows]
    ident = _u32(buf, at + 16)
    length = np.minimum(_u8(buf, at + 10), CLASSIC_WIDTH)
    table.channel[rows] = _u16(buf, at) - 1
    table.arbitration_id[rows] = ident & 0x1FFFFFFF
    table.is_extended_id[rows] = (ident & CAN_MSG_EXT) != 0
    table.is_error[rows] = True
    table.dlc[rows] = length
    _fill_data(buf, table, rows, at + 24, length, CLASSIC_WIDTH)


def _fd(buf, body, kind, table) -> None:
    rows = np.flatnonzero(kind == CAN_FD_MESSAGE)
    if len(rows) == 0:
        return
    at = body[rows]
    ident = _u32(buf, at + 4)
    remote = (_u8(buf, at + 2) & REMOTE_FLAG) != 0
    dlc = FD_LENGTH_TABLE[np.minimum(_u8(buf, at + 3), 15)]
    length = np.minimum(_u8(buf, at + 14), FD_WIDTH)
    table.channel[rows] = _u16(buf, at) - 1
    table.arbitration_id[rows] = ident & 0x1FFFFFFF
    table.is_extended_id[rows] = (ident & CAN_MSG_EXT) != 0
    table.is_remote[rows] = remote
    table.is_fd[rows] = (_u8(buf, at + 13) & 1) != 0
    table.dlc[rows] = np.where(remote, dlc, length)
    _fill_data(buf, table, rows, at + 20, np.where(remote, 0, length), FD_WIDTH)


def _fd64(buf, positions, body, kind, table) -> None:
    rows = np.flatnonzero(kind == CAN_FD_MESSAGE_64)
    if len(rows) == 0:
        return
    at = body[rows]
    ident = _u32(buf, at + 4)
    fd_flags = _u32(buf, at + 12)
    remote = (fd_flags & 0x0010) != 0
    dlc = FD_LENGTH_TABLE[np.minimum(_u8(buf, at + 1), 15)]
    valid = _u8(buf, at + 2)
    object_size = _u32(buf, positions[rows] + 8)
    header_size = _u16(buf, positions[rows] + 4)
    ext_offset = _u8(buf, at + 35)
    room = np.where(ext_offset > 0, ext_offset, object_size) - header_size - 40
    stored = np.clip(np.minimum(valid, room), 0, FD_WIDTH)
    table.channel[rows] = _u8(buf, at) - 1
    table.arbitration_id[rows] = ident & 0x1FFFFFFF
    table.is_extended_id[rows] = (ident & CAN_MSG_EXT) != 0
    table.is_remote[rows] = remote
    table.is_fd[rows] = (fd_flags & 0x1000) != 0
    table.dlc[rows] = np.where(remote, dlc, np.minimum(valid, FD_WIDTH))
    _fill_data(buf, table, rows, at + 40, np.where(remote, 0, stored), FD_WIDTH)


# The object layouts as numpy records (the writer builds them, the reader views them).
_HEADER_FIELDS = [
    ("signature", "S4"), ("header_size", "<u2"), ("header_version", "<u2"),
    ("object_size", "<u4"), ("object_type", "<u4"), ("flags", "<u4"),
    ("client_index", "<u2"), ("object_version", "<u2"), ("ticks", "<u8"),
]  # fmt: skip
CAN_MESSAGE_RECORD = np.dtype(
    _HEADER_FIELDS
    + [("channel", "<u2"), ("message_flags", "u1"), ("dlc", "u1"), ("can_id", "<u4"),
       ("data", "u1", (8,))]
)  # fmt: skip
CAN_FD_RECORD = np.dtype(
    _HEADER_FIELDS
    + [("channel", "<u2"), ("message_flags", "u1"), ("dlc", "u1"), ("can_id", "<u4"),
       ("frame_length", "<u4"), ("bit_count", "u1"), ("fd_flags", "u1"), ("valid_bytes", "u1"),
       ("reserved", "u1", (5,)), ("data", "u1", (64,))]
)  # fmt: skip
CAN_ERROR_RECORD = np.dtype(
    _HEADER_FIELDS
    + [("channel", "<u2"), ("length", "<u2"), ("error_flags", "<u4"), ("ecc", "u1"),
       ("position", "u1"), ("dlc", "u1"), ("reserved", "u1"), ("frame_length", "<u4"),
       ("can_id", "<u4"), ("flags_ext", "<u2"), ("reserved2", "u1", (2,)), ("data", "u1", (8,))]
)  # fmt: skip
