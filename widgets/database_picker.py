"""Asking which databases decode a capture, the first time only.

The dialog lists the databases we ship (``dbc/``) and any the technician adds from disk, ticks
the ones used last time for this capture's folder, and returns the ticked paths. The window
asks only when :class:`widgets.settings.Settings` remembers nothing for the capture.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
)

from app.paths import shipped_dir

DATABASE_FILTER = "CAN databases (*.dbc *.DBC *.kcd *.sym *.arxml);;All files (*)"
DATABASE_SUFFIXES = {".dbc", ".kcd", ".sym", ".arxml"}


def shipped_databases() -> list[Path]:
    folder = shipped_dir("dbc")
    return sorted(p for p in folder.glob("*") if p.suffix.lower() in DATABASE_SUFFIXES)


class DatabasePicker(QDialog):
    def __init__(self, capture: Path, preselected: list[Path] | None = None, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Databases for this capture")
        self.resize(560, 360)
        intro = QLabel(
            f"Which CAN databases decode <b>{capture.name}</b>?<br>"
            "The choice is remembered for this capture and its folder."
        )
        intro.setWordWrap(True)
        self.list = QListWidget()
        add = QPushButton("Add database file…")
        add.clicked.connect(self._on_add_clicked)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.list, 1)
        layout.addWidget(add, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(buttons)

        chosen = {p.resolve() for p in preselected or []}
        for path in [*shipped_databases(), *(preselected or [])]:
            self.add_database(path, checked=path.resolve() in chosen)

    def add_database(self, path: Path, checked: bool = True) -> None:
        path = Path(path).resolve()
        for row in range(self.list.count()):
            if self.list.item(row).data(Qt.ItemDataRole.UserRole) == str(path):
                self.list.item(row).setCheckState(Qt.CheckState.Checked)
                return
        item = QListWidgetItem(f"{path.name}    ({path.parent})")
        item.setData(Qt.ItemDataRole.UserRole, str(path))
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
        item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)
        self.list.addItem(item)

    def chosen(self) -> list[Path]:
        return [
            Path(self.list.item(row).data(Qt.ItemDataRole.UserRole))
            for row in range(self.list.count())
            if self.list.item(row).checkState() == Qt.CheckState.Checked
        ]

    def _on_add_clicked(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, "Add CAN databases", "", DATABASE_FILTER)
        for name in files:
            self.add_database(Path(name))
