"""Same seed, same bytes; the demo recording is what its documented command makes."""

from __future__ import annotations

import json

import numpy as np
import pytest

from app import cli
from app.paths import shipped_dir
from app.simulate import SimulationConfig, simulate, truth_path, write_recording

DEMO = shipped_dir("resources") / "demo" / "demo.blf"


def test_same_seed_same_frames_and_truth():
    config = SimulationConfig(duration_s=120, seed=7)
    first, second = simulate(config), simulate(SimulationConfig(duration_s=120, seed=7))
    for column in ("timestamp", "arbitration_id", "is_extended_id", "dlc", "data"):
        assert np.array_equal(getattr(first.frames, column), getattr(second.frames, column))
    assert json.dumps(first.truth) == json.dumps(second.truth)


def test_another_seed_gives_another_recording():
    first = simulate(SimulationConfig(duration_s=60, seed=7))
    second = simulate(SimulationConfig(duration_s=60, seed=8))
    assert len(first.frames) != len(second.frames) or not np.array_equal(
        first.frames.data, second.frames.data
    )


@pytest.mark.parametrize("suffix", [".blf", ".asc", ".log"])
def test_same_seed_same_bytes_on_disk(tmp_path, suffix):
    config = SimulationConfig(duration_s=60, seed=3, scenario="drive")
    paths = [tmp_path / f"a{suffix}", tmp_path / "again" / f"a{suffix}"]
    paths[1].parent.mkdir()
    for path in paths:
        write_recording(config, path)
    assert paths[0].read_bytes() == paths[1].read_bytes()
    assert truth_path(paths[0]).read_bytes() == truth_path(paths[1]).read_bytes()


def test_demo_recording_regenerates_byte_for_byte(tmp_path):
    """The command in app/cli/simulate.py's docstring and the README remakes the demo."""
    out = tmp_path / "demo.blf"
    status = cli.run(["simulate", str(out), "--scenario", "demo", "--seed", "2026"])
    assert status == 0
    assert out.read_bytes() == DEMO.read_bytes(), "regenerate resources/demo with the command"
    # The truth names the program's version; a new version alone needs no new demo.
    made, shipped = (_truth_without_version(truth_path(p)) for p in (out, DEMO))
    assert made == shipped


def _truth_without_version(path) -> dict:
    truth = json.loads(path.read_text(encoding="utf-8"))
    truth.pop("generator")
    return truth


def test_demo_is_small_and_has_a_drive_a_charge_and_anomalies():
    truth = json.loads(truth_path(DEMO).read_text(encoding="utf-8"))
    assert DEMO.stat().st_size < 3_000_000
    assert {"drive", "charge"} <= {phase["kind"] for phase in truth["schedule"]}
    assert len(truth["anomalies"]) >= 2
    states = {event["charger_state_name"] for event in truth["charger_events"]}
    assert {"ConstantCurrent", "ConstantVoltage"} <= states
