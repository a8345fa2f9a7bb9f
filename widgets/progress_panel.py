"""The status bar's progress bar and Cancel button for a background load."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget


class ProgressPanel(QWidget):
    cancel_requested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.label = QLabel()
        self.bar = QProgressBar()
        self.bar.setFixedWidth(220)
        self.bar.setRange(0, 1000)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel_requested)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label)
        layout.addWidget(self.bar)
        layout.addWidget(self.cancel_button)
        self.setVisible(False)

    def start(self, text: str) -> None:
        self.label.setText(text)
        self.bar.setValue(0)
        self.cancel_button.setEnabled(True)
        self.setVisible(True)

    def set_progress(self, stage: str, done: int, total: int) -> None:
        self.label.setText(stage)
        self.bar.setValue(int(1000 * done / total) if total > 0 else 0)

    def stop(self) -> None:
        self.setVisible(False)
