"""What goes into the PyInstaller bundle, kept out of the spec so that it can be tested.

``ev-battery-monitor.spec`` imports this module. Everything here fails loudly: a data pattern
that matches no file, a Qt plugin the app needs that the build did not pick up, or package
metadata that disagrees with ``pyproject.toml`` stops the build with a message naming it,
instead of producing a bundle that breaks on a technician's laptop.
"""

from __future__ import annotations

import glob
import logging
import os
import sys
import tomllib
from pathlib import Path, PurePosixPath
from string import Template

log = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parent.parent
DIST_NAME = "ev-battery-monitor"

# Data files shipped beside the code, as globs relative to the checkout. Each file keeps its
# folder (``dbc/roles/x.toml`` lands in ``dbc/roles/``), which is where ``app.paths.shipped_dir``
# looks. Every pattern must match at least one file; the named files guard the ones the app
# cannot start without, the folder-wide patterns ship everything else in those folders.
DATA_PATTERNS: tuple[str, ...] = (
    "dbc/**/*",
    "dbc/ev_battery.dbc",
    "dbc/roles/ev_battery.toml",
    "dbc/label_classes.toml",
    "resources/icons/*.png",
    "resources/icons/ev-battery-monitor.ico",
    "resources/icons/ev-battery-monitor.svg",
    "resources/demo/*",
)

# Files matched by a folder-wide pattern that the running app never reads.
_NOT_SHIPPED = ("__pycache__", ".pyc", ".template", ".gitignore")

# Modules the app never imports but that PyInstaller would follow from optional or lazy imports
# in pandas, pyarrow, pyqtgraph, python-can and asammdf; leaving them out keeps the bundle small.
EXCLUDES: tuple[str, ...] = (
    # toolkits, notebooks and test runners
    "tkinter",
    "_tkinter",
    "matplotlib",
    "IPython",
    "traitlets",
    "jedi",
    "pygments",
    "pytest",
    "_pytest",
    "pluggy",
    "hypothesis",
    # build tools
    "setuptools",
    "pkg_resources",
    "distutils",
    "_distutils_hack",
    # maths we do not use (asammdf wants sympy only for formula conversions, and copes)
    "scipy",
    "sympy",
    "mpmath",
    # cloud storage and HTML reports of pandas and pyarrow
    "botocore",
    "boto3",
    "s3fs",
    "gcsfs",
    "requests",
    "jinja2",
    "sqlalchemy",  # pandas.io.sql; the store talks to PostgreSQL through psycopg
    "yaml",  # numpy's show_config and canmatrix's YAML format
    "pyarrow.flight",
    "pyarrow._flight",
    "pyarrow._s3fs",
    "pyarrow._gcsfs",
    "pyarrow._azurefs",
    "pyarrow._hdfs",
    "pyarrow.substrait",
    "pyarrow._substrait",
    "pyarrow.cuda",
    "pyarrow._cuda",
    "pyarrow.gandiva",
    # asammdf's own viewer (we read MF4 files with it, nothing more)
    "asammdf.gui",
    # other Qt bindings and the Qt modules we do not use
    "PyQt5",
    "PyQt6",
    "PySide2",
    "PySide6.QtWebEngineCore",
    "PySide6.QtWebEngineWidgets",
    "PySide6.QtWebEngineQuick",
    "PySide6.QtWebChannel",
    "PySide6.QtQml",
    "PySide6.QtQuick",
    "PySide6.QtQuickWidgets",
    "PySide6.Qt3DCore",
    "PySide6.QtMultimedia",
    "PySide6.QtPdf",
    "PySide6.QtPdfWidgets",
    "PySide6.QtCharts",
    "PySide6.QtDataVisualization",
    "PySide6.QtBluetooth",
    "PySide6.QtDesigner",
    "PySide6.QtUiTools",
)

# Qt plugins by folder: the ones the app needs (the build fails without them) and, for the
# folders we prune, the only ones we keep. Names are the plugin's stem without "lib" or suffix.
_PLATFORMS = {
    "linux": ("qxcb", "qoffscreen", "qminimal", "qwayland"),
    "win32": ("qwindows", "qoffscreen", "qminimal"),
    "darwin": ("qcocoa", "qoffscreen", "qminimal"),
}
_REQUIRED_PLUGINS = {
    "linux": {"platforms": ("qxcb", "qoffscreen"), "imageformats": ("qico", "qsvg")},
    "win32": {
        "platforms": ("qwindows", "qoffscreen"),
        "imageformats": ("qico", "qsvg"),
        "styles": ("qmodernwindowsstyle",),
    },
    "darwin": {"platforms": ("qcocoa", "qoffscreen"), "imageformats": ("qico", "qsvg")},
}
# Plugin folders nothing in the app uses; some pull in whole libraries (qgtk3 needs GTK 3,
# qpdf needs QtPdf, the EGL device integrations need the EGLFS libraries).
_DROPPED_PLUGIN_FOLDERS = ("egldeviceintegrations", "qmltooling", "designer", "sqldrivers")
_DROPPED_PLUGINS = ("qpdf", "qgtk3")

# Libraries we never load. Parts of pyarrow (we read and write local Parquet files only):
# PyInstaller's pyarrow hook collects every library in the package. Each goes again unless
# something that stays links it.
_DROPPED_LIBRARIES = (
    "arrow_flight",
    "arrow_python_flight",
    "arrow_substrait",
    "arrow_s3",
    "arrow_gcs",
    "arrow_azure",
    # Qt's software OpenGL for Windows machines without a driver: our plots draw with the
    # raster engine (pyqtgraph's useOpenGL stays off), so nothing loads it.
    "opengl32sw",
)


class BundleError(RuntimeError):
    """The bundle would be incomplete; the message says what is missing and where."""


def platform_key(platform: str | None = None) -> str:
    platform = platform or sys.platform
    return "linux" if platform.startswith("linux") else platform


# --- data files ----------------------------------------------------------------------------


def collect_data(root: Path = REPO, patterns: tuple[str, ...] = DATA_PATTERNS) -> list[tuple]:
    """``(source, destination folder)`` pairs for PyInstaller's ``datas``.

    Raises :class:`BundleError` naming every pattern that matched no file.
    """
    found: dict[Path, str] = {}
    unmatched = []
    for pattern in patterns:
        matches = [
            path
            for path in map(Path, glob.glob(str(root / pattern), recursive=True))
            if path.is_file() and not _skipped(path.relative_to(root))
        ]
        if not matches:
            unmatched.append(pattern)
        for path in matches:
            found[path] = path.parent.relative_to(root).as_posix()

    if unmatched:
        raise BundleError(
            f"data patterns matched no file under {root}: {', '.join(unmatched)} "
            "(the bundle would start without them)"
        )
    log.info("bundling %d data files from %d patterns", len(found), len(patterns))
    return sorted((str(path), folder) for path, folder in found.items())


def _skipped(relative: Path) -> bool:
    text = relative.as_posix()
    return any(part in text for part in _NOT_SHIPPED)


# Data files that third-party hooks collect but nothing reads at run time: pyarrow's C++ headers
# and Cython sources.
_UNUSED_DATA_PREFIXES = ("pyarrow/include/", "pyarrow/src/", "pyarrow/tests/")
_UNUSED_DATA_SUFFIXES = (".pxd", ".pyx", ".pxi", ".h", ".hpp")


def prune_datas(datas: list[tuple]) -> list[tuple]:
    """Drop collected data files that nothing reads at run time (see above)."""
    kept = []
    for entry in datas:
        destination = entry[0].replace("\\", "/")
        if destination.startswith(_UNUSED_DATA_PREFIXES) or (
            destination.startswith("pyarrow/") and destination.endswith(_UNUSED_DATA_SUFFIXES)
        ):
            continue
        kept.append(entry)
    log.info("left out %d unused data files", len(datas) - len(kept))
    return kept


# --- version -------------------------------------------------------------------------------


def project_version(root: Path = REPO) -> str:
    """The version in ``pyproject.toml``: the one place it is written."""
    with open(root / "pyproject.toml", "rb") as file:
        return tomllib.load(file)["project"]["version"]


def version_tuple(version: str) -> tuple[int, int, int, int]:
    """Windows wants four numbers: ``"1.2"`` -> ``(1, 2, 0, 0)``,
    ``"0.3.1rc1"`` -> ``(0, 3, 1, 0)``."""
    from packaging.version import Version  # PyInstaller depends on it

    release = list(Version(version).release[:4])
    return tuple(release + [0] * (4 - len(release)))


def write_version_info(version: str, destination: Path, root: Path = REPO) -> Path:
    """Fill ``resources/version_info.template`` for the Windows executable's version resource."""
    template = Template((root / "resources" / "version_info.template").read_text("utf-8"))
    text = template.substitute(version=version, version_tuple=repr(version_tuple(version)))
    destination.parent.mkdir(parents=True, exist_ok=True)
    destination.write_text(text, encoding="utf-8")
    return destination


# --- package metadata ----------------------------------------------------------------------


def app_metadata(version: str, workdir: Path, dist_name: str = DIST_NAME) -> list[tuple]:
    """The app's dist-info for the bundle, so that ``--version`` and anything else reading
    ``importlib.metadata`` works frozen.

    Copied from the installed distribution when there is one (it must agree with
    ``pyproject.toml``); written from ``pyproject.toml`` when building from a checkout that was
    never ``pip install``-ed.
    """
    from importlib import metadata

    from PyInstaller.utils.hooks import copy_metadata

    try:
        installed = metadata.version(dist_name)
    except metadata.PackageNotFoundError:
        installed = None
    if installed is not None and installed != version:
        raise BundleError(
            f"the installed {dist_name} metadata says {installed} but pyproject.toml says "
            f"{version}: run `pip install -e .` again before building"
        )
    if installed is not None:
        return copy_metadata(dist_name)

    log.warning("%s is not installed: writing its metadata from pyproject.toml", dist_name)
    folder = workdir / f"{dist_name.replace('-', '_')}-{version}.dist-info"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {dist_name}\nVersion: {version}\n", encoding="utf-8"
    )
    return [(str(folder / "METADATA"), folder.name)]


# --- binaries: Qt plugins and unused libraries ----------------------------------------------


def _plugin_parts(dest_name: str) -> tuple[str, str] | None:
    """``("platforms", "qxcb")`` for ``PySide6/Qt/plugins/platforms/libqxcb.so``, else None."""
    parts = PurePosixPath(dest_name.replace("\\", "/")).parts
    if "plugins" not in parts or len(parts) < parts.index("plugins") + 3:
        return None
    index = parts.index("plugins")
    return parts[index + 1], _stem(parts[-1])


def _stem(file_name: str) -> str:
    """``qxcb`` for ``libqxcb.so``, ``arrow_flight`` for ``libarrow_flight.so.2600``."""
    stem = file_name.split(".")[0]
    return stem[3:] if stem.startswith("lib") else stem


def _unwanted(dest_name: str, platforms: tuple[str, ...]) -> bool:
    plugin = _plugin_parts(dest_name)
    if plugin is None:
        return _stem(PurePosixPath(dest_name.replace("\\", "/")).name) in _DROPPED_LIBRARIES
    folder, name = plugin
    if folder in _DROPPED_PLUGIN_FOLDERS or name in _DROPPED_PLUGINS:
        return True
    return folder == "platforms" and name not in platforms


def prune_binaries(binaries: list[tuple], platform: str | None = None) -> list[tuple]:
    """Drop the Qt plugins and libraries the app never loads, with whatever only they needed;
    then check that the Qt plugins the app needs are all there.

    ``binaries`` is PyInstaller's TOC: ``(destination, source, kind)`` entries.
    """
    key = platform_key(platform)
    unwanted = [entry for entry in binaries if _unwanted(entry[0], _PLATFORMS.get(key, ()))]
    dropped = _unneeded(binaries, unwanted)
    kept = [entry for entry in binaries if entry[0] not in dropped]
    log.info("left out %d unused binaries: %s", len(dropped), ", ".join(sorted(dropped)))

    present = {_plugin_parts(entry[0]) for entry in kept}
    missing = [
        f"{folder}/{name}"
        for folder, names in _REQUIRED_PLUGINS.get(key, {}).items()
        for name in names
        if (folder, name) not in present
    ]
    if missing:
        raise BundleError(f"Qt plugins the app needs were not collected: {', '.join(missing)}")
    return kept


def _unneeded(binaries: list[tuple], unwanted: list[tuple]) -> set[str]:
    """Destinations of the unwanted binaries and of the libraries only they link, minus
    anything that a binary we keep links (directly or through others)."""
    from PyInstaller.depend.bindepend import get_imports

    by_source = {os.path.realpath(entry[1]): entry[0] for entry in binaries}

    def links(destination_source: str) -> set[str]:
        try:
            imports = get_imports(destination_source)
        except Exception as exc:  # an unreadable file is kept, never guessed at
            log.warning("cannot read the libraries %s links: %s", destination_source, exc)
            return set()
        return {
            by_source[os.path.realpath(path)]
            for _name, path in imports
            if path and os.path.realpath(path) in by_source
        }

    sources = {entry[0]: entry[1] for entry in binaries}

    # Everything the unwanted binaries pull in is a candidate...
    candidates = {entry[0] for entry in unwanted}
    frontier = list(candidates)
    while frontier:
        for linked in links(sources[frontier.pop()]) - candidates:
            candidates.add(linked)
            frontier.append(linked)

    # ... unless a binary that stays links it.
    needed = set()
    frontier = [destination for destination in sources if destination not in candidates]
    while frontier:
        for linked in links(sources[frontier.pop()]) & candidates - needed:
            needed.add(linked)
            frontier.append(linked)
    return candidates - needed
