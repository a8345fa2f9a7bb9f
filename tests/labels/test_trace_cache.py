"""The Parquet trace cache: exact round trips, keys that change, damaged files, pruning."""

from __future__ import annotations

import numpy as np
import pytest

from app.pipeline import load_session
from app.trace_cache import CacheKey, TraceCache, read_traces_parquet, write_traces_parquet
from app.traces import Trace
from app.workspace import file_sha256


def assert_same_traces(got: list[Trace], expected: list[Trace], metadata: bool = True) -> None:
    assert [t.key for t in got] == [t.key for t in expected]
    for mine, theirs in zip(got, expected, strict=True):
        np.testing.assert_array_equal(mine.time_s, theirs.time_s)
        np.testing.assert_array_equal(mine.values, theirs.values)
        np.testing.assert_array_equal(mine.valid, theirs.valid)
        assert mine.unit == theirs.unit
        if metadata:
            assert (mine.minimum, mine.maximum, mine.choices, mine.role, mine.comment) == (
                theirs.minimum, theirs.maximum, theirs.choices, theirs.role, theirs.comment,
            )  # fmt: skip


def test_parquet_round_trip_keeps_every_field(tmp_path, i3_session):
    traces = i3_session.traces
    assert any(t.choices for t in traces), "the i3 database has value tables: check them too"
    path = tmp_path / "traces.parquet"
    write_traces_parquet(traces, path)
    back = read_traces_parquet(path)
    assert_same_traces(back, traces)
    assert all(t.time_s.flags.writeable and t.values.flags.writeable for t in back)


def test_reopening_a_decoded_capture_reads_the_cache(i3_charging, i3_session):
    capture, database = i3_charging
    cache = TraceCache()
    first = load_session(capture, [database], cache=cache)
    assert not first.from_cache and cache.misses == 1
    assert cache.path_for(first.cache_key).is_file()

    again = load_session(capture, [database], cache=cache)
    assert again.from_cache and cache.hits == 1
    assert_same_traces(again.traces, i3_session.traces)
    assert [t.role for t in again.traces] == [t.role for t in i3_session.traces]
    # the signals of one message share one time array, after the cache as before it
    shared = len({id(t.time_s) for t in i3_session.traces})
    assert shared < len(i3_session.traces)
    assert len({id(t.time_s) for t in again.traces}) == shared
    # and the capture itself came from the cache: same frames, no parsing
    assert again.capture.frame_count == first.capture.frame_count
    assert again.capture.format == first.capture.format


def test_another_database_or_decoder_is_another_key(i3_session):
    key = CacheKey("a" * 64, ("b" * 64,), "0.1.0+decode1")
    cache = TraceCache()
    cache.put(key, i3_session.traces[:3])
    assert cache.get(CacheKey("a" * 64, ("c" * 64,), "0.1.0+decode1")) is None
    assert cache.get(CacheKey("a" * 64, ("b" * 64,), "0.1.0+decode2")) is None
    assert cache.get(CacheKey("a" * 64, ("b" * 64, "c" * 64), "0.1.0+decode1")) is None
    assert len(cache.get(key)) == 3


def test_a_damaged_cache_file_is_a_miss_and_goes(i3_session):
    cache = TraceCache()
    cache.put("capture", i3_session.traces)
    path = cache.path_for("capture")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    assert cache.get("capture") is None
    assert not path.exists()


def test_least_recently_used_files_go_first(i3_session):
    cache = TraceCache()
    for name in ("old", "middle", "new"):
        cache.put(name, i3_session.traces)
    size = cache.path_for("old").stat().st_size
    assert cache.get("old") is not None  # used again: now the newest
    cache.limit_bytes = int(size * 2.5)
    cache.prune()
    assert cache.path_for("old").exists() and cache.path_for("new").exists()
    assert not cache.path_for("middle").exists()


@pytest.mark.parametrize(
    "name",
    [
        "savvycan-examples/candump.log",  # whole-second timestamps, reported and repaired
        "python-can-testdata/test_CanFdMessage64.asc",  # CAN FD: 64-byte rows, a start time
        "python-can-testdata/logfile_errorframes.asc",  # error frames
    ],
)
def test_a_capture_round_trips_through_the_cache(shared_data, name):
    from dataclasses import fields

    from app.formats import read_capture

    original = read_capture(shared_data / name)
    cache = TraceCache()
    key = CacheKey(file_sha256(shared_data / name), (), "reader-1")
    assert cache.get_capture(key, shared_data / name) is None
    cache.put_capture(key, original)
    back = cache.get_capture(key, shared_data / name)

    for column in fields(original.frames):
        mine, theirs = getattr(back.frames, column.name), getattr(original.frames, column.name)
        assert mine.dtype == theirs.dtype and mine.flags.writeable, column.name
        np.testing.assert_array_equal(mine, theirs, err_msg=column.name)
    assert (back.path, back.format, back.format_title) == (
        original.path, original.format, original.format_title,
    )  # fmt: skip
    assert back.issues == original.issues
    assert back.start_time_epoch == original.start_time_epoch
    assert back.timestamp_report == original.timestamp_report
    assert cache.get_capture(CacheKey(key.capture_sha256, (), "reader-2"), name) is None
