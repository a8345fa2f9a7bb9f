"""From the pack's states to frames on the bus, message by message, all frames at once.

Every message has its own period and phase, a little send jitter, and the signals the BMS,
the vehicle control unit or the charger would put in it, measured with sensor noise and
the injected sensor faults (glitches, a stuck sensor). Signal values become payloads
through :func:`app.simulate.encode.pack`; no per-frame Python loop anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from cantools.database.can import Database, Message

from app.frames import FrameTable
from app.simulate import battery
from app.simulate.battery import CELLS, FAST_HZ, SENSORS, PackDesign, WakeResult
from app.simulate.encode import all_ones, pack, to_raw
from app.simulate.scenario import Anomaly

JITTER_S = 40e-6
VOLTAGE_GROUPS = CELLS // 4
TEMPERATURE_GROUPS = SENSORS // 4
OPEN_CIRCUIT_C = -40.0

# ChargerFault values of the DBC.
CHARGER_FAULTS = {"StoppedByStation": 4, "InputPowerLost": 2}
BMS_MODE = np.array([1, 2, 3])  # Standby, Drive, Charge for IDLE, DRIVE, CHARGE
GEAR_PARK, GEAR_DRIVE = 0, 3
CONTACTOR_PRECHARGE, CONTACTOR_CLOSED, CONTACTOR_OPENING = 1, 2, 3


@dataclass
class WakeInputs:
    """What the vehicle did during one wake, besides the pack's own states."""

    kinds: np.ndarray  # per second: battery.IDLE, DRIVE or CHARGE
    speed_m_s: np.ndarray  # 10 Hz
    torque_nm: np.ndarray  # 10 Hz
    pedal_percent: np.ndarray  # 10 Hz
    brake: np.ndarray  # 10 Hz, bool
    ambient_c: np.ndarray  # per second
    odometer_km: float  # at the wake's start
    trip_km: float
    bms_soh_percent: float  # what the BMS believes this wake
    soc_drift_percent_h: float  # how fast the BMS's coulomb count drifts this wake
    charge_faults: dict[float, str]  # charge-stop time -> ChargerFault name


class Bus:
    """Builds the frames of one wake after another."""

    def __init__(
        self,
        database: Database,
        design: PackDesign,
        anomalies: list[Anomaly],
        rng: np.random.Generator,
        start_epoch: float,
    ):
        self.db = database
        self.design = design
        self.anomalies = anomalies
        self.rng = rng
        self.start_epoch = start_epoch
        self.counts: dict[str, int] = {}

    def wake_frames(self, wake: WakeResult, inputs: WakeInputs) -> FrameTable:
        """Every frame of one wake, in time order."""
        view = _WakeView(wake, inputs, self)
        builders = [
            ("BMS_PackStatus", 0.010, view.pack_status),
            ("BMS_State", 0.100, view.bms_state),
            ("BMS_CellStats", 0.100, view.cell_stats),
            ("BMS_CellVoltages", 0.100 / VOLTAGE_GROUPS, view.cell_voltages),
            ("BMS_CellTemperatures", 0.200 / TEMPERATURE_GROUPS, view.cell_temperatures),
            ("VCU_VehicleStatus", 0.020, view.vehicle_status),
            ("VCU_Odometer", 1.000, view.odometer),
            ("BMS_ChargeRequest", 0.100, view.charge_request),
            ("Charger_Status", 0.100, view.charger_status),
        ]
        tables = []
        for name, period_s, build in builders:
            message = self.db.get_message_by_name(name)
            times = self._times(
                wake, period_s, charging_only=name in _CHARGER_MESSAGES, kinds=inputs.kinds
            )
            if len(times) == 0:
                continue
            raw = build(message, times)
            tables.append(self._table(message, times, raw))
            self.counts[name] = self.counts.get(name, 0) + len(times)

        frames = FrameTable.concat(tables)
        order = np.argsort(frames.timestamp, kind="stable")
        return frames.take(order)

    def _times(
        self, wake: WakeResult, period_s: float, charging_only: bool, kinds: np.ndarray
    ) -> np.ndarray:
        """Send times (seconds from the recording's start) of one message in one wake."""
        start, end = wake.time_s[0], wake.time_s[-1]
        phase = self.rng.uniform(0, period_s)
        nominal = start + phase + period_s * np.arange(int((end - start - phase) / period_s))
        times = nominal + np.clip(
            JITTER_S * self.rng.standard_normal(len(nominal)), -period_s / 4, period_s / 4
        )
        times = times[(times >= start) & (times < end)]
        if charging_only:
            second = np.minimum((times - start).astype(np.int64), len(kinds) - 1)
            times = times[kinds[second] == battery.CHARGE]
        return np.round(times, 6)

    def _table(self, message: Message, times: np.ndarray, raw: dict) -> FrameTable:
        n = len(times)
        table = FrameTable.empty(n)
        table.timestamp[:] = np.round(self.start_epoch + times, 6)
        table.arbitration_id[:] = message.frame_id
        table.is_extended_id[:] = message.is_extended_frame
        table.dlc[:] = message.length
        table.data[:, : message.length] = pack(message, raw, n)
        return table


_CHARGER_MESSAGES = ("BMS_ChargeRequest", "Charger_Status")


class _WakeView:
    """The states of one wake sampled at arbitrary times, and one builder per message."""

    def __init__(self, wake: WakeResult, inputs: WakeInputs, bus: Bus):
        self.wake = wake
        self.inputs = inputs
        self.bus = bus
        self.rng = bus.rng
        self.design = bus.design
        self.n_seconds = len(inputs.kinds)
        self.ocv_sum = battery.ocv(wake.soc_percent).sum(axis=1)
        self.r0_sum = wake.cell_r0_ohm.sum(axis=1)
        self.polarisation_sum = wake.cell_polarisation_v.sum(axis=1)

    # -- sampling ---------------------------------------------------------------------

    def _grid(self, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Index into the one-second grid and the fraction towards the next point."""
        offset = times - self.wake.time_s[0]
        index = np.clip(offset.astype(np.int64), 0, self.n_seconds - 1)
        return index, offset - index

    def _slow(self, grid: np.ndarray, times: np.ndarray, columns=None) -> np.ndarray:
        """Linear interpolation on the one-second grid; ``columns`` picks cells or sensors."""
        index, fraction = self._grid(times)
        if grid.ndim == 1:
            low, high = grid[index], grid[index + 1]
        elif columns is None:
            low, high, fraction = grid[index], grid[index + 1], fraction[:, None]
        else:
            rows = index[:, None]
            low, high = grid[rows, columns[None, :]], grid[rows + 1, columns[None, :]]
            fraction = fraction[:, None]
        return low + (high - low) * fraction

    def _second(self, per_second: np.ndarray, times: np.ndarray) -> np.ndarray:
        return per_second[self._grid(times)[0]]

    def _fast(self, per_tenth: np.ndarray, times: np.ndarray) -> np.ndarray:
        index = ((times - self.wake.time_s[0]) * FAST_HZ).astype(np.int64)
        return per_tenth[np.clip(index, 0, len(per_tenth) - 1)]

    def current(self, times: np.ndarray) -> np.ndarray:
        return self._fast(self.wake.current_a, times)

    def pack_voltage(self, times: np.ndarray) -> np.ndarray:
        resistance = self._slow(self.r0_sum, times) + self.design.busbar_ohm
        resistance += self._second(self.wake.extra_ohm[:-1], times)
        return (
            self._slow(self.ocv_sum, times)
            - self.current(times) * resistance
            - self._slow(self.polarisation_sum, times)
        )

    def measure_cell_voltages(self, times: np.ndarray, cells: np.ndarray) -> np.ndarray:
        """Measured voltages (m, len(cells)): noise and voltage-tap glitches included."""
        soc = self._slow(self.wake.soc_percent, times, cells)
        r0 = self._slow(self.wake.cell_r0_ohm, times, cells)
        polarisation = self._slow(self.wake.cell_polarisation_v, times, cells)
        volts = battery.ocv(soc) - self.current(times)[:, None] * r0 - polarisation
        volts += 0.0008 * self.rng.standard_normal(volts.shape)
        for anomaly in self.bus.anomalies:
            if anomaly.kind == "sensor_glitch" and "cell" in anomaly.params:
                hit = np.flatnonzero(cells == anomaly.params["cell"])
                during = (times >= anomaly.start_s) & (times < anomaly.end_s)
                volts[np.ix_(during, hit)] = 0.0
        return volts

    def measure_temperatures(self, times: np.ndarray, sensors: np.ndarray) -> np.ndarray:
        """Measured temperatures (m, len(sensors)); NaN where a sensor reports nothing."""
        celsius = self._slow(self.wake.node_c, times, sensors)
        celsius += 0.05 * self.rng.standard_normal(celsius.shape)
        for anomaly in self.bus.anomalies:
            sensor = anomaly.params.get("sensor")
            if sensor is None or sensor not in sensors:
                continue
            during = (times >= anomaly.start_s) & (times < anomaly.end_s)
            if not during.any():
                continue
            column = int(np.flatnonzero(sensors == sensor)[0])
            if anomaly.kind == "stuck_sensor":
                celsius[during, column] = anomaly.params["stuck_at_c"]
            elif anomaly.kind == "sensor_glitch":
                reading = anomaly.params["reading"]
                celsius[during, column] = OPEN_CIRCUIT_C if reading == "open_circuit" else np.nan
        return celsius

    # -- messages ---------------------------------------------------------------------

    def pack_status(self, message: Message, times: np.ndarray) -> dict:
        amps = self.current(times) + 0.15 * self.rng.standard_normal(len(times))
        volts = self.pack_voltage(times) + 0.05 * self.rng.standard_normal(len(times))
        since_start = times - self.wake.time_s[0]
        until_end = self.wake.time_s[-1] - times
        contactor = np.full(len(times), CONTACTOR_CLOSED)
        contactor[since_start < 0.3] = CONTACTOR_PRECHARGE
        contactor[until_end < 0.2] = CONTACTOR_OPENING
        return _raw(
            message,
            {
                "PackVoltage": volts,
                "PackCurrent": amps,
                "PackPower": volts * amps / 1000,
                "ContactorState": contactor,
                "PackStatusCounter": np.arange(len(times)) % 15,
            },
        )

    def bms_state(self, message: Message, times: np.ndarray) -> dict:
        soc = self._slow(self.wake.soc_percent.mean(axis=1), times)
        hours = (times - self.wake.time_s[0]) / 3600
        reported = np.clip(soc + self.inputs.soc_drift_percent_h * hours, 0, 100)
        kinds = self._second(self.inputs.kinds, times)
        charger = self._second(self.wake.charger_state, times)
        mode = BMS_MODE[kinds]
        mode[(kinds == battery.CHARGE) & (charger == battery.CHARGER_FAULT)] = 1
        discharge = 600.0 * np.clip(soc / 10, 0.2, 1.0)
        insulation = 3800 + 40 * np.sin(times / 900) + 15 * self.rng.standard_normal(len(times))
        return _raw(
            message,
            {
                "StateOfCharge": reported,
                "StateOfHealth": np.full(len(times), self.inputs.bms_soh_percent),
                "BmsMode": mode,
                "MaxChargeCurrent": self._second(self.wake.charge_limit_a, times),
                "MaxDischargeCurrent": discharge,
                "InsulationResistance": insulation,
            },
        )

    def cell_stats(self, message: Message, times: np.ndarray) -> dict:
        low_v, high_v = np.empty(len(times)), np.empty(len(times))
        low_id, high_id = np.empty(len(times), np.int64), np.empty(len(times), np.int64)
        low_t, high_t = np.empty(len(times)), np.empty(len(times))
        hot_id = np.empty(len(times), np.int64)
        all_cells, all_sensors = np.arange(CELLS), np.arange(SENSORS)
        for chunk in _chunks(len(times), 20_000):
            volts = self.measure_cell_voltages(times[chunk], all_cells)
            low_id[chunk], high_id[chunk] = volts.argmin(axis=1), volts.argmax(axis=1)
            low_v[chunk], high_v[chunk] = volts.min(axis=1), volts.max(axis=1)
            celsius = self.measure_temperatures(times[chunk], all_sensors)
            reported = np.where(np.isnan(celsius), np.inf, celsius)
            low_t[chunk] = reported.min(axis=1)
            reported = np.where(np.isnan(celsius), -np.inf, celsius)
            high_t[chunk], hot_id[chunk] = reported.max(axis=1), reported.argmax(axis=1)
        return _raw(
            message,
            {
                "MinCellVoltage": low_v,
                "MaxCellVoltage": high_v,
                "MinCellVoltageId": low_id + 1,
                "MaxCellVoltageId": high_id + 1,
                "MinCellTemperature": low_t,
                "MaxCellTemperature": high_t,
                "MaxCellTemperatureId": hot_id + 1,
            },
        )

    def cell_voltages(self, message: Message, times: np.ndarray) -> dict:
        return self._multiplexed(
            message,
            times,
            VOLTAGE_GROUPS,
            "CellVoltageGroup",
            "CellVoltage{:03d}",
            self.measure_cell_voltages,
        )

    def cell_temperatures(self, message: Message, times: np.ndarray) -> dict:
        return self._multiplexed(
            message,
            times,
            TEMPERATURE_GROUPS,
            "TemperatureGroup",
            "CellTemperature{:02d}",
            self.measure_temperatures,
        )

    def _multiplexed(self, message, times, groups, selector, pattern, measure) -> dict:
        """Frame k carries group ``(k + first) % groups``, four values each."""
        first = int(self.rng.integers(0, groups))
        group = (np.arange(len(times)) + first) % groups
        raw = {selector: group.astype(np.int64)}
        for g in range(groups):
            rows = np.flatnonzero(group == g)
            indexes = np.arange(4 * g, 4 * g + 4)
            values = measure(times[rows], indexes)
            for column, index in enumerate(indexes):
                name = pattern.format(index + 1)
                column_raw = np.zeros(len(times), np.int64)
                column_raw[rows] = _raw_column(message.get_signal_by_name(name), values[:, column])
                raw[name] = column_raw
        return raw

    def vehicle_status(self, message: Message, times: np.ndarray) -> dict:
        kinds = self._second(self.inputs.kinds, times)
        driving = kinds == battery.DRIVE
        return _raw(
            message,
            {
                "VehicleSpeed": 3.6 * self._fast(self.inputs.speed_m_s, times),
                "MotorTorque": self._fast(self.inputs.torque_nm, times),
                "AcceleratorPedal": self._fast(self.inputs.pedal_percent, times),
                "BrakeSwitch": self._fast(self.inputs.brake, times).astype(np.int64),
                "GearPosition": np.where(driving, GEAR_DRIVE, GEAR_PARK),
            },
        )

    def odometer(self, message: Message, times: np.ndarray) -> dict:
        travelled_km = np.cumsum(self.inputs.speed_m_s) / FAST_HZ / 1000
        index = np.clip(
            ((times - self.wake.time_s[0]) * FAST_HZ).astype(np.int64), 0, len(travelled_km) - 1
        )
        km = travelled_km[index]
        return _raw(
            message,
            {
                "Odometer": self.inputs.odometer_km + km,
                "TripDistance": self.inputs.trip_km + km,
                "AmbientTemperature": self._second(self.inputs.ambient_c, times),
            },
        )

    def charge_request(self, message: Message, times: np.ndarray) -> dict:
        state = self._second(self.wake.charger_state, times)
        enabled = np.isin(state, (battery.CHARGER_CC, battery.CHARGER_CV))
        return _raw(
            message,
            {
                "ChargeVoltageRequest": np.full(len(times), CELLS * self.design.cv_cell_v),
                "ChargeCurrentRequest": self._second(self.wake.charge_request_a, times),
                "ChargeEnable": enabled.astype(np.int64),
            },
        )

    def charger_status(self, message: Message, times: np.ndarray) -> dict:
        state = self._second(self.wake.charger_state, times)
        delivering = np.isin(state, (battery.CHARGER_CC, battery.CHARGER_CV))
        amps = np.maximum(-self.current(times), 0) + 0.3 * self.rng.standard_normal(len(times))
        volts = self.pack_voltage(times) + 0.4 + 0.1 * self.rng.standard_normal(len(times))
        fault = np.zeros(len(times), np.int64)
        for stop_s, name in self.inputs.charge_faults.items():
            fault[(state == battery.CHARGER_FAULT) & (times >= stop_s)] = CHARGER_FAULTS[name]
        warm = self._charger_heat(times)
        return _raw(
            message,
            {
                "ChargerOutputVoltage": np.where(delivering | (state >= 5), volts, 0.0),
                "ChargerOutputCurrent": np.where(delivering, np.maximum(amps, 0), 0.0),
                "ChargerState": state,
                "ChargerFault": fault,
                "ChargerTemperature": self._second(self.inputs.ambient_c, times) + warm,
            },
        )

    def _charger_heat(self, times: np.ndarray) -> np.ndarray:
        """The charger warms with its output power, with a ten-minute lag."""
        per_second = np.abs(self.wake.current_a.reshape(-1, FAST_HZ).mean(axis=1)) / 10
        kernel = np.exp(-np.arange(1800) / 600.0)
        warm = np.convolve(per_second, kernel / kernel.sum())[: len(per_second)]
        return self._second(warm, times)


def _chunks(n: int, size: int):
    for start in range(0, n, size):
        yield slice(start, min(start + size, n))


def _raw_column(signal, values: np.ndarray) -> np.ndarray:
    """Raw integers of one signal; NaN (the sensor reports nothing) becomes all ones."""
    missing = np.isnan(values)
    raw = to_raw(signal, np.where(missing, signal.offset, values))
    if missing.any():
        raw[missing] = all_ones(signal)
    return raw


def _raw(message: Message, physical: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {
        name: _raw_column(message.get_signal_by_name(name), np.asarray(values, float))
        for name, values in physical.items()
    }
