"""The simulated bus behaves like a battery: read back through the real decoder."""

from __future__ import annotations

import numpy as np

CHARGER_CC, CHARGER_CV, CHARGER_FAULT = 3, 4, 6


def _fit_resistance(current: np.ndarray, voltage: np.ndarray) -> float:
    """Ohms from a least-squares line through (current, voltage): V = V0 - R I."""
    slope, _ = np.polyfit(current, voltage, 1)
    return -slope


def test_charge_runs_constant_current_then_tapers_at_constant_voltage(quiet_drive_and_charge):
    run = quiet_drive_and_charge
    time_s, state = run.series("ChargerState")
    cc = time_s[state == CHARGER_CC]
    cv = time_s[state == CHARGER_CV]
    assert len(cc) > 50 and len(cv) > 50, "the charge should spend time in both phases"
    assert cc.max() < cv.min(), "constant current comes before constant voltage"

    amps = -run.during("PackCurrent", cc.min() + 10, cc.max())
    assert np.ptp(amps) < 0.1 * amps.mean() + 2, "constant current holds steady"

    tapering = -run.during("PackCurrent", cv.min(), cv.max())
    thirds = np.array_split(tapering, 3)
    assert thirds[0].mean() > thirds[1].mean() > thirds[2].mean()
    assert thirds[2].mean() < 0.8 * amps.mean()

    highest = run.during("MaxCellVoltage", cv.min() + 5, cv.max())
    limit = run.truth["pack"]["design"]["cv_cell_v"]
    assert abs(np.median(highest) - limit) < 0.01, "the highest cell is held at the CV limit"


def test_pack_voltage_sags_under_load_by_the_true_resistance(quiet_drive_and_charge):
    run = quiet_drive_and_charge
    drive = run.phase("drive")
    time_s, current = run.series("PackCurrent")
    _, voltage = run.series("PackVoltage")
    # Short windows, so that the state of charge hardly moves within each.
    ratios = []
    for start in range(drive["start_s"], drive["end_s"] - 20, 20):
        inside = (time_s >= start) & (time_s < start + 20)
        if np.ptp(current[inside]) > 80:
            ratios.append(_fit_resistance(current[inside], voltage[inside]))
    assert len(ratios) >= 3, "the drive should have load steps"
    true_ohm = run.truth["health"][0]["pack_resistance_ohm_25c"]
    # Colder packs have more resistance, and the RC branch adds some: same order, higher.
    assert 0.8 * true_ohm < np.median(ratios) < 3.0 * true_ohm


def test_driving_has_acceleration_spikes_and_regeneration(quiet_drive_and_charge):
    run = quiet_drive_and_charge
    drive = run.phase("drive")
    current = run.during("PackCurrent", drive["start_s"], drive["end_s"])
    speed = run.during("VehicleSpeed", drive["start_s"], drive["end_s"])
    assert current.max() > 200, "hard acceleration draws hundreds of amps"
    assert current.min() < -30, "braking regenerates"
    assert speed.max() > 30 and speed[0] < 1 and speed[-1] < 1


def test_state_of_charge_falls_while_driving_and_rises_while_charging(quiet_drive_and_charge):
    run = quiet_drive_and_charge
    drive, charge = run.phase("drive"), run.phase("charge")
    driving = run.during("StateOfCharge", drive["start_s"], drive["end_s"])
    charging = run.during("StateOfCharge", charge["start_s"], charge["end_s"])
    assert driving[-1] < driving[0] - 0.5
    assert charging[-1] > charging[0] + 0.5


def test_temperatures_rise_under_load(quiet_drive_and_charge):
    run = quiet_drive_and_charge
    time_s, hottest = run.series("MaxCellTemperature")
    assert hottest[time_s > time_s[-1] - 30].mean() > hottest[time_s < 30].mean() + 0.5


def test_cells_spread_and_sum_to_the_pack_voltage(quiet_drive_and_charge):
    run = quiet_drive_and_charge
    spread = run.series("MaxCellVoltage")[1] - run.series("MinCellVoltage")[1]
    assert 0.002 < np.median(spread) < 0.1

    # At rest the pack voltage is the sum of the cells (no current, no drop).
    idle = run.truth["schedule"][0]
    t0, t1 = idle["start_s"] + 1, idle["end_s"] - 1
    cells = sum(run.during(f"CellVoltage{i:03d}", t0, t1).mean() for i in range(1, 97))
    assert abs(run.during("PackVoltage", t0, t1).mean() - cells) < 1.0


def test_charger_stop_is_a_fault_with_no_current(every_anomaly):
    run = every_anomaly
    stop = next(a for a in run.truth["anomalies"] if a["kind"] == "charge_stop")
    state = run.during("ChargerState", stop["start_s"] + 0.2, stop["end_s"])
    assert len(state) > 10 and np.all(state == CHARGER_FAULT)
    assert np.all(run.during("ChargerState", 0, stop["start_s"] - 0.2) != CHARGER_FAULT)
    assert np.abs(run.during("PackCurrent", stop["start_s"] + 3, stop["end_s"])).max() < 5
    faults = run.during("ChargerFault", stop["start_s"] + 0.2, stop["end_s"])
    names = run.traces["ChargerFault"].choices
    assert {names[int(f)] for f in faults} == {stop["params"]["fault"]}


def test_over_temperature_shows_on_the_named_sensors_inside_its_range(every_anomaly):
    run = every_anomaly
    hot = next(a for a in run.truth["anomalies"] if a["kind"] == "over_temperature")
    for sensor in hot["where"]["sensors"]:
        signal = f"CellTemperature{sensor:02d}"
        assert run.during(signal, hot["start_s"], hot["end_s"]).max() > 55
        assert run.during(signal, 0, hot["start_s"]).max() < 45
    limit = hot["params"]["limit_c"]
    seen = np.concatenate(
        [
            time_s[values > limit]
            for time_s, values in (
                run.series(f"CellTemperature{s:02d}") for s in hot["where"]["sensors"]
            )
        ]
    )
    assert abs(seen.min() - hot["params"]["above_limit_from_s"]) < 2
    assert abs(seen.max() - hot["params"]["above_limit_until_s"]) < 2
    assert hot["params"]["above_limit_from_s"] > hot["start_s"]
    others = [f"CellTemperature{s:02d}" for s in range(1, 33) if s not in hot["where"]["sensors"]]
    coolest_far = min(run.during(s, hot["start_s"], hot["end_s"]).max() for s in others)
    assert coolest_far < 45


def test_stuck_sensor_holds_one_value_inside_its_range_only(every_anomaly):
    run = every_anomaly
    stuck = next(a for a in run.truth["anomalies"] if a["kind"] == "stuck_sensor")
    signal = f"CellTemperature{stuck['where']['sensors'][0]:02d}"
    inside = run.during(signal, stuck["start_s"] + 0.3, stuck["end_s"])
    assert len(inside) > 100 and np.ptp(inside) == 0
    assert abs(inside[0] - stuck["params"]["stuck_at_c"]) < 0.11
    before = run.during(signal, stuck["start_s"] - 30, stuck["start_s"])
    assert np.ptp(before) > 0


def test_sensor_glitch_appears_only_inside_its_range(every_anomaly):
    run = every_anomaly
    glitch = next(a for a in run.truth["anomalies"] if a["kind"] == "sensor_glitch")
    if "sensors" in glitch["where"]:
        trace = run.traces[f"CellTemperature{glitch['where']['sensors'][0]:02d}"]
        odd = ~trace.valid if glitch["params"]["reading"] == "not_available" else trace.values < -39
    else:
        trace = run.traces[f"CellVoltage{glitch['where']['cells'][0]:03d}"]
        odd = trace.values < 1.0
    time_s = trace.time_s[odd] - run.truth["start_epoch"]
    assert len(time_s) > 0
    assert time_s.min() >= glitch["start_s"] and time_s.max() < glitch["end_s"]


def test_voltage_sag_raises_the_apparent_resistance_inside_its_range(every_anomaly):
    run = every_anomaly
    sag = next(a for a in run.truth["anomalies"] if a["kind"] == "voltage_sag")
    drive = run.phase("drive")
    time_s, current = run.series("PackCurrent")
    _, voltage = run.series("PackVoltage")

    def resistance(start, end):
        inside = (time_s >= start) & (time_s < end)
        return _fit_resistance(current[inside], voltage[inside])

    during = resistance(sag["start_s"], sag["end_s"])
    before = resistance(drive["start_s"], sag["start_s"])
    assert during - before > 0.6 * sag["params"]["ohm"]


def test_drifting_cell_ends_lowest(every_anomaly):
    run = every_anomaly
    drift = next(a for a in run.truth["anomalies"] if a["kind"] == "cell_drift_low")
    cell = drift["where"]["cells"][0]
    end = drift["end_s"]
    lowest = run.during("MinCellVoltageId", end - 20, end)
    assert np.bincount(lowest.astype(int)).argmax() == cell
    start = drift["start_s"]
    before = run.during("MinCellVoltageId", start - 20, start)
    assert np.bincount(before.astype(int)).argmax() != cell
