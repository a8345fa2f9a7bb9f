"""``ev-battery-monitor --self-test``: prove that an installation works, without a display.

The steps, each named in the result:

- ``icon``: the shipped icon loads as SVG and as ICO (Qt's image-format plugins are there);
- ``demo``: the demo recording and the shipped database are in the install;
- ``decode``: the demo decodes with that database into traces with battery roles;
- ``plot``: a pyqtgraph plot of the pack voltage renders to a PNG that is not blank;
- ``label``: a label goes into a temporary workspace and comes back the same.

Everything the test writes goes to a temporary folder that ``EVBM_HOME`` points at while it
runs, so the technician's own workspace, settings and logs are never touched. The result is
one line: ``self-test passed ...`` (exit 0), or ``self-test FAILED ...`` naming each step that
failed and why (exit 1); tracebacks go to the log.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import numpy as np

from app import __version__
from app.paths import shipped_dir

log = logging.getLogger(__name__)

SHIPPED_DATABASE = "ev_battery.dbc"
PLOT_SIZE = (640, 360)
_CURVE_RGB = (255, 127, 14)  # the plot's pen; the check looks for these pixels
_NOT_CAPTURES = (".md", ".txt", ".json", ".toml")


@dataclass
class StepResult:
    name: str
    ok: bool
    detail: str
    duration_s: float


class SelfTest:
    """The steps, run in order; a step whose input failed is reported as skipped."""

    def __init__(self, folder: Path, demo: Path | None = None, database: Path | None = None):
        self.folder = folder
        self.demo = demo
        self.database = database
        self.session = None
        self.results: list[StepResult] = []

    def run(self) -> list[StepResult]:
        self._step("icon", self.check_icon)
        if self._step("demo", self.find_demo):
            if self._step("decode", self.decode):
                self._step("plot", self.render_plot)
            else:
                self._skip("plot", "decode")
        else:
            self._skip("decode", "demo")
            self._skip("plot", "decode")
        self._step("label", self.write_label)
        return self.results

    def _step(self, name: str, action: Callable[[], str]) -> bool:
        started = time.perf_counter()
        try:
            detail, ok = action(), True
        except Exception as exc:  # a self-test reports every failure instead of stopping
            log.error("self-test step %s failed", name, exc_info=True)
            detail, ok = f"{type(exc).__name__}: {exc}", False
        self.results.append(StepResult(name, ok, detail, time.perf_counter() - started))
        return ok

    def _skip(self, name: str, needs: str) -> None:
        self.results.append(StepResult(name, False, f"skipped, needs {needs}", 0.0))

    # -- the steps

    def check_icon(self) -> str:
        from PySide6.QtGui import QImage, QImageReader

        folder = shipped_dir("resources") / "icons"
        svg = QImage(str(folder / "ev-battery-monitor.svg"))
        if svg.isNull():
            raise RuntimeError(f"Qt cannot read {folder / 'ev-battery-monitor.svg'}")
        ico = QImageReader(str(folder / "ev-battery-monitor.ico"))
        if not ico.canRead():
            raise RuntimeError(f"Qt cannot read {folder / 'ev-battery-monitor.ico'}")
        return f"svg {svg.width()} px, ico with {ico.imageCount()} sizes"

    def find_demo(self) -> str:
        if self.demo is None:
            folder = shipped_dir("resources") / "demo"
            found = sorted(p for p in folder.glob("*") if p.suffix.lower() not in _NOT_CAPTURES)
            if not found:
                raise FileNotFoundError(f"no demo recording in {folder}")
            self.demo = found[0]
        if self.database is None:
            self.database = shipped_dir("dbc") / SHIPPED_DATABASE
        for path in (self.demo, self.database):
            if not path.is_file():
                raise FileNotFoundError(f"missing from the install: {path}")
        return self.demo.name

    def decode(self) -> str:
        from app.pipeline import load_session

        session = load_session(self.demo, [self.database])
        frames = len(session.capture.frames)
        traces = [trace for trace in session.traces if len(trace)]
        if not frames or not traces:
            raise RuntimeError(f"{self.demo.name}: {frames} frames gave {len(traces)} traces")
        roles = sorted({trace.role.split(":")[0] for trace in traces if trace.role})
        if "pack_voltage" not in roles:
            raise RuntimeError(f"no pack voltage among the roles found: {roles or 'none'}")
        self.session = session
        return f"{frames:,} frames, {len(traces)} traces, {len(roles)} battery roles"

    def render_plot(self) -> str:
        import pyqtgraph as pg
        from PySide6.QtCore import Qt
        from PySide6.QtGui import QImage
        from PySide6.QtWidgets import QApplication

        trace = self._pack_voltage()
        pg.setConfigOptions(antialias=False)
        widget = pg.PlotWidget(background="w")
        widget.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen)
        widget.resize(*PLOT_SIZE)
        time_s = trace.time_s[trace.valid]
        widget.plot(
            time_s - time_s[0], trace.values[trace.valid], pen=pg.mkPen(_CURVE_RGB, width=2)
        )
        widget.setLabel("left", "pack voltage", units=trace.unit)
        widget.setLabel("bottom", "time", units="s")
        widget.show()
        QApplication.processEvents()

        path = self.folder / "plot.png"
        if not widget.grab().save(str(path), "PNG"):
            raise RuntimeError(f"Qt could not write {path}")
        widget.close()
        widget.deleteLater()
        image = QImage(str(path))
        curve_px = _count_colour(image, _CURVE_RGB)
        if curve_px < PLOT_SIZE[0] // 4:
            raise RuntimeError(f"the plot image is blank: {curve_px} pixels of the curve")
        low, high = np.nanmin(trace.valid_values()), np.nanmax(trace.valid_values())
        return f"{image.width()}x{image.height()} PNG, pack {low:.1f}-{high:.1f} {trace.unit}"

    def write_label(self) -> str:
        from app.labels import Label, load_taxonomy, shipped_taxonomy_path
        from app.workspace import Workspace, default_path, file_sha256

        workspace_file = default_path()
        if self.folder not in workspace_file.parents:  # never write to the user's workspace
            raise RuntimeError(f"the workspace {workspace_file} is outside {self.folder}")
        capture = self.demo if self.demo is not None and self.demo.is_file() else None
        key = file_sha256(capture) if capture else "self-test"
        start_s, end_s = self._label_range()
        label_class = load_taxonomy(shipped_taxonomy_path()).classes[0].key
        label = Label.by_technician(key, start_s, end_s, label_class, note="self-test")

        with Workspace() as workspace:
            if capture:
                workspace.record_session(key, capture)
            workspace.save_label(label)
        with Workspace() as workspace:
            back = workspace.labels(key)
        if len(back) != 1 or not back[0].same_content(label):
            raise RuntimeError(f"wrote 1 label, read back {len(back)} that differ: {back}")
        return f"{label_class} label over {end_s - start_s:.0f} s written and read back"

    # -- helpers

    def _pack_voltage(self):
        for trace in self.session.traces:
            if trace.role == "pack_voltage" and np.count_nonzero(trace.valid) >= 2:
                return trace
        raise RuntimeError("the pack voltage trace has fewer than 2 valid samples")

    def _label_range(self) -> tuple[float, float]:
        if self.session is None:
            return 0.0, 1.0
        trace = self._pack_voltage()
        start_s, end_s = float(trace.time_s[0]), float(trace.time_s[-1])
        return start_s, start_s + (end_s - start_s) / 4


def _count_colour(image, rgb: tuple[int, int, int], tolerance: int = 40) -> int:
    """Pixels of ``image`` within ``tolerance`` (sum of channel differences) of ``rgb``."""
    from PySide6.QtGui import QImage

    image = image.convertToFormat(QImage.Format.Format_RGB32)
    row_bytes = image.bytesPerLine()
    raw = np.frombuffer(image.constBits(), np.uint8, count=row_bytes * image.height())
    pixels = raw.reshape(image.height(), row_bytes)[:, : image.width() * 4]
    bgr = pixels.reshape(image.height(), image.width(), 4)[:, :, :3].astype(np.int16)
    target = np.array(rgb[::-1], np.int16)
    return int(np.count_nonzero(np.abs(bgr - target).sum(axis=2) <= tolerance))


@contextlib.contextmanager
def _private_home(folder: Path) -> Iterator[None]:
    """Point ``EVBM_HOME`` at ``folder`` while the test runs."""
    before = os.environ.get("EVBM_HOME")
    os.environ["EVBM_HOME"] = str(folder)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("EVBM_HOME", None)
        else:
            os.environ["EVBM_HOME"] = before


def _application():
    """The running QApplication, or a new one; offscreen when there is no display."""
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is not None:
        return app
    no_display = not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    if sys.platform.startswith("linux") and no_display and not os.environ.get("QT_QPA_PLATFORM"):
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    return QApplication(sys.argv[:1])


def summary(results: list[StepResult]) -> str:
    """The one line the self-test prints."""
    total_s = sum(result.duration_s for result in results)
    failed = [result for result in results if not result.ok]
    if not failed:
        steps = "; ".join(f"{result.name}: {result.detail}" for result in results)
        return f"self-test passed (ev-battery-monitor {__version__}, {total_s:.1f} s): {steps}"
    problems = "; ".join(f"{result.name}: {result.detail}" for result in failed)
    passed = ", ".join(result.name for result in results if result.ok) or "none"
    return f"self-test FAILED (ev-battery-monitor {__version__}): {problems} (passed: {passed})"


def run_self_test(
    demo: Path | None = None, database: Path | None = None, out: TextIO | None = None
) -> int:
    """Run every step; write the summary line to ``out`` (stdout); 0 when all passed.

    ``demo`` and ``database`` default to the shipped demo recording and database.
    """
    out = sys.stdout if out is None else out
    app = _application()
    with (
        tempfile.TemporaryDirectory(prefix="evbm-self-test-", ignore_cleanup_errors=True) as tmp,
        _private_home(Path(tmp)),
    ):
        results = SelfTest(Path(tmp), demo, database).run()
    del app

    line = summary(results)
    log.info("%s", line)
    if out is not None:  # a windowed Windows executable has no stdout
        out.write(line + "\n")
        out.flush()
    return 0 if all(result.ok for result in results) else 1
