"""What a simulated recording contains: its phases (drive, idle, charge, asleep) and the
anomalies injected into them.

Scenarios:

- ``mixed`` (the default under a day): wake, drive, pause, plug in and charge, idle.
- ``drive``: one drive between two short idles.
- ``charge``: one charging session from a low state of charge.
- ``days`` (the default from a day on): every day a morning and an evening drive and an
  evening charge, the vehicle asleep (bus silent) in between; capacity fades from day to day.
- ``demo``: the bundled demo recording, a few minutes long whatever the duration asked.

All times are whole seconds from the recording's start.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

SCENARIOS = ("mixed", "drive", "charge", "days", "demo")
DEMO_DURATION_S = 270

# Injected anomaly kinds and the label class (dbc/label_classes.toml) each one is scored as.
ANOMALY_CLASSES = {
    "over_temperature": "over_temperature",
    "cell_drift_low": "cell_imbalance",
    "voltage_sag": "voltage_sag_under_load",
    "sensor_glitch": "sensor_glitch",
    "stuck_sensor": "stuck_sensor",
    "charge_stop": "charging_fault",
}
DEMO_ANOMALIES = ("voltage_sag", "sensor_glitch", "stuck_sensor")


@dataclass(frozen=True)
class Phase:
    kind: str  # "idle", "drive", "charge" or "sleep"
    start_s: int
    end_s: int

    @property
    def duration_s(self) -> int:
        return self.end_s - self.start_s


@dataclass
class Anomaly:
    """One injected anomaly: its class, its time range, where in the pack, and the numbers
    the physics needs (``params``)."""

    kind: str
    start_s: float
    end_s: float
    where: dict = field(default_factory=dict)
    params: dict = field(default_factory=dict)
    detail: str = ""

    @property
    def label_class(self) -> str:
        return ANOMALY_CLASSES[self.kind]


def build_phases(scenario: str, duration_s: int, rng: np.random.Generator) -> list[Phase]:
    """The phases of a recording, back to back, covering ``duration_s`` exactly."""
    if scenario == "demo":
        return _sequence([("idle", 10), ("drive", 150), ("idle", 15), ("charge", 85), ("idle", 10)])
    if scenario == "days":
        return _days(duration_s, rng)
    if scenario == "drive":
        lead = min(60, max(duration_s // 20, 2))
        tail = min(30, max(duration_s // 20, 2))
        return _sequence([("idle", lead), ("drive", duration_s - lead - tail), ("idle", tail)])
    if scenario == "charge":
        lead = min(30, max(duration_s // 20, 2))
        return _sequence([("idle", lead), ("charge", duration_s - lead)])
    if scenario == "mixed":
        lead = min(60, max(duration_s // 30, 2))
        pause = min(120, max(duration_s // 30, 2))
        tail = min(60, max(duration_s // 30, 2))
        drive = int(0.55 * (duration_s - lead - pause - tail))
        charge = duration_s - lead - pause - tail - drive
        return _sequence(
            [("idle", lead), ("drive", drive), ("idle", pause), ("charge", charge), ("idle", tail)]
        )
    raise ValueError(f"unknown scenario {scenario!r}; known: {', '.join(SCENARIOS)}")


def _sequence(parts: list[tuple[str, int]]) -> list[Phase]:
    phases, start = [], 0
    for kind, length in parts:
        if length > 0:
            phases.append(Phase(kind, start, start + int(length)))
            start += int(length)
    return phases


def _days(duration_s: int, rng: np.random.Generator) -> list[Phase]:
    """Day after day from 07:30: commute, sleep, commute home, charge, sleep."""
    parts: list[tuple[str, int]] = []
    day = 0
    while sum(length for _, length in parts) < duration_s:
        morning = int(rng.uniform(20, 45) * 60)
        evening = int(rng.uniform(20, 45) * 60)
        charge = int(rng.uniform(35, 55) * 60)
        day_plan = [
            ("idle", 30),
            ("drive", morning),
            ("idle", 20),
            ("sleep", int(9.5 * 3600) - morning + int(rng.uniform(-20, 20) * 60)),
            ("idle", 30),
            ("drive", evening),
            ("idle", 120),
            ("charge", charge),
            ("idle", 30),
        ]
        used = sum(length for _, length in day_plan)
        day_plan.append(("sleep", 86400 * (day + 1) - sum(ln for _, ln in parts) - used))
        parts += day_plan
        day += 1

    phases = _sequence(parts)
    kept = [p for p in phases if p.start_s < duration_s]
    last = kept[-1]
    kept[-1] = Phase(last.kind, last.start_s, duration_s)
    return kept


def place_anomalies(
    kinds: list[str], phases: list[Phase], rng: np.random.Generator
) -> tuple[list[Anomaly], list[str]]:
    """Put each requested anomaly where it can show; say which could not be placed."""
    placed, skipped = [], []
    for kind in kinds:
        anomaly = _PLACERS[kind](phases, rng)
        if anomaly is None:
            skipped.append(f"{kind}: this recording has no phase where it can show")
        else:
            placed.append(anomaly)
    placed.sort(key=lambda a: a.start_s)
    return placed, skipped


def default_anomalies(scenario: str, rng: np.random.Generator) -> list[str]:
    """The anomalies a recording gets unless told otherwise: three drawn from the seed, one
    of each over several days, the fixed set in the demo."""
    if scenario == "demo":
        return list(DEMO_ANOMALIES)
    kinds = list(ANOMALY_CLASSES)
    if scenario == "days":
        return kinds
    if scenario == "drive":
        kinds.remove("charge_stop")
    picked = rng.choice(len(kinds), size=3, replace=False)
    return [kinds[i] for i in sorted(picked)]


def _longest(phases: list[Phase], kinds: tuple[str, ...], minimum_s: int) -> Phase | None:
    fitting = [p for p in phases if p.kind in kinds and p.duration_s >= minimum_s]
    return max(fitting, key=lambda p: p.duration_s) if fitting else None


def _inside(phase: Phase, first: float, last: float, rng: np.random.Generator) -> tuple[int, int]:
    """A sub-range of ``phase`` starting at a random fraction near ``first``, ending near
    ``last`` (fractions of the phase)."""
    start = phase.start_s + int(phase.duration_s * rng.uniform(first, first + 0.1))
    end = phase.start_s + int(phase.duration_s * rng.uniform(last - 0.1, last))
    return start, max(end, start + 1)


def _over_temperature(phases, rng) -> Anomaly | None:
    phase = _longest(phases, ("drive", "charge"), 60)
    if phase is None:
        return None
    start, end = _inside(phase, 0.15, 0.85, rng)
    node = int(rng.integers(0, 31))
    target_c = rng.uniform(60, 66)
    return Anomaly(
        "over_temperature",
        start,
        end,
        where={"sensors": [node + 1, node + 2]},
        params={"nodes": [node, node + 1], "target_c": target_c},
        detail=f"cooling lost and a bad connection heating sensors {node + 1} and {node + 2}",
    )


def _cell_drift_low(phases, rng) -> Anomaly | None:
    awake = [p for p in phases if p.kind != "sleep"]
    if not awake or awake[-1].end_s - awake[0].start_s < 30:
        return None
    first, last = awake[0].start_s, awake[-1].end_s
    start = first + int((last - first) * rng.uniform(0.05, 0.2))
    cell = int(rng.integers(0, 96))
    drop = rng.uniform(5, 9)
    return Anomaly(
        "cell_drift_low",
        start,
        last,
        where={"cells": [cell + 1]},
        params={"cell": cell, "soc_drop_percent": drop},
        detail=f"cell {cell + 1} self-discharging (soft internal short), losing {drop:.1f} % SoC",
    )


def _voltage_sag(phases, rng) -> Anomaly | None:
    phase = _longest(phases, ("drive",), 30)
    if phase is None:
        return None
    start, end = _inside(phase, 0.25, 0.75, rng)
    ohm = rng.uniform(0.06, 0.10)
    return Anomaly(
        "voltage_sag",
        start,
        end,
        where={"pack": True},
        params={"ohm": ohm},
        detail=f"loose pack connection adding {1000 * ohm:.0f} mOhm in series",
    )


def _sensor_glitch(phases, rng) -> Anomaly | None:
    awake = [p for p in phases if p.kind != "sleep" and p.duration_s >= 10]
    if not awake:
        return None
    phase = awake[int(rng.integers(0, len(awake)))]
    start = phase.start_s + rng.uniform(0.2, 0.8) * phase.duration_s
    end = start + rng.uniform(0.4, 1.5)
    if rng.random() < 0.5:
        sensor = int(rng.integers(0, 32))
        reading = "open_circuit" if rng.random() < 0.5 else "not_available"
        where = {"sensors": [sensor + 1]}
        detail = f"temperature sensor {sensor + 1} reads {reading.replace('_', ' ')}"
        params = {"sensor": sensor, "reading": reading}
    else:
        cell = int(rng.integers(0, 96))
        where = {"cells": [cell + 1]}
        detail = f"voltage tap of cell {cell + 1} reads 0 V"
        params = {"cell": cell, "reading": "zero"}
    return Anomaly("sensor_glitch", round(start, 3), round(end, 3), where, params, detail)


def _stuck_sensor(phases, rng) -> Anomaly | None:
    phase = _longest(phases, ("drive", "charge"), 30)
    if phase is None:
        return None
    start, end = _inside(phase, 0.2, 0.95, rng)
    sensor = int(rng.integers(0, 32))
    return Anomaly(
        "stuck_sensor",
        start,
        end,
        where={"sensors": [sensor + 1]},
        params={"sensor": sensor},
        detail=f"temperature sensor {sensor + 1} frozen at its last reading",
    )


def _charge_stop(phases, rng) -> Anomaly | None:
    phase = _longest(phases, ("charge",), 30)
    if phase is None:
        return None
    start = phase.start_s + int(phase.duration_s * rng.uniform(0.35, 0.6))
    fault = "StoppedByStation" if rng.random() < 0.5 else "InputPowerLost"
    return Anomaly(
        "charge_stop",
        start,
        phase.end_s,
        where={"charger": True},
        params={"fault": fault},
        detail=f"charging stopped before the target ({fault})",
    )


_PLACERS = {
    "over_temperature": _over_temperature,
    "cell_drift_low": _cell_drift_low,
    "voltage_sag": _voltage_sag,
    "sensor_glitch": _sensor_glitch,
    "stuck_sensor": _stuck_sensor,
    "charge_stop": _charge_stop,
}
