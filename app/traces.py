"""Decoded time series.

A *message* and a *signal* are DBC definitions, as cantools says. What decoding a signal over
a capture gives is a *trace*: sample times, values, a validity mask, and what the database
says about the signal (unit, range, value table). Traces are what plots, statistics, labels,
exports and the stores work on.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Trace:
    """One signal decoded over every frame of its message in a capture.

    ``valid`` is False where the raw value is the "not available" pattern (all ones) or the
    physical value lies outside the database's ``minimum``/``maximum``; such samples stay in
    ``values`` (so exports can show them) but are kept out of statistics and autoscale.
    """

    signal: str
    message: str
    channel: int
    time_s: np.ndarray  # float64, seconds on the capture's (repaired) time axis
    values: np.ndarray  # float64 physical values
    valid: np.ndarray  # bool
    unit: str = ""
    minimum: float | None = None
    maximum: float | None = None
    choices: dict[float, str] | None = None  # value table: physical value -> name
    role: str | None = None  # battery role, e.g. "pack_voltage" or "cell_voltage:37"
    comment: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def key(self) -> str:
        """A name unique within a session: ``channel/message/signal``."""
        return f"{self.channel}/{self.message}/{self.signal}"

    @property
    def is_enum(self) -> bool:
        return bool(self.choices)

    @property
    def invalid_count(self) -> int:
        return int(len(self.valid) - np.count_nonzero(self.valid))

    @property
    def nbytes(self) -> int:
        return self.time_s.nbytes + self.values.nbytes + self.valid.nbytes

    def __len__(self) -> int:
        return len(self.time_s)

    def valid_values(self) -> np.ndarray:
        return self.values[self.valid]

    def label_for(self, value: float) -> str | None:
        """The value-table name for ``value``, if the signal has one."""
        if not self.choices or not np.isfinite(value):
            return None
        return choice_name(self.choices, value)


def choice_name(choices: dict[float, str], value: float) -> str | None:
    """The name of ``value`` in a physical-valued table, tolerating float rounding."""
    name = choices.get(value)
    if name is not None:
        return name
    for key, name in choices.items():
        if abs(key - value) <= 1e-9 * max(1.0, abs(key)):
            return name
    return None
