"""Labelling in the window: label mode, the labels panel and editor, exports (issue 4).

:func:`install_labels` is the one call the main window makes.
"""

from __future__ import annotations

from widgets.labels.controller import LabelController


def install_labels(window, workspace=None) -> LabelController:
    """Add label mode, the labels dock and the export commands to ``window``."""
    return LabelController(window, workspace)


__all__ = ["LabelController", "install_labels"]
