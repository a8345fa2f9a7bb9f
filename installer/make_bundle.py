"""Build the one-folder bundle, check it, and on Windows wrap it in an installer.

    python installer/make_bundle.py              # dist/ev-battery-monitor/
    python installer/make_bundle.py --check      # ... then run --version and --self-test from it
    python installer/make_bundle.py --installer  # ... then Inno Setup (Windows, ISCC on PATH)

The version comes from ``pyproject.toml`` (see ``installer/bundle.py``); the same number goes
into the executable's version resource and the installer. Steps and figures are logged.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bundle  # noqa: E402  (installer/bundle.py, beside this file)

log = logging.getLogger("build")

NAME = "ev-battery-monitor"
SPEC = HERE / f"{NAME}.spec"
ISS = HERE / f"{NAME}.iss"


def build_bundle(dist: Path, work: Path) -> Path:
    """Run PyInstaller on the spec; return the bundle folder."""
    command = [
        sys.executable,
        "-m",
        "PyInstaller",
        "--noconfirm",  # no --clean: PyInstaller's cache of processed libraries saves minutes
        "--log-level=WARN",
        f"--distpath={dist}",
        f"--workpath={work}",
        str(SPEC),
    ]
    started = time.monotonic()
    subprocess.run(command, check=True, cwd=bundle.REPO)
    folder = dist / NAME
    log.info("built %s in %.0f s", folder, time.monotonic() - started)
    return folder


def executable(folder: Path, console: bool = False) -> Path:
    """The bundle's program; ``console=True`` picks the twin with a stdout on Windows."""
    if sys.platform == "win32":
        return folder / (f"{NAME}-cli.exe" if console else f"{NAME}.exe")
    return folder / NAME


def folder_size_bytes(folder: Path) -> int:
    """Bytes of the files in ``folder``; symbolic links (PyInstaller makes a few on Linux and
    macOS) are not followed, so nothing is counted twice."""
    total = 0
    for parent, _folders, files in os.walk(folder):
        for name in files:
            path = Path(parent) / name
            if not path.is_symlink():
                total += path.stat().st_size
    return total


def check_bundle(folder: Path) -> bool:
    """Run ``--version`` and ``--self-test`` from the bundle, without a display."""
    program = executable(folder, console=True)
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    ok = True
    for option in ("--version", "--self-test"):
        result = subprocess.run(
            [str(program), option], capture_output=True, text=True, env=env, timeout=300
        )
        output = (result.stdout + result.stderr).strip()
        log.info("%s %s -> exit %d: %s", program.name, option, result.returncode, output)
        ok = ok and result.returncode == 0
    return ok


def build_installer(folder: Path, version: str, out: Path) -> Path:
    """Compile the Inno Setup script around the bundle; return the setup program."""
    iscc = _find_iscc()
    if iscc is None:
        raise SystemExit("ISCC (Inno Setup 6) was not found: choco install innosetup")
    subprocess.run(
        [
            iscc,
            f"/DAppVersion={version}",
            f"/DAppNumericVersion={'.'.join(map(str, bundle.version_tuple(version)))}",
            f"/DBundleDir={folder}",
            f"/DRepoDir={bundle.REPO}",
            f"/O{out}",
            str(ISS),
        ],
        check=True,
    )
    setup = out / f"{NAME}-{version}-setup.exe"
    log.info("installer %s (%.1f MB)", setup, setup.stat().st_size / 1e6)
    return setup


def _find_iscc() -> str | None:
    """ISCC on PATH, else where the Inno Setup 6 installer (and choco) put it."""
    found = shutil.which("ISCC") or shutil.which("iscc")
    if found:
        return found
    for variable in ("ProgramFiles(x86)", "ProgramFiles", "LOCALAPPDATA"):
        root = os.environ.get(variable)
        for folder in ("Inno Setup 6", "Programs/Inno Setup 6"):
            candidate = Path(root or "/nonexistent") / folder / "ISCC.exe"
            if candidate.is_file():
                return str(candidate)
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dist", type=Path, default=bundle.REPO / "dist")
    parser.add_argument("--work", type=Path, default=bundle.REPO / "build")
    parser.add_argument("--check", action="store_true", help="run the self-test from the bundle")
    parser.add_argument("--installer", action="store_true", help="build the Windows installer")
    options = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)

    version = bundle.project_version()
    try:
        folder = build_bundle(options.dist.resolve(), options.work.resolve())
    except subprocess.CalledProcessError as exc:
        log.error("PyInstaller failed (exit %d): see its messages above", exc.returncode)
        return 1
    log.info("bundle %s: version %s, %.1f MB", folder, version, folder_size_bytes(folder) / 1e6)

    if options.check and not check_bundle(folder):
        log.error("the bundle failed its checks")
        return 1
    if options.installer:
        build_installer(folder, version, options.dist.resolve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
