"""The trace cache: exact round trips of read-only memory-mapped arrays, keys that change,
remembered capture hashes, damaged and half-written entries, the size limit; and the
Parquet export format that shares the module."""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import fields

import numpy as np
import pytest

from app.pipeline import load_session
from app.trace_cache import (
    CacheKey,
    TraceCache,
    configured_limit_bytes,
    read_traces_parquet,
    write_traces_entry,
    write_traces_parquet,
)
from app.traces import Trace
from app.workspace import file_sha256

DAY_NS = 86_400 * 10**9


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


def assert_every_field_equal(got: list[Trace], expected: list[Trace]) -> None:
    assert len(got) == len(expected)
    for mine, theirs in zip(got, expected, strict=True):
        for field in fields(Trace):
            a, b = getattr(mine, field.name), getattr(theirs, field.name)
            if isinstance(b, np.ndarray):
                assert a.dtype == b.dtype, (mine.key, field.name)
                np.testing.assert_array_equal(a, b, err_msg=f"{mine.key} {field.name}")
            else:
                assert a == b, (mine.key, field.name)


def time_sharing(traces: list[Trace]) -> list[int]:
    """For each trace, the index of the first trace with the very same time array."""
    first: dict[int, int] = {}
    return [first.setdefault(id(t.time_s), i) for i, t in enumerate(traces)]


def aged_copy(source, target):
    """A copy of ``source`` whose mtime lies a day back, as a capture copied long ago."""
    shutil.copyfile(source, target)
    past = os.stat(target).st_mtime_ns - DAY_NS
    os.utime(target, ns=(past, past))
    return target


def test_parquet_round_trip_keeps_every_field(tmp_path, i3_session):
    traces = i3_session.traces
    assert any(t.choices for t in traces), "the i3 database has value tables: check them too"
    path = tmp_path / "traces.parquet"
    write_traces_parquet(traces, path)
    back = read_traces_parquet(path)
    assert_same_traces(back, traces)
    assert all(t.time_s.flags.writeable and t.values.flags.writeable for t in back)


def test_cache_round_trip_keeps_every_field_read_only_and_shared(tmp_path, i3_session):
    traces = i3_session.traces
    assert any(t.choices for t in traces) and any(t.role for t in traces)
    cache = TraceCache(tmp_path / "cache")
    cache.put("capture", traces)
    back = cache.get("capture")

    assert_every_field_equal(back, traces)
    for trace in back:
        for array in (trace.time_s, trace.values, trace.valid):
            assert type(array) is np.ndarray and not array.flags.writeable
        with pytest.raises(ValueError, match="read-only"):
            trace.values[:1] = 0.0
    sharing = time_sharing(traces)
    assert len(set(sharing)) < len(traces), "the i3 capture has messages of several signals"
    assert time_sharing(back) == sharing
    stored = np.load(cache.path_for("capture") / "time_s.npy", mmap_mode="r")
    assert len(stored) == sum(len(traces[i]) for i in set(sharing)), "each time axis once"


def test_no_traces_round_trip(tmp_path):
    cache = TraceCache(tmp_path / "cache")
    cache.put("nothing decoded", [])
    assert cache.get("nothing decoded") == []


def test_reopening_a_decoded_capture_reads_the_cache_without_hashing(i3_charging, i3_session):
    capture, database = i3_charging
    cache = TraceCache()
    first = load_session(capture, [database], cache=cache)
    assert not first.from_cache and cache.misses == 1 and cache.files_hashed == 1
    assert cache.path_for(first.cache_key).is_dir()
    assert first.cache_key.capture_sha256 == file_sha256(capture)

    again = load_session(capture, [database], cache=cache)
    assert again.from_cache and cache.hits == 1
    assert cache.files_hashed == 1, "an unchanged capture is not hashed again"
    assert again.cache_key == first.cache_key
    assert_same_traces(again.traces, i3_session.traces)
    assert [t.role for t in again.traces] == [t.role for t in i3_session.traces]
    assert time_sharing(again.traces) == time_sharing(i3_session.traces)
    # and the capture itself came from the cache: same frames, no parsing
    assert again.capture.frame_count == first.capture.frame_count
    assert again.capture.format == first.capture.format
    assert again.capture.path == capture


def test_a_changed_capture_is_hashed_again_and_misses(tmp_path, i3_charging):
    source, database = i3_charging
    capture = aged_copy(source, tmp_path / "capture.csv")
    cache = TraceCache()
    first = load_session(capture, [database], cache=cache)
    assert load_session(capture, [database], cache=cache).from_cache
    assert cache.files_hashed == 1

    # same size, the last data byte of the first frame changed, a new mtime (still past)
    hashed_mtime = os.stat(capture).st_mtime_ns
    data = bytearray(capture.read_bytes())
    end = data.index(b"\n", data.index(b"\n") + 1)
    end -= 1 if data[end - 1 : end] == b"\r" else 0
    data[end - 2 : end] = b"00" if data[end - 2 : end] != b"00" else b"01"
    capture.write_bytes(bytes(data))
    assert capture.stat().st_size == source.stat().st_size
    os.utime(capture, ns=(hashed_mtime + 10**9, hashed_mtime + 10**9))

    changed_session = load_session(capture, [database], cache=cache)
    assert cache.files_hashed == 2
    assert not changed_session.from_cache
    assert changed_session.cache_key.capture_sha256 == file_sha256(capture)
    assert changed_session.cache_key != first.cache_key


def test_a_capture_written_just_now_is_not_remembered_yet(tmp_path, i3_charging):
    source, _ = i3_charging
    fresh = tmp_path / "fresh.csv"
    shutil.copyfile(source, fresh)  # its mtime is now: it may still change within the tick
    cache = TraceCache()
    assert cache.capture_sha256(fresh) == file_sha256(source)
    assert cache.capture_sha256(fresh) == file_sha256(source)
    assert cache.files_hashed == 2
    aged = aged_copy(source, tmp_path / "aged.csv")
    cache.capture_sha256(aged)
    cache.capture_sha256(aged)
    assert cache.files_hashed == 3
    assert TraceCache().capture_sha256(aged) == file_sha256(source), "remembered on disk"


def test_another_database_or_decoder_is_another_key(tmp_path, i3_session):
    key = CacheKey("a" * 64, ("b" * 64,), "0.1.0+decode1")
    cache = TraceCache(tmp_path / "cache")
    cache.put(key, i3_session.traces[:3])
    assert cache.get(CacheKey("a" * 64, ("c" * 64,), "0.1.0+decode1")) is None
    assert cache.get(CacheKey("a" * 64, ("b" * 64,), "0.1.0+decode2")) is None
    assert cache.get(CacheKey("a" * 64, ("b" * 64, "c" * 64), "0.1.0+decode1")) is None
    assert len(cache.get(key)) == 3


@pytest.mark.parametrize(
    "damage",
    [
        "truncate values.npy",
        "garbage index.json",
        "remove valid.npy",
        "wrong count in index.json",
    ],
)
def test_a_damaged_entry_is_reported_missed_and_rewritten(damage, caplog, i3_charging, i3_session):
    capture, database = i3_charging
    cache = TraceCache()
    key = load_session(capture, [database], cache=cache).cache_key
    entry = cache.path_for(key)
    if damage == "truncate values.npy":
        with open(entry / "values.npy", "r+b") as stream:
            stream.truncate((entry / "values.npy").stat().st_size // 2)
    elif damage == "garbage index.json":
        (entry / "index.json").write_bytes(b"\x00not json")
    elif damage == "remove valid.npy":
        (entry / "valid.npy").unlink()
    else:
        text = (entry / "index.json").read_text(encoding="utf-8")
        (entry / "index.json").write_text(text.replace('"count": ', '"count": 1', 1))

    with caplog.at_level(logging.WARNING, logger="app.trace_cache"):
        again = load_session(capture, [database], cache=cache)
    assert not again.from_cache and cache.misses == 2
    assert any(entry.name in r.getMessage() and "damaged" in r.getMessage() for r in caplog.records)
    assert_same_traces(again.traces, i3_session.traces)
    # decoded again and written again, whole
    assert load_session(capture, [database], cache=cache).from_cache
    assert not list(cache.folder.glob(".tmp-*"))


def test_a_half_written_entry_is_never_read(tmp_path, i3_session):
    cache = TraceCache(tmp_path / "cache")
    final = cache.path_for("capture")
    # what a writer killed before its rename leaves: a temporary folder, never the entry
    leftover = cache.folder / f".tmp-{final.name}-99999-deadbeef"
    leftover.mkdir(parents=True)
    write_traces_entry(i3_session.traces, leftover)
    assert cache.get("capture") is None
    old = leftover.stat().st_mtime - 2 * 3600
    os.utime(leftover, (old, old))
    version_1 = cache.folder / f"{'0' * 64}.parquet"  # an entry of the Parquet cache
    version_1.write_bytes(b"PAR1")
    cache.put("capture", i3_session.traces[:2])
    assert not leftover.exists(), "a dead writer's folder goes at the next write"
    assert not version_1.exists(), "and so do entries no version reads any more"
    assert len(cache.get("capture")) == 2


def test_least_recently_used_entries_go_first(tmp_path, i3_session):
    cache = TraceCache(tmp_path / "cache")
    for name in ("old", "middle", "new"):
        cache.put(name, i3_session.traces)
        past = os.stat(cache.path_for(name)).st_mtime - {"old": 30, "middle": 20, "new": 10}[name]
        os.utime(cache.path_for(name), (past, past))
    size = sum(f.stat().st_size for f in cache.path_for("old").iterdir())
    assert cache.get("old") is not None  # used again: now the newest
    cache.limit_bytes = int(size * 2.5)
    cache.prune()
    assert cache.path_for("old").is_dir() and cache.path_for("new").is_dir()
    assert not cache.path_for("middle").exists()
    assert sum(entry[1] for entry in cache.entries()) <= cache.limit_bytes

    # a write over the limit removes the oldest, never the entry just written
    cache.put("newest", i3_session.traces)
    assert cache.path_for("newest").is_dir() and cache.path_for("old").is_dir()
    assert not cache.path_for("new").exists()


def test_the_size_limit_is_configurable_and_entries_over_it_are_not_stored(
    tmp_path, monkeypatch, i3_session
):
    assert configured_limit_bytes() == 5 * 10**9
    traces = i3_session.traces
    total = sum(t.values.nbytes for t in traces)  # less than the entry holds
    monkeypatch.setenv("EVBM_TRACE_CACHE_LIMIT_GB", f"{total / 2 / 1e9:.9f}")
    cache = TraceCache(tmp_path / "cache")
    assert cache.limit_bytes == pytest.approx(total / 2, abs=1)
    cache.put("all", traces)  # more than the whole cache may hold
    assert cache.get("all") is None and not cache.entries()
    small = min(i3_session.traces, key=lambda t: t.nbytes)
    cache.put("small", [small])
    assert [t.key for t in cache.get("small")] == [small.key]


def test_a_cached_capture_decodes_again_with_another_database(tmp_path, i3_charging, i3_session):
    capture, database = i3_charging
    cache = TraceCache()
    load_session(capture, [database], cache=cache)
    edited = tmp_path / database.name  # the same definitions, other bytes: another key
    edited.write_bytes(database.read_bytes() + b"\n")
    session = load_session(capture, [edited], cache=cache)
    assert not session.from_cache and session.decoded is not None
    assert not session.capture.frames.data.flags.writeable, "the frames came from the cache"
    assert_same_traces(session.traces, i3_session.traces)


def test_cached_traces_export_and_summarise_without_being_written(tmp_path, i3_charging):
    from app.export import read_traces, write_slices, write_traces
    from app.labels import Label
    from app.minmax import MinMaxPyramid

    capture, database = i3_charging
    cache = TraceCache()
    load_session(capture, [database], cache=cache)
    session = load_session(capture, [database], cache=cache)
    assert session.from_cache
    entry = cache.path_for(session.cache_key)
    before = {f.name: file_sha256(f) for f in entry.iterdir()}

    traces = session.traces
    for kind in ("parquet", "csv"):
        write_traces(traces, tmp_path / f"traces.{kind}")
        assert len(read_traces(tmp_path / f"traces.{kind}")) == len(traces)
    label = Label.by_technician(session.cache_key.capture_sha256, 1.0, 3.0, "other")
    assert write_slices([label], traces, tmp_path / "slices.parquet", margin_s=0.5) > 0
    for trace in traces:
        pyramid = MinMaxPyramid(trace.time_s, trace.values, trace.valid)
        if len(trace):
            pyramid.view(float(trace.time_s[0]), float(trace.time_s[-1]), 800)

    assert {f.name: file_sha256(f) for f in entry.iterdir()} == before


@pytest.mark.parametrize(
    "name",
    [
        "savvycan-examples/candump.log",  # whole-second timestamps, reported and repaired
        "python-can-testdata/test_CanFdMessage64.asc",  # CAN FD: 64-byte rows, a start time
        "python-can-testdata/logfile_errorframes.asc",  # error frames
    ],
)
def test_a_capture_round_trips_through_the_cache(tmp_path, shared_data, name):
    from app.formats import read_capture

    original = read_capture(shared_data / name)
    cache = TraceCache(tmp_path / "cache")
    key = CacheKey(file_sha256(shared_data / name), (), "reader-1")
    assert cache.get_capture(key, shared_data / name) is None
    cache.put_capture(key, original)
    back = cache.get_capture(key, shared_data / name)

    for column in fields(original.frames):
        mine, theirs = getattr(back.frames, column.name), getattr(original.frames, column.name)
        assert mine.dtype == theirs.dtype and not mine.flags.writeable, column.name
        np.testing.assert_array_equal(mine, theirs, err_msg=column.name)
    for field in fields(original):
        if field.name != "frames":
            assert getattr(back, field.name) == getattr(original, field.name), field.name
    assert cache.get_capture(CacheKey(key.capture_sha256, (), "reader-2"), name) is None
