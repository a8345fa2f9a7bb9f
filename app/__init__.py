"""EV Battery Health Monitor: the Qt-free core.

Everything under ``app`` works without a display: reading captures, loading databases,
decoding traces, battery analysis, the local workspace, the shared store, exports and the
command line. Only :mod:`app.__main__` may reach into ``widgets`` (lazily, to open the window).
"""

from importlib import metadata as _metadata
from pathlib import Path as _Path


def _version() -> str:
    """The installed package's version; in a checkout never installed, pyproject.toml's."""
    try:
        return _metadata.version("ev-battery-monitor")
    except _metadata.PackageNotFoundError:
        import tomllib

        pyproject = _Path(__file__).resolve().parent.parent / "pyproject.toml"
        try:
            with pyproject.open("rb") as file:
                return tomllib.load(file)["project"]["version"]
        except (OSError, KeyError, tomllib.TOMLDecodeError):
            return "unknown"


__version__ = _version()
