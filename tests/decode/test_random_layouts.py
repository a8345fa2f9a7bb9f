"""Randomly generated databases and frames, decoded by us and by cantools.

Hypothesis draws message layouts (start bits, lengths, both byte orders, signedness, IEEE
floats, scales and offsets, a multiplexer with children) and payloads (short ones too);
the databases go through our loader as DBC text, the frames through both decoders.
"""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.databases import load_database
from app.frames import FD_WIDTH, FrameTable
from tests.decode.oracle import compare

SCALES = [(1, 0), (0.1, 0), (0.5, -40), (2, 100), (0.001, 0), (-0.25, 3), (0.05, -1000.5)]


def bits_of(start: int, length: int, big_endian: bool) -> list[int]:
    if not big_endian:
        return list(range(start, start + length))
    positions = []
    byte, bit = divmod(start, 8)
    for _ in range(length):
        positions.append(byte * 8 + bit)
        byte, bit = (byte + 1, 7) if bit == 0 else (byte, bit - 1)
    return positions


@st.composite
def signal_layouts(draw, used: set[int], size_bits: int, count: int, names: list[str]):
    """Up to ``count`` signals placed on free bits of a ``size_bits`` payload."""
    signals = []
    for _ in range(count * 4):
        if len(signals) == count:
            break
        big_endian = draw(st.booleans())
        kind = draw(st.sampled_from(["int", "int", "int", "float32", "float64"]))
        length = {"float32": 32, "float64": 64}.get(kind) or draw(st.integers(1, 64))
        start = draw(st.integers(0, size_bits - 1))
        bits = bits_of(start, length, big_endian)
        if max(bits) >= size_bits or min(bits) < 0 or used.intersection(bits):
            continue
        used.update(bits)
        scale, offset = draw(st.sampled_from(SCALES)) if kind == "int" else (1, 0)
        signed = kind == "int" and draw(st.booleans())
        name = f"S{len(names)}"
        names.append(name)
        signals.append((name, start, length, big_endian, signed, kind, scale, offset))
    return signals


@st.composite
def random_database(draw):
    size = draw(st.sampled_from([1, 2, 3, 4, 5, 6, 7, 8, 8, 8, 12, 16, 24, 32, 48, 64]))
    size_bits = size * 8
    names: list[str] = []
    used: set[int] = set()
    root = draw(signal_layouts(used, size_bits, draw(st.integers(1, 6)), names))
    lines = [
        'VERSION ""',
        "NS_ :",
        "BS_:",
        "BU_: ECU",
        f"BO_ 291 Random: {size} ECU",
    ]
    value_types = []
    mux_bits = draw(st.integers(1, 4))
    mux_start = draw(st.integers(0, size_bits - 1))
    mux_layout = bits_of(mux_start, mux_bits, False)
    children = []
    if max(mux_layout) < size_bits and not used.intersection(mux_layout) and draw(st.booleans()):
        used.update(mux_layout)
        lines.append(f' SG_ Mux M : {mux_start}|{mux_bits}@1+ (1,0) [0|0] "" ECU')
        for mux_id in sorted(set(draw(st.lists(st.integers(0, 2**mux_bits - 1), max_size=3)))):
            layout = draw(signal_layouts(set(used), size_bits, draw(st.integers(1, 3)), names))
            children.extend((mux_id, s) for s in layout)
    for mux_id, signal in [(None, s) for s in root] + children:
        name, start, length, big_endian, signed, kind, scale, offset = signal
        marker = "" if mux_id is None else f" m{mux_id}"
        order = "0" if big_endian else "1"
        sign = "-" if signed else "+"
        lines.append(
            f' SG_ {name}{marker} : {start}|{length}@{order}{sign} ({scale},{offset}) [0|0] "u" ECU'
        )
        if kind != "int":
            value_types.append(f"SIG_VALTYPE_ 291 {name} : {1 if kind == 'float32' else 2};")
    lines.extend(["", *value_types, ""])
    return size, "\n".join(lines)


@st.composite
def random_frames(draw, size: int):
    n = draw(st.integers(1, 40))
    width = FD_WIDTH if size > 8 else 8
    frames = FrameTable.empty(n, width)
    frames.arbitration_id[:] = 291
    frames.is_fd[:] = size > 8
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    for row in range(n):
        # Mostly full payloads, sometimes short ones.
        length = size if draw(st.integers(0, 5)) else draw(st.integers(0, size))
        frames.dlc[row] = length
        frames.data[row, :length] = rng.integers(0, 256, length, dtype=np.uint8)
        if draw(st.integers(0, 3)) == 0 and length:
            frames.data[row, :length] = 0xFF  # all ones: "not available" everywhere
    return frames


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_layouts_decode_like_cantools(data, tmp_path_factory):
    size, text = data.draw(random_database())
    path = tmp_path_factory.mktemp("random") / "random.dbc"
    path.write_text(text)
    database = load_database(path)
    frames = data.draw(random_frames(size))

    comparison = compare(frames, [database])

    assert not comparison.mismatches, "\n".join([text, *comparison.mismatches[:20]])
    full = frames.dlc >= size
    if full.any() and database.messages[0].signals:
        assert comparison.compared >= np.count_nonzero(full) - comparison.unknown_multiplexer_frames
    (message,) = comparison.result.report.messages
    assert message.short_payloads == np.count_nonzero(~full)
    assert message.unknown_multiplexer_values == comparison.unknown_multiplexer_frames
