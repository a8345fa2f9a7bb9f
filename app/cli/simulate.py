"""``ev-battery-monitor simulate OUT``: a realistic recording of the shipped battery bus.

Writes OUT in any writable format (from its suffix, or ``--format``) and, beside it,
``OUT.truth.json`` with everything that was injected: anomaly classes and time ranges, the
pack's true capacity and resistance, the schedule and the seed. The same arguments give the
same bytes. The bundled demo recording is made with::

    ev-battery-monitor simulate resources/demo/demo.blf --scenario demo --seed 2026
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path

from app.errors import MonitorError
from app.simulate import (
    ANOMALY_CLASSES,
    SCENARIOS,
    SimulationConfig,
    parse_duration,
    truth_path,
    write_recording,
)
from app.simulate.scenario import DEMO_DURATION_S


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "simulate",
        help="write a simulated recording of the shipped battery bus, with its truth",
        description="Simulate driving, charging and idling of a 96-cell pack on the bus of "
        "dbc/ev_battery.dbc, with injected anomalies, and write OUT plus OUT.truth.json.",
    )
    parser.add_argument("out", type=Path, help="capture to write (.blf, .asc, .log, ...)")
    parser.add_argument(
        "--duration",
        type=_duration,
        default=600,
        help="how long: 90s, 15m, 2h, 3d (default 10m; the demo scenario is always "
        f"{DEMO_DURATION_S} s)",
    )
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument("--format", help="capture format instead of the one the suffix names")
    parser.add_argument(
        "--scenario",
        default="auto",
        choices=("auto", *SCENARIOS),
        help="auto (default): days from 1d on, else mixed (drive, pause, charge)",
    )
    parser.add_argument(
        "--anomalies",
        default="default",
        type=_anomalies,
        help="default, none, all, or a comma-separated list of: " + ", ".join(ANOMALY_CLASSES),
    )
    parser.add_argument("--start", type=_start, help="wall-clock start, ISO 8601 (default fixed)")
    parser.add_argument("--soc", type=float, help="initial state of charge, percent")
    parser.add_argument("--soh", type=float, help="true state of health at the start, percent")
    parser.add_argument("--ambient", type=float, help="ambient temperature, degC")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    config = SimulationConfig(
        duration_s=args.duration,
        seed=args.seed,
        scenario=args.scenario,
        anomalies=args.anomalies,
        initial_soc_percent=args.soc,
        soh_percent=args.soh,
        ambient_c=args.ambient,
    )
    if args.start is not None:
        config.start_epoch = args.start
    try:
        recording = write_recording(config, args.out, args.format, progress=_progress())
    except ValueError as exc:
        raise MonitorError(f"{args.out}: {exc}") from exc
    if sys.stderr.isatty():
        print(file=sys.stderr)  # end the progress line

    truth = recording.truth
    phases = ", ".join(f"{p['kind']} {p['end_s'] - p['start_s']} s" for p in truth["schedule"][:8])
    print(f"wrote {len(recording.frames)} frames ({truth['duration_s']} s) to {args.out}")
    print(f"truth: {truth_path(args.out)}")
    print(f"phases: {phases}{' ...' if len(truth['schedule']) > 8 else ''}")
    for anomaly in truth["anomalies"]:
        print(
            f"anomaly: {anomaly['class']} {anomaly['start_s']}-{anomaly['end_s']} s: "
            f"{anomaly['detail']}"
        )
    for note in truth["anomalies_not_placed"]:
        print(f"warning: anomaly not placed: {note}", file=sys.stderr)
    return 0


def _duration(text: str) -> int:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _anomalies(text: str) -> list[str] | None:
    text = text.strip().lower()
    if text == "default":
        return None
    if text == "none":
        return []
    if text == "all":
        return list(ANOMALY_CLASSES)
    kinds = [kind.strip() for kind in text.split(",") if kind.strip()]
    unknown = [kind for kind in kinds if kind not in ANOMALY_CLASSES]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown anomaly {', '.join(unknown)}; known: {', '.join(ANOMALY_CLASSES)}"
        )
    return kinds


def _start(text: str) -> float:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r}") from exc
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"give a time zone, as in {text}Z or {text}+01:00")
    return moment.timestamp()


def _progress():
    """Percent on stderr while simulating, when stderr is a terminal."""
    if not sys.stderr.isatty():
        return None

    def show(done: int, total: int) -> bool:
        print(f"\rsimulating {100 * done // max(total, 1):3d} %", end="", file=sys.stderr)
        return True

    return show
