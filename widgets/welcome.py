"""What the window shows before a capture is open: how to start, and the recent captures."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from widgets.settings import Settings


class WelcomePage(QWidget):
    open_requested = Signal()
    demo_requested = Signal()
    recent_requested = Signal(str)

    def __init__(self, settings: Settings, parent=None):
        super().__init__(parent)
        self.settings = settings
        title = QLabel("<h2>EV Battery Monitor</h2>")
        hint = QLabel(
            "Open a CAN capture (Ctrl+O) or drop one on this window. "
            "BLF, ASC, candump, TRC, SavvyCAN/GVRET CSV, MF4 and more."
        )
        hint.setWordWrap(True)
        open_button = QPushButton("Open capture…")
        demo_button = QPushButton("Open the demo recording")
        for button in (open_button, demo_button):
            button.setMinimumHeight(34)
        open_button.clicked.connect(self.open_requested)
        demo_button.clicked.connect(self.demo_requested)
        self.recent = QListWidget()
        self.recent.setMaximumHeight(220)
        self.recent.itemActivated.connect(self._on_recent_item_activated)

        column = QVBoxLayout()
        column.addWidget(title)
        column.addWidget(hint)
        column.addSpacing(12)
        column.addWidget(open_button)
        column.addWidget(demo_button)
        column.addSpacing(12)
        column.addWidget(QLabel("Recent captures (double-click to open):"))
        column.addWidget(self.recent)
        column.addStretch(1)
        box = QWidget()
        box.setLayout(column)
        box.setMinimumWidth(620)
        box.setMaximumWidth(760)
        outer = QVBoxLayout(self)
        outer.addSpacing(60)
        outer.addWidget(box, 0, Qt.AlignmentFlag.AlignHCenter)
        self.refresh()

    def refresh(self) -> None:
        self.recent.clear()
        for path in self.settings.recent_captures():
            item = QListWidgetItem(f"{Path(path).name}    —    {Path(path).parent}")
            item.setData(Qt.ItemDataRole.UserRole, str(path))
            item.setToolTip(str(path))
            self.recent.addItem(item)

    def _on_recent_item_activated(self, item: QListWidgetItem) -> None:
        self.recent_requested.emit(item.data(Qt.ItemDataRole.UserRole))

    def showEvent(self, event):  # noqa: N802 (Qt's name)
        self.refresh()
        super().showEvent(event)
