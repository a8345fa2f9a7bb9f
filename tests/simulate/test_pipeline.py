"""load_session: read, decode and give roles, with progress, cancel and a trace cache."""

from __future__ import annotations

import numpy as np
import pytest

from app.errors import CaptureError, DatabaseError, LoadCancelled
from app.pipeline import PROGRESS_TOTAL, load_session
from app.simulate import SimulationConfig, write_recording
from app.trace_cache import TraceCache
from tests.simulate.conftest import SHIPPED_DBC


@pytest.fixture(scope="module")
def simulated_blf(tmp_path_factory):
    path = tmp_path_factory.mktemp("pipeline") / "drive.blf"
    write_recording(SimulationConfig(duration_s=90, seed=5, scenario="drive"), path)
    return path


def test_session_of_a_simulated_recording_has_battery_roles(simulated_blf):
    seen = []
    session = load_session(simulated_blf, [SHIPPED_DBC], progress=lambda d, t: seen.append((d, t)))

    assert session.capture.format == "blf"
    assert len(session.capture.frames) > 40_000
    roles = {trace.role for trace in session.traces}
    assert {"pack_voltage", "pack_current", "soc", "bms_soh", "vehicle_speed"} <= roles
    assert {f"cell_voltage:{i}" for i in range(1, 97)} <= roles
    assert {f"cell_temperature:{i}" for i in range(1, 33)} <= roles
    assert session.trace_for_role("cell_voltage:37").signal == "CellVoltage037"
    assert not any("guessed" in warning for warning in session.warnings)

    done = [d for d, _ in seen]
    assert done == sorted(done) and done[-1] == PROGRESS_TOTAL
    assert {t for _, t in seen} == {PROGRESS_TOTAL}
    assert len(set(done)) > 5, "both stages report progress"


def test_cancel_during_decode_stops_the_load(simulated_blf):
    def cancel_after_reading(done, total):
        return done < total // 2

    with pytest.raises(LoadCancelled):
        load_session(simulated_blf, [SHIPPED_DBC], progress=cancel_after_reading)


def test_second_load_comes_from_the_trace_cache(simulated_blf, tmp_path):
    cache = TraceCache(tmp_path / "cache")
    first = load_session(simulated_blf, [SHIPPED_DBC], cache=cache)
    second = load_session(simulated_blf, [SHIPPED_DBC], cache=cache)

    assert not first.from_cache and first.decoded is not None
    assert second.from_cache and second.decoded is None
    assert cache.hits == 1 and cache.misses == 1
    assert first.cache_key == second.cache_key
    by_key = {trace.key: trace for trace in second.traces}
    for trace in first.traces:
        again = by_key[trace.key]
        assert np.array_equal(trace.values, again.values)
        assert again.role == trace.role


def test_a_changed_database_misses_the_cache(simulated_blf, tmp_path):
    cache = TraceCache(tmp_path / "cache")
    load_session(simulated_blf, [SHIPPED_DBC], cache=cache)
    edited = tmp_path / "ev_battery.dbc"
    edited.write_text(SHIPPED_DBC.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    session = load_session(simulated_blf, [edited], cache=cache)
    assert not session.from_cache
    assert session.trace_for_role("pack_voltage") is not None, "mapped by file name"


def test_real_foxbms_capture_decodes_with_the_foxbms_database(shared_data):
    capture = shared_data / "foxbms-2" / "tests" / "fox-cmds" / "etl" / "can-log.trc"
    database = shared_data / "foxbms-2" / "tools" / "dbc" / "foxbms.dbc"
    session = load_session(capture, [database])
    assert session.capture.format == "trc"
    assert session.traces and session.decoded.report.decoded_frames > 0
    assert any(trace.role for trace in session.traces)


def test_bad_inputs_name_the_file(tmp_path):
    missing = tmp_path / "missing.blf"
    with pytest.raises(CaptureError, match="missing.blf"):
        load_session(missing, [SHIPPED_DBC])
    with pytest.raises(CaptureError, match="missing.blf"):
        load_session(missing, [SHIPPED_DBC], cache=TraceCache(tmp_path / "cache"))
    garbage = tmp_path / "garbage.dbc"
    garbage.write_bytes(b"\x00\x01 not a database")
    capture = tmp_path / "c.log"
    capture.write_text("(1.0) can0 123#00\n", encoding="utf-8")
    with pytest.raises(DatabaseError, match="garbage.dbc"):
        load_session(capture, [garbage])
