"""Axes: the shared time axis (relative seconds or wall clock) and value-table axes."""

from __future__ import annotations

import datetime as dt

import pyqtgraph as pg

RELATIVE, WALL_CLOCK = "relative", "wall-clock"


class TimeAxis(pg.AxisItem):
    """Seconds since the capture's start, or the local wall-clock time of the capture.

    Wall clock needs the capture's start as a Unix time (``Capture.start_time_epoch``); a
    capture without one stays in relative seconds whatever the mode says.
    """

    def __init__(self, *args, **kwargs):
        super().__init__("bottom", *args, **kwargs)
        self.mode = RELATIVE
        self.epoch_s: float | None = None
        self._update_label()

    def set_mode(self, mode: str, epoch_s: float | None) -> None:
        self.mode = mode
        self.epoch_s = epoch_s
        self._update_label()
        self.picture = None
        self.update()

    @property
    def shows_wall_clock(self) -> bool:
        return self.mode == WALL_CLOCK and self.epoch_s is not None

    def _update_label(self) -> None:
        if self.shows_wall_clock:
            self.setLabel("local time")
        else:
            self.setLabel("time", units="s")
        # Seconds stay seconds: no "ks" or "ms" prefix games on a time axis.
        self.enableAutoSIPrefix(False)

    def tickValues(self, minVal, maxVal, size):  # noqa: N802 (pyqtgraph's name)
        if not self.shows_wall_clock:
            return super().tickValues(minVal, maxVal, size)
        shifted = super().tickValues(minVal + self.epoch_s, maxVal + self.epoch_s, size)
        return [(spacing, [v - self.epoch_s for v in values]) for spacing, values in shifted]

    def tickStrings(self, values, scale, spacing):  # noqa: N802 (pyqtgraph's name)
        if not self.shows_wall_clock:
            return super().tickStrings(values, scale, spacing)
        return [format_wall_clock(self.epoch_s + v, spacing) for v in values]


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
    """A Y axis that shows the names of a value table at their raw values."""

    def __init__(self, orientation: str, choices: dict[int, str], **kwargs):
        super().__init__(orientation, **kwargs)
        self.choices = dict(sorted(choices.items()))

    def tickValues(self, minVal, maxVal, size):  # noqa: N802 (pyqtgraph's name)
        shown = [value for value in self.choices if minVal <= value <= maxVal]
        if not shown:
            return super().tickValues(minVal, maxVal, size)
        return [(1.0, shown)]

    def tickStrings(self, values, scale, spacing):  # noqa: N802 (pyqtgraph's name)
        return [self.choices.get(int(round(v)), f"{v:g}") for v in values]
