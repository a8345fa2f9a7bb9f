"""What the spec puts into the bundle: data patterns, version resource, Qt plugins.

These run in a second: the full build and the bundled self-test are in test_bundle.py.
"""

from __future__ import annotations

import ast
import hashlib
import shutil
import sys
from pathlib import Path

import bundle
import PySide6
import pytest

PLUGINS = Path(PySide6.__file__).parent / "Qt" / "plugins"


def test_every_data_pattern_matches_in_the_checkout():
    datas = bundle.collect_data()

    destinations = {(Path(source).name, folder) for source, folder in datas}
    assert ("ev_battery.dbc", "dbc") in destinations
    assert ("label_classes.toml", "dbc") in destinations
    assert ("ev-battery-monitor.ico", "resources/icons") in destinations
    assert any(folder == "resources/demo" for _name, folder in destinations)
    assert not any(name.endswith(".template") for name, _folder in destinations)


def test_a_pattern_that_matches_nothing_stops_the_build(tmp_path):
    (tmp_path / "dbc").mkdir()
    (tmp_path / "dbc" / "ev_battery.dbc").write_text('VERSION ""\n')

    with pytest.raises(bundle.BundleError) as error:
        bundle.collect_data(tmp_path, ("dbc/*.dbc", "resources/demo/*", "dbc/roles/*.toml"))

    message = str(error.value)
    assert "resources/demo/*" in message and "dbc/roles/*.toml" in message
    assert "dbc/*.dbc" not in message


def test_files_keep_their_folder(tmp_path):
    (tmp_path / "dbc" / "roles").mkdir(parents=True)
    (tmp_path / "dbc" / "roles" / "x.toml").write_text("")
    (tmp_path / "dbc" / "roles" / "__pycache__").mkdir()
    (tmp_path / "dbc" / "roles" / "__pycache__" / "y.pyc").write_bytes(b"")

    assert bundle.collect_data(tmp_path, ("dbc/**/*",)) == [
        (str(tmp_path / "dbc" / "roles" / "x.toml"), "dbc/roles")
    ]


@pytest.mark.parametrize(
    ("version", "expected"),
    [("0.1.0", (0, 1, 0, 0)), ("2.3", (2, 3, 0, 0)), ("1.4.2rc1", (1, 4, 2, 0))],
)
def test_windows_version_numbers(version, expected):
    assert bundle.version_tuple(version) == expected


def test_version_resource_carries_the_project_version(tmp_path):
    """PyInstaller evaluates this text on Windows only (its reader needs the Win32 API), so
    here its structure is read with ast: the calls, the four numbers and the strings."""
    version = bundle.project_version()
    path = bundle.write_version_info(version, tmp_path / "version_info.txt")

    tree = ast.parse(path.read_text(encoding="utf-8"), mode="eval").body
    assert isinstance(tree, ast.Call) and tree.func.id == "VSVersionInfo"
    calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call)]
    fixed = next(call for call in calls if call.func.id == "FixedFileInfo")
    numbers = {kw.arg: ast.literal_eval(kw.value) for kw in fixed.keywords}
    assert numbers["filevers"] == numbers["prodvers"] == bundle.version_tuple(version)
    strings = dict(
        ast.literal_eval(ast.Tuple(call.args, ast.Load()))
        for call in calls
        if call.func.id == "StringStruct"
    )
    assert strings["FileVersion"] == strings["ProductVersion"] == version
    assert strings["OriginalFilename"] == "ev-battery-monitor.exe"


def test_unused_qt_plugins_go_and_the_needed_ones_stay():
    if not sys.platform.startswith("linux"):
        pytest.skip("the plugin files listed here are Linux's")
    toc = [
        (f"PySide6/Qt/plugins/{path.relative_to(PLUGINS).as_posix()}", str(path), "BINARY")
        for path in PLUGINS.rglob("*.so")
    ]

    kept = {entry[0] for entry in bundle.prune_binaries(toc, "linux")}

    assert "PySide6/Qt/plugins/platforms/libqxcb.so" in kept
    assert "PySide6/Qt/plugins/platforms/libqoffscreen.so" in kept
    assert "PySide6/Qt/plugins/imageformats/libqsvg.so" in kept
    assert "PySide6/Qt/plugins/platforms/libqvnc.so" not in kept
    assert "PySide6/Qt/plugins/platformthemes/libqgtk3.so" not in kept


def test_a_missing_platform_plugin_stops_the_build():
    if not sys.platform.startswith("linux"):
        pytest.skip("the plugin files listed here are Linux's")
    toc = [
        (f"PySide6/Qt/plugins/{path.relative_to(PLUGINS).as_posix()}", str(path), "BINARY")
        for path in PLUGINS.rglob("*.so")
        if path.name != "libqxcb.so"
    ]

    with pytest.raises(bundle.BundleError, match="platforms/qxcb"):
        bundle.prune_binaries(toc, "linux")


def test_a_library_only_unused_plugins_link_goes_too(tmp_path):
    """libQt6EglFSDeviceIntegration is linked by the EGLFS plugins only; libQt6Gui by all."""
    if not sys.platform.startswith("linux") or shutil.which("ldd") is None:
        pytest.skip("reads ELF dependencies with ldd")
    lib = PLUGINS.parent / "lib"
    eglfs = next(lib.glob("libQt6EglFSDeviceIntegration.so*"))
    gui = next(lib.glob("libQt6Gui.so*"))
    toc = [
        (
            "PySide6/Qt/plugins/platforms/libqeglfs.so",
            str(PLUGINS / "platforms/libqeglfs.so"),
            "BINARY",
        ),
        (
            "PySide6/Qt/plugins/platforms/libqxcb.so",
            str(PLUGINS / "platforms/libqxcb.so"),
            "BINARY",
        ),
        (
            "PySide6/Qt/plugins/platforms/libqoffscreen.so",
            str(PLUGINS / "platforms/libqoffscreen.so"),
            "BINARY",
        ),
        (
            "PySide6/Qt/plugins/imageformats/libqico.so",
            str(PLUGINS / "imageformats/libqico.so"),
            "BINARY",
        ),
        (
            "PySide6/Qt/plugins/imageformats/libqsvg.so",
            str(PLUGINS / "imageformats/libqsvg.so"),
            "BINARY",
        ),
        (f"PySide6/Qt/lib/{eglfs.name}", str(eglfs), "BINARY"),
        (f"PySide6/Qt/lib/{gui.name}", str(gui), "BINARY"),
    ]

    kept = {entry[0] for entry in bundle.prune_binaries(toc, "linux")}

    assert f"PySide6/Qt/lib/{gui.name}" in kept
    assert f"PySide6/Qt/lib/{eglfs.name}" not in kept
    assert "PySide6/Qt/plugins/platforms/libqeglfs.so" not in kept


def test_pyarrow_headers_are_left_out():
    datas = [
        ("pyarrow/include/arrow/api.h", "/x/api.h", "DATA"),
        ("pyarrow/lib.pxd", "/x/lib.pxd", "DATA"),
        ("pyarrow/tzdata/zone.tab", "/x/zone.tab", "DATA"),
        ("dbc/ev_battery.dbc", "/x/ev_battery.dbc", "DATA"),
    ]

    assert [entry[0] for entry in bundle.prune_datas(datas)] == [
        "pyarrow/tzdata/zone.tab",
        "dbc/ev_battery.dbc",
    ]


def test_installed_metadata_is_copied_when_it_agrees(tmp_path):
    """python-can stands in for an installed ev-battery-monitor: both are real dist-infos."""
    from importlib import metadata

    installed = metadata.version("python-can")

    datas = bundle.app_metadata(installed, tmp_path, "python-can")

    assert any(folder.startswith("python_can-") for _source, folder in datas)
    assert not any(tmp_path.iterdir())  # nothing written: the installed copy is used


def test_installed_metadata_of_another_version_stops_the_build(tmp_path):
    with pytest.raises(bundle.BundleError, match="pip install -e"):
        bundle.app_metadata("0.0.1", tmp_path, "python-can")


def test_metadata_is_written_for_a_checkout_never_installed(tmp_path):
    from importlib import metadata

    datas = bundle.app_metadata("9.8.7", tmp_path, "ev-battery-monitor-never-installed")

    ((source, folder),) = datas
    assert folder == "ev_battery_monitor_never_installed-9.8.7.dist-info"
    found = metadata.PathDistribution(Path(source).parent)
    assert (found.metadata["Name"], found.version) == (
        "ev-battery-monitor-never-installed",
        "9.8.7",
    )


def test_no_third_party_data_file_is_shipped(shared_data):
    """Every file in ../shared/data is a third-party copy (some GPL or CC-BY-SA): none of them
    may ride into the bundle, for example as a database someone dropped into dbc/."""
    manifest = (shared_data / "MANIFEST.tsv").read_text(encoding="utf-8").splitlines()
    header = manifest[0].split("\t")
    third_party = {
        row[header.index("sha256")]: row[header.index("path")]
        for row in (line.split("\t") for line in manifest[1:])
    }

    shipped = {
        hashlib.sha256(Path(source).read_bytes()).hexdigest(): source
        for source, _folder in bundle.collect_data()
    }

    copies = {shipped[sha]: third_party[sha] for sha in shipped.keys() & third_party.keys()}
    assert not copies, f"third-party files would be shipped: {copies}"
