"""Labels: classified time ranges of a session, their taxonomy, and an undo history.

A *label* marks ``start_s``..``end_s`` on a session's time axis (the capture's repaired
seconds) with a class from the taxonomy (``dbc/label_classes.toml``, or the workshop's own
copy in the configuration folder). A technician makes labels by hand; a battery rule can
propose them with a confidence, and those wait as ``pending`` until a technician accepts or
rejects them.

:class:`LabelBook` holds one session's labels in memory. Every change goes through a command
object kept in its history, so the window's undo and redo (and any other front end) drive the
same code; every applied change is handed to a *sink* (the workspace) at once, so it is on
disk before the next event is handled.
"""

from __future__ import annotations

import dataclasses
import getpass
import logging
import math
import re
import time
import tomllib
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from app import paths
from app.errors import MonitorError

log = logging.getLogger(__name__)

TAXONOMY_FILE = "label_classes.toml"
TECHNICIAN = "technician"
RULE_PREFIX = "rule:"
STATUSES = ("accepted", "rejected", "pending")
UNKNOWN_COLOUR = "#999999"

_KEY = re.compile(r"^[a-z0-9_]+$")
_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


class TaxonomyError(MonitorError):
    """A label class file cannot be used; the message names the file and the line."""

    def __init__(self, path: Path, detail: str, line: int | None = None):
        self.path = Path(path)
        self.line = line
        self.detail = detail
        where = f"{self.path}" if line is None else f"{self.path}, line {line}"
        super().__init__(f"{where}: {detail}")


class LabelError(MonitorError):
    """A label with impossible content (end before start, unknown status, ...)."""


# ---------------------------------------------------------------------------------------------
# Taxonomy


@dataclass(frozen=True)
class LabelClass:
    key: str
    name: str
    colour: str
    description: str = ""


@dataclass(frozen=True)
class Taxonomy:
    classes: tuple[LabelClass, ...]
    path: Path | None = None

    def __iter__(self):
        return iter(self.classes)

    def __len__(self) -> int:
        return len(self.classes)

    def __contains__(self, key: object) -> bool:
        return any(c.key == key for c in self.classes)

    def get(self, key: str) -> LabelClass:
        """The class called ``key``; a grey stand-in when the taxonomy no longer has it (a
        label made with an older or another workshop's list keeps its class)."""
        for label_class in self.classes:
            if label_class.key == key:
                return label_class
        return LabelClass(key, key.replace("_", " ").capitalize(), UNKNOWN_COLOUR)

    @property
    def keys(self) -> list[str]:
        return [c.key for c in self.classes]


def shipped_taxonomy_path() -> Path:
    return paths.shipped_dir("dbc") / TAXONOMY_FILE


def user_taxonomy_path() -> Path:
    return paths.config_dir() / TAXONOMY_FILE


def load_taxonomy(path: str | Path | None = None) -> Taxonomy:
    """Read a taxonomy file; without ``path``, the user's copy if there is one, else ours.

    Raises :class:`TaxonomyError` naming the file and line of the first problem.
    """
    if path is None:
        user = user_taxonomy_path()
        path = user if user.is_file() else shipped_taxonomy_path()
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TaxonomyError(path, f"cannot read the label classes: {exc}") from exc

    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # tomllib says "... (at line 12, column 3)"; lift the line into our message form
        match = re.search(r"\(at line (\d+), column \d+\)", str(exc))
        line = int(match.group(1)) if match else None
        detail = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        raise TaxonomyError(path, f"not valid TOML: {detail}", line) from exc

    taxonomy = Taxonomy(tuple(_parse_classes(document, text, path)), path)
    log.info("label classes: %d from %s", len(taxonomy), path)
    return taxonomy


def load_taxonomy_or_default() -> tuple[Taxonomy, str | None]:
    """The user's taxonomy, or ours with the reason when the user's copy is unusable."""
    try:
        return load_taxonomy(), None
    except TaxonomyError as exc:
        if exc.path == shipped_taxonomy_path():
            raise
        log.warning("%s; using the shipped label classes", exc)
        return load_taxonomy(shipped_taxonomy_path()), f"{exc}; using the shipped label classes"


def _parse_classes(document: dict, text: str, path: Path) -> Iterable[LabelClass]:
    entries = document.get("class")
    if not isinstance(entries, list) or not entries:
        raise TaxonomyError(path, 'no label classes: expected one or more "[[class]]" tables')

    headers = [n for n, line in enumerate(text.splitlines(), 1) if line.strip() == "[[class]]"]
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        line = headers[index] if index < len(headers) else None
        key, name = entry.get("key"), entry.get("name")
        colour = entry.get("colour", entry.get("color"))
        if not isinstance(key, str) or not _KEY.match(key):
            raise TaxonomyError(
                path, f"class key {key!r}: expected lower case letters, digits and _", line
            )
        if key in seen:
            raise TaxonomyError(path, f"class key {key!r} appears twice", line)
        if not isinstance(name, str) or not name.strip():
            raise TaxonomyError(path, f"class {key!r} has no name", line)
        if not isinstance(colour, str) or not _COLOUR.match(colour):
            raise TaxonomyError(
                path, f'class {key!r}: colour {colour!r} is not of the form "#rrggbb"', line
            )
        seen.add(key)
        yield LabelClass(key, name.strip(), colour.lower(), str(entry.get("description", "")))


# ---------------------------------------------------------------------------------------------
# The label


def current_author() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no user name in a bare container; labels still need a who
        return "unknown"


@dataclass(frozen=True)
class Label:
    """One classified time range of one session. Immutable: changes make a new Label."""

    session: str  # the session's key (the capture's sha256)
    start_s: float
    end_s: float
    label_class: str
    note: str = ""
    tags: tuple[str, ...] = ()
    author: str = ""
    source: str = TECHNICIAN  # "technician", or "rule:<rule name>"
    confidence: float | None = None  # rules only, 0..1
    status: str = "accepted"  # rules start "pending"
    # wall clock of time 0 on the session's axis: 0.0 when the times are Unix times already
    # (BLF, candump), the capture's start when they count from it (ASC, TRC), None if unknown
    origin_epoch_s: float | None = None
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    created_at: float = field(default_factory=time.time)
    modified_at: float = 0.0
    version: int = 1

    def __post_init__(self) -> None:
        if not (math.isfinite(self.start_s) and math.isfinite(self.end_s)):
            raise LabelError(f"label {self.id}: start and end must be finite seconds")
        if self.end_s < self.start_s:
            raise LabelError(
                f"label {self.id}: end {self.end_s} s is before start {self.start_s} s"
            )
        if self.status not in STATUSES:
            raise LabelError(f"label {self.id}: status {self.status!r} is not one of {STATUSES}")
        if self.source != TECHNICIAN and not self.source.startswith(RULE_PREFIX):
            raise LabelError(
                f"label {self.id}: source {self.source!r} is neither {TECHNICIAN!r} "
                f"nor '{RULE_PREFIX}<rule>'"
            )
        if self.confidence is not None and not 0.0 <= self.confidence <= 1.0:
            raise LabelError(f"label {self.id}: confidence {self.confidence} is not in 0..1")
        object.__setattr__(self, "tags", clean_tags(self.tags))
        if not self.modified_at:
            object.__setattr__(self, "modified_at", self.created_at)

    @classmethod
    def by_technician(cls, session: str, start_s: float, end_s: float, label_class: str, **kw):
        """A label drawn by the person at the keyboard (start and end in either order)."""
        start_s, end_s = sorted((float(start_s), float(end_s)))
        kw.setdefault("author", current_author())
        return cls(session, start_s, end_s, label_class, **kw)

    @classmethod
    def from_rule(cls, session: str, start_s, end_s, label_class: str, rule: str, confidence):
        """A label a battery rule proposes; it waits for a technician's accept or reject."""
        return cls(
            session, float(start_s), float(end_s), label_class,
            author=rule, source=RULE_PREFIX + rule, confidence=float(confidence),
            status="pending",
        )  # fmt: skip

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    @property
    def is_rule(self) -> bool:
        return self.source.startswith(RULE_PREFIX)

    @property
    def start_epoch_s(self) -> float | None:
        return None if self.origin_epoch_s is None else self.origin_epoch_s + self.start_s

    @property
    def end_epoch_s(self) -> float | None:
        return None if self.origin_epoch_s is None else self.origin_epoch_s + self.end_s

    def replace(self, **changes) -> Label:
        return dataclasses.replace(self, **changes)

    def same_content(self, other: Label) -> bool:
        """Equal apart from the bookkeeping (version and modification time)."""
        return self.replace(version=0, modified_at=1.0) == other.replace(version=0, modified_at=1.0)


def clean_tags(tags: Iterable[str] | str) -> tuple[str, ...]:
    """Tags as a tuple of distinct, trimmed words in the order given. Commas separate tags
    (that is how Grafana reads them), so ``"a, b"`` is two tags."""
    if isinstance(tags, str):
        tags = [tags]
    out: list[str] = []
    for tag in tags:
        for part in str(tag).split(","):
            part = part.strip()
            if part and part not in out:
                out.append(part)
    return tuple(out)


# ---------------------------------------------------------------------------------------------
# Commands and the book that applies them


class LabelSink(Protocol):
    """Where applied changes go at once (the workspace)."""

    def save_label(self, label: Label) -> None: ...

    def delete_label(self, label_id: str) -> None: ...


class Command(Protocol):
    text: str

    def apply(self, book: LabelBook) -> None: ...

    def revert(self, book: LabelBook) -> None: ...


@dataclass
class AddLabel:
    label: Label

    @property
    def text(self) -> str:
        return "add label"

    def apply(self, book: LabelBook) -> None:
        book._put(self.label)

    def revert(self, book: LabelBook) -> None:
        book._drop(self.label.id)


@dataclass
class RemoveLabel:
    label: Label

    @property
    def text(self) -> str:
        return "delete label"

    def apply(self, book: LabelBook) -> None:
        book._drop(self.label.id)

    def revert(self, book: LabelBook) -> None:
        book._put(self.label)


@dataclass
class ChangeLabel:
    before: Label
    after: Label
    what: str = "change label"

    @property
    def text(self) -> str:
        return self.what

    def apply(self, book: LabelBook) -> None:
        book._put(self.after)

    def revert(self, book: LabelBook) -> None:
        book._put(self.before)


# listener(kind, label): kind is "added", "changed" or "removed"
Listener = Callable[[str, Label], None]


class LabelBook:
    """The labels of one session, with undo and redo.

    ``add``, ``change``, ``remove``, ``accept`` and ``reject`` each record one command;
    ``undo`` and ``redo`` walk the history. Every applied change bumps the label's ``version``,
    goes to the sink, then to the listeners (the window's plots and panel).
    """

    def __init__(
        self,
        session: str,
        labels: Iterable[Label] = (),
        sink: LabelSink | None = None,
        limit: int = 500,
    ):
        self.session = session
        self._labels: dict[str, Label] = {label.id: label for label in labels}
        self._versions = {label.id: label.version for label in self._labels.values()}
        self._sink = sink
        self._done: list[Command] = []
        self._undone: list[Command] = []
        self._limit = limit
        self._listeners: list[Listener] = []

    # -- reading

    def __len__(self) -> int:
        return len(self._labels)

    def __iter__(self):
        return iter(self.labels())

    def __contains__(self, label_id: object) -> bool:
        return label_id in self._labels

    def get(self, label_id: str) -> Label:
        return self._labels[label_id]

    def labels(self) -> list[Label]:
        """All labels, ordered by start time."""
        return sorted(self._labels.values(), key=lambda label: (label.start_s, label.end_s))

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def unsubscribe(self, listener: Listener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    # -- editing (each call is one undoable step)

    def add(self, label: Label) -> Label:
        if label.session != self.session:
            raise LabelError(f"label {label.id} belongs to session {label.session}")
        self._do(AddLabel(label))
        return self._labels[label.id]

    def change(self, label_id: str, what: str = "change label", **changes) -> Label:
        """Change fields of a label (``start_s``, ``end_s``, ``label_class``, ``note``,
        ``tags``, ``status``); a change that changes nothing records nothing."""
        before = self._labels[label_id]
        if "start_s" in changes or "end_s" in changes:
            start = float(changes.get("start_s", before.start_s))
            end = float(changes.get("end_s", before.end_s))
            changes["start_s"], changes["end_s"] = sorted((start, end))
        after = before.replace(**changes)
        if after.same_content(before):
            return before
        self._do(ChangeLabel(before, after, what))
        return self._labels[label_id]

    def move(self, label_id: str, delta_s: float) -> Label:
        label = self._labels[label_id]
        return self.change(
            label_id, "move label", start_s=label.start_s + delta_s, end_s=label.end_s + delta_s
        )

    def remove(self, label_id: str) -> None:
        self._do(RemoveLabel(self._labels[label_id]))

    def accept(self, label_id: str) -> Label:
        return self.change(label_id, "accept label", status="accepted")

    def reject(self, label_id: str) -> Label:
        return self.change(label_id, "reject label", status="rejected")

    # -- history

    @property
    def can_undo(self) -> bool:
        return bool(self._done)

    @property
    def can_redo(self) -> bool:
        return bool(self._undone)

    @property
    def undo_text(self) -> str:
        return self._done[-1].text if self._done else ""

    @property
    def redo_text(self) -> str:
        return self._undone[-1].text if self._undone else ""

    def undo(self) -> bool:
        if not self._done:
            return False
        command = self._done.pop()
        command.revert(self)
        self._undone.append(command)
        return True

    def redo(self) -> bool:
        if not self._undone:
            return False
        command = self._undone.pop()
        command.apply(self)
        self._done.append(command)
        return True

    def _do(self, command: Command) -> None:
        command.apply(self)
        self._done.append(command)
        del self._done[: -self._limit]
        self._undone.clear()

    # -- the two primitive changes every command is made of

    def _put(self, label: Label) -> None:
        previous = self._labels.get(label.id)
        last = self._versions.get(label.id)
        if last is not None:
            # a change, or an undone add/delete coming back: newer than any version stored
            label = label.replace(version=last + 1, modified_at=time.time())
        if self._sink is not None:
            self._sink.save_label(label)
        self._labels[label.id] = label
        self._versions[label.id] = label.version
        self._notify("changed" if previous is not None else "added", label)

    def _drop(self, label_id: str) -> None:
        label = self._labels[label_id]
        if self._sink is not None:
            self._sink.delete_label(label_id)
        del self._labels[label_id]
        self._versions[label_id] = label.version + 1  # the deletion is a version too
        self._notify("removed", label)

    def _notify(self, kind: str, label: Label) -> None:
        for listener in list(self._listeners):
            listener(kind, label)
