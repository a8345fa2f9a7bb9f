"""``ev-battery-monitor decode CAPTURE --dbc DB --out OUT``: decoded traces in long form.

One row per sample: ``time`` (seconds, on the capture's time axis), ``message``, ``signal``,
``value`` (the physical value) and ``valid`` (False for "not available" and out-of-range
samples). Parquet or CSV, by the output's suffix.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa

from app.errors import ExportError
from app.pipeline import load_session
from app.traces import Trace

OUTPUT_FORMATS = (".parquet", ".csv")
WARNINGS_SHOWN = 20


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "decode",
        help="decode a capture with databases into a Parquet or CSV table",
        description="Decode CAPTURE with one or more databases (DBC, KCD, SYM, ARXML) and "
        "write every sample as a row: time, message, signal, value, valid.",
    )
    parser.add_argument("capture", type=Path, help="the capture file")
    parser.add_argument(
        "--dbc",
        action="append",
        required=True,
        type=Path,
        metavar="DB",
        help="database to decode with (repeat for several)",
    )
    parser.add_argument("--out", required=True, type=Path, help="output file, .parquet or .csv")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    suffix = args.out.suffix.lower()
    if suffix not in OUTPUT_FORMATS:
        raise ExportError(
            f"{args.out}: cannot tell the output format from {suffix or 'no suffix'!r}; "
            f"use {' or '.join(OUTPUT_FORMATS)}"
        )

    session = load_session(args.capture, args.dbc)
    capture = session.capture
    print(f"{capture.path.name}: {capture.format}, {capture.frame_count} frames", file=sys.stderr)
    for line in _warnings(session):
        print(f"warning: {line}", file=sys.stderr)

    table = long_table(session.traces)
    write_table(table, args.out)
    if session.decoded is not None:
        for line in session.decoded.report.summary_lines()[:1]:
            print(line)
    invalid = sum(trace.invalid_count for trace in session.traces)
    print(
        f"wrote {table.num_rows} samples of {len(session.traces)} traces "
        f"({invalid} invalid) to {args.out}"
    )
    return 0


def long_table(traces: Sequence[Trace]) -> pa.Table:
    """All samples of all traces as one table, trace after trace, in time order within."""
    messages = sorted({trace.message for trace in traces})
    signals = sorted({trace.signal for trace in traces})
    message_index = {name: i for i, name in enumerate(messages)}
    signal_index = {name: i for i, name in enumerate(signals)}
    lengths = [len(trace) for trace in traces]

    def codes(index: dict, attribute: str) -> np.ndarray:
        return np.repeat(
            np.array([index[getattr(t, attribute)] for t in traces], np.int32), lengths
        )

    empty = np.array([], np.float64)
    return pa.table(
        {
            "time": np.concatenate([t.time_s for t in traces]) if traces else empty,
            "message": pa.DictionaryArray.from_arrays(codes(message_index, "message"), messages),
            "signal": pa.DictionaryArray.from_arrays(codes(signal_index, "signal"), signals),
            "value": np.concatenate([t.values for t in traces]) if traces else empty,
            "valid": np.concatenate([t.valid for t in traces]) if traces else np.array([], bool),
        }
    )


def write_table(table: pa.Table, path: Path) -> None:
    """Parquet or CSV by suffix; CSV gets plain text in the message and signal columns."""
    try:
        if path.suffix.lower() == ".parquet":
            import pyarrow.parquet as pq

            pq.write_table(table, path, compression="zstd")
        else:
            import pyarrow.csv as pcsv

            plain = table.cast(
                pa.schema(
                    [
                        ("time", pa.float64()),
                        ("message", pa.string()),
                        ("signal", pa.string()),
                        ("value", pa.float64()),
                        ("valid", pa.bool_()),
                    ]
                )
            )
            pcsv.write_csv(plain, path)
    except (OSError, pa.ArrowException) as exc:
        raise ExportError(f"{path}: cannot write: {exc}") from exc


def _warnings(session) -> list[str]:
    capture = session.capture
    lines = []
    if not capture.timestamp_report.ok:
        lines.append(f"timestamps: {capture.timestamp_report}")
    if capture.skipped_lines:
        first = ", ".join(str(issue) for issue in capture.issues[:3])
        lines.append(f"{capture.skipped_lines} lines or objects skipped ({first} ...)")
    if session.decoded is not None:
        lines += session.decoded.report.summary_lines()[1:]
    lines += session.warnings
    if len(lines) > WARNINGS_SHOWN:
        lines = lines[:WARNINGS_SHOWN] + [f"... {len(lines) - WARNINGS_SHOWN} more warnings"]
    return lines
