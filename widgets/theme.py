"""Dark and light themes: the Qt palette, the plots' colours, and the trace colours.

Dark is the default (a dim workshop, a laptop at night); light is for a bright workshop or a
sunny car park, where a dark screen turns into a mirror. Trace colours come from a per-theme
palette picked for contrast on that theme's background; a colour the technician chose
explicitly is kept across themes.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication


@dataclass(frozen=True)
class Theme:
    name: str
    window: str
    base: str
    text: str
    plot_background: str
    plot_foreground: str
    grid_alpha: float
    cursor_colours: tuple[str, str]
    region_colour: str
    trace_colours: tuple[str, ...]
    highlight: str


DARK = Theme(
    name="dark",
    window="#24272b",
    base="#1b1d20",
    text="#e6e6e6",
    plot_background="#141618",
    plot_foreground="#c8c8c8",
    grid_alpha=0.25,
    cursor_colours=("#ffd166", "#7bdff2"),
    region_colour="#5c7cfa40",
    trace_colours=(
        "#4dabf7",
        "#ff922b",
        "#69db7c",
        "#ff6b6b",
        "#cc5de8",
        "#ffd43b",
        "#38d9a9",
        "#f783ac",
        "#a9e34b",
        "#91a7ff",
    ),
    highlight="#3d6fb6",
)

LIGHT = Theme(
    name="light",
    window="#f2f2f2",
    base="#ffffff",
    text="#101010",
    plot_background="#ffffff",
    plot_foreground="#202020",
    grid_alpha=0.3,
    cursor_colours=("#b35c00", "#006d8f"),
    region_colour="#1c7ed630",
    trace_colours=(
        "#1864ab",
        "#d9480f",
        "#2b8a3e",
        "#c92a2a",
        "#862e9c",
        "#a07800",
        "#087f5b",
        "#a61e4d",
        "#5c940d",
        "#364fc7",
    ),
    highlight="#1c7ed6",
)

THEMES = {theme.name: theme for theme in (DARK, LIGHT)}


def theme_named(name: str | None) -> Theme:
    return THEMES.get(name or "dark", DARK)


def apply_palette(app: QApplication, theme: Theme) -> None:
    """Give every Qt widget the theme's colours (Fusion style, so the palette is honoured)."""
    app.setStyle("Fusion")
    palette = QPalette()
    roles = {
        QPalette.ColorRole.Window: theme.window,
        QPalette.ColorRole.WindowText: theme.text,
        QPalette.ColorRole.Base: theme.base,
        QPalette.ColorRole.AlternateBase: theme.window,
        QPalette.ColorRole.ToolTipBase: theme.base,
        QPalette.ColorRole.ToolTipText: theme.text,
        QPalette.ColorRole.Text: theme.text,
        QPalette.ColorRole.Button: theme.window,
        QPalette.ColorRole.ButtonText: theme.text,
        QPalette.ColorRole.Highlight: theme.highlight,
        QPalette.ColorRole.HighlightedText: "#ffffff",
        QPalette.ColorRole.PlaceholderText: "#8a8a8a",
    }
    for role, colour in roles.items():
        palette.setColor(role, QColor(colour))
    for role in (
        QPalette.ColorRole.Text,
        QPalette.ColorRole.WindowText,
        QPalette.ColorRole.ButtonText,
    ):
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor("#7a7a7a"))
    app.setPalette(palette)


def trace_colour(theme: Theme, index: int) -> str:
    return theme.trace_colours[index % len(theme.trace_colours)]
