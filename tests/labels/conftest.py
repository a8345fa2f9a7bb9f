"""Fixtures for the labels, workspace, cache and export tests: a real charging capture."""

from __future__ import annotations

from pathlib import Path

import pytest

I3_CAPTURE = "bmw-i3-ccs/CAN_Logs/AC-charging/1.ptcan_start-end-chrg_69perc.csv"
I3_DATABASE = "bmw-i3-ccs/i3_LIM_dbc1.dbc"


@pytest.fixture(scope="session")
def i3_charging(shared_data) -> tuple[Path, Path]:
    """A BMW i3 AC-charging capture (GVRET CSV) and the i3 LIM database it decodes with."""
    return shared_data / I3_CAPTURE, shared_data / I3_DATABASE


@pytest.fixture(scope="session")
def i3_session(i3_charging):
    """The capture decoded once through the real pipeline, without a cache."""
    from app.pipeline import load_session

    capture, database = i3_charging
    session = load_session(capture, [database])
    assert len(session.traces) > 10 and sum(len(t) for t in session.traces) > 1000
    return session
