"""Connecting to the shared database: profiles, passwords, TLS and clear failures.

A *profile* names a server (host, port, database, user, TLS mode and CA file). Profiles are
saved as JSON in the user's settings folder without any password; the password lives in the
operating system's keyring under the profile's address. ``--db`` on the command line takes a
profile name or a libpq connection string (``host=... dbname=...`` or ``postgresql://...``).

Nothing here logs or raises a password: :func:`redact` strips it from any connection string
before it is shown, and connection failures are turned into one message per cause.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

import keyring
import keyring.errors
import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from app import paths
from app.errors import StoreError

log = logging.getLogger(__name__)

KEYRING_SERVICE = "ev-battery-monitor"
TLS_MODES = ("disable", "require", "verify-full")
CONNECT_TIMEOUT_S = 10


class ConnectionRefused(StoreError):
    """Nothing answers at the server's address."""


class AuthenticationFailed(StoreError):
    """The server refused the user name or password."""


class TlsMismatch(StoreError):
    """The client's and the server's TLS settings or certificates do not agree."""


@dataclass
class Profile:
    """Where a shared database is and how to reach it; never a password."""

    name: str
    host: str = "localhost"
    port: int = 5432
    dbname: str = "evbm"
    user: str = ""
    sslmode: str = "require"
    sslrootcert: str = ""  # CA file, needed for verify-full
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def address(self) -> str:
        """The keyring's key: ``user@host:port/dbname``."""
        return f"{self.user}@{self.host}:{self.port}/{self.dbname}"

    def conninfo_params(self) -> dict[str, str]:
        if self.sslmode not in TLS_MODES:
            raise StoreError(
                f"profile {self.name!r}: TLS mode {self.sslmode!r} is not one of "
                + ", ".join(TLS_MODES)
            )
        if self.sslmode == "verify-full" and not self.sslrootcert:
            raise StoreError(f"profile {self.name!r}: verify-full needs a CA file")
        params = {
            "host": self.host,
            "port": str(self.port),
            "dbname": self.dbname,
            "sslmode": self.sslmode,
        }
        if self.user:
            params["user"] = self.user
        if self.sslrootcert:
            params["sslrootcert"] = self.sslrootcert
        params.update(self.extra)
        return params

    @classmethod
    def from_conninfo(cls, conninfo: str, name: str = "") -> Profile:
        params = conninfo_to_dict(conninfo)
        params.pop("password", None)
        profile = cls(name=name or "command line")
        for key in ("host", "dbname", "user", "sslmode", "sslrootcert"):
            if key in params:
                setattr(profile, key, str(params.pop(key)))
        if "port" in params:
            profile.port = int(params.pop("port"))
        profile.extra = {key: str(value) for key, value in params.items()}
        return profile


# ---------------------------------------------------------------------- profiles on disk


def profiles_file() -> Path:
    return paths.config_dir() / "db_profiles.json"


def load_profiles() -> dict[str, Profile]:
    path = profiles_file()
    if not path.exists():
        return {}
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return {item["name"]: Profile(**item) for item in raw.get("profiles", [])}
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise StoreError(f"{path}: the saved connection profiles cannot be read: {exc}") from exc


def save_profile(profile: Profile, password: str | None = None) -> None:
    """Add or replace a profile; a given password goes to the keyring, not the file."""
    profiles = load_profiles()
    profiles[profile.name] = profile
    _write_profiles(profiles)
    if password:
        store_password(profile, password)


def delete_profile(name: str) -> None:
    profiles = load_profiles()
    profile = profiles.pop(name, None)
    _write_profiles(profiles)
    if profile is not None:
        forget_password(profile)


def _write_profiles(profiles: dict[str, Profile]) -> None:
    path = profiles_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {"profiles": [asdict(profile) for profile in profiles.values()]}
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(body, indent=2), encoding="utf-8")
    temporary.replace(path)


# ---------------------------------------------------------------------- passwords


def store_password(profile: Profile, password: str) -> None:
    try:
        keyring.set_password(KEYRING_SERVICE, profile.address, password)
    except keyring.errors.KeyringError as exc:
        raise StoreError(
            "this system has no usable keyring, so the password cannot be saved; "
            "use a .pgpass file or the PGPASSWORD variable instead"
        ) from exc


def stored_password(profile: Profile) -> str | None:
    try:
        return keyring.get_password(KEYRING_SERVICE, profile.address)
    except keyring.errors.KeyringError:
        log.debug("no usable keyring; relying on .pgpass or PGPASSWORD")
        return None


def forget_password(profile: Profile) -> None:
    try:
        keyring.delete_password(KEYRING_SERVICE, profile.address)
    except keyring.errors.KeyringError:
        log.debug("no stored password for %s", profile.address)


# ---------------------------------------------------------------------- connecting

_PASSWORD_IN_URL = re.compile(r"(://[^:/@\s]*:)[^@\s]*@")
_PASSWORD_KEYWORD = re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)


def redact(conninfo: str) -> str:
    """The connection string with any password replaced by ``***``; safe to log or show."""
    text = _PASSWORD_IN_URL.sub(r"\1***@", conninfo)
    return _PASSWORD_KEYWORD.sub(r"\1***", text)


def resolve(target: str) -> tuple[Profile, str | None]:
    """A profile and an explicit password (from a connection string) for ``--db TARGET``."""
    if "=" in target or target.startswith(("postgres://", "postgresql://")):
        try:
            params = conninfo_to_dict(target)
        except psycopg.ProgrammingError as exc:
            raise StoreError(f"not a valid connection string: {redact(target)}") from exc
        password = params.get("password")
        return Profile.from_conninfo(target), (str(password) if password else None)
    profiles = load_profiles()
    if target not in profiles:
        known = ", ".join(sorted(profiles)) or "none saved yet"
        raise StoreError(f"no connection profile named {target!r} (profiles: {known})")
    return profiles[target], None


def connect(target: str | Profile, password: str | None = None, **kwargs) -> psycopg.Connection:
    """Open a connection, turning every failure into a :class:`StoreError` that says why."""
    if isinstance(target, Profile):
        profile, given = target, None
    else:
        profile, given = resolve(target)
    params = profile.conninfo_params()
    secret = password or given or stored_password(profile)
    if secret:
        params["password"] = secret
    params.setdefault("connect_timeout", str(CONNECT_TIMEOUT_S))
    params.setdefault("application_name", "ev-battery-monitor")
    log.info("connecting to %s (TLS %s)", profile.address, profile.sslmode)
    try:
        return psycopg.connect(make_conninfo("", **params), **kwargs)
    except psycopg.OperationalError as exc:
        raise explain_connect_error(exc, profile, secret) from None


def explain_connect_error(
    exc: psycopg.OperationalError, profile: Profile, password: str | None
) -> StoreError:
    """One clear message per cause; the server's own words follow, with no password."""
    detail = _first_line(str(exc))
    if password:
        detail = detail.replace(password, "***")
    where = f"{profile.host}:{profile.port}"
    lowered = detail.lower()
    if "connection refused" in lowered:
        return ConnectionRefused(
            f"cannot reach the database server at {where}: connection refused "
            "(is the server running, and are the host and port right?)"
        )
    if "password authentication failed" in lowered:
        return AuthenticationFailed(
            f"the server at {where} refused the password for user {profile.user!r}"
        )
    if "no password supplied" in lowered or "password is required" in lowered:
        return AuthenticationFailed(
            f"the server at {where} wants a password for user {profile.user!r} "
            "and none is stored for this connection"
        )
    if any(word in lowered for word in _TLS_WORDS):
        return TlsMismatch(
            f"TLS mismatch with the server at {where} (mode {profile.sslmode}"
            + (f", CA file {profile.sslrootcert}" if profile.sslrootcert else "")
            + f"): {detail}"
        )
    if "timeout" in lowered:
        return ConnectionRefused(f"the database server at {where} did not answer in time")
    if "does not exist" in lowered:
        return StoreError(f"the server at {where} says: {detail}")
    return StoreError(f"cannot connect to the database server at {where}: {detail}")


_TLS_WORDS = (
    "ssl",
    "certificate",
    "tls",
    "no encryption",
    "root cert",
    "does not match host name",
)


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    # libpq prefixes every attempt with 'connection to server at ... failed:'; keep the cause
    cause = lines[0] if lines else text
    cause = re.sub(r"^connection failed:\s*", "", cause)
    cause = re.sub(r'^connection to server at "[^"]*"( \([^)]*\))?, port \d+ failed:\s*', "", cause)
    return cause
