"""Upload, read back, re-upload and summaries against the real server."""

from __future__ import annotations

import numpy as np
import pytest

from app.store import connect, list_sessions, migrate, read_traces, summary, upload_session
from app.store.copy import PG_EPOCH_UNIX_US
from tests.store.helpers import ORIGIN_EPOCH_S, make_upload, numpy_minute_buckets

pytestmark = pytest.mark.postgres


@pytest.fixture
def conn(admin_conninfo):
    with connect(admin_conninfo) as conn:
        migrate(conn, prefer_timescaledb=False)
        yield conn


def test_upload_reads_back_the_valid_samples_exactly(conn):
    upload = make_upload()
    result = upload_session(conn, upload)

    assert not result.already_present
    expected_total = sum(int(np.count_nonzero(t.valid)) for t in upload.traces)
    assert result.sample_count == expected_total
    back = {t.key: t for t in read_traces(conn, result.session_id)}
    assert set(back) == {t.key for t in upload.traces}
    for original in upload.traces:
        stored = back[original.key]
        np.testing.assert_array_equal(stored.values, original.values[original.valid])
        np.testing.assert_allclose(stored.time_s, original.time_s[original.valid], atol=1e-6)
        assert stored.unit == original.unit and stored.role == original.role


def test_uploading_the_same_capture_twice_says_it_is_there(conn):
    first = upload_session(conn, make_upload())
    second = upload_session(conn, make_upload())

    assert second.already_present and second.session_id == first.session_id
    assert len(list_sessions(conn)) == 1
    count = conn.execute("SELECT count(*) FROM evbm.samples").fetchone()[0]
    assert count == first.sample_count


def test_the_same_capture_of_another_vehicle_is_a_new_session(conn):
    first = upload_session(conn, make_upload(vehicle="car A"))
    upload = make_upload(vehicle="car B")
    upload.source_sha256 = make_upload(vehicle="car A").source_sha256
    second = upload_session(conn, upload)
    assert not second.already_present and second.session_id != first.session_id


def test_a_session_name_full_of_quotes_and_sql_is_stored_as_text(conn):
    name = 'x\'); DROP TABLE evbm.samples; -- "quoted" $$dollar$$ \\ back'
    result = upload_session(conn, make_upload(name=name, vehicle="Robert'); DROP--"))

    (stored,) = list_sessions(conn, vehicle="Robert'); DROP--")
    assert stored.name == name and stored.id == result.session_id
    assert conn.execute("SELECT to_regclass('evbm.samples')").fetchone()[0] is not None


def _numpy_summary(time_us, values, t0_us, bucket_us, width_px):
    keep = (time_us >= t0_us) & (time_us < t0_us + bucket_us * width_px)
    buckets = (time_us[keep] - t0_us) // bucket_us
    found = np.unique(buckets)
    minimum = np.array([values[keep][buckets == b].min() for b in found])
    maximum = np.array([values[keep][buckets == b].max() for b in found])
    return found, minimum, maximum


def test_raw_summary_equals_numpy(conn):
    upload = make_upload(samples=20_000)
    session_id = upload_session(conn, upload).session_id
    ids = dict(conn.execute("SELECT g.name, g.id FROM evbm.signals g").fetchall())
    start_s, end_s, width = 12.5, 130.0, 300

    result = summary(conn, session_id, list(ids.values()), start_s, end_s, width)

    origin_us = round(ORIGIN_EPOCH_S * 1e6) - PG_EPOCH_UNIX_US
    t0_us = origin_us + round(start_s * 1e6)
    bucket_us = -(-round((end_s - start_s) * 1e6) // width)
    for trace in upload.traces:
        got = result[ids[trace.signal]]
        assert got.source == "raw"
        time_us = np.round(trace.time_s[trace.valid] * 1e6).astype(np.int64) + origin_us
        buckets, minimum, maximum = _numpy_summary(
            time_us, trace.values[trace.valid], t0_us, bucket_us, width
        )
        np.testing.assert_allclose(got.time_s, start_s + buckets * bucket_us / 1e6)
        np.testing.assert_array_equal(got.minimum, minimum)
        np.testing.assert_array_equal(got.maximum, maximum)


def test_aggregate_summary_equals_numpy_over_minutes(conn):
    upload = make_upload(samples=20_000)
    for trace in upload.traces:
        trace.time_s = trace.time_s * 60  # ten hours, so that buckets span minutes
    session_id = upload_session(conn, upload).session_id
    ids = dict(conn.execute("SELECT g.name, g.id FROM evbm.signals g").fetchall())
    start_s, end_s, width = 1000.0, 30000.0, 200

    result = summary(conn, session_id, list(ids.values()), start_s, end_s, width)

    for trace in upload.traces:
        got = result[ids[trace.signal]]
        assert got.source == "aggregate"
        minimum, maximum, count = numpy_minute_buckets(trace, start_s, end_s, width)
        np.testing.assert_array_equal(got.minimum, minimum)
        np.testing.assert_array_equal(got.maximum, maximum)
        assert got.count.sum() == count


def test_plain_retention_drops_old_raw_samples_and_keeps_the_minutes(conn):
    from app.store.retention import apply_retention, set_retention

    old = upload_session(conn, make_upload(name="old")).session_id  # from 2023
    set_retention(conn, 30)
    minutes_before = conn.execute(
        "SELECT count(*) FROM evbm.samples_1m WHERE session_id = %s", (old,)
    ).fetchone()[0]

    assert apply_retention(conn) == [old]

    assert conn.execute("SELECT count(*) FROM evbm.samples").fetchone()[0] == 0
    assert minutes_before > 0
    assert (
        conn.execute(
            "SELECT count(*) FROM evbm.samples_1m WHERE session_id = %s", (old,)
        ).fetchone()[0]
        == minutes_before
    )
    assert apply_retention(conn) == []


def test_a_dense_range_is_summarised_from_the_minutes_even_below_a_minute_per_pixel(
    conn, monkeypatch
):
    from app.store import query

    session_id = upload_session(conn, make_upload(samples=20_000)).session_id
    ids = [row[0] for row in conn.execute("SELECT id FROM evbm.signals")]
    assert summary(conn, session_id, ids, 0.0, 600.0, 300).popitem()[1].source == "raw"

    monkeypatch.setattr(query, "RAW_ROWS_MAX", 10_000)  # the range holds ~32,000 samples
    assert summary(conn, session_id, ids, 0.0, 600.0, 300).popitem()[1].source == "aggregate"
    assert summary(conn, session_id, ids, 0.0, 60.0, 300).popitem()[1].source == "raw"


def test_a_real_decoded_capture_reads_back_equal(conn, shared_data):
    from app.pipeline import load_session
    from app.store import SessionUpload
    from app.workspace import file_sha256

    capture = shared_data / "foxbms-2/tests/fox-cmds/etl/can-log.trc"
    session = load_session(capture, [shared_data / "foxbms-2/tools/dbc/foxbms.dbc"])
    upload = SessionUpload(
        vehicle="foxBMS bench",
        name=capture.name,
        source_file=capture.name,
        source_sha256=file_sha256(capture),
        traces=session.traces,
        origin_epoch_s=session.capture.start_time_epoch or ORIGIN_EPOCH_S,
    )
    result = upload_session(conn, upload)

    back = {t.key: t for t in read_traces(conn, result.session_id)}
    assert len(back) == len(session.traces) > 10
    for original in session.traces:
        stored = back[original.key]
        keep = original.valid & np.isfinite(original.values)
        np.testing.assert_array_equal(stored.values, original.values[keep])
        np.testing.assert_allclose(stored.time_s, original.time_s[keep], atol=1e-6)
        assert (stored.unit, stored.role) == (original.unit or "", original.role)
