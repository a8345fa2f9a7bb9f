"""Axes: the shared time axis (relative seconds or wall clock) and value-table axes."""

from __future__ import annotations

import datetime as dt
import time

import numpy as np
import pyqtgraph as pg

from app.traces import choice_name

RELATIVE, WALL_CLOCK = "relative", "wall-clock"


class TimeAxis(pg.AxisItem):
    """Seconds since the capture's first sample, or the local wall-clock time.

    Traces keep the capture's own time values (absolute Unix seconds for BLF or candump,
    seconds since a trigger for ASC ...); the axis only changes what it writes: ``value -
    origin_s`` in relative mode, the local time of ``value + wall_offset_s`` in wall-clock
    mode. Without a known wall-clock offset the axis stays relative whatever the mode says.
    """

    def __init__(self, *args, **kwargs):
        super().__init__("bottom", *args, **kwargs)
        self.mode = RELATIVE
        self.origin_s = 0.0
        self.wall_offset_s: float | None = None
        self.labels_visible = True
        self.enableAutoSIPrefix(False)  # seconds stay seconds: no "ks" on a time axis
        self._update_label()

    def set_mode(self, mode: str, origin_s: float, wall_offset_s: float | None) -> None:
        self.mode = mode
        self.origin_s = origin_s
        self.wall_offset_s = wall_offset_s
        self._update_label()
        self.picture = None
        self.update()

    @property
    def shows_wall_clock(self) -> bool:
        return self.mode == WALL_CLOCK and self.wall_offset_s is not None

    def set_labels_visible(self, visible: bool) -> None:
        """Only the bottom plot of a stack writes times; the others keep their grid."""
        self.labels_visible = visible
        self.setStyle(showValues=visible)
        self.setHeight(None if visible else 6)
        self._update_label()

    def _update_label(self) -> None:
        self.setLabel("local time" if self.shows_wall_clock else "time since start (s)")
        self.showLabel(self.labels_visible)

    def _shift(self) -> float:
        return self.wall_offset_s if self.shows_wall_clock else -self.origin_s

    def tickValues(self, minVal, maxVal, size):  # noqa: N802 (pyqtgraph's name)
        shift = self._shift()
        if self.shows_wall_clock:
            return _clock_ticks(minVal + shift, maxVal + shift, size, shift)
        shifted = super().tickValues(minVal + shift, maxVal + shift, size)
        return [(spacing, [v - shift for v in values]) for spacing, values in shifted]

    def tickStrings(self, values, scale, spacing):  # noqa: N802 (pyqtgraph's name)
        shift = self._shift()
        if self.shows_wall_clock:
            return [format_wall_clock(v + shift, spacing) for v in values]
        return super().tickStrings([v + shift for v in values], scale, spacing)

    def describe(self, t: float) -> str:
        """One time as this axis writes it, to the millisecond (for readouts)."""
        if self.shows_wall_clock:
            return format_wall_clock(t + self.wall_offset_s, 0.001)
        return f"{t - self.origin_s:.3f} s"


# Tick spacings a clock reader expects: seconds, minutes, hours.
_CLOCK_STEPS_S = (
    0.001,
    0.002,
    0.005,
    0.01,
    0.02,
    0.05,
    0.1,
    0.2,
    0.5,
    1,
    2,
    5,
    10,
    15,
    30,
    60,
    120,
    300,
    600,
    900,
    1800,
    3600,
    7200,
    10800,
    21600,
    43200,
    86400,
)


def _clock_ticks(low: float, high: float, size_px: float, shift: float):
    """Major and minor ticks at round clock times (local time), in axis values."""
    span = max(high - low, 1e-9)
    wanted = span / max(size_px / 110, 1)
    major = next((step for step in _CLOCK_STEPS_S if step >= wanted), _CLOCK_STEPS_S[-1])
    minor = next((step for step in reversed(_CLOCK_STEPS_S) if step <= major / 4), major / 5)
    offset = -time.localtime(low).tm_gmtoff  # round in local time, not UTC
    levels = []
    for step in (major, minor):
        first = np.ceil((low - offset) / step) * step + offset
        values = np.arange(first, high, step)
        levels.append((step, [v - shift for v in values]))
    return levels


def format_wall_clock(epoch_s: float, spacing_s: float = 1.0) -> str:
    """``HH:MM:SS`` in local time, with as many decimals as the tick spacing needs."""
    moment = dt.datetime.fromtimestamp(epoch_s)
    text = moment.strftime("%H:%M:%S")
    if spacing_s < 1:
        decimals = 1 if spacing_s >= 0.1 else 2 if spacing_s >= 0.01 else 3
        fraction = f"{moment.microsecond / 1e6:.{decimals}f}"[1:]
        text += fraction
    if spacing_s >= 3600 * 6:
        text = moment.strftime("%d.%m. %H:%M")
    return text


class EnumAxis(pg.AxisItem):
    """A Y axis that shows the names of a value table at their (physical) values."""

    def __init__(self, orientation: str, choices: dict[float, str], **kwargs):
        super().__init__(orientation, **kwargs)
        self.choices = dict(sorted(choices.items()))

    def tickValues(self, minVal, maxVal, size):  # noqa: N802 (pyqtgraph's name)
        shown = [value for value in self.choices if minVal <= value <= maxVal]
        if not shown:
            return super().tickValues(minVal, maxVal, size)
        return [(1.0, shown)]

    def tickStrings(self, values, scale, spacing):  # noqa: N802 (pyqtgraph's name)
        return [choice_name(self.choices, v) or f"{v:g}" for v in values]
