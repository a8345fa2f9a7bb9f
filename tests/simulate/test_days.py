"""Recordings over days: the bus sleeps between trips and the pack loses capacity."""

from __future__ import annotations

import numpy as np
import pytest

from app.databases import load_database
from app.decode import decode_frames
from app.simulate import SimulationConfig, simulate
from tests.simulate.conftest import SHIPPED_DBC

PACK_STATUS_ID = 0x110


@pytest.fixture(scope="module")
def two_mornings():
    """From 07:30 on day 0 to 10:30 on day 1, ageing fast (5 % of capacity a day)."""
    config = SimulationConfig(
        duration_s=86400 + 3 * 3600, seed=21, anomalies=[], fade_percent_per_day=5.0
    )
    recording = simulate(config)
    pack_frames = recording.frames.take(recording.frames.arbitration_id == PACK_STATUS_ID)
    traces = decode_frames(pack_frames, [load_database(SHIPPED_DBC)]).traces
    current = next(t for t in traces if t.signal == "PackCurrent")
    return recording, current


def test_the_bus_is_silent_while_the_vehicle_sleeps(two_mornings):
    recording, _ = two_mornings
    truth = recording.truth
    assert truth["scenario"] == "days"
    time_s = recording.frames.timestamp - truth["start_epoch"]
    gaps = np.diff(time_s)
    sleeps = [p for p in truth["schedule"] if p["kind"] == "sleep" and p["end_s"] < time_s[-1]]
    assert len(sleeps) >= 2
    assert np.count_nonzero(gaps > 3600) == len(sleeps)
    for sleep in sleeps:
        assert not np.any((time_s > sleep["start_s"]) & (time_s < sleep["end_s"]))


def test_capacity_from_the_bus_follows_the_true_fade(two_mornings):
    """Ampere-hours counted from PackCurrent over each wake's change of true SoC give the
    capacity the truth file states for that day."""
    recording, current = two_mornings
    truth = recording.truth
    time_s = current.time_s - truth["start_epoch"]
    estimates = []
    for wake in truth["wakes"]:
        inside = (time_s >= wake["start_s"]) & (time_s < wake["end_s"])
        amps, seconds = current.values[inside], time_s[inside]
        amp_hours = np.sum((amps[1:] + amps[:-1]) / 2 * np.diff(seconds)) / 3600
        soc_change = wake["soc_start_percent"] - wake["soc_end_percent"]
        if abs(soc_change) > 5:
            true_ah = next(h for h in truth["health"] if h["time_s"] == wake["start_s"])
            estimate = 100 * amp_hours / soc_change
            assert estimate == pytest.approx(true_ah["capacity_ah"], rel=0.02)
            estimates.append((wake["start_s"], estimate))
    assert len(estimates) >= 3
    first, last = estimates[0][1], estimates[-1][1]
    assert last < first * 0.97, "a day at 5 %/day must show in the counted capacity"

    capacities = [h["capacity_ah"] for h in truth["health"]]
    assert capacities == sorted(capacities, reverse=True)
    resistances = [h["pack_resistance_ohm_25c"] for h in truth["health"]]
    assert resistances == sorted(resistances)
