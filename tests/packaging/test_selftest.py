"""``ev-battery-monitor --self-test`` from the source tree; test_bundle.py runs it frozen."""

from __future__ import annotations

import io
import os

from widgets.selftest import run_self_test

STEPS = ("icon", "demo", "decode", "plot", "label")


def _run(**kwargs) -> tuple[int, str]:
    out = io.StringIO()
    status = run_self_test(out=out, **kwargs)
    return status, out.getvalue()


def test_passes_on_the_shipped_demo_in_one_line(qapp):
    status, output = _run()

    assert status == 0, output
    assert output.count("\n") == 1 and output.startswith("self-test passed")
    for step in STEPS:
        assert f"{step}: " in output


def test_leaves_the_users_workspace_alone(qapp):
    home = os.environ["EVBM_HOME"]  # the per-test home from tests/conftest.py

    _run()

    assert os.environ["EVBM_HOME"] == home
    assert not any(os.scandir(home)), "the self-test wrote into the user's folders"


def test_a_damaged_recording_fails_at_decode_and_the_plot_is_skipped(qapp, tmp_path):
    broken = tmp_path / "broken.blf"
    broken.write_bytes(b"LOGG" + bytes(range(256)) * 8)

    status, output = _run(demo=broken)

    assert status == 1
    assert output.startswith("self-test FAILED") and output.count("\n") == 1
    assert "decode: " in output and "plot: skipped, needs decode" in output
    assert "(passed: icon, demo, label)" in output


def test_a_capture_without_battery_traffic_fails_at_decode(qapp, shared_data):
    capture = shared_data / "python-can-testdata" / "test_CanMessage.blf"

    status, output = _run(demo=capture)

    assert status == 1
    assert "decode: " in output and "passed: icon, demo, label" in output


def test_a_missing_database_fails_at_demo(qapp, tmp_path):
    status, output = _run(database=tmp_path / "gone.dbc")

    assert status == 1
    assert "demo: FileNotFoundError" in output and "gone.dbc" in output
    assert "decode: skipped, needs demo" in output
