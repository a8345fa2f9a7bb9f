"""Showing a database session too big to bring over whole: per-pixel summaries on demand.

:class:`ServerSummary` stands in for :class:`app.minmax.MinMaxPyramid` for one trace of a
database session. It starts with an overview of the whole session (the server's min/max in
``OVERVIEW_PX`` buckets) and answers :meth:`view` at once from the finest data it holds; when
that is coarser than the plot's pixels it asks, through ``on_need(t0, t1, columns)``, for the
range in detail, and whoever fetches it (in a worker thread) hands the answer to
:meth:`set_detail`. The plot then redraws from the new detail.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from app.store.query import Summary

OVERVIEW_PX = 4096


class ServerSummary:
    """Min/max points of one trace of a database session, at the resolution fetched so far."""

    def __init__(
        self,
        overview: Summary,
        start_s: float,
        end_s: float,
        sample_count: int,
        on_need: Callable[[float, float, int], None] | None = None,
    ):
        self.overview = overview
        self.detail: Summary | None = None
        self.detail_range = (0.0, 0.0)
        self.on_need = on_need
        self.time_s = np.array([start_s, end_s], dtype=np.float64)  # the extent, for plots
        self.sample_count = sample_count

    def __len__(self) -> int:
        return self.sample_count

    @property
    def nbytes(self) -> int:
        held = [self.overview] + ([self.detail] if self.detail is not None else [])
        return sum(s.time_s.nbytes + s.minimum.nbytes + s.maximum.nbytes for s in held)

    def set_detail(self, detail: Summary, t0: float, t1: float) -> None:
        self.detail = detail
        self.detail_range = (t0, t1)

    def _best(self, t0: float, t1: float, columns: int) -> Summary:
        """The detail if it covers the range finely enough, else the overview; asks for
        better when neither is fine enough."""
        d0, d1 = self.detail_range
        wanted_s = (t1 - t0) / max(columns, 1)
        if self.detail is not None and d0 <= t0 and t1 <= d1 and self.detail.bucket_s <= wanted_s:
            return self.detail
        if self.overview.bucket_s > wanted_s and self.on_need is not None:
            self.on_need(t0, t1, columns)
        covers = self.detail is not None and d0 <= t0 and t1 <= d1
        finer = covers and self.detail.bucket_s < self.overview.bucket_s
        return self.detail if finer else self.overview

    def view(self, t0: float, t1: float, columns: int) -> tuple[np.ndarray, np.ndarray]:
        """Two points (min, max) per bucket in ``[t0, t1]``, plus one bucket either side."""
        summary = self._best(t0, t1, columns)
        times = summary.time_s
        i0 = max(int(np.searchsorted(times, t0, side="left")) - 1, 0)
        i1 = min(int(np.searchsorted(times, t1, side="right")) + 1, len(times))
        middle = times[i0:i1] + summary.bucket_s / 2
        x = np.repeat(middle, 2)
        y = np.empty(len(x))
        y[0::2] = summary.minimum[i0:i1]
        y[1::2] = summary.maximum[i0:i1]
        return x, y

    def value_range(self, t0: float, t1: float) -> tuple[float, float] | None:
        summary = self._best(t0, t1, 1)
        inside = (summary.time_s + summary.bucket_s >= t0) & (summary.time_s <= t1)
        if not np.any(inside):
            return None
        return float(summary.minimum[inside].min()), float(summary.maximum[inside].max())
