"""``ev-battery-monitor info CAPTURE``: what a capture holds, without decoding it.

Prints the format detected, the number of frames, the time span, what was wrong with the
timestamps, the lines that were skipped, and every ID with its frame count and rate.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from app.formats import Capture, read_capture
from app.frames import FrameTable

ISSUES_SHOWN = 10


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "info",
        help="format, frames, time span and IDs of a capture",
        description="Read CAPTURE (the format is detected from its content) and print what "
        "it holds: format, frames, time span, timestamp problems, skipped lines, and every "
        "CAN ID with its frame count and rate.",
    )
    parser.add_argument("capture", type=Path, help="the capture file")
    parser.add_argument("--format", help="read as this format instead of detecting it")
    parser.add_argument(
        "--all-issues", action="store_true", help="list every skipped line, not the first 10"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    capture = read_capture(args.capture, format=args.format)
    for line in describe(capture, all_issues=args.all_issues):
        print(line)
    return 0


def describe(capture: Capture, all_issues: bool = False) -> list[str]:
    """The report ``info`` prints, line by line."""
    frames = capture.frames
    title = f" ({capture.format_title})" if capture.format_title else ""
    lines = [
        f"file:        {capture.path}",
        f"format:      {capture.format}{title}",
        f"frames:      {len(frames)}" + _frame_kinds(frames),
        f"channels:    {', '.join(str(c) for c in capture.channels) or '-'}",
    ]
    if capture.start_time_epoch is not None:
        lines.append(f"start:       {_wall_clock(capture.start_time_epoch)}")
    if len(frames):
        first, last = float(frames.timestamp.min()), float(frames.timestamp.max())
        lines.append(f"time span:   {last - first:.3f} s (from {first:.6f} to {last:.6f})")
    lines.append(f"timestamps:  {capture.timestamp_report}")

    skipped = capture.skipped_lines
    lines.append(f"skipped:     {skipped} lines or objects")
    shown = capture.issues if all_issues else capture.issues[:ISSUES_SHOWN]
    lines += [f"  {issue}" for issue in shown]
    if len(shown) < len(capture.issues):
        lines.append(f"  ... {len(capture.issues) - len(shown)} more (--all-issues lists them)")

    lines += id_table(frames)
    return lines


def id_table(frames: FrameTable) -> list[str]:
    """One line per (channel, ID): frames, rate over the ID's own span, data lengths."""
    if len(frames) == 0:
        return ["IDs:         none"]
    key = (
        frames.channel.astype(np.int64) << 33
        | frames.is_extended_id.astype(np.int64) << 32
        | frames.arbitration_id.astype(np.int64)
    )
    keys, first_row, inverse, counts = np.unique(
        key, return_index=True, return_inverse=True, return_counts=True
    )
    first_time = np.full(len(keys), np.inf)
    last_time = np.full(len(keys), -np.inf)
    np.minimum.at(first_time, inverse, frames.timestamp)
    np.maximum.at(last_time, inverse, frames.timestamp)

    pairs = np.unique(inverse.astype(np.int64) * 256 + frames.dlc)
    lengths_of = np.split(pairs % 256, np.flatnonzero(np.diff(pairs // 256)) + 1)

    lines = [f"IDs:         {len(keys)}", "  channel  id           frames    rate_hz  dlc"]
    for i in range(len(keys)):
        row = first_row[i]
        extended = bool(frames.is_extended_id[row])
        frame_id = int(frames.arbitration_id[row])
        shown_id = f"0x{frame_id:08X}" if extended else f"0x{frame_id:03X}"
        span = last_time[i] - first_time[i]
        rate = f"{(counts[i] - 1) / span:9.2f}" if counts[i] > 1 and span > 0 else "        -"
        lengths = lengths_of[i]
        dlc = ",".join(str(int(d)) for d in lengths[:4]) + ("..." if len(lengths) > 4 else "")
        lines.append(
            f"  {int(frames.channel[row]):7d}  {shown_id:11s} {counts[i]:7d}  {rate}  {dlc}"
        )
    return lines


def _frame_kinds(frames: FrameTable) -> str:
    parts = []
    for name, column in (
        ("error", frames.is_error),
        ("remote", frames.is_remote),
        ("CAN FD", frames.is_fd),
        ("extended ID", frames.is_extended_id),
    ):
        count = int(np.count_nonzero(column))
        if count:
            parts.append(f"{count} {name}")
    return f" ({', '.join(parts)})" if parts else ""


def _wall_clock(epoch: float) -> str:
    try:
        moment = datetime.fromtimestamp(epoch, UTC)
    except (OverflowError, OSError, ValueError):
        return f"{epoch} (not a valid date)"
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + " UTC"
