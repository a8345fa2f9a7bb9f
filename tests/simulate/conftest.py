"""Simulated recordings shared by the simulator's tests (made once per test session).

The recordings are decoded with the real decoder (``app.decode``), which is itself checked
against cantools in ``tests/decode``; the physics checks then read the bus as a technician
would, from the decoded traces.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from app.databases import load_database
from app.decode import decode_frames
from app.paths import shipped_dir
from app.simulate import ANOMALY_CLASSES, Recording, SimulationConfig, simulate
from app.traces import Trace

SHIPPED_DBC = shipped_dir("dbc") / "ev_battery.dbc"


@dataclass
class Decoded:
    recording: Recording
    traces: dict[str, Trace]  # by signal name (the shipped DBC's names are unique)

    @property
    def truth(self) -> dict:
        return self.recording.truth

    def series(self, signal: str) -> tuple[np.ndarray, np.ndarray]:
        """Seconds from the recording's start, and values, of one signal."""
        trace = self.traces[signal]
        return trace.time_s - self.truth["start_epoch"], trace.values

    def during(self, signal: str, start_s: float, end_s: float) -> np.ndarray:
        time_s, values = self.series(signal)
        return values[(time_s >= start_s) & (time_s < end_s)]

    def phase(self, kind: str) -> dict:
        return next(p for p in self.truth["schedule"] if p["kind"] == kind)


def decoded(config: SimulationConfig) -> Decoded:
    recording = simulate(config)
    result = decode_frames(recording.frames, [load_database(SHIPPED_DBC)])
    return Decoded(recording, {trace.signal: trace for trace in result.traces})


@pytest.fixture(scope="session")
def quiet_drive_and_charge() -> Decoded:
    """15 minutes: idle, drive, pause, charge, idle; no anomalies."""
    return decoded(SimulationConfig(duration_s=900, seed=11, scenario="mixed", anomalies=[]))


@pytest.fixture(scope="session")
def every_anomaly() -> Decoded:
    """20 minutes of the mixed scenario with one anomaly of each kind."""
    kinds = list(ANOMALY_CLASSES)
    return decoded(SimulationConfig(duration_s=1200, seed=12, scenario="mixed", anomalies=kinds))
