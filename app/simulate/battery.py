"""The battery pack the simulator drives: 96 cells in series, 32 temperature sensors.

Each cell has an open-circuit voltage that follows its state of charge (an NMC curve), a
series resistance R0 that makes the voltage sag under load and rise while charging, and one
RC branch (R1, 40 s) for the slower polarisation. Resistance rises in the cold (Arrhenius)
and with age; capacity fades with age. Cells differ a little in capacity, resistance and
starting charge, which gives the cell spread a BMS reports.

Heat: every sensor sits on a node of three cells with its own heat capacity; current heats
it through the cells' resistance, coolant takes heat away above 30 °C while the vehicle is
awake, and neighbouring nodes exchange heat.

:func:`run_wake` integrates one awake span second by second (a few thousand steps an hour,
96 cells at a time with numpy) and returns the states on that one-second grid plus the
current at 10 Hz; :mod:`app.simulate.bus` samples them at the frames' times.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

CELLS = 96
SENSORS = 32
CELLS_PER_SENSOR = CELLS // SENSORS
FAST_HZ = 10  # the current is resolved at 10 Hz, the slow states at 1 Hz

# Open-circuit voltage of one NMC cell against state of charge (%).
OCV_SOC_PERCENT = np.array([0, 2, 5, 10, 15, 20, 30, 40, 50, 60, 70, 80, 90, 95, 100], float)
OCV_CELL_V = np.array(
    [3.00, 3.25, 3.40, 3.50, 3.56, 3.60, 3.65, 3.70, 3.76, 3.84, 3.93, 4.02, 4.10, 4.14, 4.19]
)

# Charger and BMS states on the one-second grid (the values of ChargerState in the DBC).
CHARGER_OFF = 0
CHARGER_CONNECTED = 1
CHARGER_PRECHARGE = 2
CHARGER_CC = 3
CHARGER_CV = 4
CHARGER_COMPLETE = 5
CHARGER_FAULT = 6

IDLE, DRIVE, CHARGE = 0, 1, 2


def ocv(soc_percent: np.ndarray | float) -> np.ndarray:
    """Open-circuit voltage of a cell (V) at a state of charge (%)."""
    return np.interp(soc_percent, OCV_SOC_PERCENT, OCV_CELL_V)


@dataclass(frozen=True)
class PackDesign:
    """Fixed properties of the pack (a mid-size 96s EV battery, about 52 kWh)."""

    rated_capacity_ah: float = 150.0
    cell_r0_ohm: float = 0.00060  # at 25 °C, new
    cell_r1_ohm: float = 0.00040
    rc_tau_s: float = 40.0
    busbar_ohm: float = 0.004  # connections between the cells and the pack terminals
    arrhenius_k: float = 3000.0  # R(T) = R25 * exp(k * (1/T - 1/298.15))
    cv_cell_v: float = 4.15  # constant-voltage limit of a charge
    termination_c_rate: float = 0.05  # a charge ends when the current falls below this
    max_charge_a: float = 200.0
    max_discharge_a: float = 450.0  # the inverter's limit
    max_regen_a: float = 200.0
    node_heat_capacity_j_k: float = 8500.0  # three cells of about 2.8 kg
    passive_w_k: float = 0.8  # to ambient
    coolant_w_k: float = 6.0
    coolant_on_c: float = 30.0
    coolant_c: float = 22.0
    neighbour_w_k: float = 2.0


@dataclass
class Cells:
    """The cells' spread and ageing, drawn once per recording."""

    capacity_ah: np.ndarray  # at the start of the recording
    r0_ohm: np.ndarray  # at 25 °C, at the start
    r1_ohm: np.ndarray
    fade_per_day: float  # fraction of capacity lost per day
    growth_per_day: float  # fraction of resistance gained per day

    @classmethod
    def draw(
        cls,
        design: PackDesign,
        soh: float,
        fade_per_day: float,
        growth_per_day: float,
        rng: np.random.Generator,
    ) -> Cells:
        capacity = design.rated_capacity_ah * soh * (1 + 0.01 * rng.standard_normal(CELLS))
        r0 = design.cell_r0_ohm / soh**2 * (1 + 0.05 * rng.standard_normal(CELLS))
        r1 = design.cell_r1_ohm / soh**2 * (1 + 0.05 * rng.standard_normal(CELLS))
        return cls(capacity, r0, r1, fade_per_day, growth_per_day)

    def capacity_at(self, time_s: float) -> np.ndarray:
        return self.capacity_ah * (1 - self.fade_per_day * time_s / 86400)

    def ageing_resistance_factor(self, time_s: float) -> float:
        return 1 + self.growth_per_day * time_s / 86400


@dataclass
class PackState:
    """What carries over from one second to the next, and from one wake to the next."""

    soc_percent: np.ndarray  # per cell
    node_c: np.ndarray  # per temperature node
    polarisation_v: float = 0.0  # the RC branch's voltage summed over the pack


@dataclass
class Faults:
    """Injected faults as the physics sees them, on the recording's time axis (seconds)."""

    extra_heat: list[tuple[float, float, list[int], float]] = field(default_factory=list)
    cell_leak: list[tuple[float, float, int, float]] = field(default_factory=list)  # %/s
    series_ohm: list[tuple[float, float, float]] = field(default_factory=list)
    charge_stop_s: list[float] = field(default_factory=list)

    def heat_w(self, time_s: float) -> tuple[np.ndarray, np.ndarray]:
        """Extra heat per node and which nodes lost their cooling, at ``time_s``."""
        heat = np.zeros(SENSORS)
        uncooled = np.zeros(SENSORS, bool)
        for start, end, nodes, watts in self.extra_heat:
            if start <= time_s < end:
                heat[nodes] += watts
                uncooled[nodes] = True
        return heat, uncooled

    def leak_percent_s(self, time_s: float) -> np.ndarray | None:
        leak = None
        for start, end, cell, rate in self.cell_leak:
            if start <= time_s < end:
                leak = np.zeros(CELLS) if leak is None else leak
                leak[cell] += rate
        return leak

    def extra_ohm(self, time_s: float) -> float:
        return sum(ohm for start, end, ohm in self.series_ohm if start <= time_s < end)


@dataclass
class ChargePlan:
    """One charging phase: when, how hard the charger can push, where it stops."""

    start_s: float
    end_s: float
    charger_max_a: float
    target_soc_percent: float


@dataclass
class WakeResult:
    """States of one awake span. ``time_s`` is the one-second grid (n + 1 points, from the
    wake's start); ``current_a`` is at 10 Hz (10 n samples, positive while discharging)."""

    time_s: np.ndarray
    soc_percent: np.ndarray  # (n + 1, CELLS)
    node_c: np.ndarray  # (n + 1, SENSORS)
    cell_polarisation_v: np.ndarray  # (n + 1, CELLS), the RC branch of each cell
    cell_r0_ohm: np.ndarray  # (n + 1, CELLS), at each node's temperature and age
    extra_ohm: np.ndarray  # (n + 1,) injected series resistance
    current_a: np.ndarray  # (10 n,)
    charger_state: np.ndarray  # (n,) int, CHARGER_* per second
    charge_request_a: np.ndarray  # (n,) what the BMS asks the charger for
    charge_limit_a: np.ndarray  # (n,) the BMS's charge current limit
    events: list[dict] = field(default_factory=list)  # CC->CV switches, charge ends

    @property
    def start_s(self) -> float:
        return float(self.time_s[0])


def charge_limit_a(design: PackDesign, hottest_c: float, coldest_c: float, soc: float) -> float:
    """The BMS's charge current limit: derated in the cold, when hot and near full."""
    limit = design.max_charge_a
    if coldest_c < 15:
        limit *= max(0.1, (coldest_c + 5) / 20)
    if hottest_c > 45:
        limit *= max(0.0, (55 - hottest_c) / 10)
    if soc > 80:
        limit *= max(0.2, 1 - (soc - 80) / 25)
    return limit


def run_wake(
    design: PackDesign,
    cells: Cells,
    state: PackState,
    start_s: float,
    kinds: np.ndarray,
    demand_w: np.ndarray,
    ambient_c: np.ndarray,
    charges: list[ChargePlan],
    faults: Faults,
) -> WakeResult:
    """Integrate one awake span of ``len(kinds)`` seconds from ``state`` (updated in place).

    ``kinds`` gives IDLE, DRIVE or CHARGE per second; ``demand_w`` is the power drawn from
    the pack at 10 Hz outside charging (negative while regenerating); ``ambient_c`` is per
    second.
    """
    n = len(kinds)
    node_of_cell = np.arange(CELLS) // CELLS_PER_SENSOR
    rc_decay = np.exp(-1.0 / design.rc_tau_s)
    out = _allocate(n, start_s)
    charger = _Charger(design, charges, faults)

    for k in range(n + 1):
        now = start_s + k
        temperature_factor = np.exp(design.arrhenius_k * (1 / (state.node_c + 273.15) - 1 / 298.15))
        age = cells.ageing_resistance_factor(now)
        r0 = cells.r0_ohm * age * temperature_factor[node_of_cell]
        r1 = cells.r1_ohm * age * temperature_factor[node_of_cell]
        r1_total = float(r1.sum())
        cell_polarisation = state.polarisation_v * r1 / r1_total
        out.soc_percent[k] = state.soc_percent
        out.node_c[k] = state.node_c
        out.cell_polarisation_v[k] = cell_polarisation
        out.cell_r0_ohm[k] = r0
        out.extra_ohm[k] = faults.extra_ohm(now)
        if k == n:
            break

        # Current: from the power demand, or from the charger's control loop.
        open_circuit = ocv(state.soc_percent)
        out.charge_limit_a[k] = charge_limit_a(
            design, state.node_c.max(), state.node_c.min(), float(state.soc_percent.mean())
        )
        if kinds[k] == CHARGE:
            current = charger.step(now, state, open_circuit, r0, cell_polarisation, out, k)
            fast = np.full(FAST_HZ, current)
        else:
            fast = _current_for_power(
                demand_w[k * FAST_HZ : (k + 1) * FAST_HZ],
                float(open_circuit.sum()) - state.polarisation_v,
                float(r0.sum()) + design.busbar_ohm + out.extra_ohm[k],
            )
            # The BMS cuts the discharge limit as the emptiest cell nears 0 % (limp mode).
            empty = float(np.clip(state.soc_percent.min() / 5.0, 0.0, 1.0))
            fast = np.clip(fast, -design.max_regen_a, design.max_discharge_a * empty)
        out.current_a[k * FAST_HZ : (k + 1) * FAST_HZ] = fast
        mean_a = float(fast.mean())

        # Charge: every cell moves by the same ampere-hours, relative to its own capacity.
        state.soc_percent = state.soc_percent - 100 * mean_a / 3600 / cells.capacity_at(now)
        leak = faults.leak_percent_s(now)
        if leak is not None:
            state.soc_percent = state.soc_percent - leak
        state.polarisation_v = rc_decay * state.polarisation_v + (1 - rc_decay) * r1_total * mean_a

        # Heat: Joule heating of each node's cells, coolant, ambient and the neighbours.
        state.node_c = _heat_step(
            design, state.node_c, float(np.mean(fast**2)), r0 + r1, ambient_c[k], now, faults
        )

    charger.finish(out)
    return out


def rest(
    design: PackDesign,
    state: PackState,
    duration_s: float,
    ambient_c: float,
    faults: Faults,
    start_s: float,
) -> None:
    """Advance the pack through a span asleep: no current, temperatures settle, the RC
    branch relaxes, and an injected leak keeps draining its cell."""
    settle = np.exp(-duration_s * design.passive_w_k / design.node_heat_capacity_j_k)
    state.node_c = ambient_c + (state.node_c - ambient_c) * settle
    state.polarisation_v = 0.0
    for start, end, cell, rate in faults.cell_leak:
        overlap = min(end, start_s + duration_s) - max(start, start_s)
        if overlap > 0:
            state.soc_percent[cell] -= rate * overlap


def _allocate(n: int, start_s: float) -> WakeResult:
    return WakeResult(
        time_s=start_s + np.arange(n + 1, dtype=float),
        soc_percent=np.zeros((n + 1, CELLS)),
        node_c=np.zeros((n + 1, SENSORS)),
        cell_polarisation_v=np.zeros((n + 1, CELLS)),
        cell_r0_ohm=np.zeros((n + 1, CELLS)),
        extra_ohm=np.zeros(n + 1),
        current_a=np.zeros(n * FAST_HZ),
        charger_state=np.zeros(n, np.int64),
        charge_request_a=np.zeros(n),
        charge_limit_a=np.zeros(n),
    )


def _current_for_power(power_w: np.ndarray, source_v: float, resistance_ohm: float) -> np.ndarray:
    """Current that delivers ``power_w`` from a source behind a resistance: the smaller root
    of ``R I² - V I + P = 0`` (more power than the pack can give is capped at its peak)."""
    discriminant = np.maximum(source_v**2 - 4 * resistance_ohm * power_w, 0.0)
    return (source_v - np.sqrt(discriminant)) / (2 * resistance_ohm)


def _heat_step(
    design: PackDesign,
    node_c: np.ndarray,
    current_sq: float,
    cell_ohm: np.ndarray,
    ambient_c: float,
    now: float,
    faults: Faults,
) -> np.ndarray:
    joule = current_sq * cell_ohm.reshape(SENSORS, CELLS_PER_SENSOR).sum(axis=1)
    extra, uncooled = faults.heat_w(now)
    cooling = np.where(
        (node_c > design.coolant_on_c) & ~uncooled,
        design.coolant_w_k * (node_c - design.coolant_c),
        0.0,
    )
    neighbours = np.zeros(SENSORS)
    neighbours[1:] += node_c[:-1] - node_c[1:]
    neighbours[:-1] += node_c[1:] - node_c[:-1]
    flow = (
        joule
        + extra
        - cooling
        - design.passive_w_k * (node_c - ambient_c)
        + design.neighbour_w_k * neighbours
    )
    return node_c + flow / design.node_heat_capacity_j_k


class _Charger:
    """A DC charger and the BMS's request: connect, precharge, constant current until the
    highest cell reaches the CV limit, then hold that voltage while the current tapers, and
    stop below the termination current or at the target SoC (or when a fault stops it)."""

    CONNECT_S = 3
    PRECHARGE_S = 2
    RAMP_A_PER_S = 40.0
    WIND_DOWN_S = 4

    def __init__(self, design: PackDesign, charges: list[ChargePlan], faults: Faults):
        self.design = design
        self.charges = charges
        self.faults = faults
        self.plan: ChargePlan | None = None
        self.phase = CHARGER_OFF
        self.amps = 0.0
        self.events: list[dict] = []

    def step(
        self,
        now: float,
        state: PackState,
        open_circuit: np.ndarray,
        r0: np.ndarray,
        polarisation: np.ndarray,
        out: WakeResult,
        k: int,
    ) -> float:
        plan = self._plan_at(now)
        since = now - plan.start_s
        soc = float(state.soc_percent.mean())
        limit = out.charge_limit_a[k]
        stopped = any(plan.start_s <= t <= now for t in self.faults.charge_stop_s)

        if stopped:
            self._enter(CHARGER_FAULT, now)
            self.amps = max(0.0, self.amps - 4 * self.RAMP_A_PER_S)
        elif since < self.CONNECT_S:
            self._enter(CHARGER_CONNECTED, now)
        elif since < self.CONNECT_S + self.PRECHARGE_S:
            self._enter(CHARGER_PRECHARGE, now)
        elif self._charging() and plan.end_s - now <= self.WIND_DOWN_S:
            # The session ends (the driver stops it): the charger ramps down, then stops.
            self.amps = max(0.0, self.amps - self.amps / max(plan.end_s - now - 1, 1))
            if self.amps == 0.0:
                self._enter(CHARGER_COMPLETE, now)
        elif self.phase in (CHARGER_PRECHARGE, CHARGER_CC, CHARGER_CV):
            self._regulate(now, plan, limit, soc, open_circuit, r0, polarisation)
        else:
            self.amps = 0.0

        out.charger_state[k] = self.phase
        out.charge_request_a[k] = min(limit, plan.charger_max_a) if self._charging() else 0.0
        return -self.amps

    def finish(self, out: WakeResult) -> None:
        out.events.extend(self.events)

    def _charging(self) -> bool:
        return self.phase in (CHARGER_CC, CHARGER_CV)

    def _plan_at(self, now: float) -> ChargePlan:
        for plan in self.charges:
            if plan.start_s <= now < plan.end_s:
                if plan is not self.plan:
                    self.plan, self.phase, self.amps = plan, CHARGER_OFF, 0.0
                return plan
        raise ValueError(f"no charge planned at {now} s")

    def _regulate(self, now, plan, limit, soc, open_circuit, r0, polarisation) -> None:
        self._enter(CHARGER_CC if self.phase != CHARGER_CV else CHARGER_CV, now)
        wanted = min(limit, plan.charger_max_a, self.amps + self.RAMP_A_PER_S)
        # Highest cell voltage at a charging current I: OCV + I R0 - polarisation.
        headroom = (self.design.cv_cell_v - open_circuit + polarisation) / r0
        if self.phase == CHARGER_CC and wanted >= headroom.min():
            self._enter(CHARGER_CV, now)
        if self.phase == CHARGER_CV:
            wanted = max(0.0, min(wanted, float(headroom.min())))
        self.amps = wanted

        termination = self.design.termination_c_rate * self.design.rated_capacity_ah
        tapered_out = self.phase == CHARGER_CV and self.amps < termination
        if tapered_out or soc >= plan.target_soc_percent:
            self._enter(CHARGER_COMPLETE, now)
            self.amps = 0.0

    def _enter(self, phase: int, now: float) -> None:
        if phase != self.phase:
            self.events.append({"time_s": now, "charger_state": phase})
            self.phase = phase
