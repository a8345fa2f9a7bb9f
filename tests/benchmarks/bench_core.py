"""Core speed and memory: our readers and decoder against python-can and cantools.

Builds a capture of 5 million frames with the simulator (the shipped battery bus,
``dbc/ev_battery.dbc``), writes it as BLF, ASC and candump, and times, in the same run, what
users script today (python-can's reader, then cantools' ``decode_message`` frame by frame)
against ours. One line per figure, ``figure ours baseline ratio``:

Each time is printed twice: wall-clock (``*_s``) and CPU seconds of this process
(``*_cpu_s``), which a shared machine disturbs less.

- ``parse_blf_s``, ``parse_asc_s``, ``parse_candump_s``: ``app.formats.read_capture`` against
  iterating python-can's ``BLFReader`` / ``ASCReader`` / ``CanutilsLogReader`` over the same
  file (every frame). ratio = baseline / ours (the speed-up). Targets: 8, 4, 4.
- ``decode_s``: ``app.decode.decode_frames`` over all frames against ``decode_message`` per
  frame; the baseline is measured on the first ``--baseline-frames`` frames and scaled to
  all of them (a line starting with ``#`` says by how much). Target ratio: 30.
- ``read_decode_blf_s``: ``app.pipeline.load_session`` on the BLF (read, decode, roles)
  against python-can's BLF reading plus the scaled ``decode_message`` time. Target: ours
  at most 5 s.
- ``peak_memory_mb``: the peak of memory allocated during ``load_session`` (tracemalloc, a
  separate run) against the size of the decoded traces (time, value, validity arrays).
  ratio = ours / baseline. Target: at most 2.

Run from the repository: ``python tests/benchmarks/bench_core.py`` (about 3 minutes and
1 GB of temporary files on a 2-core machine; ``--frames 1000000`` for a quicker look).
"""

from __future__ import annotations

import argparse
import gc
import os
import shutil
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

# About 460 frames a second in the simulator's mixed scenario; simulate a little more.
SIMULATED_FRAMES_PER_S = 440


def line(name: str, ours: float, baseline: float, ratio: float) -> None:
    print(f"{name} {ours:.4g} {baseline:.4g} {ratio:.3g}", flush=True)


def note(text: str) -> None:
    print(f"# {text}", flush=True)


class Clock:
    """Wall-clock and CPU seconds of the calls made through it (the machine is shared, so
    CPU time is the steadier figure; everything timed here runs on one thread)."""

    def __init__(self):
        self.cpu_s = 0.0

    def __call__(self, function):
        gc.collect()
        started, cpu_started = time.perf_counter(), time.process_time()
        result = function()
        self.cpu_s = time.process_time() - cpu_started
        return time.perf_counter() - started, result


timed = Clock()


def lines(name: str, ours: tuple[float, float], baseline: tuple[float, float]) -> None:
    """The wall-clock figure, then the same in CPU seconds; ratio = baseline / ours."""
    line(f"{name}_s", ours[0], baseline[0], baseline[0] / ours[0])
    line(f"{name}_cpu_s", ours[1], baseline[1], baseline[1] / ours[1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=5_000_000)
    parser.add_argument(
        "--baseline-frames",
        type=int,
        default=200_000,
        help="frames decode_message is timed on (then scaled)",
    )
    parser.add_argument("--workdir", type=Path, help="where to write the captures (a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the captures")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="bench-core-", dir=args.workdir))
    os.environ["EVBM_HOME"] = str(folder / "home")  # never the user's workspace
    try:
        run(args, folder)
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    return 0


def run(args: argparse.Namespace, folder: Path) -> None:
    import can
    import cantools

    from app.databases import load_database
    from app.decode import decode_frames
    from app.formats import read_capture, write_capture
    from app.paths import shipped_dir
    from app.pipeline import load_session
    from app.simulate import SimulationConfig, simulate

    dbc = shipped_dir("dbc") / "ev_battery.dbc"
    seconds = int(args.frames / SIMULATED_FRAMES_PER_S) + 60
    took, recording = timed(lambda: simulate(SimulationConfig(duration_s=seconds, seed=5)))
    frames = recording.frames.take(slice(0, args.frames))
    note(
        f"simulated {len(recording.frames)} frames ({seconds} s of driving and charging) "
        f"in {took:.1f} s; using the first {len(frames)}"
    )
    del recording

    paths = {}
    for name, suffix in (("blf", ".blf"), ("asc", ".asc"), ("candump", ".log")):
        paths[name] = folder / f"capture{suffix}"
        took, _ = timed(lambda p=paths[name]: write_capture(frames, p))
        note(f"wrote {paths[name].name}: {paths[name].stat().st_size / 1e6:.0f} MB in {took:.1f} s")

    readers = {"blf": can.BLFReader, "asc": can.ASCReader, "candump": can.CanutilsLogReader}
    python_can_s = {}
    for name, reader in readers.items():
        wall, capture = timed(lambda p=paths[name]: read_capture(p))
        ours = (wall, timed.cpu_s)
        assert capture.frame_count == len(frames), (name, capture.frame_count)
        del capture
        wall, count = timed(lambda p=paths[name], r=reader: sum(1 for _ in r(str(p))))
        baseline = (wall, timed.cpu_s)
        assert count == len(frames), (name, count)
        python_can_s[name] = baseline
        lines(f"parse_{name}", ours, baseline)

    database = load_database(dbc)
    wall, decoded = timed(lambda: decode_frames(frames, [database]))
    ours = (wall, timed.cpu_s)
    traces_bytes = sum(trace.nbytes for trace in decoded.traces)
    samples = sum(len(trace) for trace in decoded.traces)
    del decoded
    subset = min(args.baseline_frames, len(frames))
    messages = list(can.BLFReader(str(paths["blf"])))[:subset]
    oracle = cantools.database.load_file(dbc)

    def decode_one_by_one():
        for message in messages:
            oracle.decode_message(message.arbitration_id, message.data)

    measured, _ = timed(decode_one_by_one)
    messages = []
    scale = len(frames) / subset
    decode_baseline = (measured * scale, timed.cpu_s * scale)
    note(f"decode_message timed on {subset} frames ({measured:.1f} s) and scaled by {scale:.1f}")
    lines("decode", ours, decode_baseline)

    wall, session = timed(lambda: load_session(paths["blf"], [dbc]))
    ours = (wall, timed.cpu_s)
    del session
    baseline = tuple(a + b for a, b in zip(python_can_s["blf"], decode_baseline, strict=True))
    lines("read_decode_blf", ours, baseline)
    note(f"target: read_decode_blf_s at most 5 s; {samples} samples in the decoded traces")

    frames = None  # free the table before measuring memory
    gc.collect()
    tracemalloc.start()
    session = load_session(paths["blf"], [dbc])
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    traces_bytes = sum(trace.nbytes for trace in session.traces)
    line("peak_memory_mb", peak / 1e6, traces_bytes / 1e6, peak / traces_bytes)


if __name__ == "__main__":
    sys.exit(main())
