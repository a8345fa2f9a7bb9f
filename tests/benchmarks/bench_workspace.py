"""How much the trace cache saves when a decoded capture is opened again.

Simulates a recording of the shipped battery bus (``dbc/ev_battery.dbc``), writes it as a
BLF and an ASC capture, and prints for each ``figure ours baseline ratio`` lines (ratio =
ours / baseline; below 1 is better):

- ``reopen_load_session_<format>_s``: ``app.pipeline.load_session(..., cache=TraceCache())``
  on a capture decoded before, as the window does it today; baseline: the first open (read,
  decode, roles; no cache). Target: ratio <= 0.10.
  The capture's mtime is set a minute back, as for a capture copied earlier: the cache
  remembers the hash of an unchanged file only once it is a few seconds old.
- ``capture_sha256_<format>_s``: hashing the capture, what a reopen adds when the file
  changed or its hash is not remembered; baseline: the first open.
- ``reopen_capture_cached_<format>_s``: the steps of that reopen by hand (the capture's
  sha256, remembered for an unchanged file; ``get``, ``get_capture``, roles); baseline: the
  first open.
- ``reopen_read_all_<format>_s``: the reopen plus reading every sample once (the cache's
  arrays are memory-mapped, so a reopen alone reads only their headers; this adds the page
  reads a first plot pays, from the page cache here); baseline: the first open.
- ``trace_cache_get_<format>_s``: reading the traces back from the cache; baseline: decoding
  them (``decode_frames`` alone, the capture already read).
- ``cache_write_overhead_<format>_s``: what storing traces and capture adds to a first open;
  baseline: the first open without a cache.
- ``label_save_ms``: one label change committed to the workspace (WAL, synchronous=FULL),
  median of 50; baseline: the same with synchronous=OFF, which does not survive a crash.

Run: ``python tests/benchmarks/bench_workspace.py`` (``--duration 600`` for a shorter
recording, ``--formats blf`` for one format). Each figure is the best of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))


def best_of(repeat: int, function):
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    return min(times), result


def line(name: str, ours: float, baseline: float) -> None:
    print(f"{name} {ours:.4g} {baseline:.4g} {ours / baseline:.3f}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=1800, help="seconds to simulate")
    parser.add_argument(
        "--formats", default="blf,asc", help="capture formats to write, comma-separated"
    )
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="bench-workspace-"))
    os.environ["EVBM_HOME"] = str(folder / "home")  # never the user's workspace
    try:
        run(args, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)  # captures and caches: a few hundred MB
    return 0


def run(args, folder: Path) -> None:
    from app.formats import write_capture
    from app.simulate import SimulationConfig, simulate
    from app.trace_cache import TraceCache

    database = REPO / "dbc" / "ev_battery.dbc"
    recording = simulate(SimulationConfig(duration_s=args.duration))
    for name in args.formats.split(","):
        capture = folder / f"recording.{name}"
        write_capture(recording.frames, capture, name)
        # a capture is reopened long after it was copied; a file modified within the last
        # seconds has its hash computed on every open (see app.trace_cache)
        copied_ns = capture.stat().st_mtime_ns - 60 * 10**9
        os.utime(capture, ns=(copied_ns, copied_ns))
        print(
            f"# {len(recording.frames)} frames, {capture.stat().st_size / 1e6:.1f} MB {name}, "
            f"{args.duration} s simulated",
            flush=True,
        )
        reopen(capture, database, name, args.repeat, TraceCache(folder / f"cache-{name}"))
    label_save(folder)


def reopen(capture: Path, database: Path, name: str, repeat: int, cache) -> None:
    from app.databases import load_databases
    from app.decode import decode_frames
    from app.formats import read_capture
    from app.pipeline import cache_key, file_sha256, load_session
    from app.roles import assign_roles

    first_s, session = best_of(repeat, lambda: load_session(capture, [database]))
    samples = sum(len(trace) for trace in session.traces)
    print(f"# {len(session.traces)} traces, {samples} samples", flush=True)

    def first_open_with_cache():
        cache.clear()
        return load_session(capture, [database], cache=cache)  # stores traces and frames

    cached_first_s, _ = best_of(repeat, first_open_with_cache)
    reopen_s, reopened = best_of(repeat, lambda: load_session(capture, [database], cache=cache))
    assert reopened.from_cache, "the reopen did not come from the cache"

    def reopen_without_parsing():
        databases = load_databases([database])
        key = cache_key(capture, databases, cache)
        traces = cache.get(key)
        frames = cache.get_capture(key, capture)
        assign_roles(traces, databases)
        return traces, frames

    reopen_cached_s, (traces, frames) = best_of(repeat, reopen_without_parsing)
    assert traces is not None and frames is not None

    def reopen_and_read_every_sample():
        session = load_session(capture, [database], cache=cache)
        return sum(float(t.values.sum()) + float(t.time_s[-1]) for t in session.traces if len(t))

    touched_s, _ = best_of(repeat, reopen_and_read_every_sample)
    hash_s, _ = best_of(repeat, lambda: file_sha256(capture))

    read = read_capture(capture)
    databases = load_databases([database])
    decode_s, _ = best_of(repeat, lambda: decode_frames(read.frames, databases))
    get_s, _ = best_of(repeat, lambda: cache.get(reopened.cache_key))

    line(f"reopen_load_session_{name}_s", reopen_s, first_s)
    line(f"capture_sha256_{name}_s", hash_s, first_s)
    line(f"reopen_capture_cached_{name}_s", reopen_cached_s, first_s)
    line(f"reopen_read_all_{name}_s", touched_s, first_s)
    line(f"trace_cache_get_{name}_s", get_s, decode_s)
    line(f"cache_write_overhead_{name}_s", max(cached_first_s - first_s, 0.0), first_s)


def label_save(folder: Path) -> None:
    from app.labels import Label, LabelBook
    from app.workspace import Workspace

    medians = {}
    for synchronous in ("FULL", "OFF"):
        with Workspace(folder / f"workspace-{synchronous}.sqlite") as workspace:
            workspace._db.execute(f"PRAGMA synchronous={synchronous}")
            book = LabelBook("b" * 64, sink=workspace)
            label = book.add(Label.by_technician("b" * 64, 0.0, 1.0, "other"))
            times = []
            for i in range(50):
                started = time.perf_counter()
                book.change(label.id, end_s=2.0 + i)
                times.append(time.perf_counter() - started)
            medians[synchronous] = statistics.median(times) * 1000
    line("label_save_ms", medians["FULL"], medians["OFF"])


if __name__ == "__main__":
    sys.exit(main())
