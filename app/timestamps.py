"""Checking and repairing the time axis of a capture.

Real captures lie about time: no time column at all, whole seconds only, a row counter in
the time column, milliseconds where the format promises microseconds, steps backwards,
negative values. :func:`check_timestamps` finds these, says so in a
:class:`TimestampReport`, and returns a repaired axis in seconds. Frames are never
reordered: the repaired axis belongs to the frames in file order.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

logger = logging.getLogger(__name__)

#: spacing given to frames when the file has no usable time at all
PLACEHOLDER_STEP_S = 0.001
#: no CAN bus carries more frames per second than this (1 Mbit/s, 0-byte frames: ~21k)
MAX_PLAUSIBLE_RATE_HZ = 30_000
#: at most this many frame numbers are listed for backward steps
LISTED = 10

NONE = "none"
WHOLE_SECONDS = "whole-seconds"
ROW_COUNTER = "row-counter"
MILLIS_FOR_MICROS = "milliseconds-for-microseconds"
BACKWARDS = "backwards"
NEGATIVE = "negative"


@dataclass
class TimestampReport:
    """What was wrong with a capture's timestamps and what was done about it.

    ``problems`` holds the kinds found (the module's constants); ``messages`` one sentence
    each for the user. ``repaired`` is True when the time axis differs from the file's.
    """

    problems: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    repaired: bool = False
    backward_steps: int = 0
    backward_frames: list[int] = field(default_factory=list)
    negative_frames: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, kind: str, message: str) -> None:
        self.problems.append(kind)
        self.messages.append(message)

    def __str__(self) -> str:
        return "timestamps look right" if self.ok else "; ".join(self.messages)


def check_timestamps(
    timestamps: np.ndarray, time_unit: str = "s", resolution_s: float | None = None
) -> tuple[np.ndarray, TimestampReport]:
    """The repaired time axis (seconds, file order) and what was found.

    ``time_unit`` is the unit of the file's time column ("s", "ms", "us", or "none" when the
    format has no time at all); ``timestamps`` are already converted to seconds.
    ``resolution_s`` is the smallest step the file can write.
    """
    report = TimestampReport()
    seconds = np.asarray(timestamps, np.float64)
    n = len(seconds)
    if n == 0:
        return seconds.copy(), report

    if time_unit == NONE:
        report.add(
            NONE,
            f"the file has no timestamps: frames are placed {PLACEHOLDER_STEP_S * 1e3:g} ms apart",
        )
        report.repaired = True
        return np.arange(n) * PLACEHOLDER_STEP_S, report

    if _is_row_counter(seconds, resolution_s):
        report.add(
            ROW_COUNTER,
            "the time column is a row counter, not a time: frames are placed "
            f"{PLACEHOLDER_STEP_S * 1e3:g} ms apart",
        )
        report.repaired = True
        return np.arange(n) * PLACEHOLDER_STEP_S, report

    if time_unit == "us" and _looks_like_milliseconds(seconds):
        seconds = seconds * 1000.0
        report.add(
            MILLIS_FOR_MICROS,
            "the time column counts milliseconds although the format promises microseconds "
            "(too many frames per second otherwise): read as milliseconds",
        )
        report.repaired = True

    if _whole_seconds_only(seconds, resolution_s):
        seconds = _spread_within_seconds(seconds)
        report.add(
            WHOLE_SECONDS,
            "timestamps are whole seconds only: frames of the same second are spread evenly "
            "over it",
        )
        report.repaired = True

    steps = np.diff(seconds)
    backwards = np.flatnonzero(steps < 0)
    if len(backwards):
        report.backward_steps = len(backwards)
        report.backward_frames = [int(i) + 1 for i in backwards[:LISTED]]
        listed = ", ".join(str(i) for i in report.backward_frames)
        more = "" if len(backwards) <= LISTED else ", ..."
        seconds = _stitch(seconds, steps, backwards)
        report.add(
            BACKWARDS,
            f"time steps backwards {len(backwards)} times (at frames {listed}{more}): each "
            "later stretch is moved to continue after the one before",
        )
        report.repaired = True

    negative = int(np.count_nonzero(np.asarray(timestamps) < 0))
    if negative:
        report.negative_frames = negative
        report.add(NEGATIVE, f"{negative} frames have negative timestamps (kept as they are)")

    if report.problems:
        logger.info("timestamp trouble: %s", report)
    return seconds, report


def _is_row_counter(seconds: np.ndarray, resolution_s: float | None) -> bool:
    if resolution_s is None or len(seconds) < 3:
        return False
    units = seconds / resolution_s
    steps = np.diff(np.rint(units))
    return bool(np.all(np.abs(units - np.rint(units)) < 1e-3) and np.mean(steps == 1) >= 0.9)


def _looks_like_milliseconds(seconds: np.ndarray) -> bool:
    if len(seconds) < 100:
        return False
    span = float(seconds.max() - seconds.min())
    if span <= 0:
        return False
    rate = (len(seconds) - 1) / span
    return rate > MAX_PLAUSIBLE_RATE_HZ and rate / 1000 <= MAX_PLAUSIBLE_RATE_HZ


def _whole_seconds_only(seconds: np.ndarray, resolution_s: float | None) -> bool:
    if len(seconds) < 2 or (resolution_s is not None and resolution_s >= 1):
        return False
    whole = np.all(seconds == np.round(seconds))
    repeats = np.count_nonzero(np.diff(seconds) == 0) >= len(seconds) // 4
    return bool(whole and repeats)


def _spread_within_seconds(seconds: np.ndarray) -> np.ndarray:
    n = len(seconds)
    new_run = np.concatenate(([True], np.diff(seconds) != 0))
    run_start = np.flatnonzero(new_run)
    run_length = np.diff(np.concatenate((run_start, [n])))
    run_of = np.cumsum(new_run) - 1
    rank = np.arange(n) - run_start[run_of]
    return seconds + rank / run_length[run_of]


def _stitch(seconds: np.ndarray, steps: np.ndarray, backwards: np.ndarray) -> np.ndarray:
    forward = steps[steps > 0]
    typical = float(np.median(forward)) if len(forward) else 0.0
    jump = np.zeros(len(seconds))
    jump[backwards + 1] = -steps[backwards] + typical
    return seconds + np.cumsum(jump)
