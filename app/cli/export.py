"""``ev-battery-monitor export labels|slices|traces``: the window's exports, from a shell.

Labels come from the workspace (the labels made for a capture, found by the capture's
sha256) or from a labels file written earlier (``--labels``). Traces are decoded with the
databases given by ``--dbc``, or else the ones the workspace remembers for the capture, and
come from the trace cache when the same capture was decoded before.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from app.errors import ExportError, MonitorError
from app.export import read_labels, write_labels, write_slices, write_traces
from app.labels import load_taxonomy_or_default
from app.workspace import Workspace, file_sha256

log = logging.getLogger(__name__)


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "export",
        help="export labels, labelled data slices or a session's traces",
        description="Export labels (CSV/JSON, Grafana annotation columns), labelled data "
        "slices (Parquet/CSV) or a capture's decoded traces (Parquet/CSV/MF4).",
    )
    kinds = parser.add_subparsers(dest="kind", required=True)

    labels = kinds.add_parser("labels", help="labels as CSV or JSON")
    labels.add_argument("captures", nargs="*", type=Path, help="captures whose labels to export")
    labels.add_argument("--all", action="store_true", help="every label in the workspace")
    _common(labels, ("csv", "json"))
    labels.set_defaults(handler=_export_labels)

    slices = kinds.add_parser("slices", help="each label's traces within its range, plus a margin")
    slices.add_argument("capture", type=Path)
    _decoding(slices)
    slices.add_argument(
        "--margin", type=float, default=0.0, metavar="SECONDS", help="seconds before and after"
    )
    slices.add_argument(
        "--class", dest="classes", action="append", default=[], help="only labels of this class"
    )
    _common(slices, ("parquet", "csv"))
    slices.set_defaults(handler=_export_slices)

    traces = kinds.add_parser("traces", help="a capture's decoded traces")
    traces.add_argument("capture", type=Path)
    _decoding(traces)
    traces.add_argument("--output", "-o", type=Path, required=True, help="file to write")
    traces.add_argument("--format", choices=("parquet", "csv", "mf4"), help="default: by suffix")
    traces.set_defaults(handler=_export_traces)


def _common(parser: argparse.ArgumentParser, formats: tuple[str, ...]) -> None:
    parser.add_argument(
        "--labels", type=Path, help="read labels from this file instead of the workspace"
    )
    parser.add_argument("--output", "-o", type=Path, required=True, help="file to write")
    parser.add_argument("--format", choices=formats, help="default: from the output's suffix")


def _decoding(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dbc",
        action="append",
        default=[],
        type=Path,
        help="database (repeat for several); default: the ones last used for this capture",
    )
    parser.add_argument("--no-cache", action="store_true", help="decode even if cached")


# ---------------------------------------------------------------------------------------------


def _export_labels(args) -> int:
    taxonomy, problem = load_taxonomy_or_default()
    if problem:
        log.warning("%s", problem)
    with Workspace() as workspace:
        _say_notice(workspace)
        if args.labels:
            labels = read_labels(args.labels)
        elif args.all:
            labels = workspace.labels()
        elif args.captures:
            labels = []
            for capture in args.captures:
                labels += workspace.labels(_session_key(capture))
        else:
            raise MonitorError("name the captures whose labels to export, or --all, or --labels")
        vehicles = _vehicle_names(workspace, {label.session for label in labels})
    count = write_labels(labels, args.output, args.format, vehicles, taxonomy)
    print(f"{args.output}: {count} labels")
    return 0


def _export_slices(args) -> int:
    with Workspace() as workspace:
        _say_notice(workspace)
        key = _session_key(args.capture)
        labels = read_labels(args.labels) if args.labels else workspace.labels(key)
        session = _load(args, workspace, key)
    others = sum(1 for label in labels if label.session != key)
    labels = [label for label in labels if label.session == key]
    if args.classes:
        labels = [label for label in labels if label.label_class in args.classes]
    if not labels:
        where = f" in {args.labels}" if args.labels else " in the workspace"
        also = f" ({others} labels of other captures)" if others else ""
        raise ExportError(f"{args.capture}: no labels of this capture{where}{also}")
    rows = write_slices(labels, session.traces, args.output, args.margin, args.format)
    print(f"{args.output}: {rows} samples in {len(labels)} labels")
    return 0


def _export_traces(args) -> int:
    with Workspace() as workspace:
        _say_notice(workspace)
        session = _load(args, workspace, _session_key(args.capture))
    write_traces(session.traces, args.output, args.format)
    samples = sum(len(trace) for trace in session.traces)
    print(f"{args.output}: {len(session.traces)} traces, {samples} samples")
    return 0


def _load(args, workspace: Workspace, key: str):
    from app.pipeline import load_session  # decoding pulls in cantools; only when needed
    from app.trace_cache import TraceCache

    databases = list(args.dbc)
    if not databases:
        record = workspace.session(key)
        databases = [Path(path) for path, _sha in (record.databases if record else [])]
    if not databases:
        raise MonitorError(f"{args.capture}: name the databases to decode it with (--dbc)")
    cache = None if args.no_cache else TraceCache()
    return load_session(args.capture, databases, cache=cache)


def _session_key(capture: Path) -> str:
    try:
        return file_sha256(capture)
    except OSError as exc:
        raise MonitorError(f"{capture}: cannot read the capture: {exc.strerror or exc}") from exc


def _vehicle_names(workspace: Workspace, keys: set[str]) -> dict[str, str]:
    names = {}
    for key in keys:
        record = workspace.session(key)
        if record and record.vehicle:
            names[key] = record.vehicle.vin or record.vehicle.name
    return names


def _say_notice(workspace: Workspace) -> None:
    if workspace.notice:
        log.warning("%s", workspace.notice)
