"""Battery roles: what a trace *means*, independent of what a DBC calls it.

Analysis, the fleet view and the stores ask for "pack current" or "cell 37 voltage", never
for ``f_PackValuesP0.Current``. A role mapping file says which signal of which database
plays which role. It is TOML, in ``dbc/roles/<name>.toml``::

    # Which database files this mapping is for: by file name, by sha256, or both.
    # A sha256 match wins over a file-name match.
    [database]
    files = ["foxbms.dbc"]
    sha256 = []

    # One role, one signal, written "message.signal".
    [roles]
    pack_voltage = "f_PackValuesP0.BatteryVoltage"
    pack_current = "f_PackValuesP0.Current"
    "cell_voltage:1" = "f_CellVoltages.CellVoltage_000"

    # Numbered roles from a pattern: {n} runs from `first` (the signal of index 1)
    # through `first + count - 1`; any Python format spec works ({n:03d}).
    [[series]]
    role = "cell_voltage"
    signal = "f_CellVoltages.CellVoltage_{n:03d}"
    first = 0
    count = 216

Role names are the keys of :data:`ROLES`; numbered roles are written ``cell_voltage:N`` and
``cell_temperature:N`` with N counted from 1. Where no mapping matches a database,
:func:`assign_roles` guesses from signal names and units and says so: the trace gets
``extra["role_source"] = "guessed"`` and a warning is returned.
"""

from __future__ import annotations

import logging
import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from app.errors import DatabaseError
from app.paths import shipped_dir
from app.traces import Trace

log = logging.getLogger(__name__)

# Role -> what it is; numbered roles take ":N".
ROLES = {
    "pack_voltage": "battery pack voltage",
    "pack_current": "battery pack current",
    "soc": "state of charge",
    "bms_soh": "state of health as the BMS reports it",
    "cell_voltage": "voltage of cell N",
    "cell_temperature": "temperature of sensor N",
    "min_cell_voltage": "lowest cell voltage",
    "max_cell_voltage": "highest cell voltage",
    "min_cell_temperature": "lowest cell temperature",
    "max_cell_temperature": "highest cell temperature",
    "charger_state": "charger or charging state",
    "contactor_state": "main contactor state",
    "vehicle_speed": "vehicle speed",
    "odometer": "odometer",
    "ambient_temperature": "ambient (outside) temperature",
}
NUMBERED_ROLES = ("cell_voltage", "cell_temperature")


@dataclass
class RoleMapping:
    """One mapping file: which databases it is for and role -> (message, signal)."""

    path: Path
    files: list[str] = field(default_factory=list)
    sha256: list[str] = field(default_factory=list)
    roles: dict[str, tuple[str, str]] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.path.stem

    def matches(self, database) -> str | None:
        """``"sha256"`` or ``"file name"`` when this mapping is for ``database``."""
        if database.sha256 in self.sha256:
            return "sha256"
        if database.path.name in self.files:
            return "file name"
        return None


def role_base(role: str) -> str:
    """``cell_voltage:37`` -> ``cell_voltage``."""
    return role.split(":", 1)[0]


def role_index(role: str) -> int | None:
    """``cell_voltage:37`` -> 37; None for roles without an index."""
    _, _, index = role.partition(":")
    return int(index) if index else None


def check_role(role: str) -> str | None:
    """What is wrong with a role name, or None when it is a known role."""
    base, _, index = role.partition(":")
    if base not in ROLES:
        return f"unknown role {role!r} (known: {', '.join(ROLES)})"
    if base in NUMBERED_ROLES:
        if not index.isdigit() or int(index) < 1:
            return f"role {role!r} needs an index from 1, as in {base}:1"
    elif index:
        return f"role {base!r} takes no index"
    return None


def load_mapping(path: str | Path) -> RoleMapping:
    """Read one mapping file; a bad file raises DatabaseError naming what is wrong."""
    path = Path(path)
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise DatabaseError(path, f"not a readable role mapping: {exc}") from exc

    database = document.get("database", {})
    mapping = RoleMapping(
        path=path,
        files=[str(f) for f in database.get("files", [])],
        sha256=[str(h).lower() for h in database.get("sha256", [])],
    )
    if not mapping.files and not mapping.sha256:
        raise DatabaseError(path, "[database] names no files and no sha256")

    for role, target in document.get("roles", {}).items():
        mapping.roles[role] = _parse_target(path, role, target)
    for number, series in enumerate(document.get("series", []), start=1):
        _expand_series(path, number, series, mapping.roles)

    for role in mapping.roles:
        problem = check_role(role)
        if problem:
            raise DatabaseError(path, problem)
    return mapping


def load_mappings(folder: str | Path | None = None) -> list[RoleMapping]:
    """Every mapping in ``folder`` (default: the shipped ``dbc/roles``), bad ones skipped."""
    folder = Path(folder) if folder is not None else shipped_dir("dbc") / "roles"
    mappings = []
    for path in sorted(folder.glob("*.toml")):
        try:
            mappings.append(load_mapping(path))
        except DatabaseError as exc:
            log.error("role mapping skipped: %s", exc)
    return mappings


def mapping_for(database, mappings: Iterable[RoleMapping]) -> RoleMapping | None:
    """The mapping for a LoadedDatabase: a sha256 match first, then a file-name match."""
    mappings = list(mappings)
    for how in ("sha256", "file name"):
        for mapping in mappings:
            if mapping.matches(database) == how:
                return mapping
    return None


def assign_roles(
    traces: Sequence[Trace],
    databases: Sequence,
    mappings: Sequence[RoleMapping] | None = None,
) -> list[str]:
    """Set ``Trace.role`` from the mappings, guessing where none applies.

    Traces name their database in ``extra["database"]`` (file name) and
    ``extra["database_sha256"]``, as :func:`app.decode.decode_frames` sets them. Returns the
    warnings: guesses, and mappings that may not fit their database (mapped signals that
    the capture does not contain are not warnings).
    """
    mappings = load_mappings() if mappings is None else list(mappings)
    warnings: list[str] = []
    by_database: dict[tuple[str, str], list[Trace]] = {}
    for trace in traces:
        key = (trace.extra.get("database", ""), trace.extra.get("database_sha256", ""))
        by_database.setdefault(key, []).append(trace)

    for database in databases:
        owned = by_database.pop((database.path.name, database.sha256), [])
        owned += by_database.pop((database.path.name, ""), [])  # traces made elsewhere
        if not owned:
            continue
        mapping = mapping_for(database, mappings)
        if mapping is not None:
            warnings.extend(_mapping_doubts(mapping, database))
            _apply_mapping(owned, mapping)
        else:
            warnings.extend(_guess_roles(owned, database.path.name))
    for (name, _), orphans in by_database.items():
        warnings.extend(_guess_roles(orphans, name or "an unnamed database"))
    return warnings


# ---------------------------------------------------------------------------------------
# Mapping files.


def _parse_target(path: Path, role: str, target) -> tuple[str, str]:
    if not isinstance(target, str) or target.count(".") != 1:
        raise DatabaseError(path, f'role {role}: expected "message.signal", got {target!r}')
    message, signal = target.split(".")
    return message.strip(), signal.strip()


def _expand_series(path: Path, number: int, series: dict, roles: dict) -> None:
    try:
        base = series["role"]
        pattern = series["signal"]
        first = int(series.get("first", 1))
        count = int(series["count"])
    except (KeyError, TypeError, ValueError) as exc:
        raise DatabaseError(
            path, f"[[series]] number {number} needs role, signal, count (and first): {exc}"
        ) from exc
    if base not in NUMBERED_ROLES:
        raise DatabaseError(path, f"[[series]] number {number}: {base!r} is not a numbered role")
    for index in range(1, count + 1):
        try:
            target = pattern.format(n=first + index - 1)
        except (KeyError, IndexError, ValueError) as exc:
            raise DatabaseError(
                path, f"[[series]] number {number}: bad pattern {pattern!r}: {exc}"
            ) from exc
        roles.setdefault(f"{base}:{index}", _parse_target(path, base, target))


def _mapping_doubts(mapping: RoleMapping, database) -> list[str]:
    """Why a mapping may not fit: another version of the file, signals it does not have."""
    doubts = []
    if mapping.matches(database) == "file name" and mapping.sha256:
        doubts.append(
            f"{database.path.name}: role mapping {mapping.path.name} is for another version "
            "of this file (its sha256 differs); roles may be wrong"
        )
    defined = {(m.name, s.name) for m in database.db.messages for s in m.signals}
    missing = [f"{m}.{s}" for m, s in mapping.roles.values() if (m, s) not in defined]
    if missing:
        shown = ", ".join(missing[:5]) + (
            f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        )
        doubts.append(
            f"{database.path.name}: role mapping {mapping.path.name} names signals the "
            f"database does not define: {shown}"
        )
    return doubts


def _apply_mapping(traces: Sequence[Trace], mapping: RoleMapping) -> None:
    wanted = {target: role for role, target in mapping.roles.items()}
    found = 0
    for trace in traces:
        role = wanted.get((trace.extra.get("dbc_message", trace.message), trace.signal))
        if role is not None:
            trace.role = role
            trace.extra["role_source"] = f"mapping {mapping.path.name}"
            found += 1
    log.info(
        "roles from %s: %d of %d mapped signals present", mapping.path.name, found, len(wanted)
    )


# ---------------------------------------------------------------------------------------
# Guessing from names and units.

VOLT_UNITS = {"v", "volt", "volts"}
MILLIVOLT_UNITS = {"mv"}
AMP_UNITS = {"a", "amp", "amps", "ampere"}
PERCENT_UNITS = {"%", "percent", "pct"}
TEMP_UNITS = {"degc", "°c", "c", "deg c", "celsius", "degrees c", "k"}
SPEED_UNITS = {"km/h", "kph", "kmh", "mph", "km/hr"}
DISTANCE_UNITS = {"km", "mi", "miles", "m"}

NOT_MEASURED = {"limit", "lim", "max", "min", "maximum", "minimum", "minumum", "target",
                "setpoint", "request", "req", "cmd", "command", "avail", "available",
                "threshold", "thresh", "allowed", "alert", "fault", "error", "warning", "warn",
                "flag", "imbalance", "resp", "response"}  # fmt: skip


# Words that make a signal the battery's, and words that make it another circuit's.
BATTERY_WORDS = {
    "pack",
    "batt",
    "battery",
    "bat",
    "hvbatt",
    "hvbat",
    "hvb",
    "bms",
    "lb",
    "traction",
}
WEAK_BATTERY_WORDS = {"hv", "total", "dc"}
OTHER_CIRCUITS = {"mains", "ac", "coil", "dcdc", "charger", "chg", "module", "isolation", "iso",
                  "fan", "motor", "inverter", "lv", "aux", "pump", "heater", "pwm", "rail", "link",
                  "ptc", "compressor", "evse", "pilot", "cable", "sensor", "12v", "mg", "fc",
                  "cont", "contactor", "precharge", "bus"}  # fmt: skip


def _words(name: str) -> list[str]:
    """Lower-case words of a signal name, also without trailing numbers ("Max332" gives
    "max332" and "max": Tesla's names end in their message ID)."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    words = [w for w in re.split(r"[^a-z0-9]+", spaced.lower()) if w]
    return words + [bare for w in words if (bare := w.rstrip("0123456789")) and bare != w]


def _guess_roles(traces: Sequence[Trace], database_name: str) -> list[str]:
    best: dict[str, tuple[int, Trace]] = {}
    numbered: list[tuple[str, int, Trace]] = []
    for trace in traces:
        for role, score in _candidates(trace):
            if role in NUMBERED_ROLES:
                index = _number_in(trace.signal)
                if index is not None:
                    numbered.append((role, index, trace))
            elif score > best.get(role, (0, None))[0]:
                best[role] = (score, trace)

    warnings = []
    for role, (_, trace) in best.items():
        if trace.role is None:
            _set_guess(trace, role)
            warnings.append(f"{database_name}: guessed {role} = {trace.message}.{trace.signal}")
    for base in NUMBERED_ROLES:
        series = [(index, trace) for role, index, trace in numbered if role == base]
        if not series:
            continue
        zero_based = min(index for index, _ in series) == 0
        for index, trace in series:
            if trace.role is None:
                _set_guess(trace, f"{base}:{index + 1 if zero_based else index}")
        warnings.append(f"{database_name}: guessed {base} for {len(series)} signals by name")
    return warnings


def _set_guess(trace: Trace, role: str) -> None:
    trace.role = role
    trace.extra["role_source"] = "guessed"


def _number_in(name: str) -> int | None:
    digits = re.findall(r"\d+", name)
    return int(digits[-1]) if digits else None


def _candidates(trace: Trace) -> list[tuple[str, int]]:
    """(role, score) pairs this trace could play; higher scores are likelier."""
    words = set(_words(trace.signal))
    joined = "".join(re.split(r"[^a-z0-9]+", trace.signal.lower()))
    unit = trace.unit.strip().lower()
    measured = not (words & NOT_MEASURED)
    battery = bool(words & BATTERY_WORDS)
    weak = bool(words & WEAK_BATTERY_WORDS)
    elsewhere = bool(words & OTHER_CIRCUITS) or "12v" in joined
    soc_word = any(w == "soc" or w.endswith("soc") or w.startswith("soc") for w in words)
    found = []

    if "cell" in joined and unit in VOLT_UNITS | MILLIVOLT_UNITS:
        if words & {"min", "minimum", "lowest"}:
            found.append(("min_cell_voltage", 2))
        elif words & {"max", "maximum", "highest"}:
            found.append(("max_cell_voltage", 2))
        elif _number_in(trace.signal) is not None:
            found.append(("cell_voltage", 1))
    elif "cell" in joined and "temp" in joined and unit in TEMP_UNITS:
        if words & {"min", "minimum", "lowest"}:
            found.append(("min_cell_temperature", 2))
        elif words & {"max", "maximum", "highest"}:
            found.append(("max_cell_temperature", 2))
        elif _number_in(trace.signal) is not None:
            found.append(("cell_temperature", 1))
    elif unit in VOLT_UNITS and measured and not elsewhere and ("volt" in joined or battery):
        found.append(("pack_voltage", 1 + 3 * battery + weak + ("volt" in joined)))
    elif (
        unit in AMP_UNITS
        and measured
        and not elsewhere
        and ("curr" in joined or "amp" in joined or battery)
    ):
        found.append(("pack_current", 1 + 3 * battery + weak + ("curr" in joined)))
    elif "soh" in words or ("health" in words and battery):
        found.append(("bms_soh", 2 + ("soh" in words) + (unit in PERCENT_UNITS)))
    elif soc_word and measured and (unit in PERCENT_UNITS or not unit):
        found.append(("soc", 1 + 2 * (unit in PERCENT_UNITS) + ("soc" in words) + battery))
    elif "speed" in words and unit in SPEED_UNITS:
        found.append(("vehicle_speed", 1 + bool(words & {"vehicle", "veh", "car"})))
    elif ("odometer" in joined or "odo" in words or "mileage" in joined) and (
        unit in DISTANCE_UNITS or not unit
    ):
        found.append(("odometer", 2))
    elif words & {"ambient", "outside", "outdoor", "amb"} and "temp" in joined:
        found.append(("ambient_temperature", 2))
    elif "charg" in joined and words & {"state", "status", "mode"} and trace.choices:
        found.append(("charger_state", 2))
    elif "charg" in joined and words & {"state", "status", "mode"}:
        found.append(("charger_state", 1))
    elif "contactor" in joined and words & {"state", "status"}:
        found.append(("contactor_state", 1))
    return found
