"""The window's commands as one table: text, menu, shortcut, handler.

Key handling goes through this table, not through a ``keyPressEvent``: each row becomes a
``QAction`` in its menu, with its shortcut shown there. ``handler`` names a method of the main
window; a checkable action's handler receives the new state.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QAction, QKeySequence

Key = QKeySequence.StandardKey


@dataclass(frozen=True)
class ActionSpec:
    name: str
    text: str
    menu: str
    handler: str
    shortcut: str | QKeySequence.StandardKey | None = None
    checkable: bool = False
    tip: str = ""
    toolbar: bool = False


ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec(
        "open",
        "&Open capture…",
        "&File",
        "open_dialog",
        Key.Open,
        tip="Open a CAN capture",
        toolbar=True,
    ),
    ActionSpec("demo", "Open the &demo recording", "&File", "open_demo"),
    ActionSpec(
        "databases",
        "Choose &databases…",
        "&File",
        "choose_databases",
        "Ctrl+D",
        tip="Decode the open capture with other databases",
    ),
    ActionSpec("save_layout", "&Save layout", "&File", "save_layout", Key.Save),
    ActionSpec("quit", "&Quit", "&File", "close", Key.Quit),
    ActionSpec(
        "zoom_fit",
        "Zoom to &fit",
        "&View",
        "zoom_to_fit",
        "Ctrl+0",
        toolbar=True,
        tip="Show the whole recording",
    ),
    ActionSpec("zoom_in", "Zoom &in", "&View", "zoom_in", Key.ZoomIn),
    ActionSpec("zoom_out", "Zoom &out", "&View", "zoom_out", Key.ZoomOut),
    ActionSpec("next_plot", "&Next plot", "&View", "next_plot", "Ctrl+PgDown"),
    ActionSpec("previous_plot", "&Previous plot", "&View", "previous_plot", "Ctrl+PgUp"),
    ActionSpec("new_plot", "New &empty plot", "&View", "new_plot", "Ctrl+Shift+N"),
    ActionSpec("remove_plot", "&Remove current plot", "&View", "remove_current_plot", Key.Delete),
    ActionSpec(
        "wall_clock",
        "&Wall-clock time",
        "&View",
        "set_wall_clock",
        "Ctrl+T",
        checkable=True,
        tip="Show local time instead of seconds since the start",
    ),
    ActionSpec(
        "light_theme",
        "&Light theme",
        "&View",
        "set_light_theme",
        "Ctrl+L",
        checkable=True,
        tip="Bright background for a bright workshop",
    ),
    ActionSpec(
        "cursors",
        "&Cursors",
        "&Measure",
        "set_cursors_shown",
        "C",
        checkable=True,
        toolbar=True,
        tip="Two cursors that read every trace",
    ),
    ActionSpec(
        "range",
        "Select &range",
        "&Measure",
        "set_range_shown",
        "R",
        checkable=True,
        toolbar=True,
        tip="Statistics of every trace over a range",
    ),
    ActionSpec("log_folder", "Show the &log file location", "&Help", "show_log_location"),
    ActionSpec("about", "&About", "&Help", "show_about"),
)


def build_actions(window, specs=ACTIONS) -> dict[str, QAction]:
    """Create each action, put it in its menu (created on first use), connect its handler."""
    actions: dict[str, QAction] = {}
    for spec in specs:
        action = QAction(spec.text, window)
        action.setObjectName(f"action_{spec.name}")
        if spec.shortcut is not None:
            action.setShortcut(QKeySequence(spec.shortcut))
        if spec.tip:
            action.setToolTip(spec.tip)
            action.setStatusTip(spec.tip)
        action.setCheckable(spec.checkable)
        handler = getattr(window, spec.handler)
        if spec.checkable:
            action.toggled.connect(handler)
        else:
            action.triggered.connect(lambda _checked=False, h=handler: h())
        window.menu(spec.menu).addAction(action)
        actions[spec.name] = action
    return actions
