"""The ``ev-battery-monitor`` entry point.

``ev-battery-monitor COMMAND ...`` runs a command-line tool (``info``, ``decode``, ...);
anything else opens the window. The window's modules are imported only here and only when
needed, so the command line starts without Qt.
"""

from __future__ import annotations

import argparse
import sys

from app import __version__, cli


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in cli.COMMANDS:
        return cli.run(argv)

    options = _gui_parser().parse_args(argv)
    if options.version:
        print(f"ev-battery-monitor {__version__}")
        return 0
    if options.self_test:
        from widgets.selftest import run_self_test  # lazy: renders a plot, so needs Qt

        return run_self_test()
    from widgets.application import run_gui  # lazy: the only door from app into widgets

    return run_gui(options)


def _gui_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ev-battery-monitor",
        description="Open a CAN capture and see the battery. Commands: "
        + ", ".join(cli.COMMANDS)
        + " (ev-battery-monitor COMMAND --help).",
    )
    parser.add_argument("captures", nargs="*", help="capture files to open")
    parser.add_argument("--dbc", action="append", default=[], help="database for the captures")
    parser.add_argument("--demo", action="store_true", help="open the bundled demo recording")
    parser.add_argument("--db", help="shared database: connection string or profile name")
    parser.add_argument(
        "--self-test", action="store_true", help="check the installation without a display"
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    return parser


if __name__ == "__main__":
    sys.exit(main())
