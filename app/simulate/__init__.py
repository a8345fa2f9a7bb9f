"""A realistic recording of the shipped battery bus (``dbc/ev_battery.dbc``), with its truth.

``simulate(config)`` lays out the recording's phases (driving, idling, charging, asleep),
injects anomalies, integrates the pack's physics through every awake span
(:mod:`app.simulate.battery`, :mod:`app.simulate.drive`) and puts the result on the bus
(:mod:`app.simulate.bus`). What was injected, and the pack's true capacity and resistance,
come back as ``Recording.truth``, a JSON-ready dict that ``write_recording`` stores beside
the capture, so that analysis can be scored against it. Same configuration and seed, same
frames and same bytes.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cantools
import numpy as np

from app import __version__
from app.errors import CaptureError
from app.frames import FrameTable
from app.paths import shipped_dir
from app.progress import ProgressCallback, report
from app.simulate import battery, drive
from app.simulate.battery import CELLS, FAST_HZ, SENSORS, ChargePlan, Faults, PackDesign
from app.simulate.bus import Bus, WakeInputs
from app.simulate.scenario import (
    ANOMALY_CLASSES,
    DEMO_DURATION_S,
    SCENARIOS,
    Anomaly,
    Phase,
    build_phases,
    default_anomalies,
    place_anomalies,
)

log = logging.getLogger(__name__)

__all__ = [
    "ANOMALY_CLASSES",
    "SCENARIOS",
    "Recording",
    "SimulationConfig",
    "parse_duration",
    "simulate",
    "truth_path",
    "write_recording",
]

# 2 March 2026, 07:30:00 UTC: a fixed default, so that the same seed gives the same bytes.
DEFAULT_START_EPOCH = 1772436600.0
DATABASE_NAME = "ev_battery.dbc"
OVER_TEMPERATURE_LIMIT_C = 55.0  # what the truth reports as "above the limit"
KIND_CODES = {"idle": battery.IDLE, "drive": battery.DRIVE, "charge": battery.CHARGE}

# Independent random streams, so that changing one part leaves the others alone.
STREAM_PHASES, STREAM_PACK, STREAM_DRIVE, STREAM_BUS, STREAM_ANOMALIES = range(5)


@dataclass
class SimulationConfig:
    """What to simulate. ``anomalies`` None means the scenario's default set, [] none."""

    duration_s: int = 600
    seed: int = 1
    scenario: str = "auto"  # "auto": "days" from a day on, else "mixed"
    anomalies: list[str] | None = None
    start_epoch: float = DEFAULT_START_EPOCH
    initial_soc_percent: float | None = None  # None: chosen so the charge reaches CV
    soh_percent: float | None = None  # None: drawn between 88 and 97 %
    ambient_c: float | None = None  # None: drawn between 5 and 25 °C
    # Ageing, faster than real so that a week shows it.
    fade_percent_per_day: float = 0.5
    resistance_growth_percent_per_day: float = 1.0

    def resolved_scenario(self) -> str:
        if self.scenario == "auto":
            return "days" if self.duration_s >= 86400 else "mixed"
        if self.scenario not in SCENARIOS:
            raise ValueError(
                f"unknown scenario {self.scenario!r}; known: auto, {', '.join(SCENARIOS)}"
            )
        return self.scenario


@dataclass
class Recording:
    frames: FrameTable
    truth: dict = field(default_factory=dict)


def truth_path(capture_path: str | Path) -> Path:
    """Where the truth of a simulated capture lives: ``<capture>.truth.json``."""
    return Path(f"{capture_path}.truth.json")


def parse_duration(text: str) -> int:
    """``"90"``, ``"90s"``, ``"15m"``, ``"2h"``, ``"3d"`` (or combinations, ``"1h30m"``) to
    whole seconds; ValueError names what was wrong."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    text = text.strip().lower()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return int(float(text))
    parts = re.findall(r"(\d+(?:\.\d+)?)([smhd])", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"not a duration: {text!r} (examples: 90s, 15m, 2h, 3d, 1h30m)")
    return int(sum(float(number) * units[unit] for number, unit in parts))


def write_recording(
    config: SimulationConfig,
    path: str | Path,
    format: str | None = None,
    progress: ProgressCallback | None = None,
) -> Recording:
    """Simulate, write the capture to ``path`` and its truth to ``truth_path(path)``."""
    from app.formats import write_capture
    from app.formats.writers import WRITERS, format_for

    path = Path(path)
    # Refuse a bad name before a long simulation, not after it.
    if format is None:
        format, _ = format_for(path)
    elif format not in WRITERS:
        raise CaptureError(
            path, f"cannot write the format {format!r}; writable: {', '.join(WRITERS)}"
        )
    if not path.parent.is_dir():
        raise CaptureError(path, "the folder does not exist")

    recording = simulate(config, progress)
    recording.truth["capture"] = {"file": path.name, "format": format}
    write_capture(recording.frames, path, format)
    truth_path(path).write_text(json.dumps(recording.truth, indent=1) + "\n", encoding="utf-8")
    log.info("simulated %d frames into %s", len(recording.frames), path)
    return recording


def simulate(config: SimulationConfig, progress: ProgressCallback | None = None) -> Recording:
    """Simulate the recording ``config`` describes; see the module docstring."""
    scenario = config.resolved_scenario()
    duration_s = DEMO_DURATION_S if scenario == "demo" else int(config.duration_s)
    if duration_s < 10:
        raise ValueError(f"a recording needs at least 10 s, not {duration_s} s")
    rngs = [np.random.default_rng([config.seed, stream]) for stream in range(5)]

    phases = build_phases(scenario, duration_s, rngs[STREAM_PHASES])
    kinds = (
        default_anomalies(scenario, rngs[STREAM_ANOMALIES])
        if config.anomalies is None
        else list(config.anomalies)
    )
    unknown = [kind for kind in kinds if kind not in ANOMALY_CLASSES]
    if unknown:
        known = ", ".join(ANOMALY_CLASSES)
        raise ValueError(f"unknown anomaly {', '.join(unknown)}; known: {known}")
    anomalies, skipped = place_anomalies(kinds, phases, rngs[STREAM_ANOMALIES])

    run = _Run(config, scenario, duration_s, phases, anomalies, rngs)
    frames = run.all_frames(progress)
    truth = run.truth(frames, skipped)
    return Recording(frames, truth)


class _Run:
    """One simulation: the pack, the vehicle, the bus, and the running totals."""

    def __init__(self, config, scenario, duration_s, phases, anomalies, rngs):
        self.config = config
        self.scenario = scenario
        self.duration_s = duration_s
        self.phases: list[Phase] = phases
        self.anomalies: list[Anomaly] = anomalies
        self.rng_pack, self.rng_drive = rngs[STREAM_PACK], rngs[STREAM_DRIVE]
        self.design = PackDesign()
        self.vehicle = drive.Vehicle()

        soh = config.soh_percent / 100 if config.soh_percent else self.rng_pack.uniform(0.88, 0.97)
        self.cells = battery.Cells.draw(
            self.design,
            soh,
            config.fade_percent_per_day / 100,
            config.resistance_growth_percent_per_day / 100,
            self.rng_pack,
        )
        self.soh_bias = self.rng_pack.uniform(0.5, 2.0)
        drawn_ambient_c = self.rng_pack.uniform(5, 25)
        if config.ambient_c is not None:
            self.ambient_c = config.ambient_c
        else:
            self.ambient_c = 18.0 if scenario == "demo" else drawn_ambient_c
        initial = self._initial_soc()
        self.state = battery.PackState(
            soc_percent=initial + 0.4 * self.rng_pack.standard_normal(CELLS),
            node_c=self.ambient_c + 1.5 + 0.3 * self.rng_pack.standard_normal(SENSORS),
        )
        self.faults = self._faults()
        database = cantools.database.load_file(shipped_dir("dbc") / DATABASE_NAME)
        self.bus = Bus(database, self.design, anomalies, rngs[STREAM_BUS], config.start_epoch)
        self.odometer_km = round(self.rng_drive.uniform(8_000, 60_000), 1)
        self.trip_km = 0.0
        self.wakes: list[dict] = []
        self.health: list[dict] = []
        self.events: list[dict] = []

    # -- set-up -----------------------------------------------------------------------

    def _initial_soc(self) -> float:
        """Chosen so that a charge in the recording spends about half its time in constant
        current and half tapering in constant voltage."""
        if self.config.initial_soc_percent is not None:
            return float(self.config.initial_soc_percent)
        if self.scenario == "charge":
            return 25.0
        if self.scenario == "demo":
            return 71.0
        if self.scenario == "days":
            return 80.0
        driving_s = sum(p.duration_s for p in self.phases if p.kind == "drive")
        charging_s = sum(p.duration_s for p in self.phases if p.kind == "charge")
        amp_hour_percent = 100 / self.design.rated_capacity_ah / 3600
        used = 60.0 * driving_s * amp_hour_percent  # about 60 A on average while driving
        charged = self._charger_amps() * charging_s / 2 * amp_hour_percent
        return float(np.clip(76.0 - charged + used, 20.0, 95.0))

    def _charger_amps(self) -> float:
        return 120.0 if self.scenario == "days" else 150.0

    def _faults(self) -> Faults:
        faults = Faults()
        for anomaly in self.anomalies:
            span = max(anomaly.end_s - anomaly.start_s, 1.0)
            if anomaly.kind == "over_temperature":
                rise_c = anomaly.params.pop("target_c") - (self.ambient_c + 5.0)
                anomaly.params["rise_c"] = rise_c
                watts = 1.25 * self.design.node_heat_capacity_j_k * rise_c / span
                anomaly.params["extra_heat_w"] = round(watts, 1)
                faults.extra_heat.append(
                    (anomaly.start_s, anomaly.end_s, anomaly.params["nodes"], watts)
                )
            elif anomaly.kind == "cell_drift_low":
                rate = anomaly.params["soc_drop_percent"] / span
                faults.cell_leak.append(
                    (anomaly.start_s, anomaly.end_s, anomaly.params["cell"], rate)
                )
            elif anomaly.kind == "voltage_sag":
                faults.series_ohm.append((anomaly.start_s, anomaly.end_s, anomaly.params["ohm"]))
            elif anomaly.kind == "charge_stop":
                faults.charge_stop_s.append(anomaly.start_s)
        return faults

    # -- the run ----------------------------------------------------------------------

    def all_frames(self, progress: ProgressCallback | None) -> FrameTable:
        tables = []
        report(progress, 0, self.duration_s)
        for span in _wakes(self.phases):
            if span[0].kind == "sleep":
                self._sleep(span[0])
            else:
                tables.append(self._wake(span))
            report(progress, span[-1].end_s, self.duration_s)
        self._record_health(self.duration_s)
        return FrameTable.concat(tables)

    def _sleep(self, phase: Phase) -> None:
        ambient = float(self._ambient(np.array([phase.end_s]))[0])
        battery.rest(self.design, self.state, phase.duration_s, ambient, self.faults, phase.start_s)

    def _wake(self, span: list[Phase]) -> FrameTable:
        start, end = span[0].start_s, span[-1].end_s
        n = end - start
        kinds = np.concatenate([np.full(p.duration_s, KIND_CODES[p.kind]) for p in span])
        ambient = self._ambient(start + np.arange(n, dtype=float))
        profile = self._vehicle(span, n, float(ambient.mean()))
        target = 95.0 if self.scenario == "days" else 100.0
        charges = [
            ChargePlan(p.start_s, p.end_s, self._charger_amps(), target)
            for p in span
            if p.kind == "charge"
        ]
        self._record_health(start)
        soc_before = float(self.state.soc_percent.mean())

        wake = battery.run_wake(
            self.design,
            self.cells,
            self.state,
            start,
            kinds,
            profile.battery_w,
            ambient,
            charges,
            self.faults,
        )
        self._freeze_stuck_sensors(wake)
        self._observe_over_temperature(wake)
        inputs = self._inputs(start, kinds, ambient, profile)
        frames = self.bus.wake_frames(wake, inputs)

        travelled = float(profile.speed_m_s.sum()) / FAST_HZ / 1000
        self.odometer_km += travelled
        self.trip_km += travelled
        self._summarise(span, wake, inputs, soc_before, travelled)
        return frames

    def _inputs(self, start, kinds, ambient, profile: drive.DriveProfile) -> WakeInputs:
        stops = {a.start_s: a.params["fault"] for a in self.anomalies if a.kind == "charge_stop"}
        return WakeInputs(
            kinds=kinds,
            speed_m_s=profile.speed_m_s,
            torque_nm=profile.torque_nm,
            pedal_percent=profile.pedal_percent,
            brake=profile.brake,
            ambient_c=ambient,
            odometer_km=self.odometer_km,
            trip_km=self.trip_km,
            bms_soh_percent=round(2 * (self._soh_percent(start) + self.soh_bias)) / 2,
            soc_drift_percent_h=float(0.3 * self.rng_pack.standard_normal()),
            charge_faults=stops,
        )

    def _summarise(self, span, wake, inputs, soc_before: float, travelled_km: float) -> None:
        amps = wake.current_a
        amp_hours = 1 / FAST_HZ / 3600
        for event in wake.events:
            name = _CHARGER_NAMES[event["charger_state"]]
            self.events.append({**event, "charger_state_name": name})
        self.wakes.append(
            {
                "start_s": span[0].start_s,
                "end_s": span[-1].end_s,
                "phases": [p.kind for p in span],
                "soc_start_percent": round(soc_before, 3),
                "soc_end_percent": round(float(self.state.soc_percent.mean()), 3),
                "charge_ah": round(float(-amps[amps < 0].sum()) * amp_hours, 3),
                "discharge_ah": round(float(amps[amps > 0].sum()) * amp_hours, 3),
                "distance_km": round(travelled_km, 3),
                "max_temperature_c": round(float(wake.node_c.max()), 2),
                "bms_soh_percent": inputs.bms_soh_percent,
            }
        )

    def _vehicle(self, span: list[Phase], n: int, ambient_c: float) -> drive.DriveProfile:
        aux = drive.auxiliary_w(n * FAST_HZ, ambient_c, self.rng_drive)
        speed = np.zeros(n * FAST_HZ)
        accel = np.zeros(n * FAST_HZ)
        offset = span[0].start_s
        for phase in span:
            if phase.kind == "drive":
                part = slice((phase.start_s - offset) * FAST_HZ, (phase.end_s - offset) * FAST_HZ)
                speed[part], accel[part] = drive.speed_profile(phase.duration_s, self.rng_drive)
        profile = drive.road_load(self.vehicle, speed, accel, aux)
        return profile

    def _freeze_stuck_sensors(self, wake: battery.WakeResult) -> None:
        """A stuck sensor keeps the reading it had when it stuck."""
        for anomaly in self.anomalies:
            if (
                anomaly.kind == "stuck_sensor"
                and wake.time_s[0] <= anomaly.start_s < wake.time_s[-1]
            ):
                node = wake.node_c[:, anomaly.params["sensor"]]
                anomaly.params["stuck_at_c"] = round(
                    float(np.interp(anomaly.start_s, wake.time_s, node)), 1
                )

    def _observe_over_temperature(self, wake: battery.WakeResult) -> None:
        """When the heated sensors were above the limit: the cause (the injected range) and
        its visible effect (which outlasts it while the module cools) differ."""
        for anomaly in self.anomalies:
            if anomaly.kind != "over_temperature":
                continue
            hottest = wake.node_c[:, anomaly.params["nodes"]].max(axis=1)
            above = wake.time_s[hottest > OVER_TEMPERATURE_LIMIT_C]
            if len(above):
                first = float(above[0])
                last = float(above[-1])
                if "above_limit_from_s" in anomaly.params:
                    first = anomaly.params["above_limit_from_s"]
                anomaly.params["limit_c"] = OVER_TEMPERATURE_LIMIT_C
                anomaly.params["above_limit_from_s"] = first
                anomaly.params["above_limit_until_s"] = last

    def _ambient(self, times_s: np.ndarray) -> np.ndarray:
        """Ambient temperature; over days it follows the sun (warmest at 15:00)."""
        if self.scenario != "days":
            return self.ambient_c + 0.5 * np.sin(times_s / 3600)
        hour = 7.5 + times_s / 3600
        return self.ambient_c + 6.0 * np.sin(2 * np.pi * (hour - 9) / 24)

    def _soh_percent(self, time_s: float) -> float:
        return float(self.cells.capacity_at(time_s).mean()) / self.design.rated_capacity_ah * 100

    def _record_health(self, time_s: float) -> None:
        capacity = self.cells.capacity_at(time_s)
        resistance = float(self.cells.r0_ohm.sum()) * self.cells.ageing_resistance_factor(time_s)
        self.health.append(
            {
                "time_s": time_s,
                "capacity_ah": round(float(capacity.mean()), 4),
                "weakest_cell_capacity_ah": round(float(capacity.min()), 4),
                "soh_percent": round(self._soh_percent(time_s), 4),
                "pack_resistance_ohm_25c": round(resistance + self.design.busbar_ohm, 6),
            }
        )

    # -- truth ------------------------------------------------------------------------

    def truth(self, frames: FrameTable, skipped: list[str]) -> dict:
        start = self.config.start_epoch
        return {
            "generator": f"ev-battery-monitor {__version__} simulate",
            "seed": self.config.seed,
            "scenario": self.scenario,
            "duration_s": self.duration_s,
            "start_epoch": start,
            "time_axis": "seconds from start_epoch; frame timestamps are start_epoch + time",
            "database": DATABASE_NAME,
            "config": asdict(self.config),
            "pack": {
                "cells_in_series": CELLS,
                "temperature_sensors": SENSORS,
                "rated_capacity_ah": self.design.rated_capacity_ah,
                "current_sign": "positive while discharging",
                "design": asdict(self.design),
                "ocv_soc_percent": battery.OCV_SOC_PERCENT.tolist(),
                "ocv_cell_v": battery.OCV_CELL_V.tolist(),
                "cell_capacity_ah": np.round(self.cells.capacity_ah, 4).tolist(),
                "cell_r0_mohm_25c": np.round(1000 * self.cells.r0_ohm, 5).tolist(),
                "bms_soh_bias_percent": round(self.soh_bias, 3),
            },
            "health": self.health,
            "schedule": [asdict(p) for p in self.phases],
            "wakes": self.wakes,
            "charger_events": self.events,
            "anomalies": [_anomaly_truth(a, start) for a in self.anomalies],
            "anomalies_not_placed": skipped,
            "frames": {"count": len(frames), "by_message": dict(self.bus.counts)},
        }


_CHARGER_NAMES = {
    battery.CHARGER_OFF: "Idle",
    battery.CHARGER_CONNECTED: "Connected",
    battery.CHARGER_PRECHARGE: "Precharge",
    battery.CHARGER_CC: "ConstantCurrent",
    battery.CHARGER_CV: "ConstantVoltage",
    battery.CHARGER_COMPLETE: "Complete",
    battery.CHARGER_FAULT: "Fault",
}


def _anomaly_truth(anomaly: Anomaly, start_epoch: float) -> dict:
    params = {k: v for k, v in anomaly.params.items() if k not in ("nodes", "cell", "sensor")}
    return {
        "class": anomaly.label_class,
        "kind": anomaly.kind,
        "start_s": anomaly.start_s,
        "end_s": anomaly.end_s,
        "start_epoch": round(start_epoch + anomaly.start_s, 6),
        "end_epoch": round(start_epoch + anomaly.end_s, 6),
        "where": anomaly.where,
        "detail": anomaly.detail,
        "params": {k: (round(v, 4) if isinstance(v, float) else v) for k, v in params.items()},
    }


def _wakes(phases: list[Phase]) -> list[list[Phase]]:
    """Group the phases into awake spans and single sleep phases, in order."""
    spans: list[list[Phase]] = []
    for phase in phases:
        awake = phase.kind != "sleep"
        if awake and spans and spans[-1][0].kind != "sleep":
            spans[-1].append(phase)
        else:
            spans.append([phase])
    return spans
