"""Big captures decode their messages on two threads: same traces, same order, cancellable."""

from __future__ import annotations

import numpy as np
import pytest

import app.decode
from app.databases import load_database
from app.decode import decode_frames
from app.errors import LoadCancelled
from app.paths import shipped_dir
from app.simulate import SimulationConfig, simulate


@pytest.fixture(scope="module")
def recording():
    frames = simulate(SimulationConfig(duration_s=120, seed=11)).frames
    return frames, load_database(shipped_dir("dbc") / "ev_battery.dbc")


def test_two_threads_give_the_traces_one_thread_gives(recording, monkeypatch):
    frames, database = recording
    monkeypatch.setattr(app.decode, "DECODE_THREADS", 1)
    alone = decode_frames(frames, [database])
    monkeypatch.setattr(app.decode, "DECODE_THREADS", 2)
    monkeypatch.setattr(app.decode, "PARALLEL_FROM_FRAMES", 0)

    together = decode_frames(frames, [database])

    assert [t.key for t in together.traces] == [t.key for t in alone.traces]
    for mine, theirs in zip(together.traces, alone.traces, strict=True):
        np.testing.assert_array_equal(mine.values, theirs.values)
        np.testing.assert_array_equal(mine.valid, theirs.valid)
        np.testing.assert_array_equal(mine.time_s, theirs.time_s)
    assert [m.message for m in together.report.messages] == [
        m.message for m in alone.report.messages
    ]


def test_cancelling_stops_a_threaded_decode(recording, monkeypatch):
    frames, database = recording
    monkeypatch.setattr(app.decode, "DECODE_THREADS", 2)
    monkeypatch.setattr(app.decode, "PARALLEL_FROM_FRAMES", 0)
    calls = []

    def progress(done, total):
        calls.append(done)
        return done < 3

    with pytest.raises(LoadCancelled):
        decode_frames(frames, [database], progress)
    assert calls[-1] == 3
