"""Labelled slices and whole-session traces: every writer round-trips through its reader."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from app.errors import ExportError
from app.export import read_slices, read_traces, write_slices, write_traces
from app.labels import Label
from tests.labels.test_trace_cache import assert_same_traces

SESSION = "f" * 64


@pytest.fixture
def labels(i3_session) -> list[Label]:
    return [
        Label.by_technician(SESSION, 1.0, 2.5, "charging_fault", note="contactor"),
        Label.by_technician(SESSION, 4.0, 4.2, "sensor_glitch"),
        Label.by_technician(SESSION, 100.0, 101.0, "other"),  # after the capture: no samples
    ]


def expected_slices(labels, traces, margin_s) -> pd.DataFrame:
    """The oracle: a plain pandas filter per label and trace."""
    frames = []
    for label in labels:
        for trace in traces:
            inside = (trace.time_s >= label.start_s - margin_s) & (
                trace.time_s <= label.end_s + margin_s
            )
            frames.append(
                pd.DataFrame(
                    {
                        "label_id": label.id,
                        "class": label.label_class,
                        "trace": trace.key,
                        "unit": trace.unit,
                        "time_s": trace.time_s[inside],
                        "offset_s": trace.time_s[inside] - label.start_s,
                        "value": trace.values[inside],
                        "valid": trace.valid[inside],
                    }
                )
            )
    return pd.concat(frames, ignore_index=True)


@pytest.mark.parametrize("suffix", ["parquet", "csv"])
@pytest.mark.parametrize("margin_s", [0.0, 0.5])
def test_slices_hold_each_labels_samples_plus_the_margin(
    tmp_path, i3_session, labels, suffix, margin_s
):
    path = tmp_path / f"slices.{suffix}"
    rows = write_slices(labels, i3_session.traces, path, margin_s=margin_s)
    got = read_slices(path)
    expected = expected_slices(labels, i3_session.traces, margin_s)
    assert rows == len(expected) > 0
    for column in ("label_id", "class", "trace", "unit"):
        got[column] = got[column].astype(str).replace("nan", "")
    pd.testing.assert_frame_equal(got, expected, check_dtype=False, check_categorical=False)
    assert labels[2].id not in set(got["label_id"])


@pytest.mark.parametrize("suffix", ["parquet", "csv", "mf4"])
def test_session_traces_round_trip(tmp_path, i3_session, suffix):
    traces = i3_session.traces
    path = tmp_path / f"traces.{suffix}"
    write_traces(traces, path)
    back = read_traces(path)
    assert_same_traces(back, traces, metadata=suffix == "parquet")


def test_mf4_is_readable_by_asammdf_with_units_and_invalid_samples(tmp_path, i3_session):
    asammdf = pytest.importorskip("asammdf")
    path = tmp_path / "traces.mf4"
    write_traces(i3_session.traces, path)
    with asammdf.MDF(path) as mdf:
        names = {name for name in mdf.channels_db if name != "time"}
    assert {t.signal for t in i3_session.traces} <= names
    partly_invalid = [t for t in i3_session.traces if 0 < t.invalid_count < len(t)]
    assert partly_invalid, "the i3 capture has traces with some invalid samples"
    back = {t.key: t for t in read_traces(path)}
    for trace in partly_invalid:
        np.testing.assert_array_equal(back[trace.key].valid, trace.valid)


def test_a_failed_export_leaves_the_previous_file(tmp_path, i3_session):
    path = tmp_path / "traces.parquet"
    write_traces(i3_session.traces[:2], path)
    before = path.read_bytes()
    with pytest.raises(ExportError, match="unknown export format"):
        write_traces(i3_session.traces, tmp_path / "traces.xlsx")
    blocked = tmp_path / "blocked.csv"
    blocked.mkdir()
    with pytest.raises(ExportError, match=rf"{blocked}: cannot write the export"):
        write_traces(i3_session.traces, blocked)
    with pytest.raises(ExportError, match="margin must not be negative"):
        write_slices([], i3_session.traces, tmp_path / "s.parquet", margin_s=-1)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blocked.csv", "traces.parquet"]


def test_an_export_replaces_the_previous_file_whole(tmp_path, i3_session):
    path = tmp_path / "traces.csv"
    write_traces(i3_session.traces, path)
    write_traces(i3_session.traces[:1], path)
    back = read_traces(path)
    assert len(back) == 1 and np.array_equal(back[0].values, i3_session.traces[0].values)
