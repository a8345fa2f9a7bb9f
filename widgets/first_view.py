"""The plots a session opens with when no saved layout exists, chosen by battery role.

Pack voltage, pack current, SoC, the lowest and highest cell voltage, the lowest and highest
temperature: one plot each (min and max share one). Where a database has no min/max signals,
the first individual cells stand in. Traces without roles give no first view; the signal
browser is then where the technician starts.
"""

from __future__ import annotations

from app.traces import Trace

CELLS_INSTEAD_OF_MIN_MAX = 8

PLOTS = (
    ("pack_voltage",),
    ("pack_current",),
    ("soc",),
    ("min_cell_voltage", "max_cell_voltage"),
    ("min_cell_temperature", "max_cell_temperature"),
)
NUMBERED_FALLBACK = {3: "cell_voltage", 4: "cell_temperature"}


def first_view(traces: list[Trace]) -> list[list[str]]:
    """Trace keys per plot, top to bottom."""
    by_role: dict[str, Trace] = {}
    for trace in traces:
        if trace.role and trace.role not in by_role and trace.valid.any():
            by_role[trace.role] = trace
    plots = []
    for index, roles in enumerate(PLOTS):
        keys = [by_role[role].key for role in roles if role in by_role]
        if not keys and index in NUMBERED_FALLBACK:
            keys = _numbered(by_role, NUMBERED_FALLBACK[index])
        if keys:
            plots.append(keys)
    return plots


def _numbered(by_role: dict[str, Trace], base: str) -> list[str]:
    numbered = sorted(
        (int(role.split(":", 1)[1]), trace.key)
        for role, trace in by_role.items()
        if role.startswith(base + ":") and role.split(":", 1)[1].isdigit()
    )
    return [key for _, key in numbered[:CELLS_INSTEAD_OF_MIN_MAX]]
