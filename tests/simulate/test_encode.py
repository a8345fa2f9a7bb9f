"""The simulator's vectorised payload packing against cantools' decode_message."""

from __future__ import annotations

import cantools
import numpy as np
import pytest

from app.paths import shipped_dir
from app.simulate.encode import pack, to_raw

DB = cantools.database.load_file(shipped_dir("dbc") / "ev_battery.dbc")


def _layouts():
    """(message, multiplexer value or None, signals) for every frame layout of the DBC."""
    for message in DB.messages:
        selector = next((s for s in message.signals if s.is_multiplexer), None)
        if selector is None:
            yield message, None, list(message.signals)
            continue
        values = sorted({i for s in message.signals for i in (s.multiplexer_ids or [])})
        for value in values:
            chosen = [s for s in message.signals if value in (s.multiplexer_ids or [])]
            yield message, (selector, value), chosen


@pytest.mark.parametrize(
    "message, mux, signals", list(_layouts()), ids=lambda v: getattr(v, "name", None)
)
def test_random_raw_values_decode_back_with_cantools(message, mux, signals):
    rng = np.random.default_rng(message.frame_id + (mux[1] if mux else 0))
    n = 60
    raw = {}
    for signal in signals:
        if signal.is_signed:
            low, high = -(1 << (signal.length - 1)), (1 << (signal.length - 1)) - 1
        else:
            low, high = 0, (1 << signal.length) - 1
        raw[signal.name] = rng.integers(low, high + 1, n)
    if mux:
        raw[mux[0].name] = np.full(n, mux[1])

    payloads = pack(message, raw, n)

    for row in range(n):
        decoded = message.decode(bytes(payloads[row]), decode_choices=False, scaling=False)
        for name, values in raw.items():
            assert decoded[name] == values[row], f"{name} in frame {row}"


def test_physical_values_round_and_clamp_like_the_database_scale():
    signal = DB.get_message_by_name("BMS_PackStatus").get_signal_by_name("PackCurrent")
    raw = to_raw(signal, np.array([12.34, -12.36, 1e9, -1e9]))
    assert raw.tolist() == [123, -124, (1 << 15) - 1, -(1 << 15)]
    message = DB.get_message_by_name("BMS_PackStatus")
    payload = pack(message, {"PackCurrent": raw[:2]}, 2)
    assert message.decode(bytes(payload[1]))["PackCurrent"] == pytest.approx(-12.4)
