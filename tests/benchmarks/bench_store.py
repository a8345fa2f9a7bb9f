"""How fast the shared store takes a session in and shows a long one again.

Starts its own PostgreSQL 15 server in a temporary folder (as the store tests do: fsync off,
the same for ours and the baseline) and prints ``figure ours baseline ratio`` lines:

- ``upload_samples_per_s``: samples per second stored by ``upload_session`` (binary COPY
  built with numpy into an unindexed partition, index and per-minute summary included)
  against pandas ``DataFrame.to_sql`` of the same narrow rows (time, session_id, signal_id,
  value) into a plain table, ``method="multi"``, 10,000 rows a statement. ratio = ours /
  baseline (target ≥ 10; ours ≥ 1 M samples/s). pandas needs SQLAlchemy for PostgreSQL:
  ``pip install sqlalchemy`` (only this benchmark needs it); without it the baseline is
  psycopg's ``executemany`` of the same rows and the line says so.
- ``first_view_s``: a session of ``--samples`` samples (default 100 M: 100 traces at 10 Hz
  over 28 hours), the time from connecting to holding the min/max-per-pixel summary of the
  whole session for 8 traces at 1920 px (served by the per-minute summary); baseline: the
  same summary computed by the server from the raw samples. ratio = ours / baseline
  (target: ours ≤ 2 s).
- ``zoomed_view_s``: ten minutes of the same 8 traces at 1920 px, from the raw samples
  (no baseline: the ratio is against the 2 s target).

Run: ``python tests/benchmarks/bench_store.py`` (``--samples 20000000`` for a shorter run;
``--timescaledb`` for the TimescaleDB mode where the extension is installed).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
os.environ.setdefault("EVBM_HOME", tempfile.mkdtemp(prefix="evbm-bench-"))

from app.store import (  # noqa: E402
    SessionUpload,
    connect,
    get_session,
    info,
    migrate,
    session_traces,
    summary,
    upload_session,
)
from app.traces import Trace  # noqa: E402
from tests.store.pgserver import start_server  # noqa: E402

ORIGIN_EPOCH_S = 1_700_000_000.0


def line(name: str, ours: float, baseline: float, ratio: float) -> None:
    print(f"{name} {ours:.4g} {baseline:.4g} {ratio:.3f}", flush=True)


def traces(count: int, samples_each: int, rate_hz: float, seed: int = 0) -> list[Trace]:
    rng = np.random.default_rng(seed)
    time_s = np.arange(samples_each) / rate_hz
    valid = np.ones(samples_each, dtype=bool)
    out = []
    for index in range(count):
        values = 3.7 + np.cumsum(rng.normal(0, 1e-4, samples_each))
        out.append(Trace(f"Cell{index:03d}", "CellVoltages", 0, time_s, values, valid, unit="V"))
    return out


def session(name: str, count: int, samples_each: int, rate_hz: float) -> SessionUpload:
    return SessionUpload(
        vehicle="bench car",
        name=name,
        source_file=f"{name}.blf",
        source_sha256=hashlib.sha256(name.encode()).hexdigest(),
        traces=traces(count, samples_each, rate_hz),
        origin_epoch_s=ORIGIN_EPOCH_S,
    )


def bench_upload(conninfo: str, samples: int) -> None:
    upload = session("upload rate", 50, samples // 50, 100.0)
    with connect(conninfo) as conn:
        server_before = _cpu_s(conn.info.backend_pid)
        client_before = time.process_time()
        result = upload_session(conn, upload)
        server_s = _cpu_s(conn.info.backend_pid) - server_before
        client_s = time.process_time() - client_before
    ours = result.samples_per_s
    # on a busy machine the wall clock says little: what the two processes spent on the CPU
    print(
        f"# upload CPU: server backend {server_s:.2f} s, client {client_s:.2f} s, for "
        f"{result.sample_count / 1e6:.1f} M samples ({result.sample_count / server_s / 1e6:.2f} "
        f"M samples per server CPU second); load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )

    rows = 200_000
    trace = upload.traces[0]
    frame_time = np.datetime64("2023-11-14T22:13:20", "us") + (trace.time_s[:rows] * 1e6).astype(
        "timedelta64[us]"
    )
    try:
        baseline, how = _pandas_to_sql(conninfo, frame_time, trace.values[:rows]), "pandas"
    except ImportError:
        baseline, how = _executemany(conninfo, frame_time, trace.values[:rows]), "executemany"
    print(
        f"# upload: ours {result.sample_count} samples in {result.seconds:.2f} s; "
        f"baseline {how} on {rows} rows",
        flush=True,
    )
    line("upload_samples_per_s", ours, baseline, ours / baseline)


def _cpu_s(pid: int) -> float:
    """User and system CPU seconds of a process on this machine (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _pandas_to_sql(conninfo: str, frame_time, values) -> float:
    import pandas as pd
    import sqlalchemy
    from psycopg.conninfo import conninfo_to_dict

    params = conninfo_to_dict(conninfo)
    url = sqlalchemy.URL.create(
        "postgresql+psycopg",
        username=params["user"],
        password=params["password"],
        host=params["host"],
        port=int(params["port"]),
        database=params["dbname"],
    )
    frame = pd.DataFrame(
        {
            "time": pd.to_datetime(frame_time, utc=True),
            "session_id": 1,
            "signal_id": 1,
            "value": values,
        }
    )
    engine = sqlalchemy.create_engine(url)
    started = time.perf_counter()
    frame.to_sql(
        "samples_pandas", engine, if_exists="replace", index=False, method="multi", chunksize=10_000
    )
    seconds = time.perf_counter() - started
    engine.dispose()
    return len(frame) / seconds


def _executemany(conninfo: str, frame_time, values) -> float:
    import datetime as dt

    rows = [
        (dt.datetime.fromisoformat(str(t)).replace(tzinfo=dt.UTC), 1, 1, float(v))
        for t, v in zip(frame_time, values, strict=True)
    ]
    with connect(conninfo) as conn:
        conn.execute(
            "CREATE TABLE samples_many (time timestamptz, session_id int, "
            "signal_id int, value float8)"
        )
        started = time.perf_counter()
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO samples_many VALUES (%s, %s, %s, %s)", rows)
        conn.commit()
    return len(rows) / (time.perf_counter() - started)


def bench_first_view(conninfo: str, samples: int) -> None:
    count, rate_hz = 100, 10.0
    upload = session("first view", count, samples // count, rate_hz)
    with connect(conninfo) as conn:
        result = upload_session(conn, upload)
    del upload
    print(
        f"# first view: session of {result.sample_count} samples stored in "
        f"{result.seconds:.1f} s ({result.samples_per_s / 1e6:.2f} M samples/s)",
        flush=True,
    )

    def first_view(source: str | None, span_s: float | None = None) -> tuple[float, str]:
        started = time.perf_counter()
        with connect(conninfo) as conn:
            stored = get_session(conn, result.session_id)
            ids = [t.signal_id for t in session_traces(conn, result.session_id)][:8]
            start_s = (stored.time_start - stored.origin).total_seconds()
            end_s = (stored.time_end - stored.origin).total_seconds() + 1e-3
            if span_s is not None:
                start_s = (start_s + end_s) / 2
                end_s = start_s + span_s
            got = summary(conn, result.session_id, ids, start_s, end_s, 1920, source=source)
        return time.perf_counter() - started, next(iter(got.values())).source

    ours, how = first_view(None)
    baseline, _ = first_view("raw")
    print(f"# first view of 8 traces at 1920 px from the {how} summary", flush=True)
    line("first_view_s", ours, baseline, ours / baseline)
    zoomed, how = first_view(None, span_s=600.0)
    print(f"# zoomed view of 600 s from the {how} samples", flush=True)
    line("zoomed_view_s", zoomed, 2.0, zoomed / 2.0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--samples",
        type=int,
        default=100_000_000,
        help="samples in the first-view session (default 100 M)",
    )
    parser.add_argument("--upload-samples", type=int, default=5_000_000)
    parser.add_argument(
        "--timescaledb", action="store_true", help="use the TimescaleDB mode (if installed)"
    )
    args = parser.parse_args()

    server = start_server()
    try:
        conninfo = server.conninfo()
        with connect(conninfo) as conn:
            migrate(conn, prefer_timescaledb=args.timescaledb)
            print(f"# mode: {info(conn).mode}; load average {os.getloadavg()[0]:.1f}", flush=True)
        bench_upload(conninfo, args.upload_samples)
        bench_first_view(conninfo, args.samples)
    finally:
        server.stop()
        server.remove()
    return 0


if __name__ == "__main__":
    sys.exit(main())
