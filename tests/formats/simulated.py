"""Random frame tables for round trips and python-can comparisons (numpy, seeded)."""

from __future__ import annotations

import numpy as np

from app.frames import FD_LENGTHS, FrameTable


def random_frames(
    n: int,
    seed: int = 0,
    start_s: float = 1.7e9,
    fd: bool = False,
    remote: bool = False,
    errors: bool = False,
    channels: int = 2,
) -> FrameTable:
    """``n`` frames at a few kHz, standard and extended IDs, any length, optional extras."""
    rng = np.random.default_rng(seed)
    is_fd = rng.random(n) < 0.2 if fd else np.zeros(n, bool)
    frames = FrameTable.empty(n, 64 if fd else 8)
    frames.timestamp[:] = start_s + np.cumsum(rng.uniform(0.0, 0.002, n))
    frames.channel[:] = rng.integers(0, channels, n)
    frames.is_extended_id[:] = rng.random(n) < 0.3
    frames.arbitration_id[:] = np.where(
        frames.is_extended_id, rng.integers(0, 1 << 29, n), rng.integers(0, 0x800, n)
    )
    classic_dlc = rng.integers(0, 9, n)
    # CAN FD frames carry at least one byte here: ASC (as python-can reads it) takes an
    # empty CAN FD frame for a remote request.
    fd_dlc = np.asarray(FD_LENGTHS)[rng.integers(1, 16, n)]
    frames.is_fd[:] = is_fd
    frames.dlc[:] = np.where(is_fd, fd_dlc, classic_dlc)
    width = frames.data.shape[1]
    payload = rng.integers(0, 256, (n, width), dtype=np.uint8)
    frames.data[:] = np.where(np.arange(width) < frames.dlc[:, None], payload, 0)
    if remote:
        rows = np.flatnonzero(~is_fd & (rng.random(n) < 0.02))
        frames.is_remote[rows] = True
        frames.data[rows] = 0
    if errors:
        rows = np.flatnonzero(~is_fd & ~frames.is_remote & (rng.random(n) < 0.01))
        frames.is_error[rows] = True
        frames.arbitration_id[rows] = 0
        frames.is_extended_id[rows] = False
        frames.dlc[rows] = 0
        frames.data[rows] = 0
    return frames
