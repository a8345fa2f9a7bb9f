"""The core must not know Qt: only the GUI entry point may import widgets, and lazily."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FORBIDDEN = ("PySide6", "pyqtgraph", "shiboken6", "widgets")
ENTRY_POINT = REPO / "app" / "__main__.py"


def _imports(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node, alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node, node.module


def test_core_imports_no_qt():
    offenders = []
    for path in sorted((REPO / "app").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        top_level = set(map(id, tree.body))
        for node, name in _imports(tree):
            if name.split(".")[0] not in FORBIDDEN:
                continue
            if path == ENTRY_POINT and id(node) not in top_level:
                continue  # the entry point may import the window lazily, inside a function
            offenders.append(f"{path.relative_to(REPO)}:{node.lineno} imports {name}")
    assert not offenders, "the Qt-free core imports Qt:\n" + "\n".join(offenders)


def test_entry_point_imports_widgets_lazily():
    tree = ast.parse(ENTRY_POINT.read_text(encoding="utf-8"))
    lazy = [
        name
        for node, name in _imports(tree)
        if name.startswith("widgets") and node not in tree.body
    ]
    assert lazy, "app/__main__.py should open the window through a lazy import of widgets"
