"""Loading CAN databases (DBC, KCD, SYM, ARXML) the way real files need it.

About half of the DBC files found in the wild fail cantools' strict mode and some fail even
the lenient one. :func:`load_database` therefore tries, in order: strict, non-strict, and
then a repaired copy of the text, and records on the result what it had to do:

- ``warnings``: what is odd about the database but was loaded as written (overlapping
  signals, an ``IMPORT`` of another file, strict-mode complaints);
- ``repairs``: what was changed before cantools accepted it (text encoding, ``VAL_``/``CM_``
  entries naming signals or messages that do not exist, 29-bit identifiers written without
  the extended flag, signal names starting with a digit, SYM quirks).

Only when nothing works does it raise :class:`app.errors.DatabaseError`.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import cantools
from cantools.database.can import Database

from app.errors import DatabaseError

log = logging.getLogger(__name__)

FORMATS = {".dbc": "dbc", ".kcd": "kcd", ".sym": "sym", ".arxml": "arxml", ".xml": "arxml"}

EXTENDED_FLAG = 0x80000000
# Vector CANdb++ parks unused signals in this pseudo-message (ID 0xC0000000).
VECTOR_PSEUDO_MESSAGE = "VECTOR__INDEPENDENT_SIG_MSG"

# CM_ "IMPORT _vw_meb_common.dbc";  (opendbc's generator convention)
IMPORT_RE = re.compile(r'^CM_\s+"IMPORT\s+([^"]+?)"\s*;', re.MULTILINE)
# BO_ 316 VZE_04: 8 XXX
MESSAGE_RE = re.compile(r"^(\s*BO_\s+)(\d+)(\s+)(\w+)(\s*:)", re.MULTILINE)
# SG_ 1stGear : 0|8@1+ (1,0) [0|255] "" XXX   (a name cantools' grammar refuses)
DIGIT_SIGNAL_RE = re.compile(
    r"^(\s*SG_\s+)(\d\w*[A-Za-z_]\w*)(?=\s+(?:m\d+M?|M)?\s*:)", re.MULTILINE
)
# BO_ 1280 2ndMotorStatus: 8 MCU   (message names are only written here)
DIGIT_MESSAGE_RE = re.compile(r"^(\s*BO_\s+\d+\s+)(\d\w*[A-Za-z_]\w*)(?=\s*:)", re.MULTILINE)
# VAL_ 715 GasRegenCmdActiveInv 1 "Inactive" 0 "Active" ;
VAL_RE = re.compile(r"^\s*VAL_\s+(\d+)\s+(\w+)\s[^;]*;[ \t]*\n?", re.MULTILINE)
# CM_ SG_ 3221225472 TCSOC "Position in frame?";   (comments may span lines)
COMMENT_SG_RE = re.compile(r'^\s*CM_\s+SG_\s+(\d+)\s+(\w+)\s+"(?:[^"\\]|\\.)*"\s*;[ \t]*\n?', re.M)
# Mux=S_VIFC_GET_POWER_MODE 0,8 DFh   (SYM hex values that begin with a letter)
SYM_HEX_RE = re.compile(r"^(Mux=\S+\s+\d+,\d+\s+)([0-9A-Fa-f]+)h\b", re.MULTILINE)
# DBC: "Invalid syntax at line 5, column 9: "BO_ 100 >>!<<1Msg: 8 A""
SYNTAX_LINE_RE = re.compile(r"Invalid syntax at line (\d+)")
MAX_DROPPED_LINES = 40
SYM_VERSION_RE = re.compile(r"^FormatVersion=(\d+\.\d+)", re.MULTILINE)


# Databases already loaded in this process, by resolved path and content hash: parsing a big
# DBC takes seconds, and sessions reopen with the same files. The cantools database and the
# decode plans are shared between the copies handed out, which only read them.
_LOADED: dict[tuple[str, str], LoadedDatabase] = {}


@dataclass
class LoadedDatabase:
    """A cantools database and what it took to load it.

    ``channel`` is the CAN channel the database applies to (None: every channel).
    ``mode`` says how it loaded: ``"strict"``, ``"non-strict"`` or ``"repaired"``.
    """

    path: Path
    db: Database
    sha256: str
    format: str
    mode: str
    warnings: list[str] = field(default_factory=list)
    repairs: list[str] = field(default_factory=list)
    imports: list[str] = field(default_factory=list)
    channel: int | None = None
    plans: dict = field(default_factory=dict, repr=False)  # decode plans, see app.decode

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def messages(self) -> list:
        return self.db.messages


def load_database(path: str | Path, channel: int | None = None) -> LoadedDatabase:
    """Load one database file; raise DatabaseError only when even repairs do not help."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DatabaseError(path, f"cannot read the file: {exc.strerror or exc}") from exc
    key = (str(path.resolve()), hashlib.sha256(raw).hexdigest())
    cached = _LOADED.get(key)
    if cached is not None:
        log.debug("database %s: unchanged since it was last loaded", path.name)
        return replace(
            cached,
            channel=channel,
            warnings=list(cached.warnings),
            repairs=list(cached.repairs),
            imports=list(cached.imports),
        )

    database_format = _format_of(path, raw)
    loaded = _load_text(path, raw, database_format, seen=set())
    loaded.channel = channel
    loaded.warnings.extend(_duplicate_warnings(loaded.db))
    loaded.warnings.extend(_overlap_warnings(loaded.db))
    if not loaded.imports:  # an imported file may change on its own: load those afresh
        _LOADED[key] = loaded
    for warning in loaded.warnings:
        log.info("%s: %s", path.name, warning)
    for repair in loaded.repairs:
        log.info("%s: repaired: %s", path.name, repair)
    level = logging.WARNING if loaded.mode != "strict" or loaded.repairs else logging.INFO
    log.log(
        level,
        "database %s loaded (%s, %s): %d messages, %d warnings, %d repairs",
        path.name,
        database_format,
        loaded.mode,
        len(loaded.db.messages),
        len(loaded.warnings),
        len(loaded.repairs),
    )
    return loaded


def load_databases(
    paths: Sequence[str | Path],
    channels: Sequence[int | None] | Mapping[str | Path, int | None] | None = None,
) -> list[LoadedDatabase]:
    """Load several databases; ``channels`` gives each one its CAN channel.

    ``channels`` is either a sequence parallel to ``paths`` or a mapping from path to
    channel; a database without a channel applies to every channel.
    """
    result = []
    for i, path in enumerate(paths):
        if channels is None:
            channel = None
        elif isinstance(channels, Mapping):
            channel = channels.get(path, channels.get(str(path)))
        else:
            channel = channels[i]
        result.append(load_database(path, channel=channel))
    return result


def sha256_of(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


# ---------------------------------------------------------------------------------------
# The load ladder: strict, non-strict, repaired.


def _format_of(path: Path, raw: bytes) -> str:
    suffix = path.suffix.lower()
    if suffix in FORMATS:
        return FORMATS[suffix]
    head = raw[:4096].lstrip(b"\xef\xbb\xbf").lstrip()
    if head.startswith(b"<"):
        return "kcd" if b"NetworkDefinition" in head else "arxml"
    if b"FormatVersion=" in head:
        return "sym"
    return "dbc"


def _load_text(path: Path, raw: bytes, database_format: str, seen: set) -> LoadedDatabase:
    sha = hashlib.sha256(raw).hexdigest()
    repairs: list[str] = []
    text = _decode_text(raw, repairs)
    warnings: list[str] = []

    db, mode, errors = _try_load(text, database_format)
    if db is None:
        text = _repair_text(text, database_format, repairs, errors[-1])
        db, mode, more_errors = _try_load(text, database_format)
        errors.extend(more_errors)
        if db is None and database_format == "dbc":
            text, db = _drop_bad_lines(text, repairs, more_errors[-1])
        if db is None:
            detail = "; ".join(dict.fromkeys(_short(e) for e in errors))
            raise DatabaseError(
                path,
                f"not a {database_format.upper()} file cantools can load "
                f"even after repairs: {detail}",
            )
        mode = "repaired"
    if mode != "strict" and errors:
        warnings.append(f"strict loading failed: {_short(errors[0])}")

    loaded = LoadedDatabase(path, db, sha, database_format, mode, warnings, repairs)
    if database_format == "dbc":
        _follow_imports(loaded, text, seen | {path.resolve()})
    _drop_pseudo_messages(loaded)
    return loaded


def _decode_text(raw: bytes, repairs: list[str]) -> str:
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        repairs.append(f"text is not UTF-8 (byte {exc.start}); read as cp1252")
        return raw.decode("cp1252")


def _drop_bad_lines(text: str, repairs: list[str], error: str) -> tuple[str, Database | None]:
    """The last resort: leave out, one at a time, the lines cantools cannot parse.

    Each dropped line is a repair of its own, with its number and text; after
    ``MAX_DROPPED_LINES`` the file is given up on.
    """
    lines = text.splitlines(keepends=True)
    dropped = []
    for _ in range(MAX_DROPPED_LINES):
        where = SYNTAX_LINE_RE.search(error)
        if where is None or not 1 <= int(where.group(1)) <= len(lines):
            return text, None
        number = int(where.group(1))
        dropped.append(f"line {number}: {lines[number - 1].strip()[:80]}")
        lines[number - 1] = "\n"  # keep the numbering of the lines after it
        text = "".join(lines)
        try:
            db = cantools.database.load_string(text, "dbc", strict=False)
        except Exception as exc:  # noqa: BLE001 - cantools raises many kinds for bad text
            error = str(exc)
            continue
        if not db.messages:
            return text, None  # nothing usable was left
        repairs.extend(f"left out a line cantools cannot parse, {d}" for d in dropped)
        return text, db
    return text, None


def _try_load(text: str, database_format: str) -> tuple[Database | None, str, list[str]]:
    errors = []
    for strict in (True, False):
        try:
            db = cantools.database.load_string(text, database_format, strict=strict)
        except Exception as exc:  # noqa: BLE001 - cantools raises many kinds for bad text
            errors.append(str(exc))
            continue
        return db, "strict" if strict else "non-strict", errors
    return None, "", errors


def _short(error: str) -> str:
    error = " ".join(error.split())
    return error if len(error) < 200 else error[:197] + "..."


# ---------------------------------------------------------------------------------------
# Repairs of the text, each one recorded.


def _repair_text(text: str, database_format: str, repairs: list[str], error: str) -> str:
    if database_format == "sym":
        return _repair_sym(text, repairs)
    if database_format != "dbc":
        return text
    text = _repair_digit_names(text, repairs)
    text = _repair_extended_ids(text, repairs)
    text = _repair_dangling_entries(text, repairs)
    return text


def _repair_digit_names(text: str, repairs: list[str]) -> str:
    names = sorted(set(DIGIT_SIGNAL_RE.findall(text)), key=lambda m: -len(m[1]))
    for _, name in names:
        new = f"_{name}"
        text = re.sub(rf"(?<![\w.]){re.escape(name)}(?!\w)", new, text)
        repairs.append(f"signal {name} starts with a digit; renamed {new}")

    def rename_message(match: re.Match) -> str:
        repairs.append(f"message {match.group(2)} starts with a digit; renamed _{match.group(2)}")
        return f"{match.group(1)}_{match.group(2)}"

    return DIGIT_MESSAGE_RE.sub(rename_message, text)


def _repair_extended_ids(text: str, repairs: list[str]) -> str:
    def fix(match: re.Match) -> str:
        frame_id = int(match.group(2))
        if 0x7FF < frame_id <= 0x1FFFFFFF:
            fixed.append((match.group(4), frame_id))
            return f"{match.group(1)}{frame_id | EXTENDED_FLAG}{match.group(3)}" + "".join(
                match.group(4, 5)
            )
        return match.group(0)

    fixed: list[tuple[str, int]] = []
    text = MESSAGE_RE.sub(fix, text)
    if not fixed:
        return text
    names = ", ".join(f"{name} (0x{frame_id:X})" for name, frame_id in fixed)
    repairs.append(
        f"{len(fixed)} messages have 29-bit IDs written without the extended flag; "
        f"read as extended: {names}"
    )
    # Every other section names the message by the same number: give them the flag too.
    for _, frame_id in fixed:
        text = re.sub(
            rf"(\b(?:BO_|SG_|VAL_|BO_TX_BU_|SIG_VALTYPE_|SG_MUL_VAL_|BA_)\s+(?:\"\w+\"\s+)?"
            rf"(?:BO_\s+|SG_\s+)?){frame_id}\b",
            lambda m, f=frame_id: f"{m.group(1)}{f | EXTENDED_FLAG}",
            text,
        )
    return text


def _repair_dangling_entries(text: str, repairs: list[str]) -> str:
    signals_of = _declared_signals(text)

    def keep(match: re.Match, what: str) -> str:
        frame_id, signal = int(match.group(1)), match.group(2)
        if signal in signals_of.get(frame_id, ()):
            return match.group(0)
        dropped.append(f"{what} for {signal} on message {frame_id}")
        return ""

    dropped: list[str] = []
    text = VAL_RE.sub(lambda m: keep(m, "value table"), text)
    text = COMMENT_SG_RE.sub(lambda m: keep(m, "comment"), text)
    if dropped:
        shown = ", ".join(dropped[:5]) + (
            f" and {len(dropped) - 5} more" if len(dropped) > 5 else ""
        )
        repairs.append(f"dropped {len(dropped)} entries naming no defined signal: {shown}")
    return text


def _declared_signals(text: str) -> dict[int, set[str]]:
    """Message ID -> the signal names its BO_ block declares (pseudo-message excluded)."""
    signals: dict[int, set[str]] = {}
    current: set[str] | None = None
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("BO_ "):
            match = MESSAGE_RE.match(line)
            if match is None:
                current = None
                continue
            current = set()
            if match.group(4) != VECTOR_PSEUDO_MESSAGE:
                signals[int(match.group(2))] = current
        elif stripped.startswith("SG_ ") and current is not None:
            current.add(stripped.split()[1])
        elif stripped and not stripped.startswith("SG_"):
            current = None
    return signals


def _repair_sym(text: str, repairs: list[str]) -> str:
    version = SYM_VERSION_RE.search(text)
    if version and version.group(1) != "6.0":
        text = SYM_VERSION_RE.sub("FormatVersion=6.0", text, count=1)
        # Version 5 spells two keywords differently: "enum X(...)" and "DLC=".
        text = re.sub(r"^enum\s+(\w+)\(", r"Enum=\1(", text, flags=re.MULTILINE)
        text = re.sub(r"^DLC=", "Len=", text, flags=re.MULTILINE)
        repairs.append(f"SYM format version {version.group(1)} read as 6.0 (enum, DLC=)")
    count = len(SYM_HEX_RE.findall(text))
    if count:
        text = SYM_HEX_RE.sub(lambda m: f"{m.group(1)}{int(m.group(2), 16)}", text)
        repairs.append(f"{count} hexadecimal multiplexer values (such as DFh) read as decimal")
    return text


# ---------------------------------------------------------------------------------------
# After loading: imports, pseudo-messages, overlaps.


def _follow_imports(loaded: LoadedDatabase, text: str, seen: set) -> None:
    for name in IMPORT_RE.findall(text):
        loaded.imports.append(name)
        target = loaded.path.parent / name
        if not loaded.db.messages:
            loaded.warnings.append(f"defines no messages itself; it only imports {name}")
        if target.resolve() in seen:
            loaded.warnings.append(f"imports {name} again (an import cycle); ignored")
            continue
        if not target.is_file():
            loaded.warnings.append(
                f"imports {name}, which is not beside it: the messages it defines are missing"
            )
            continue
        try:
            raw = target.read_bytes()
            imported = _load_text(target, raw, "dbc", seen)
        except (OSError, DatabaseError) as exc:
            loaded.warnings.append(f"imports {name}, which does not load: {exc}")
            continue
        _merge(loaded, imported, name)


def _merge(loaded: LoadedDatabase, imported: LoadedDatabase, name: str) -> None:
    have_ids = {(m.frame_id, m.is_extended_frame) for m in loaded.db.messages}
    have_names = {m.name for m in loaded.db.messages}
    added = 0
    for message in imported.db.messages:
        if (message.frame_id, message.is_extended_frame) in have_ids or message.name in have_names:
            continue
        loaded.db.messages.append(message)
        added += 1
    loaded.db = _rebuilt(loaded.db, loaded.db.messages)
    loaded.warnings.append(f"imports {name}: {added} messages taken from it")
    loaded.warnings.extend(f"{name}: {w}" for w in imported.warnings)
    loaded.repairs.extend(f"{name}: {r}" for r in imported.repairs)


def _drop_pseudo_messages(loaded: LoadedDatabase) -> None:
    kept = [m for m in loaded.db.messages if m.name != VECTOR_PSEUDO_MESSAGE]
    if len(kept) != len(loaded.db.messages):
        loaded.db = _rebuilt(loaded.db, kept)


def _rebuilt(db: Database, messages: list) -> Database:
    """The database with another message list, indexed again without strict checks."""
    return Database(
        messages=list(messages),
        nodes=db.nodes,
        buses=db.buses,
        version=db.version,
        dbc_specifics=db.dbc,
        autosar_specifics=db.autosar,
        strict=False,
    )


def _duplicate_warnings(db: Database) -> list[str]:
    """Two messages with one name or one ID: lookups by name find only the last one."""
    warnings = []
    names: dict[str, int] = {}
    ids: dict[tuple[int, bool], str] = {}
    for message in db.messages:
        names[message.name] = names.get(message.name, 0) + 1
        key = (message.frame_id, bool(message.is_extended_frame))
        if key in ids:
            warnings.append(
                f"messages {ids[key]} and {message.name} have the same ID 0x{key[0]:X}; "
                f"frames decode as {message.name}"
            )
        ids[key] = message.name
    warnings.extend(
        f"{count} messages are named {name}; they decode separately by ID"
        for name, count in names.items()
        if count > 1
    )
    return warnings


def _overlap_warnings(db: Database) -> list[str]:
    """One warning per pair of signals that share bits and can be present together."""
    warnings = []
    for message in db.messages:
        if getattr(message, "is_container", False):
            continue
        bits = [(s, _bits_of(s)) for s in message.signals]
        for i, (first, first_bits) in enumerate(bits):
            for second, second_bits in bits[i + 1 :]:
                if first_bits & second_bits and _can_coexist(first, second):
                    warnings.append(
                        f"message {message.name}: signals {first.name} and {second.name} overlap"
                    )
    return warnings


def _bits_of(signal) -> set[int]:
    """Bit positions in little-endian numbering (byte * 8 + bit)."""
    if signal.byte_order == "little_endian":
        return set(range(signal.start, signal.start + signal.length))
    positions = set()
    byte, bit = divmod(signal.start, 8)
    for _ in range(signal.length):
        positions.add(byte * 8 + bit)
        if bit == 0:
            byte, bit = byte + 1, 7
        else:
            bit -= 1
    return positions


def _can_coexist(first, second) -> bool:
    if first.multiplexer_signal and first.multiplexer_signal == second.multiplexer_signal:
        return bool(set(first.multiplexer_ids or ()) & set(second.multiplexer_ids or ()))
    return True
