"""Running the command line in-process, with its output captured."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from app import cli


@dataclass
class Result:
    status: int
    out: str
    err: str


@pytest.fixture
def run_cli(capsys):
    """``run_cli("info", path)``: exit status, stdout and stderr of one command."""

    def run(*argv) -> Result:
        try:
            status = cli.run([str(a) for a in argv])
        except SystemExit as exc:  # argparse rejects bad arguments this way
            status = exc.code
        captured = capsys.readouterr()
        return Result(status, captured.out, captured.err)

    return run
