"""Reading and decoding a capture in a worker thread, with progress and Cancel.

:class:`SessionLoader` runs ``app.pipeline.load_session`` in a ``QThread`` and then builds each
trace's min/max summary (:class:`app.minmax.MinMaxPyramid`) there too, so the window gets
traces that draw at once. Progress reaches the window as a Qt signal at most every
``PROGRESS_INTERVAL_S``; Cancel makes the next progress callback return False, which the core
turns into :class:`app.errors.LoadCancelled`. Exactly one of ``finished``, ``cancelled`` or
``failed`` ends every load.
"""

from __future__ import annotations

import hashlib
import logging
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QObject, QThread, Signal

from app.errors import LoadCancelled
from app.minmax import MinMaxPyramid

log = logging.getLogger(__name__)

PROGRESS_INTERVAL_S = 0.05


@dataclass
class LoadRequest:
    capture_path: Path
    database_paths: list[Path]


@dataclass
class LoadResult:
    request: LoadRequest
    session: object  # app.pipeline.LoadedSession
    pyramids: dict[str, MinMaxPyramid]
    capture_sha256: str
    elapsed_s: float
    extra: dict = field(default_factory=dict)

    @property
    def traces(self):
        return self.session.traces


class _Worker(QObject):
    progressed = Signal(str, int, int)
    finished = Signal(object)
    cancelled = Signal()
    failed = Signal(object, str)

    def __init__(self, request: LoadRequest):
        super().__init__()
        self.request = request
        self.cancel_requested = False
        self._stage = "Reading and decoding"
        self._last_emit = 0.0

    def progress(self, done: int, total: int) -> bool:
        now = time.monotonic()
        if now - self._last_emit >= PROGRESS_INTERVAL_S or done >= total:
            self._last_emit = now
            self.progressed.emit(self._stage, int(done), int(total))
        return not self.cancel_requested

    def run(self) -> None:
        started = time.perf_counter()
        try:
            result = self._load(started)
        except LoadCancelled:
            log.info("load of %s cancelled", self.request.capture_path)
            self.cancelled.emit()
        except Exception as error:  # noqa: BLE001 (every failure goes to the notification route)
            self.failed.emit(error, traceback.format_exc())
        else:
            self.finished.emit(result)

    def _load(self, started: float) -> LoadResult:
        from app.pipeline import load_session  # heavy imports (cantools) stay off start-up

        request = self.request
        session = load_session(
            request.capture_path,
            request.database_paths,
            progress=self.progress,
            cache=_trace_cache(),
        )

        self._stage = "Preparing plots"
        traces = session.traces
        pyramids = {}
        for number, trace in enumerate(traces):
            pyramids[trace.key] = MinMaxPyramid(trace.time_s, trace.values, trace.valid)
            if not self.progress(number + 1, len(traces)):
                raise LoadCancelled("cancelled by the user")

        key = getattr(session, "cache_key", None)
        if key is not None:
            sha256 = key.capture_sha256
        else:
            sha256 = _sha256(request.capture_path, self.progress)
        if self.cancel_requested:  # asked while the last step ran: honour it all the same
            raise LoadCancelled("cancelled by the user")
        elapsed = time.perf_counter() - started
        log.info("loaded %s: %d traces in %.2f s", request.capture_path, len(traces), elapsed)
        return LoadResult(request, session, pyramids, sha256, elapsed)


class SessionLoader(QObject):
    """Starts loads, one at a time; a new load cancels the one running."""

    progressed = Signal(str, int, int)
    stopped = Signal()  # the background work has ended; finished/cancelled/failed follows
    finished = Signal(object)
    cancelled = Signal()
    failed = Signal(object, str)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._thread: QThread | None = None
        self._worker: _Worker | None = None

    @property
    def busy(self) -> bool:
        return self._thread is not None

    def warm_up(self) -> None:
        """Import the decoding libraries in the background while the window is idle.

        Importing cantools, pyarrow and friends holds the interpreter lock for stretches of a
        tenth of a second; done on the first load, that shows as a stall while the progress bar
        runs. Done once shortly after start-up, the first load no longer pays it."""
        if "app.pipeline" in sys.modules:
            return
        threading.Thread(target=_import_pipeline, name="warm-up", daemon=True).start()

    def start(self, request: LoadRequest) -> None:
        if self.busy:
            self.cancel()
            self.wait()
        log.info(
            "loading %s with %s",
            request.capture_path,
            ", ".join(str(p) for p in request.database_paths) or "no database",
        )
        thread = QThread(self)
        worker = _Worker(request)
        worker.moveToThread(thread)
        thread.started.connect(worker.run)
        worker.progressed.connect(self.progressed)
        worker.finished.connect(self._on_worker_finished)
        worker.cancelled.connect(self._on_worker_cancelled)
        worker.failed.connect(self._on_worker_failed)
        self._thread, self._worker = thread, worker
        thread.start()

    def cancel(self) -> None:
        if self._worker is not None:
            self._worker.cancel_requested = True

    def wait(self) -> None:
        """Block until the running load has stopped (used when the window closes)."""
        if self._thread is not None:
            self._thread.quit()
            self._thread.wait()
            self._cleanup()

    def _cleanup(self) -> None:
        thread, worker = self._thread, self._worker
        self._thread = self._worker = None
        if thread is not None:
            thread.quit()
            thread.wait()
            thread.deleteLater()
        if worker is not None:
            worker.deleteLater()

    def _on_worker_finished(self, result: LoadResult) -> None:
        self._cleanup()
        self.stopped.emit()
        self.finished.emit(result)

    def _on_worker_cancelled(self) -> None:
        self._cleanup()
        self.stopped.emit()
        self.cancelled.emit()

    def _on_worker_failed(self, error: BaseException, details: str) -> None:
        self._cleanup()
        self.stopped.emit()
        self.failed.emit(error, details)


def _import_pipeline() -> None:
    try:
        import app.pipeline  # noqa: F401 (imported for its side effect: loaded modules)
    except Exception as error:  # noqa: BLE001 (the real load will report the same error)
        log.warning("warm-up import of the decoder failed: %s", error)


def _trace_cache():
    """The workspace's decoded-trace cache when there is one (issue 4), else None."""
    try:
        from app.trace_cache import TraceCache
    except ImportError:
        return None
    try:
        return TraceCache()
    except Exception as error:  # noqa: BLE001 (a broken cache must not stop a load)
        log.warning("decoding without the trace cache: %s", error)
        return None


def _sha256(path: Path, progress) -> str:
    digest = hashlib.sha256()
    total = Path(path).stat().st_size
    done = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(4 << 20):
            digest.update(chunk)
            done += len(chunk)
            if not progress(done, total):
                raise LoadCancelled("cancelled by the user")
    return digest.hexdigest()
