"""``ev-battery-monitor upload`` and ``ev-battery-monitor db``: the shared store from a shell.

``--db`` takes a saved profile's name or a libpq connection string; without it the
``EVBM_DB`` variable is used. Passwords come from the keyring (``db profile add`` asks for
one and stores it there), a ``.pgpass`` file or ``PGPASSWORD``; they are never printed.
"""

from __future__ import annotations

import argparse
import getpass
import logging
import os
import sys
import time
from pathlib import Path

from app.errors import MonitorError, StoreError

log = logging.getLogger(__name__)


def register(subparsers) -> None:
    upload = subparsers.add_parser(
        "upload",
        help="decode a capture and store it as a session on the shared database",
        description="Decode CAPTURE with the given databases and upload its traces, its "
        "labels from the local workspace and its metadata in one transaction. A capture "
        "already stored for the vehicle is reported, not stored twice.",
    )
    upload.add_argument("capture", type=Path)
    upload.add_argument(
        "--dbc",
        action="append",
        default=[],
        type=Path,
        required=True,
        help="database to decode with (repeat for several)",
    )
    _db_option(upload)
    upload.add_argument("--vehicle", help="vehicle name (default: the workspace's, or the VIN)")
    upload.add_argument("--vin", help="the vehicle's VIN")
    upload.add_argument("--name", help="session name (default: the capture's file name)")
    upload.add_argument(
        "--no-labels",
        action="store_true",
        help="do not upload the capture's labels from the workspace",
    )
    upload.set_defaults(handler=_upload)

    db = subparsers.add_parser("db", help="the shared database: info, sessions, profiles")
    actions = db.add_subparsers(dest="action", required=True)

    info = actions.add_parser("info", help="server, TimescaleDB, mode, schema and your rights")
    _db_option(info)
    info.set_defaults(handler=_info)

    sessions = actions.add_parser("sessions", help="the sessions stored, newest first")
    _db_option(sessions)
    sessions.add_argument("--vehicle", help="only this vehicle's sessions")
    sessions.set_defaults(handler=_sessions)

    retention = actions.add_parser(
        "retention", help="how long raw samples are kept (the per-minute summary stays)"
    )
    _db_option(retention)
    keep = retention.add_mutually_exclusive_group()
    keep.add_argument("--days", type=float, help="keep raw samples this many days")
    keep.add_argument("--forever", action="store_true", help="keep raw samples for ever")
    retention.set_defaults(handler=_retention)

    profile = actions.add_parser("profile", help="saved connection profiles")
    profile_actions = profile.add_subparsers(dest="profile_action", required=True)
    add = profile_actions.add_parser("add", help="save a profile; asks for the password")
    add.add_argument("name")
    add.add_argument("--host", default="localhost")
    add.add_argument("--port", type=int, default=5432)
    add.add_argument("--dbname", default="evbm")
    add.add_argument("--user", required=True)
    add.add_argument(
        "--tls", dest="sslmode", choices=("disable", "require", "verify-full"), default="require"
    )
    add.add_argument("--ca-file", dest="sslrootcert", default="", help="CA for verify-full")
    add.add_argument("--no-password", action="store_true", help="do not ask for a password")
    add.set_defaults(handler=_profile_add)
    listing = profile_actions.add_parser("list", help="the saved profiles")
    listing.set_defaults(handler=_profile_list)
    remove = profile_actions.add_parser("remove", help="forget a profile and its password")
    remove.add_argument("name")
    remove.set_defaults(handler=_profile_remove)


def _db_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        default=os.environ.get("EVBM_DB"),
        metavar="PROFILE|CONNSTR",
        help="a saved profile's name or a connection string (default: $EVBM_DB)",
    )


def _connect(args):
    from app.store import connect

    if not args.db:
        raise StoreError("name the shared database with --db PROFILE|CONNSTR (or set EVBM_DB)")
    return connect(args.db)


# ---------------------------------------------------------------------- upload


def _upload(args) -> int:
    from app.pipeline import load_session  # decoding pulls in cantools; only when needed
    from app.store import SessionUpload, ensure_schema, upload_session
    from app.workspace import Workspace, file_sha256

    try:
        sha256 = file_sha256(args.capture)
    except OSError as exc:
        raise MonitorError(f"{args.capture}: cannot read the capture: {exc.strerror}") from exc
    labels, vehicle = [], args.vehicle
    with Workspace() as workspace:
        record = workspace.session(sha256)
        if not args.no_labels:
            labels = workspace.labels(sha256)
        if vehicle is None and record is not None and record.vehicle is not None:
            vehicle = record.vehicle.vin or record.vehicle.name
    vehicle = vehicle or args.vin
    if not vehicle:
        raise MonitorError(f"{args.capture}: name the vehicle with --vehicle or --vin")

    session = load_session(args.capture, list(args.dbc), progress=_Progress("decoding"))
    upload = SessionUpload(
        vehicle=vehicle,
        vin=args.vin,
        name=args.name or args.capture.name,
        source_file=args.capture.name,
        source_sha256=sha256,
        traces=session.traces,
        origin_epoch_s=session.capture.start_time_epoch,
        databases=[{"name": Path(d.path).name, "sha256": d.sha256} for d in session.databases],
        labels=labels,
    )
    with _connect(args) as conn:
        ensure_schema(conn)
        result = upload_session(conn, upload, progress=_Progress("uploading"))
    if result.already_present:
        print(f"{args.capture}: already stored for {vehicle} as session {result.session_id}")
        return 0
    print(
        f"{args.capture}: stored for {vehicle} as session {result.session_id}: "
        f"{len(upload.traces)} traces, {result.sample_count} samples, {len(labels)} labels "
        f"in {result.seconds:.1f} s ({result.samples_per_s / 1e6:.2f} M samples/s)"
    )
    return 0


class _Progress:
    """Percentages on stderr when it is a terminal, at most a few times a second."""

    def __init__(self, what: str):
        self.what = what
        self.last = 0.0

    def __call__(self, done: int, total: int) -> bool:
        now = time.monotonic()
        if sys.stderr.isatty() and total and (now - self.last > 0.25 or done >= total):
            self.last = now
            end = "\n" if done >= total else ""
            print(f"\r{self.what}: {100 * done / total:5.1f} %", end=end, file=sys.stderr)
        return True


# ---------------------------------------------------------------------- db


def _info(args) -> int:
    from app.store import ensure_schema, info

    with _connect(args) as conn:
        try:
            ensure_schema(conn)
        except StoreError as exc:  # a reader may see an old schema; say so, show the rest
            print(f"note: {exc}")
        for line in info(conn).lines():
            print(line)
    return 0


def _sessions(args) -> int:
    from app.store import list_sessions

    with _connect(args) as conn:
        sessions = list_sessions(conn, vehicle=args.vehicle)
    if not sessions:
        print("no sessions stored" + (f" for {args.vehicle}" if args.vehicle else ""))
        return 0
    print(
        f"{'id':>6}  {'vehicle':<20} {'start (UTC)':<19} {'duration_s':>10} "
        f"{'samples':>11} {'labels':>6}  name"
    )
    for s in sessions:
        start = f"{s.time_start:%Y-%m-%d %H:%M:%S}" if s.time_start else "-"
        print(
            f"{s.id:>6}  {s.vehicle[:20]:<20} {start:<19} {s.duration_s:>10.1f} "
            f"{s.sample_count:>11} {s.label_count:>6}  {s.name}"
        )
    return 0


def _retention(args) -> int:
    from app.store import ensure_schema
    from app.store.retention import apply_retention, retention_days, set_retention

    with _connect(args) as conn:
        ensure_schema(conn)
        if args.days is not None or args.forever:
            set_retention(conn, None if args.forever else args.days)
            dropped = apply_retention(conn)
            if dropped:
                print(f"raw samples of {len(dropped)} sessions dropped")
        days = retention_days(conn)
    print("raw samples kept for ever" if days is None else f"raw samples kept {days:g} days")
    return 0


def _profile_add(args) -> int:
    from app.store import Profile, save_profile

    profile = Profile(
        name=args.name,
        host=args.host,
        port=args.port,
        dbname=args.dbname,
        user=args.user,
        sslmode=args.sslmode,
        sslrootcert=args.sslrootcert,
    )
    profile.conninfo_params()  # checks the TLS settings before anything is saved
    password = None if args.no_password else getpass.getpass(f"password for {profile.address}: ")
    save_profile(profile, password or None)
    print(f"profile {profile.name!r} saved ({profile.address}, TLS {profile.sslmode})")
    return 0


def _profile_list(args) -> int:
    from app.store import load_profiles

    profiles = load_profiles()
    if not profiles:
        print("no profiles saved")
    for profile in profiles.values():
        print(
            f"{profile.name}: {profile.address}, TLS {profile.sslmode}"
            + (f", CA {profile.sslrootcert}" if profile.sslrootcert else "")
        )
    return 0


def _profile_remove(args) -> int:
    from app.store import delete_profile, load_profiles

    if args.name not in load_profiles():
        raise StoreError(f"no connection profile named {args.name!r}")
    delete_profile(args.name)
    print(f"profile {args.name!r} removed")
    return 0
