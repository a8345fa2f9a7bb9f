"""Packing signal values into CAN payloads, vectorised over all frames of a message.

The simulator writes millions of frames; calling cantools' ``encode_message`` per frame
would take minutes. Here each signal is turned into raw integers for all frames at once
and OR-ed into two 64-bit words per frame: one read as little-endian bytes (Intel signals)
and one read as big-endian bytes (Motorola signals). Classic CAN messages of up to 8 bytes
only, which is all the shipped database has. The tests check every payload against
cantools' ``decode_message``.
"""

from __future__ import annotations

import numpy as np
from cantools.database.can import Message, Signal


def to_raw(signal: Signal, physical: np.ndarray) -> np.ndarray:
    """Physical values to raw integers (int64): scaled, rounded and clamped to the bit width.

    Clamping to the width (not to the DBC minimum/maximum) lets callers write out-of-range
    values on purpose, as a faulty sensor would.
    """
    raw = np.rint((np.asarray(physical, np.float64) - signal.offset) / signal.scale)
    if signal.is_signed:
        low, high = -(1 << (signal.length - 1)), (1 << (signal.length - 1)) - 1
    else:
        low, high = 0, (1 << signal.length) - 1
    return np.clip(raw, low, high).astype(np.int64)


def all_ones(signal: Signal) -> int:
    """The raw "not available" value of an unsigned signal."""
    return (1 << signal.length) - 1


def pack(message: Message, raw: dict[str, np.ndarray], n: int) -> np.ndarray:
    """Payloads ``(n, message.length)`` uint8 from raw integer columns, one per signal name.

    Signals missing from ``raw`` stay zero. For a multiplexed message the caller passes only
    the signals of the multiplexer value every row carries (or zeros elsewhere).
    """
    if message.length > 8:
        raise ValueError(f"{message.name}: payloads over 8 bytes are not supported here")
    little = np.zeros(n, np.uint64)
    big = np.zeros(n, np.uint64)

    for name, values in raw.items():
        signal = message.get_signal_by_name(name)
        bits = _unsigned_bits(signal, values)
        if signal.byte_order == "little_endian":
            little |= bits << np.uint64(signal.start)
        else:
            big |= bits << np.uint64(_big_endian_shift(signal))

    payload = little.astype("<u8").view(np.uint8).reshape(n, 8)
    payload |= big.astype(">u8").view(np.uint8).reshape(n, 8)
    return payload[:, : message.length]


def _unsigned_bits(signal: Signal, values: np.ndarray) -> np.ndarray:
    """Two's complement of the raw values, masked to the signal's width, as uint64."""
    mask = np.int64((1 << signal.length) - 1) if signal.length < 64 else np.int64(-1)
    return (np.asarray(values, np.int64) & mask).astype(np.uint64)


def _big_endian_shift(signal: Signal) -> int:
    """Where a Motorola signal's least significant bit sits in a big-endian 64-bit word.

    cantools numbers a Motorola signal's start as its most significant bit in the "sawtooth"
    order (bit 7 of byte 0 is 7, bit 0 of byte 1 is 8). Counted from the word's top bit,
    that bit is ``8 * byte + (7 - bit)``; the signal ends ``length - 1`` bits further on.
    """
    msb_from_top = 8 * (signal.start // 8) + (7 - signal.start % 8)
    lsb_from_top = msb_from_top + signal.length - 1
    if lsb_from_top > 63:
        raise ValueError(f"{signal.name}: Motorola signal runs past byte 8")
    return 63 - lsb_from_top
