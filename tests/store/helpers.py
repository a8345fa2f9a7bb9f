"""Test sessions built with numpy: a few traces at different rates, some samples invalid."""

from __future__ import annotations

import hashlib

import numpy as np

from app.store import SessionUpload
from app.store.copy import PG_EPOCH_UNIX_US
from app.traces import Trace

ORIGIN_EPOCH_S = 1_700_000_000.25  # 2023-11-14 22:13:20.25 UTC: not on a whole minute


def make_traces(samples: int = 5_000, seed: int = 1, duration_s: float = 600.0) -> list[Trace]:
    rng = np.random.default_rng(seed)
    traces = []
    specs = [
        ("PackVoltage", "BMS_Pack", "V", "pack_voltage", 1.0),
        ("PackCurrent", "BMS_Pack", "A", "pack_current", 1.0),
        ("SoC", "BMS_State", "%", "soc", 0.5),
        ("SoH", "BMS_State", "%", "bms_soh", 0.1),
    ]
    for signal, message, unit, role, rate in specs:
        count = max(2, int(samples * rate))
        time_s = np.sort(rng.uniform(0.0, duration_s, count))
        time_s = np.round(time_s, 6)  # the database keeps microseconds
        values = rng.normal(350.0, 20.0, count)
        valid = rng.random(count) > 0.02
        traces.append(
            Trace(
                signal,
                message,
                0,
                time_s,
                values,
                valid,
                unit=unit,
                role=role,
                minimum=0.0,
                maximum=1000.0,
            )
        )
    return traces


def make_upload(
    name: str = "test session",
    vehicle: str = "WBY1Z21000V000001",
    seed: int = 1,
    samples: int = 5_000,
    **kwargs,
) -> SessionUpload:
    traces = kwargs.pop("traces", None) or make_traces(samples, seed)
    digest = hashlib.sha256(f"{vehicle}/{name}/{seed}/{samples}".encode()).hexdigest()
    return SessionUpload(
        vehicle=vehicle,
        name=name,
        source_file=f"{name}.blf",
        source_sha256=digest,
        traces=traces,
        origin_epoch_s=ORIGIN_EPOCH_S,
        databases=[{"name": "ev_battery.dbc", "sha256": "0" * 64}],
        **kwargs,
    )


def pg_time_us(trace: Trace) -> tuple[np.ndarray, np.ndarray]:
    """A test trace's valid samples as the database stores them: (µs since 2000, value)."""
    origin_us = round(ORIGIN_EPOCH_S * 1e6) - PG_EPOCH_UNIX_US
    time_us = np.round(trace.time_s[trace.valid] * 1e6).astype(np.int64) + origin_us
    return time_us, trace.values[trace.valid]


def numpy_minute_buckets(trace: Trace, start_s: float, end_s: float, width_px: int):
    """What the server's per-minute summary should give for ``trace``, done in numpy: each
    whole minute that starts in the range goes to the pixel bucket its start falls in."""
    origin_us = round(ORIGIN_EPOCH_S * 1e6) - PG_EPOCH_UNIX_US
    t0_us = origin_us + round(start_s * 1e6)
    t1_us = origin_us + round(end_s * 1e6)
    bucket_us = -(-(t1_us - t0_us) // width_px)
    time_us, values = pg_time_us(trace)
    minute_us = time_us // 60_000_000 * 60_000_000
    keep = (minute_us >= t0_us // 60_000_000 * 60_000_000) & (minute_us < t1_us)
    # the first, partial minute starts before t0: clipped into bucket 0, as the server does
    buckets = np.clip((minute_us[keep] - t0_us) // bucket_us, 0, width_px - 1)
    found = np.unique(buckets)
    minimum = np.array([values[keep][buckets == b].min() for b in found])
    maximum = np.array([values[keep][buckets == b].max() for b in found])
    return minimum, maximum, int(np.count_nonzero(keep))
