"""Decoding frames into traces, one message at a time over all of its frames.

For every message whose frames appear we build a *plan* once (kept on the LoadedDatabase):
for each signal, which bytes it spans, how to shift and mask a 64-bit window of them, its
sign, float type, scale and offset, and where it sits in the multiplexer tree. Decoding a
message is then a few numpy operations per signal over all frames of that message, never
a Python loop over frames.

What goes wrong in real traffic is counted, not raised: payloads shorter than the message
(the signals that fit are decoded, the others are invalid), multiplexer values the database
does not define, and frames whose ID no database knows. Values stay in the trace but are
marked invalid when they are markers rather than measurements (all ones; value-table
entries such as "Not_avail") or lie outside the database's range; a range that excludes
every value of a trace is a placeholder and is not applied (the report says so).
"""

from __future__ import annotations

import logging
import os
import re
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from app.frames import FrameTable
from app.isotp import looks_like_isotp, reassemble
from app.progress import ProgressCallback, report
from app.traces import Trace

log = logging.getLogger(__name__)

EXTENDED_FLAG = 0x80000000
DECODE_THREADS = min(2, os.cpu_count() or 1)
PARALLEL_FROM_FRAMES = 200_000  # below this, one thread decodes faster than two
J1939_PGN_MASK = 0x3FFFF
# Signals that legitimately run through all-ones: counters, checksums, multiplexers.
NOT_AVAILABLE_EXEMPT = re.compile(
    r"(counter|cnt|alive|checksum|crc|seq|rolling|mux|multiplex)", re.IGNORECASE
)
NOT_AVAILABLE_MIN_BITS = 4
# Value-table names that mean "no value", not a state of the thing measured.
MARKER_NAME = re.compile(
    r"invalid|not[\s_-]*avail|unavailable|\bsna\b|\bn/?a\b|undefined|no[\s_-]*value",
    re.IGNORECASE,
)


# ---------------------------------------------------------------------------------------
# Results.


@dataclass
class MessageReport:
    """What happened decoding one message on one channel."""

    message: str
    frame_id: int
    is_extended_id: bool
    channel: int
    database: str
    frames: int = 0
    short_payloads: int = 0
    unknown_multiplexer_values: int = 0
    unknown_multiplexer_examples: list[int] = field(default_factory=list)
    invalid_samples: dict[str, int] = field(default_factory=dict)  # signal -> count
    isotp_transfers: int = 0  # ISO-TP responses reassembled from the frames (0: none)
    # signal -> (minimum, maximum) that excluded every value and was therefore not applied
    ranges_ignored: dict[str, tuple] = field(default_factory=dict)
    isotp_incomplete: int = 0

    @property
    def invalid_total(self) -> int:
        return sum(self.invalid_samples.values())


@dataclass
class DecodeReport:
    messages: list[MessageReport] = field(default_factory=list)
    # (channel, arbitration_id, is_extended_id) -> frames no database describes
    unknown_ids: dict[tuple[int, int, bool], int] = field(default_factory=dict)
    skipped_frames: int = 0  # error and remote frames
    warnings: list[str] = field(default_factory=list)

    @property
    def decoded_frames(self) -> int:
        return sum(m.frames for m in self.messages)

    @property
    def unknown_frames(self) -> int:
        return sum(self.unknown_ids.values())

    def summary_lines(self) -> list[str]:
        """Human-readable lines for the command line and the load dialog."""
        lines = [
            f"{self.decoded_frames} frames decoded in {len(self.messages)} messages; "
            f"{self.unknown_frames} frames on {len(self.unknown_ids)} IDs no database knows; "
            f"{self.skipped_frames} error/remote frames skipped"
        ]
        for m in self.messages:
            problems = []
            if m.short_payloads:
                problems.append(f"{m.short_payloads} short payloads")
            if m.unknown_multiplexer_values:
                shown = ", ".join(str(v) for v in m.unknown_multiplexer_examples)
                problems.append(
                    f"{m.unknown_multiplexer_values} frames with multiplexer values "
                    f"the database does not define ({shown})"
                )
            if m.invalid_total:
                problems.append(f"{m.invalid_total} invalid samples")
            for signal, (low, high) in m.ranges_ignored.items():
                problems.append(
                    f"range [{low}|{high}] of {signal} excludes every value; not applied"
                )
            if m.isotp_transfers or m.isotp_incomplete:
                problems.append(
                    f"{m.isotp_transfers} ISO-TP transfers reassembled from {m.frames} frames, "
                    f"{m.isotp_incomplete} incomplete"
                )
            if problems:
                lines.append(f"{m.message} (channel {m.channel}): " + "; ".join(problems))
        lines.extend(self.warnings)
        return lines


@dataclass
class DecodeResult:
    traces: list[Trace]
    report: DecodeReport


# ---------------------------------------------------------------------------------------
# Plans: everything about a message that does not depend on the frames.


@dataclass
class SignalPlan:
    name: str
    window: int  # first byte of the 8-byte window the signal is read from
    shift: int
    length: int
    big_endian: bool
    extra_byte: int  # the 9th byte for signals spanning 9 bytes, else -1
    extra_shift: int
    last_byte: int  # the payload must reach this byte for the signal to fit
    signed: bool
    float_bits: int  # 0, 32 or 64
    scale: float
    offset: float
    minimum: float | None
    maximum: float | None
    not_available: tuple[int, ...]  # raw values that are markers, not measurements
    multiplexer: str | None
    multiplexer_ids: tuple[int, ...]
    is_multiplexer: bool
    unit: str
    choices: dict[int, str] | None
    comment: str


@dataclass
class MessagePlan:
    name: str
    frame_id: int
    is_extended_id: bool
    length: int
    j1939: bool
    signals: list[SignalPlan]
    children: dict[str | None, list[SignalPlan]]  # multiplexer name (None: root) -> signals
    multiplexer_values: dict[str, frozenset[int]]  # the values the database defines
    width: int  # bytes of padded payload every window fits in
    skipped: list[str] = field(default_factory=list)  # signals this decoder cannot read


def plan_for(message) -> MessagePlan | None:
    """The decode plan of a cantools message, or None when it cannot be decoded here."""
    if getattr(message, "is_container", False):
        return None
    signals = [_signal_plan(s) for s in message.signals if 0 < s.length <= 64]
    skipped = [
        f"{message.name}.{s.name} is {s.length} bits long; not decoded"
        for s in message.signals
        if not 0 < s.length <= 64
    ]
    children: dict[str | None, list[SignalPlan]] = {}
    for signal in signals:
        children.setdefault(signal.multiplexer, []).append(signal)
    width = max([message.length, 8] + [s.window + 9 for s in signals])
    return MessagePlan(
        name=message.name,
        frame_id=message.frame_id,
        is_extended_id=bool(message.is_extended_frame),
        length=message.length,
        j1939=message.protocol == "j1939",
        signals=signals,
        children=children,
        multiplexer_values=_multiplexer_values(message.signal_tree),
        width=width,
        skipped=skipped,
    )


def _multiplexer_values(tree, found: dict | None = None) -> dict[str, frozenset[int]]:
    """Multiplexer name -> the values cantools' signal tree defines for it (maybe none)."""
    found = {} if found is None else found
    for node in tree:
        if isinstance(node, dict):
            for name, branches in node.items():
                found[name] = frozenset(found.get(name, frozenset()) | set(branches))
                for branch in branches.values():
                    _multiplexer_values(branch, found)
    return found


def _signal_plan(signal) -> SignalPlan:
    length = signal.length
    if signal.byte_order == "little_endian":
        big_endian = False
        first_byte, lsb = divmod(signal.start, 8)
        last_byte = (signal.start + length - 1) // 8
        window = max(0, min(first_byte, last_byte - 7))
        shift = signal.start - 8 * window
    else:
        big_endian = True
        # cantools gives the MSB in the DBC's sawtooth numbering; count bits instead from
        # the first byte's MSB (bit 0) on, as a big-endian integer reads them.
        first_byte, bit = divmod(signal.start, 8)
        msb = first_byte * 8 + (7 - bit)
        lsb = msb + length - 1
        last_byte = lsb // 8
        window = max(0, min(first_byte, last_byte - 7))
        shift = 8 * (window + 8) - 1 - lsb
    extra_byte, extra_shift = -1, 0
    if last_byte - first_byte >= 8:  # 9 bytes: the window holds 8, one more comes apart
        if big_endian:
            window = first_byte + 1
            shift = 8 * (window + 8) - 1 - lsb
            extra_byte, extra_shift = first_byte, 64 - shift
        else:
            window = first_byte
            shift = signal.start - 8 * window
            extra_byte, extra_shift = last_byte, 64 - shift

    float_bits = length if signal.is_float and length in (32, 64) else 0
    choices = None
    if signal.choices:
        choices = {int(k): str(v) for k, v in signal.choices.items()}
    not_available = _not_available(signal, length, float_bits, choices)
    return SignalPlan(
        name=signal.name,
        window=window,
        shift=shift,
        length=length,
        big_endian=big_endian,
        extra_byte=extra_byte,
        extra_shift=extra_shift,
        last_byte=last_byte,
        signed=bool(signal.is_signed),
        float_bits=float_bits,
        scale=float(signal.scale),
        offset=float(signal.offset),
        minimum=None if signal.minimum is None else float(signal.minimum),
        maximum=None if signal.maximum is None else float(signal.maximum),
        not_available=not_available,
        multiplexer=signal.multiplexer_signal,
        multiplexer_ids=tuple(signal.multiplexer_ids or ()),
        is_multiplexer=bool(signal.is_multiplexer),
        unit=signal.unit or "",
        choices=choices,
        comment=_comment_text(signal.comment),
    )


def _physical_choices(signal: SignalPlan) -> dict[float, str] | None:
    """A value table keyed by physical value, as traces carry it (the DBC keys it by raw)."""
    if not signal.choices:
        return None
    return {raw * signal.scale + signal.offset: name for raw, name in signal.choices.items()}


def _not_available(signal, length: int, float_bits: int, choices) -> tuple[int, ...]:
    """Raw values that say "no measurement" rather than measure something.

    - all ones, for unsigned integer signals of 4 bits or more that are not counters,
      checksums or multiplexers (0x3FF on a 10-bit voltage is "not available");
    - every value-table entry of a signal with a unit (a voltage whose table names 509
      "Not_avail" and 510 "Error" uses those raws as markers);
    - value-table entries of a state signal (no unit, two bits or more) named like
      "invalid", "SNA" or "not available" (its "Error" or "Fault" states stay: they are
      information, and a one-bit flag's "Invalid" is about another signal).
    """
    if float_bits:
        return ()
    mask = (1 << length) - 1
    markers = set()
    all_ones_named = bool(choices) and mask in choices
    if (
        not signal.is_signed
        and not signal.is_multiplexer
        and length >= NOT_AVAILABLE_MIN_BITS
        and not NOT_AVAILABLE_EXEMPT.search(signal.name)
        and not (all_ones_named and not (signal.unit or MARKER_NAME.search(choices[mask])))
    ):
        markers.add(mask)
    for raw, name in (choices or {}).items():
        # A one-bit flag's "Invalid" describes something else (foxBMS' cell flags).
        if signal.unit or (length > 1 and MARKER_NAME.search(name)):
            markers.add(raw & mask)
    return tuple(sorted(markers))


def _comment_text(comment) -> str:
    if comment is None:
        return ""
    if isinstance(comment, dict):
        return next(iter(comment.values()), "") or ""
    return str(comment)


def _message_index(database) -> tuple[dict, dict]:
    """(exact, by_pgn) lookups of a LoadedDatabase's messages, built once and kept on it.

    ``exact`` maps (frame_id, is_extended_id) to a message; ``by_pgn`` maps J1939 parameter
    group numbers to the first message of the group (messages whose IDs differ only in
    source or destination address share one).
    """
    if "index" not in database.plans:
        exact, by_pgn = {}, {}
        for message in database.db.messages:
            frame_id = message.frame_id & ~EXTENDED_FLAG
            extended = bool(message.is_extended_frame)
            exact[(frame_id, extended)] = message
            if message.protocol == "j1939" and extended:
                by_pgn.setdefault(_pgn(frame_id), message)
        database.plans["index"] = (exact, by_pgn)
    return database.plans["index"]


def _plan(database, message) -> MessagePlan | None:
    """The decode plan of one message, built when its frames first appear, then kept."""
    key = ("plan", message.name, message.frame_id)
    if key not in database.plans:
        database.plans[key] = plan_for(message)
    return database.plans[key]


# ---------------------------------------------------------------------------------------
# Bit extraction over many frames.


def extract_raw(data: np.ndarray, plan: SignalPlan) -> np.ndarray:
    """The raw unsigned values of ``plan`` for every row of ``data`` (uint64).

    ``data`` is uint8 of shape (n, width) with width >= plan.window + 8.
    """
    return _raw_from_words(_words(data, plan.window, plan.big_endian), data, plan)


def _words(data: np.ndarray, window: int, big_endian: bool) -> np.ndarray:
    """Bytes ``window`` .. ``window + 7`` of every row as one native uint64."""
    chunk = np.ascontiguousarray(data[:, window : window + 8])
    return chunk.view(">u8" if big_endian else "<u8").reshape(-1).astype(np.uint64)


def _raw_from_words(words: np.ndarray, data: np.ndarray, plan: SignalPlan) -> np.ndarray:
    raw = words >> np.uint64(plan.shift) if plan.shift else words.copy()
    if plan.extra_byte >= 0:
        raw |= data[:, plan.extra_byte].astype(np.uint64) << np.uint64(plan.extra_shift)
    if plan.length < 64:
        raw &= np.uint64((1 << plan.length) - 1)
    return raw


def physical(raw: np.ndarray, plan: SignalPlan) -> np.ndarray:
    """Physical float64 values from raw values: sign, float type, scale and offset."""
    if plan.float_bits == 32:
        with np.errstate(invalid="ignore"):  # signalling NaNs in the payload stay NaN
            values = raw.astype(np.uint32).view(np.float32).astype(np.float64)
    elif plan.float_bits == 64:
        values = raw.view(np.float64).copy()
    elif plan.signed:
        if plan.length == 64:
            values = raw.view(np.int64).astype(np.float64)
        else:
            sign = np.int64(1 << (plan.length - 1))
            values = ((raw.astype(np.int64) ^ sign) - sign).astype(np.float64)
    else:
        values = raw.astype(np.float64)
    if plan.scale != 1.0:
        values *= plan.scale
    if plan.offset != 0.0:
        values += plan.offset
    return values


def validity(raw: np.ndarray, values: np.ndarray, plan: SignalPlan):
    """(available, in_range): not the "not available" pattern (nor NaN), and inside the
    database's minimum/maximum (when it gives them)."""
    available = np.isfinite(values) if plan.float_bits else np.ones(len(values), bool)
    if len(plan.not_available) == 1:
        available &= raw != np.uint64(plan.not_available[0])
    elif plan.not_available:
        available &= ~np.isin(raw, np.array(plan.not_available, np.uint64))
    in_range = np.ones(len(values), bool)
    tolerance = abs(plan.scale) * 1e-6 + 1e-12
    if plan.minimum is not None:
        in_range &= values >= plan.minimum - tolerance
    if plan.maximum is not None:
        in_range &= values <= plan.maximum + tolerance
    return available, in_range


# ---------------------------------------------------------------------------------------
# Decoding.


def decode_frames(
    frames: FrameTable, databases: Sequence, progress: ProgressCallback | None = None
) -> DecodeResult:
    """Decode every signal of every message present in ``frames``.

    ``databases`` are LoadedDatabase objects; one with ``channel`` set applies only to
    frames of that channel. Traces come grouped by database and message, each message's
    signals in database order (multiplexed ones after their multiplexer). Traces of one
    message (or multiplexer value) share one read-only time array.
    """
    result = DecodeResult([], DecodeReport())
    data_frames = ~(frames.is_error | frames.is_remote)
    result.report.skipped_frames = int(len(frames) - np.count_nonzero(data_frames))
    groups = _group_frames(frames, data_frames)
    claimed = np.zeros(len(groups), bool)

    work = _distinct_labels(_match_messages(groups, databases, claimed))
    total = max(1, len(work))
    report(progress, 0, total)
    with _message_pool(len(frames), len(work)) as pool:
        decoded = pool.map(
            lambda item: _decode_message(frames, item[2], item[1], item[0], item[3], item[4]),
            work,
        )
        try:
            for done, ((_, plan, *_rest), (traces, message_report)) in enumerate(
                zip(work, decoded, strict=True), start=1
            ):
                skipped = [w for w in plan.skipped if w not in result.report.warnings]
                result.report.warnings.extend(skipped)
                result.traces.extend(traces)
                result.report.messages.append(message_report)
                report(progress, done, total)
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)  # cancelled: start no more messages
            raise

    for i, (channel, frame_id, extended, rows) in enumerate(groups):
        if not claimed[i]:
            result.report.unknown_ids[(channel, frame_id, extended)] = len(rows)
    result.report.warnings.extend(_containers_seen(result.report.unknown_ids, databases))
    log.info(
        "decoded %d frames into %d traces; %d frames on %d unknown IDs",
        result.report.decoded_frames,
        len(result.traces),
        result.report.unknown_frames,
        len(result.report.unknown_ids),
    )
    return result


def _containers_seen(unknown_ids, databases) -> list[str]:
    """AUTOSAR container messages are not decoded: say so when their frames are there."""
    seen = {(frame_id, extended) for _, frame_id, extended in unknown_ids}
    return [
        f"{database.path.name}: {message.name} is a container message; its frames are "
        "counted but not decoded"
        for database in databases
        for message in database.db.messages
        if getattr(message, "is_container", False)
        and (message.frame_id, bool(message.is_extended_frame)) in seen
    ]


def _group_frames(frames: FrameTable, keep: np.ndarray) -> list[tuple[int, int, bool, np.ndarray]]:
    """(channel, arbitration_id, is_extended_id, ascending row indices) for each distinct ID."""
    rows = np.flatnonzero(keep)
    if len(rows) == 0:
        return []
    key = (
        (np.take(frames.channel, rows).astype(np.int64) & 0x7FFF) << 33
        | np.take(frames.is_extended_id, rows).astype(np.int64) << 32
        | np.take(frames.arbitration_id, rows).astype(np.int64)
    )
    order = _stable_order(key)
    sorted_key = np.take(key, order)
    starts = np.flatnonzero(np.r_[True, sorted_key[1:] != sorted_key[:-1]])
    ends = np.r_[starts[1:], len(sorted_key)]
    groups = []
    for start, end in zip(starts, ends, strict=True):
        k = int(sorted_key[start])
        groups.append((k >> 33, k & 0xFFFFFFFF, bool(k >> 32 & 1), np.take(rows, order[start:end])))
    return groups


def _stable_order(key: np.ndarray) -> np.ndarray:
    """A stable argsort that groups equal keys (not necessarily in key order).

    A capture has few distinct IDs: numbering them first lets numpy use its radix sort on
    16-bit codes, about ten times faster than sorting 64-bit keys.
    """
    if len(key) and key.min() >= 0 and key.max() < 1 << 16:
        return np.argsort(key.astype(np.uint16), kind="stable")
    import pandas as pd  # heavy: only when a capture has extended IDs or many channels

    codes, uniques = pd.factorize(key)
    if len(uniques) >= 1 << 16:
        return np.argsort(key, kind="stable")
    return np.argsort(codes.astype(np.uint16), kind="stable")


def _match_messages(groups, databases, claimed) -> list:
    """(database, plan, rows, channel, label) for every message some frames belong to.

    The label is the message name, with the ID when the database gives two messages one
    name, and with the J1939 source address when several senders send the message.
    """
    work = []
    for database in databases:
        exact, by_pgn = _message_index(database)
        named = Counter(m.name for m in database.db.messages)

        # J1939: one trace per sender when several send the same parameter group.
        j1939_rows: dict[tuple[int, int], dict[int, list[np.ndarray]]] = {}
        j1939_plans: dict[int, tuple[MessagePlan, str]] = {}
        for i, (channel, frame_id, extended, rows) in enumerate(groups):
            if database.channel is not None and database.channel != channel:
                continue
            message = exact.get((frame_id, extended))
            if message is None and extended:
                message = by_pgn.get(_pgn(frame_id))
            plan = None if message is None else _plan(database, message)
            if plan is None:
                continue
            claimed[i] = True
            name = plan.name
            if named[name] > 1:
                name = f"{name} (0x{plan.frame_id & ~EXTENDED_FLAG:X})"
            if plan.j1939 and extended:
                j1939_plans[id(plan)] = (plan, name)
                sources = j1939_rows.setdefault((channel, id(plan)), {})
                sources.setdefault(frame_id & 0xFF, []).append(rows)
            else:
                work.append((database, plan, rows, channel, name))
        for (channel, key), sources in j1939_rows.items():
            plan, name = j1939_plans[key]
            for source, parts in sorted(sources.items()):
                label = name if len(sources) == 1 else f"{name} (SA 0x{source:02X})"
                rows = np.sort(np.concatenate(parts)) if len(parts) > 1 else parts[0]
                work.append((database, plan, rows, channel, label))
    return work


def _distinct_labels(work: list) -> list:
    """Two databases decoding one message name on one channel: name the database too."""
    seen = Counter((channel, label) for _, _, _, channel, label in work)
    return [
        (database, plan, rows, channel, label)
        if seen[(channel, label)] == 1
        else (database, plan, rows, channel, f"{label} [{database.path.name}]")
        for database, plan, rows, channel, label in work
    ]


def _pgn(frame_id: int) -> int:
    """The J1939 parameter group number: PDU1 (PF < 240) drops the destination address."""
    pgn = (frame_id >> 8) & J1939_PGN_MASK
    if (pgn >> 8) & 0xFF < 240:
        pgn &= ~0xFF
    return pgn


def _message_pool(frame_count: int, message_count: int) -> ThreadPoolExecutor:
    """Threads that decode messages side by side. numpy's gathers, casts and comparisons
    release the GIL, so two cores decode a big capture in little more than half the time;
    small captures stay on one thread, where starting threads would cost more than it gives.
    """
    threads = min(DECODE_THREADS, message_count)
    if frame_count < PARALLEL_FROM_FRAMES:
        threads = 1
    return ThreadPoolExecutor(max_workers=max(1, threads), thread_name_prefix="decode")


def _decode_message(frames, rows, plan: MessagePlan, database, channel, label):
    message_report = MessageReport(
        message=label,
        frame_id=plan.frame_id & ~EXTENDED_FLAG,
        is_extended_id=plan.is_extended_id,
        channel=channel,
        database=database.path.name,
        frames=len(rows),
    )
    if plan.length > 8 and int(frames.dlc[rows].max()) <= 8:
        frames, rows = _reassembled(frames.take(rows), message_report)
    group = _FrameGroup(
        _padded(frames.data, rows, plan.width),
        np.take(frames.dlc, rows),
        np.take(frames.timestamp, rows),
    )
    message_report.short_payloads = int(np.count_nonzero(group.dlc < plan.length))

    context = _Context(plan, database, channel, label, message_report, [])
    context.decode_root(group)
    return context.traces, message_report


def _reassembled(frames: FrameTable, message_report: MessageReport):
    """A message longer than its classic frames: ISO-TP transfers, when they are that."""
    if not looks_like_isotp(frames):
        return frames, np.arange(len(frames))
    reassembly = reassemble(frames)
    message_report.isotp_transfers = reassembly.transfers
    message_report.isotp_incomplete = reassembly.incomplete
    log.info(
        "%s: %d ISO-TP transfers reassembled from %d frames (%d incomplete)",
        message_report.message,
        reassembly.transfers,
        len(frames),
        reassembly.incomplete,
    )
    return reassembly.frames, np.arange(len(reassembly.frames))


def _padded(data: np.ndarray, rows: np.ndarray, width: int) -> np.ndarray:
    """The message's rows, ``width`` bytes wide (zeros past the capture's columns)."""
    picked = np.take(data[:, : min(width, data.shape[1])], rows, axis=0)
    if picked.shape[1] >= width:
        return picked
    wide = np.zeros((len(rows), width), np.uint8)
    wide[:, : picked.shape[1]] = picked
    return wide


class _FrameGroup:
    """Some frames of one message, gathered once for all the signals decoded on them.

    The time axis is shared by the traces of the group and therefore read-only.
    """

    def __init__(self, data: np.ndarray, dlc: np.ndarray, times: np.ndarray):
        self.data = data
        self.dlc = dlc
        self.times = times
        self.times.flags.writeable = False
        self.min_dlc = int(dlc.min()) if len(dlc) else 0
        self._words: dict[tuple[int, bool], np.ndarray] = {}

    def __len__(self) -> int:
        return len(self.dlc)

    def words(self, window: int, big_endian: bool) -> np.ndarray:
        key = (window, big_endian)
        if key not in self._words:
            self._words[key] = _words(self.data, window, big_endian)
        return self._words[key]

    def take(self, positions: np.ndarray) -> _FrameGroup:
        """The frames at integer ``positions`` (np.take: never a boolean mask)."""
        return _FrameGroup(
            np.take(self.data, positions, axis=0),
            np.take(self.dlc, positions),
            np.take(self.times, positions),
        )


@dataclass
class _Context:
    """One message while its multiplexer tree is walked."""

    plan: MessagePlan
    database: object
    channel: int
    label: str
    report: MessageReport
    traces: list

    def decode_root(self, group: _FrameGroup) -> None:
        """Decode the signals outside any multiplexer, then walk down the multiplexers."""
        self.decode_signals(self.plan.children.get(None, []), group)

    def decode_signals(self, signals: list[SignalPlan], group: _FrameGroup) -> None:
        for signal in signals:
            raw, fits = self.decode_signal(signal, group)
            if signal.is_multiplexer:
                if fits is None:
                    self.decode_multiplexed(signal, group, raw)
                else:
                    fitting = np.flatnonzero(fits)
                    self.decode_multiplexed(signal, group.take(fitting), raw[fitting])

    def decode_signal(self, signal: SignalPlan, group: _FrameGroup):
        """Append the signal's trace; return its raw values and the rows it fits in
        (None: all of them)."""
        raw = _raw_from_words(group.words(signal.window, signal.big_endian), group.data, signal)
        values = physical(raw, signal)
        available, in_range = validity(raw, values, signal)
        fits = None
        if group.min_dlc <= signal.last_byte:
            fits = group.dlc > signal.last_byte
            available &= fits
            values[~fits] = np.nan
        valid = available & in_range
        range_ignored = bool(len(valid)) and not valid.any() and bool(available.any())
        if range_ignored:
            # A range that rejects every value is a placeholder (hand-written DBCs are full
            # of [0|1] on 16-bit voltages), not a plausibility check: keep the values.
            valid = available
            self.report.ranges_ignored[signal.name] = (signal.minimum, signal.maximum)
        invalid = int(len(valid) - np.count_nonzero(valid))
        if invalid:
            self.report.invalid_samples[signal.name] = (
                self.report.invalid_samples.get(signal.name, 0) + invalid
            )
        self.traces.append(
            Trace(
                signal=signal.name,
                message=self.label,
                channel=self.channel,
                time_s=group.times,
                values=values,
                valid=valid,
                unit=signal.unit,
                minimum=signal.minimum,
                maximum=signal.maximum,
                choices=_physical_choices(signal),
                comment=signal.comment,
                extra={
                    "range_ignored": range_ignored,
                    "database": self.database.path.name,
                    "database_sha256": self.database.sha256,
                    "dbc_message": self.plan.name,
                    "frame_id": self.report.frame_id,
                },
            )
        )
        return raw, fits

    def decode_multiplexed(self, multiplexer: SignalPlan, group: _FrameGroup, selector) -> None:
        children = self.plan.children.get(multiplexer.name, [])
        known = set(self.plan.multiplexer_values.get(multiplexer.name, ()))
        by_ids: dict[tuple[int, ...], list[SignalPlan]] = {}
        for child in children:
            by_ids.setdefault(child.multiplexer_ids, []).append(child)
            known.update(child.multiplexer_ids)

        unknown = ~np.isin(selector, np.fromiter(known, np.uint64, len(known)))
        if known and unknown.any():
            self.report.unknown_multiplexer_values += int(np.count_nonzero(unknown))
            examples = set(self.report.unknown_multiplexer_examples)
            examples.update(int(v) for v in np.unique(selector[unknown])[:10])
            self.report.unknown_multiplexer_examples = sorted(examples)[:10]

        positions = _positions_by_value(selector)
        for ids, signals in by_ids.items():
            parts = [positions[i] for i in ids if i in positions]
            if not parts:
                continue
            picked = parts[0] if len(parts) == 1 else np.sort(np.concatenate(parts))
            self.decode_signals(signals, group.take(picked))


def _positions_by_value(selector: np.ndarray) -> dict[int, np.ndarray]:
    """Value -> positions in ``selector`` where it occurs (ascending)."""
    if len(selector) == 0:
        return {}
    order = _stable_order(selector)
    ordered = np.take(selector, order)
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    ends = np.r_[starts[1:], len(ordered)]
    return {int(ordered[s]): order[s:e] for s, e in zip(starts, ends, strict=True)}
