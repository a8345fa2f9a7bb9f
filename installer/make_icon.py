"""Draw the application icon and write it in every form the packages need.

    python installer/make_icon.py            # rewrites resources/icons/
    python installer/make_icon.py --out DIR  # somewhere else (the tests do this)

The icon is a battery lying on its side with a pulse line across it, drawn with QPainter on
a 256-unit canvas. It is written as PNGs in several sizes (the window icon and Linux), an
``.ico`` holding the sizes Windows asks for (the executable and the installer), and an
``.svg`` (the same drawing, for anything that scales).
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import struct
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # draws images only, needs no display

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QPointF, QRectF, QSize, Qt
from PySide6.QtGui import (
    QColor,
    QGuiApplication,
    QImage,
    QLinearGradient,
    QPainter,
    QPainterPath,
    QPen,
)
from PySide6.QtSvg import QSvgGenerator

log = logging.getLogger(__name__)

NAME = "ev-battery-monitor"
PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)  # what Windows Explorer and the taskbar pick from
CANVAS = 256.0
DEFAULT_OUT = Path(__file__).resolve().parent.parent / "resources" / "icons"

_SHELL = QColor("#1f2d3a")
_CHARGE_TOP = QColor("#3ddc84")
_CHARGE_BOTTOM = QColor("#12a150")
_PULSE = QColor("#ffffff")

# The pulse line across the battery, in canvas units: flat, a beat, flat.
_PULSE_POINTS = (
    (40, 134),
    (92, 134),
    (108, 96),
    (124, 176),
    (142, 78),
    (158, 150),
    (170, 134),
    (204, 134),
)


def draw_icon(painter: QPainter, size_px: float) -> None:
    """Draw the icon into a ``size_px`` square that starts at the painter's origin.

    Below 32 px the outline and the pulse get relatively thicker so they stay visible.
    """
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.scale(size_px / CANVAS, size_px / CANVAS)
    boost = 1.0 if size_px >= 32 else 1.6

    # The shell: a rounded body and the terminal nub on the right.
    body = QRectF(16, 56, 200, 144)
    shell = QPainterPath()
    shell.addRoundedRect(body, 26, 26)
    shell.addRoundedRect(QRectF(212, 100, 30, 56), 10, 10)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(_SHELL)
    painter.drawPath(shell.simplified())

    # The charge: an inset, filled with a green gradient.
    inset = 14 * boost
    charge = body.adjusted(inset, inset, -inset, -inset)
    gradient = QLinearGradient(charge.topLeft(), charge.bottomLeft())
    gradient.setColorAt(0.0, _CHARGE_TOP)
    gradient.setColorAt(1.0, _CHARGE_BOTTOM)
    painter.setBrush(gradient)
    painter.drawRoundedRect(charge, 16, 16)

    # The pulse.
    pulse = QPainterPath(QPointF(*_PULSE_POINTS[0]))
    for x, y in _PULSE_POINTS[1:]:
        pulse.lineTo(x, y)
    pen = QPen(_PULSE, 14 * boost)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    painter.setPen(pen)
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.drawPath(pulse)
    painter.restore()


def render(size_px: int) -> QImage:
    image = QImage(size_px, size_px, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    draw_icon(painter, size_px)
    painter.end()
    return image


def png_bytes(image: QImage) -> bytes:
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buffer, "PNG"):
        raise RuntimeError(f"Qt could not encode a {image.width()} px PNG")
    buffer.close()
    return bytes(data.data())


def ico_bytes(images: list[QImage]) -> bytes:
    """An ICO file holding one PNG-compressed entry per image (Windows Vista and later).

    Qt writes ICO files with one image only; Windows wants every size in one file, and the
    container is simple enough to write here: a 6-byte header, one 16-byte entry per image,
    then the PNG data.
    """
    pngs = [png_bytes(image) for image in images]
    header = struct.pack("<HHH", 0, 1, len(images))
    offset = len(header) + 16 * len(images)
    entries = []
    for image, png in zip(images, pngs, strict=True):
        side = image.width() if image.width() < 256 else 0  # 0 means 256 in an ICO entry
        entries.append(struct.pack("<BBBBHHII", side, side, 0, 0, 1, 32, len(png), offset))
        offset += len(png)
    return header + b"".join(entries) + b"".join(pngs)


def write_svg(path: Path) -> None:
    data = QByteArray()
    buffer = QBuffer(data)
    generator = QSvgGenerator()
    generator.setOutputDevice(buffer)
    generator.setSize(QSize(int(CANVAS), int(CANVAS)))
    generator.setViewBox(QRectF(0, 0, CANVAS, CANVAS))
    generator.setTitle("EV Battery Monitor")
    generator.setDescription("A battery with a pulse line")
    painter = QPainter(generator)
    draw_icon(painter, CANVAS)
    painter.end()

    # Qt gives the size in millimetres, which renderers turn into different pixel counts;
    # a unitless size means CSS pixels everywhere.
    text = bytes(data.data()).decode("utf-8")
    side = int(CANVAS)
    text = re.sub(r'width="[^"]*" height="[^"]*"', f'width="{side}" height="{side}"', text, count=1)
    path.write_text(text, encoding="utf-8")


def write_all(out: Path) -> list[Path]:
    """Write the PNGs, the ICO and the SVG into ``out``; return the files written."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for size in PNG_SIZES:
        path = out / f"{NAME}-{size}.png"
        path.write_bytes(png_bytes(render(size)))
        written.append(path)

    ico = out / f"{NAME}.ico"
    ico.write_bytes(ico_bytes([render(size) for size in ICO_SIZES]))
    written.append(ico)

    svg = out / f"{NAME}.svg"
    write_svg(svg)
    written.append(svg)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder to write into")
    options = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    written = write_all(options.out)
    log.info("wrote %d icon files to %s", len(written), options.out)
    del app
    return 0


if __name__ == "__main__":
    sys.exit(main())
