"""EV Battery Health Monitor: the Qt-free core.

Everything under ``app`` works without a display: reading captures, loading databases,
decoding traces, battery analysis, the local workspace, the shared store, exports and the
command line. Only :mod:`app.__main__` may reach into ``widgets`` (lazily, to open the window).
"""

from importlib import metadata as _metadata

try:
    __version__ = _metadata.version("ev-battery-monitor")
except _metadata.PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.1.0"
