"""The TimescaleDB mode: hypertable, compression, continuous aggregate, retention.

These run where the server the suite starts has the TimescaleDB extension installed (it is
preloaded then) and are skipped with the reason elsewhere; plain PostgreSQL is covered by
the other store tests.
"""

from __future__ import annotations

import numpy as np
import psycopg
import pytest

from app.store import (
    MODE_TIMESCALEDB,
    connect,
    info,
    migrate,
    read_traces,
    summary,
    upload_session,
)
from app.store.retention import set_retention
from tests.store.helpers import make_upload, numpy_minute_buckets

pytestmark = [pytest.mark.postgres, pytest.mark.timescaledb]


@pytest.fixture
def conn(admin_conninfo, timescaledb_available):
    if not timescaledb_available:
        pytest.skip(
            "TimescaleDB is not installed into this PostgreSQL 15 (no timescaledb.control "
            "and library), so the TimescaleDB mode cannot be tested here"
        )
    with connect(admin_conninfo) as conn:
        migrate(conn, prefer_timescaledb=True)
        yield conn


def _long_upload(**kwargs):
    upload = make_upload(samples=20_000, **kwargs)
    for trace in upload.traces:
        trace.time_s = trace.time_s * 60  # ten hours: several chunks, buckets of minutes
    return upload


def test_schema_is_a_compressed_hypertable_with_a_continuous_aggregate(conn):
    found = info(conn)
    assert found.mode == MODE_TIMESCALEDB and found.timescaledb_version
    assert found.lacks == []

    interval = conn.execute(
        "SELECT time_interval FROM timescaledb_information.dimensions "
        "WHERE hypertable_schema = 'evbm' AND hypertable_name = 'samples'"
    ).fetchone()[0]
    assert interval.days == 1
    segments = conn.execute(
        "SELECT attname FROM timescaledb_information.compression_settings "
        "WHERE hypertable_schema = 'evbm' AND hypertable_name = 'samples' "
        "AND segmentby_column_index IS NOT NULL ORDER BY segmentby_column_index"
    ).fetchall()
    assert [row[0] for row in segments] == ["session_id", "signal_id"]
    jobs = {
        row[0]
        for row in conn.execute(
            "SELECT proc_name FROM timescaledb_information.jobs WHERE hypertable_schema = 'evbm'"
        )
    }
    assert {"policy_compression", "policy_refresh_continuous_aggregate"} <= jobs


def test_upload_reads_back_and_the_aggregate_equals_numpy(conn):
    upload = _long_upload()
    session_id = upload_session(conn, upload).session_id
    back = {t.key: t for t in read_traces(conn, session_id)}
    for original in upload.traces:
        np.testing.assert_array_equal(back[original.key].values, original.values[original.valid])

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


def test_compressed_chunks_read_back_the_same(conn):
    upload = _long_upload()
    session_id = upload_session(conn, upload).session_id
    with psycopg.connect(conn.info.dsn, password=conn.info.password, autocommit=True) as admin:
        compressed = admin.execute(
            "SELECT count(compress_chunk(c)) FROM show_chunks('evbm.samples') c"
        ).fetchone()[0]
    assert compressed > 1
    back = {t.key: t for t in read_traces(conn, session_id)}
    for original in upload.traces:
        np.testing.assert_array_equal(back[original.key].values, original.values[original.valid])


def test_retention_drops_raw_chunks_and_keeps_the_minutes(conn):
    session_id = upload_session(conn, _long_upload()).session_id  # samples from 2023
    minutes = conn.execute(
        "SELECT count(*) FROM evbm.samples_1m WHERE session_id = %s", (session_id,)
    ).fetchone()[0]
    assert minutes > 0

    set_retention(conn, 30)
    jobs = dict(
        conn.execute(
            "SELECT proc_name, job_id FROM timescaledb_information.jobs "
            "WHERE hypertable_schema = 'evbm'"
        ).fetchall()
    )
    assert "policy_retention" in jobs
    conn.commit()
    with psycopg.connect(conn.info.dsn, password=conn.info.password, autocommit=True) as admin:
        admin.execute("CALL run_job(%s)", (jobs["policy_retention"],))
        admin.execute("CALL run_job(%s)", (jobs["policy_refresh_continuous_aggregate"],))

    assert conn.execute("SELECT count(*) FROM evbm.samples").fetchone()[0] == 0
    kept = conn.execute(
        "SELECT count(*) FROM evbm.samples_1m WHERE session_id = %s", (session_id,)
    ).fetchone()[0]
    assert kept == minutes


def test_a_technician_uploads_into_the_hypertable_and_the_aggregate_follows(
    conn, pg_server, database
):
    from psycopg import sql

    with psycopg.connect(pg_server.conninfo(), autocommit=True) as admin:
        admin.execute("DROP ROLE IF EXISTS tsdb_tech")
        admin.execute(sql.SQL("CREATE ROLE tsdb_tech LOGIN PASSWORD 'x' IN ROLE evbm_technician"))
    technician = pg_server.conninfo(dbname=database, user="tsdb_tech", password="x")
    upload = _long_upload()
    with connect(technician) as tech:
        session_id = upload_session(tech, upload).session_id
        ids = dict(tech.execute("SELECT g.name, g.id FROM evbm.signals g").fetchall())
        before = summary(tech, session_id, list(ids.values()), 0.0, 36000.0, 100)
        with psycopg.connect(pg_server.conninfo(dbname=database), autocommit=True) as admin:
            (job,) = admin.execute(
                "SELECT job_id FROM timescaledb_information.jobs "
                "WHERE proc_name = 'policy_refresh_continuous_aggregate'"
            ).fetchone()
            admin.execute("CALL run_job(%s)", (job,))
        after = summary(tech, session_id, list(ids.values()), 0.0, 36000.0, 100)

    # only the owner may refresh the aggregate: until its policy runs, the raw samples answer
    for trace in upload.traces:
        signal_id = ids[trace.signal]
        assert before[signal_id].source == "raw" and after[signal_id].source == "aggregate"
        assert before[signal_id].count.sum() == np.count_nonzero(trace.valid)
        assert after[signal_id].count.sum() == np.count_nonzero(trace.valid)


def test_copy_compresses_directly_and_a_cancel_leaves_nothing(conn):
    from app.errors import LoadCancelled
    from app.store import list_sessions

    direct = conn.execute(
        "SELECT current_setting('timescaledb.enable_direct_compress_copy', true)"
    ).fetchone()[0]
    calls = []
    with pytest.raises(LoadCancelled):
        upload_session(
            conn, _long_upload(), lambda d, t: calls.append(d) or len(calls) < 3, chunk_rows=5_000
        )
    assert list_sessions(conn) == []
    assert conn.execute("SELECT count(*) FROM evbm.samples").fetchone()[0] == 0
    conn.rollback()

    upload_session(conn, _long_upload())
    compressed = conn.execute(
        "SELECT count(*) FROM timescaledb_information.chunks "
        "WHERE hypertable_schema = 'evbm' AND is_compressed"
    ).fetchone()[0]
    if direct is not None:  # TimescaleDB 2.21+: the rows arrive compressed
        assert compressed > 0
