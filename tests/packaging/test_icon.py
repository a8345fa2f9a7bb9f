"""The application icon: the script that draws it, and the files committed from it."""

from __future__ import annotations

from pathlib import Path

import make_icon
import numpy as np
import pytest
from PySide6.QtGui import QImage, QImageReader

REPO = Path(__file__).resolve().parents[2]
ICONS = REPO / "resources" / "icons"


def _opaque_fraction(image: QImage) -> float:
    """Share of pixels that are not fully transparent."""
    image = image.convertToFormat(QImage.Format.Format_ARGB32)
    raw = np.frombuffer(image.constBits(), np.uint8, count=image.bytesPerLine() * image.height())
    rows = raw.reshape(image.height(), image.bytesPerLine())[:, : image.width() * 4]
    alpha = rows.reshape(image.height(), image.width(), 4)[:, :, 3]  # BGRA in memory
    return float(np.count_nonzero(alpha)) / alpha.size


def test_the_script_draws_every_size(qapp, tmp_path):
    written = make_icon.write_all(tmp_path)

    names = {path.name for path in written}
    for size in make_icon.PNG_SIZES:
        assert f"ev-battery-monitor-{size}.png" in names
        image = QImage(str(tmp_path / f"ev-battery-monitor-{size}.png"))
        assert (image.width(), image.height()) == (size, size)
        assert 0.3 < _opaque_fraction(image) < 0.95  # a drawing with a transparent margin


def test_the_ico_holds_every_windows_size(qapp, tmp_path):
    make_icon.write_all(tmp_path)
    reader = QImageReader(str(tmp_path / "ev-battery-monitor.ico"))

    sizes = []
    for index in range(reader.imageCount()):
        reader.jumpToImage(index)
        sizes.append(reader.read().width())

    assert sizes == list(make_icon.ICO_SIZES)


def test_the_svg_is_the_same_drawing(qapp, tmp_path):
    make_icon.write_all(tmp_path)
    svg = QImage(str(tmp_path / "ev-battery-monitor.svg"))  # Qt's SVG image plugin

    assert (svg.width(), svg.height()) == (256, 256)  # a size in pixels, not millimetres
    png = make_icon.render(svg.width())
    assert abs(_opaque_fraction(svg) - _opaque_fraction(png)) < 0.05


@pytest.mark.parametrize(
    "name",
    [f"ev-battery-monitor-{size}.png" for size in make_icon.PNG_SIZES]
    + ["ev-battery-monitor.ico", "ev-battery-monitor.svg"],
)
def test_the_committed_icons_are_there_and_load(qapp, name):
    image = QImage(str(ICONS / name))

    assert not image.isNull(), (
        f"{ICONS / name} is missing or unreadable: run installer/make_icon.py"
    )
