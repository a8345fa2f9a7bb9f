"""The small dialog that asks for a label's class, note and tags."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QWidget,
)

from app.labels import Taxonomy, clean_tags


def class_icon(colour: str) -> QIcon:
    pixmap = QPixmap(14, 14)
    pixmap.fill(QColor(colour))
    return QIcon(pixmap)


class LabelEditor(QDialog):
    """Class, note and tags for a new label or one being edited. Non-blocking: open it with
    ``open()`` and read :meth:`values` when ``accepted`` fires."""

    def __init__(
        self,
        taxonomy: Taxonomy,
        span_text: str,
        label_class: str | None = None,
        note: str = "",
        tags: tuple[str, ...] = (),
        parent: QWidget | None = None,
    ):
        super().__init__(parent)
        self.setWindowTitle("Label")
        self.setMinimumWidth(360)

        self.class_box = QComboBox()
        for entry in taxonomy:
            self.class_box.addItem(class_icon(entry.colour), entry.name, entry.key)
            index = self.class_box.count() - 1
            self.class_box.setItemData(index, entry.description, Qt.ItemDataRole.ToolTipRole)
        if label_class is not None and label_class not in taxonomy:
            stand_in = taxonomy.get(label_class)
            self.class_box.addItem(class_icon(stand_in.colour), stand_in.name, stand_in.key)
        if label_class is not None:
            self.class_box.setCurrentIndex(self.class_box.findData(label_class))

        self.note_edit = QPlainTextEdit(note)
        self.note_edit.setPlaceholderText("What you see here (optional)")
        self.note_edit.setFixedHeight(70)
        self.tags_edit = QLineEdit(", ".join(tags))
        self.tags_edit.setPlaceholderText("comma-separated, e.g. module 3, fast charge")

        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.buttons = buttons

        form = QFormLayout(self)
        form.addRow(QLabel(span_text))
        form.addRow("&Class", self.class_box)
        form.addRow("&Note", self.note_edit)
        form.addRow("&Tags", self.tags_edit)
        form.addRow(buttons)
        self.class_box.setFocus()

    def set_class(self, key: str) -> None:
        index = self.class_box.findData(key)
        if index < 0:
            raise KeyError(f"no label class {key!r} in the list")
        self.class_box.setCurrentIndex(index)

    def values(self) -> dict:
        return {
            "label_class": self.class_box.currentData(),
            "note": self.note_edit.toPlainText().strip(),
            "tags": clean_tags(self.tags_edit.text()),
        }
