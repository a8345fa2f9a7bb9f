"""Build the one-folder bundle with the spec and run it: the CI proof that the package works.

PyInstaller runs once per test run (a session fixture; about a minute and a half on two
cores). The bundle then runs from a folder outside the checkout, with a clean environment,
so nothing comes from the source tree. Its size, the build time and the start-up time to the
first window are printed; they are figures for the report, not assertions.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import bundle
import make_bundle
import pytest

TIMEOUT_S = 300


@dataclass
class Built:
    folder: Path
    work: Path
    build_s: float


@pytest.fixture(scope="session")
def built(tmp_path_factory) -> Built:
    root = tmp_path_factory.mktemp("bundle")
    started = time.monotonic()
    folder = make_bundle.build_bundle(root / "dist", root / "work")
    return Built(folder, root / "work" / "ev-battery-monitor", time.monotonic() - started)


def _run(
    built: Built, tmp_path: Path, *args: str, timeout_s: float = TIMEOUT_S, **env: str
) -> subprocess.CompletedProcess:
    """Run the bundle's program from ``tmp_path`` with a clean environment."""
    clean = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PYTHON", "EVBM_", "QT_", "VIRTUAL_ENV"))
    }
    clean.update(EVBM_HOME=str(tmp_path / "home"), QT_QPA_PLATFORM="offscreen", **env)
    return subprocess.run(
        [str(make_bundle.executable(built.folder, console=True)), *args],
        cwd=tmp_path,
        env=clean,
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )


def _report(capsys, line: str) -> None:
    with capsys.disabled():
        print(f"\n[bundle] {line}")


def test_bundle_self_test_passes(built, tmp_path, capsys):
    result = _run(built, tmp_path, "--self-test")

    _report(capsys, result.stdout.strip())
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("self-test passed")
    assert str(bundle.REPO) not in result.stdout + result.stderr  # nothing from the checkout


def test_bundle_version_comes_from_its_metadata(built, tmp_path):
    version = bundle.project_version()

    result = _run(built, tmp_path, "--version")

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"ev-battery-monitor {version}"
    # the number must come from bundled metadata, not the source tree's fallback
    # (a dist-info from a wheel or a fresh build, an egg-info from an editable install)
    metadata = list(built.folder.rglob("ev_battery_monitor-*.dist-info/METADATA"))
    metadata += list(built.folder.rglob("ev_battery_monitor.egg-info/PKG-INFO"))
    assert len(metadata) == 1, metadata
    assert f"\nVersion: {version}\n" in metadata[0].read_text(encoding="utf-8")


def test_bundle_starts_to_its_first_window(built, tmp_path, capsys):
    """Wall time is what a technician waits; CPU time (the bundle's user + system seconds)
    is the same figure without the wait for a busy machine's cores."""
    figures = []
    for attempt in ("cold", "warm"):
        cpu_before = _children_cpu_s()
        started = time.perf_counter()
        # a window that ignores EVBM_EXIT_AFTER_FIRST_WINDOW stays open: the timeout ends it
        result = _run(built, tmp_path, timeout_s=60, EVBM_EXIT_AFTER_FIRST_WINDOW="1")
        wall_s = time.perf_counter() - started
        cpu_s = _children_cpu_s() - cpu_before
        assert result.returncode == 0, f"{attempt} start: {result.stdout}{result.stderr}"
        figures.append(f"{attempt} {wall_s:.2f} s wall" + (f", {cpu_s:.2f} s CPU" if cpu_s else ""))

    log = (tmp_path / "home" / "logs" / "ev-battery-monitor.log").read_text(encoding="utf-8")
    assert log.count("first window painted") == 2
    load = f"; load average {os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else ""
    _report(capsys, f"start-up to the first window: {'; '.join(figures)} (target 3 s{load})")


def _children_cpu_s() -> float:
    try:
        import resource
    except ImportError:  # Windows: wall time only
        return 0.0
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# One capture per reader family: python-can's BLF, ASC and TRC readers, asammdf for MF4, and
# our own text readers. The bundle must describe each exactly as the source tree does.
CAPTURES = (
    "python-can-testdata/test_CanMessage.blf",
    "python-can-testdata/logfile.asc",
    "python-can-testdata/test_CanMessage_V2_1.trc",
    "css-api-examples/LOG/17BD1DB7/00000006/00000170.MF4",
    "savvycan-examples/GVRET_Log.csv",
    "savvycan-examples/candump.log",
)


@pytest.mark.parametrize("capture", CAPTURES)
def test_bundle_reads_captures_as_the_source_tree_does(built, tmp_path, shared_data, capture):
    path = str(shared_data / capture)

    frozen = _run(built, tmp_path, "info", path)
    source = subprocess.run(
        [sys.executable, "-m", "app", "info", path],
        cwd=bundle.REPO,
        env=dict(os.environ, EVBM_HOME=str(tmp_path / "source-home")),
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )

    assert source.returncode == 0, source.stderr
    assert frozen.returncode == 0, frozen.stderr
    assert frozen.stdout == source.stdout
    assert re.search(r"^frames: +[1-9]", frozen.stdout, re.MULTILINE)


def test_bundle_carries_data_plugins_and_dynamic_modules(built, capsys):
    internal = built.folder / "_internal"
    for relative in ("dbc/ev_battery.dbc", "dbc/label_classes.toml", "dbc/roles/ev_battery.toml"):
        assert (internal / relative).is_file(), relative
    assert any((internal / "resources" / "demo").iterdir())
    plugins = {path.name for path in internal.rglob("plugins/platforms/*")}
    if sys.platform.startswith("linux"):
        assert {"libqxcb.so", "libqoffscreen.so"} <= plugins
        assert "libqvnc.so" not in plugins

    # python-can and cantools import these by name: they must be in the archive
    modules = set(re.findall(r"\('([\w.]+)',", (built.work / "PYZ-00.toc").read_text()))
    for name in ("can.interfaces.virtual", "can.interfaces.socketcan", "can.io.blf"):
        assert name in modules, name
    assert "cantools.subparsers.decode" in modules
    assert not {"tkinter", "matplotlib", "PySide6.QtWebEngineCore"} & modules

    size_mb = make_bundle.folder_size_bytes(built.folder) / 1e6
    files = sum(1 for path in built.folder.rglob("*") if path.is_file())
    _report(capsys, f"size {size_mb:.0f} MB in {files} files; built in {built.build_s:.0f} s")
