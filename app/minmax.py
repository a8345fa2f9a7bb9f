"""A multi-resolution min/max summary of a trace, so that a plot draws only what a screen shows.

A plot column of one pixel can show at most a vertical stroke from the lowest to the highest
value that falls in it. :class:`MinMaxPyramid` precomputes, once per trace, the minimum and the
maximum of every bucket of ``BASE_BUCKET`` samples, then of every ``FACTOR`` such buckets, and so
on. Drawing a visible time range at a width of ``columns`` pixels then picks the finest level
that gives at most one bucket per column and returns two points per bucket (its minimum and
maximum): about two points per pixel column whatever the trace's length, and every peak still
visible. A range of at most two samples per column is drawn from the samples themselves.

Invalid samples (``Trace.valid`` False) are NaN in the summary: a bucket with no valid sample
gives NaN points, which plots draw as gaps (``connect="finite"``), and the valid minimum and
maximum over a range (:meth:`value_range`) is what a plot's Y autoscale uses. The summary costs
about 16 / ``BASE_BUCKET`` × 2 bytes per sample (2 bytes with the defaults), plus a NaN-masked
copy of the values (8 bytes) when some samples are invalid, against the 17 bytes per sample
of the trace itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BASE_BUCKET = 16
FACTOR = 2


@dataclass(frozen=True)
class Level:
    """Minima and maxima of consecutive buckets of ``bucket`` samples (the last one partial)."""

    bucket: int
    minima: np.ndarray
    maxima: np.ndarray


class MinMaxPyramid:
    """The summary of one trace: its samples (NaN where invalid) plus coarser min/max levels.

    ``time_s`` must not decrease; a trace whose times do (a capture that was not repaired) is
    summarised in time order, with ``order`` keeping the permutation.
    """

    def __init__(self, time_s: np.ndarray, values: np.ndarray, valid: np.ndarray | None = None):
        time_s = np.asarray(time_s, dtype=np.float64)
        values = np.asarray(values, dtype=np.float64)
        if len(time_s) != len(values):
            raise ValueError(f"{len(time_s)} times but {len(values)} values")

        self.order: np.ndarray | None = None
        if len(time_s) > 1 and np.any(np.diff(time_s) < 0):
            self.order = np.argsort(time_s, kind="stable")
            time_s, values = time_s[self.order], values[self.order]
            valid = None if valid is None else np.asarray(valid)[self.order]

        if valid is not None and not np.all(valid):
            values = np.where(valid, values, np.nan)
        self.time_s = time_s
        self.values = values
        self.levels: list[Level] = _build_levels(values)

    def __len__(self) -> int:
        return len(self.time_s)

    @property
    def nbytes(self) -> int:
        """Bytes the summary adds on top of the trace (levels, plus the NaN-masked copy)."""
        extra = sum(level.minima.nbytes + level.maxima.nbytes for level in self.levels)
        return extra

    def index_range(self, t0: float, t1: float) -> tuple[int, int]:
        """Sample indices ``[i0, i1)`` covering ``[t0, t1]`` plus one sample on each side, so a
        line drawn from them reaches the edges of the view."""
        i0 = int(np.searchsorted(self.time_s, t0, side="left")) - 1
        i1 = int(np.searchsorted(self.time_s, t1, side="right")) + 1
        return max(i0, 0), min(i1, len(self.time_s))

    def view(self, t0: float, t1: float, columns: int) -> tuple[np.ndarray, np.ndarray]:
        """Points to draw for the time range ``[t0, t1]`` at ``columns`` pixels of width.

        Returns ``(x, y)``: the raw samples when they are few enough (at most two per column),
        otherwise two points (minimum, maximum) per bucket of the finest level with at most one
        bucket per column. NaN in ``y`` marks a gap.
        """
        i0, i1 = self.index_range(t0, t1)
        count = i1 - i0
        columns = max(int(columns), 1)
        if count <= 2 * columns or not self.levels:
            return self.time_s[i0:i1], self.values[i0:i1]

        level = self._level_at_least(count / columns)
        b0 = i0 // level.bucket
        b1 = -(-i1 // level.bucket)
        starts = np.arange(b0, b1) * level.bucket
        x = np.repeat(self.time_s[starts], 2)
        y = np.empty(2 * (b1 - b0))
        y[0::2] = level.minima[b0:b1]
        y[1::2] = level.maxima[b0:b1]
        return x, y

    def value_range(self, t0: float, t1: float) -> tuple[float, float] | None:
        """The smallest and largest valid value in ``[t0, t1]``, or None when there is none.

        Reads whole buckets of the coarsest level that fits inside the range and the raw samples
        at the two ragged ends, so it costs about the same as :meth:`view`.
        """
        i0 = int(np.searchsorted(self.time_s, t0, side="left"))
        i1 = int(np.searchsorted(self.time_s, t1, side="right"))
        if i1 <= i0:
            return None
        parts_min: list[float] = []
        parts_max: list[float] = []
        self._collect_range(i0, i1, parts_min, parts_max)
        low = np.fmin.reduce(np.array(parts_min)) if parts_min else np.nan
        high = np.fmax.reduce(np.array(parts_max)) if parts_max else np.nan
        if not (np.isfinite(low) and np.isfinite(high)):
            return None
        return float(low), float(high)

    def _collect_range(self, i0: int, i1: int, mins: list[float], maxs: list[float]) -> None:
        level = self._level_for((i1 - i0) / 64)
        if level is None or (i1 - i0) < 4 * level.bucket:
            chunk = self.values[i0:i1]
            if len(chunk) and not np.all(np.isnan(chunk)):
                mins.append(float(np.nanmin(chunk)))
                maxs.append(float(np.nanmax(chunk)))
            return
        b0 = -(-i0 // level.bucket)  # first whole bucket
        b1 = i1 // level.bucket  # end of the last whole bucket
        self._collect_range(i0, b0 * level.bucket, mins, maxs)
        inner_min = level.minima[b0:b1]
        inner_max = level.maxima[b0:b1]
        if len(inner_min):
            mins.append(float(np.fmin.reduce(inner_min)))
            maxs.append(float(np.fmax.reduce(inner_max)))
        self._collect_range(b1 * level.bucket, i1, mins, maxs)

    def _level_at_least(self, samples_per_column: float) -> Level:
        """The finest level whose bucket spans at least ``samples_per_column`` samples: at most
        one bucket per pixel column, so each column gets one vertical stroke."""
        for level in self.levels:
            if level.bucket >= samples_per_column:
                return level
        return self.levels[-1]

    def _level_for(self, samples_per_column: float) -> Level | None:
        """The coarsest level whose bucket is at most ``samples_per_column`` samples."""
        chosen = None
        for level in self.levels:
            if level.bucket <= samples_per_column:
                chosen = level
            else:
                break
        return chosen


def _build_levels(values: np.ndarray) -> list[Level]:
    """Min/max of buckets of BASE_BUCKET samples, then FACTOR× coarser until one bucket is left."""
    levels: list[Level] = []
    if len(values) <= 2 * BASE_BUCKET:
        return levels
    minima, maxima = _reduce_pairs(values, values, BASE_BUCKET)
    levels.append(Level(BASE_BUCKET, minima, maxima))
    while len(minima) > FACTOR:
        minima, maxima = _reduce_pairs(minima, maxima, FACTOR)
        levels.append(Level(levels[-1].bucket * FACTOR, minima, maxima))
    return levels


def _reduce_pairs(minima: np.ndarray, maxima: np.ndarray, size: int):
    """NaN-ignoring min and max of consecutive groups of ``size`` (the last group partial)."""
    whole = len(minima) // size * size
    low = np.fmin.reduce(minima[:whole].reshape(-1, size), axis=1)
    high = np.fmax.reduce(maxima[:whole].reshape(-1, size), axis=1)
    if whole < len(minima):
        low = np.append(low, np.fmin.reduce(minima[whole:]))
        high = np.append(high, np.fmax.reduce(maxima[whole:]))
    return low, high
