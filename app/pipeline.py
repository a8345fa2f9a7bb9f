"""One call from a capture file and its databases to traces with battery roles.

``load_session`` is what the window, the self-test and the command line use: read the
capture (:mod:`app.formats`), load the databases (:mod:`app.databases`), decode
(:mod:`app.decode`) and assign battery roles (:mod:`app.roles`), with one progress
callback over all the stages.

A trace cache, when given, is any object with ``get(key) -> list[Trace] | None`` and
``put(key, traces)`` (:class:`app.trace_cache.TraceCache` is one). The key is a
:class:`app.trace_cache.CacheKey` of the capture's sha256, the databases' sha256s in the
order given, and :data:`DECODER_VERSION`. On a hit the traces are not decoded again and
``decoded`` is None. If the cache also has ``get_capture(key, path)`` and
``put_capture(key, capture)``, the capture's frames come from it too, and the capture file is
only hashed, not parsed (nor hashed, when the cache remembers the hash of the unchanged file).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from app import __version__
from app.databases import LoadedDatabase, load_databases
from app.decode import DecodeResult, decode_frames
from app.errors import CaptureError
from app.formats import Capture, read_capture
from app.progress import ProgressCallback, report
from app.roles import assign_roles
from app.trace_cache import CacheKey
from app.traces import Trace

log = logging.getLogger(__name__)

# Part of the cache key: bump it (or the package version) when decoding changes its output.
DECODER_VERSION = f"{__version__}+decode1"

# How the one progress bar is shared between the stages, in thousandths.
PROGRESS_TOTAL = 1000
READ_SHARE = 450
DECODE_SHARE = 500


@dataclass
class LoadedSession:
    """A capture with its databases, decoded. ``traces`` have their roles assigned;
    ``warnings`` gathers what the user should see (database repairs, guessed roles)."""

    capture: Capture
    databases: list[LoadedDatabase]
    decoded: DecodeResult | None
    traces: list[Trace]
    warnings: list[str] = field(default_factory=list)
    from_cache: bool = False
    cache_key: CacheKey | None = None

    def trace_for_role(self, role: str) -> Trace | None:
        """The trace playing ``role`` (``"pack_current"``, ``"cell_voltage:37"``), if any."""
        return next((trace for trace in self.traces if trace.role == role), None)


def load_session(
    capture_path: str | Path,
    database_paths: Sequence[str | Path],
    progress: ProgressCallback | None = None,
    cache=None,
) -> LoadedSession:
    """Read, decode and give roles to one capture; see the module docstring.

    Bad input raises :class:`app.errors.MonitorError` subclasses naming the file;
    ``progress`` returning False raises :class:`app.errors.LoadCancelled`.
    """
    report(progress, 0, PROGRESS_TOTAL)
    databases = load_databases(list(database_paths))
    warnings = _database_warnings(databases)
    key = cache_key(capture_path, databases, cache) if cache is not None else None

    capture = _cached_capture(cache, key, capture_path)
    if capture is None:
        capture = read_capture(capture_path, progress=_stage(progress, 0, READ_SHARE))
        if hasattr(cache, "put_capture"):
            cache.put_capture(key, capture)

    traces = cache.get(key) if cache is not None else None
    decoded = None
    if traces is None:
        decode_progress = _stage(progress, READ_SHARE, READ_SHARE + DECODE_SHARE)
        decoded = decode_frames(capture.frames, databases, progress=decode_progress)
        traces = decoded.traces
        warnings += decoded.report.warnings
        if cache is not None:
            cache.put(key, traces)

    warnings += assign_roles(traces, databases)
    report(progress, PROGRESS_TOTAL, PROGRESS_TOTAL)
    log.info(
        "session %s: %d frames, %d traces%s",
        capture.path.name,
        capture.frame_count,
        len(traces),
        " (from the trace cache)" if decoded is None else "",
    )
    return LoadedSession(capture, databases, decoded, traces, warnings, decoded is None, key)


def cache_key(
    capture_path: str | Path, databases: Sequence[LoadedDatabase], cache=None
) -> CacheKey:
    """The trace-cache key of a capture decoded with these databases. A cache with
    ``capture_sha256(path, hash_file)`` may remember the capture's hash from an earlier open."""
    if hasattr(cache, "capture_sha256"):
        capture_sha256 = cache.capture_sha256(capture_path, file_sha256)
    else:
        capture_sha256 = file_sha256(capture_path)
    return CacheKey(
        capture_sha256=capture_sha256,
        database_sha256s=tuple(database.sha256 for database in databases),
        decoder_version=DECODER_VERSION,
    )


def file_sha256(path: str | Path) -> str:
    """sha256 of a file, read in 1 MiB blocks (captures can be gigabytes)."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as stream:
            while block := stream.read(1 << 20):
                digest.update(block)
    except OSError as exc:
        raise CaptureError(path, f"cannot read: {exc.strerror or exc}") from exc
    return digest.hexdigest()


def _cached_capture(cache, key: CacheKey | None, capture_path: str | Path) -> Capture | None:
    if key is None or not hasattr(cache, "get_capture"):
        return None
    return cache.get_capture(key, capture_path)


def _database_warnings(databases: Sequence[LoadedDatabase]) -> list[str]:
    warnings = []
    for database in databases:
        warnings += [f"{database.name}: {text}" for text in database.warnings]
        warnings += [f"{database.name}: repaired: {text}" for text in database.repairs]
    return warnings


def _stage(progress: ProgressCallback | None, low: int, high: int) -> ProgressCallback | None:
    """A callback for one stage that reports into ``low..high`` of the whole."""
    if progress is None:
        return None

    def scaled(done: int, total: int) -> bool:
        fraction = done / total if total > 0 else 1.0
        return progress(low + int((high - low) * min(max(fraction, 0.0), 1.0)), PROGRESS_TOTAL)

    return scaled
