"""The command line: one module per command, registered in ``COMMANDS``.

Each command module has ``register(subparsers)``, which adds its parser and sets
``handler`` to a function ``(args) -> int``. Bad input ends with one line on stderr naming
the file and what was wrong, and exit status 2; no traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from app import __version__, logs
from app.errors import LoadCancelled, MonitorError

# command name -> module that registers it
COMMANDS: dict[str, str] = {
    "info": "app.cli.info",
    "decode": "app.cli.decode",
    "simulate": "app.cli.simulate",
    "export": "app.cli.export",
    "upload": "app.cli.store",
    "db": "app.cli.store",
}

log = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ev-battery-monitor")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more to stderr")
    subparsers = parser.add_subparsers(dest="command", required=True)
    registered = set()
    for module_name in COMMANDS.values():
        if module_name not in registered:
            importlib.import_module(module_name).register(subparsers)
            registered.add(module_name)
    return parser


def run(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    logs.configure(logging.DEBUG if args.verbose else logging.INFO, to_stderr=True)
    try:
        return int(args.handler(args) or 0)
    except LoadCancelled:
        print("cancelled", file=sys.stderr)
        return 130
    except MonitorError as exc:
        log.debug("command %s failed", args.command, exc_info=True)
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
