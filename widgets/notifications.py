"""The one route by which errors, warnings and news reach the technician.

Everything that goes wrong, in the window's code, in a worker thread, or anywhere an
exception escapes (``sys.excepthook``, ``threading.excepthook``), becomes a
:class:`Notification` posted to the :class:`NotificationCenter`. The status bar's
:class:`NotificationBar` shows the latest one without blocking anything, coloured by severity,
with a *Details* button that opens the full text (the traceback) on demand. Every notification
is also logged, so the log file holds the same story.

``NotificationCenter.notify`` may be called from any thread: it only emits a Qt signal, which
Qt delivers in the window's thread.
"""

from __future__ import annotations

import logging
import sys
import threading
import traceback
from dataclasses import dataclass

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

log = logging.getLogger(__name__)

INFO, WARNING, ERROR = "info", "warning", "error"
_COLOURS = {INFO: "#2f6f3e", WARNING: "#8a6500", ERROR: "#a61e1e"}
_LOG_LEVELS = {INFO: logging.INFO, WARNING: logging.WARNING, ERROR: logging.ERROR}


@dataclass(frozen=True)
class Notification:
    level: str
    text: str
    details: str = ""


class NotificationCenter(QObject):
    """Collects notifications; ``posted`` fires in the GUI thread for each one."""

    posted = Signal(object)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.history: list[Notification] = []
        self.posted.connect(self.history.append)

    def notify(self, level: str, text: str, details: str = "") -> None:
        log.log(
            _LOG_LEVELS.get(level, logging.INFO), "%s%s", text, f"\n{details}" if details else ""
        )
        self.posted.emit(Notification(level, text, details))

    def notify_exception(self, text: str, error: BaseException) -> None:
        details = "".join(traceback.format_exception(type(error), error, error.__traceback__))
        self.notify(ERROR, f"{text}: {error}", details)


def install_exception_hooks(center: NotificationCenter) -> None:
    """Route exceptions that escape anywhere (main thread, Qt slots, threads) to ``center``."""

    def on_exception(kind, error, trace):
        if issubclass(kind, KeyboardInterrupt):
            sys.__excepthook__(kind, error, trace)
            return
        details = "".join(traceback.format_exception(kind, error, trace))
        center.notify(ERROR, f"Unexpected error: {kind.__name__}: {error}", details)

    def on_thread_exception(args: threading.ExceptHookArgs):
        on_exception(args.exc_type, args.exc_value, args.exc_traceback)

    sys.excepthook = on_exception
    threading.excepthook = on_thread_exception


class NotificationBar(QWidget):
    """A strip for the status bar: the latest notification, Details, and Dismiss."""

    def __init__(self, center: NotificationCenter, parent: QWidget | None = None):
        super().__init__(parent)
        self.current: Notification | None = None
        self.details_dialog: QDialog | None = None
        self.message = QLabel()
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details_button = QPushButton("Details…")
        self.dismiss_button = QPushButton("✕")
        self.dismiss_button.setFixedWidth(28)
        self.dismiss_button.setToolTip("Dismiss")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 0, 6, 0)
        layout.addWidget(self.message, 1)
        layout.addWidget(self.details_button)
        layout.addWidget(self.dismiss_button)
        self.details_button.clicked.connect(self._on_details_clicked)
        self.dismiss_button.clicked.connect(self.clear)
        self._info_timer = QTimer(self, singleShot=True, interval=8000)
        self._info_timer.timeout.connect(self._on_info_timer_timeout)
        center.posted.connect(self._on_center_posted)
        self.clear()

    def clear(self) -> None:
        self.current = None
        self.setVisible(False)

    def _on_center_posted(self, note: Notification) -> None:
        if self.current and self.current.level == ERROR and note.level == INFO:
            return  # an error stays until dismissed; news does not push it away
        self.current = note
        text = note.text if len(note.text) < 200 else note.text[:197] + "…"
        self.message.setText(text)
        self.message.setToolTip(note.text)
        self.setStyleSheet(
            f"NotificationBar {{ background: {_COLOURS.get(note.level, '#444')}; }}"
            "QLabel { color: white; }"
        )
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.details_button.setVisible(bool(note.details))
        self.setVisible(True)
        if note.level == INFO:
            self._info_timer.start()

    def _on_info_timer_timeout(self) -> None:
        if self.current and self.current.level == INFO:
            self.clear()

    def _on_details_clicked(self) -> None:
        if self.current is None:
            return
        dialog = QDialog(self.window())
        dialog.setWindowTitle("Details")
        dialog.resize(760, 420)
        text = QPlainTextEdit(f"{self.current.text}\n\n{self.current.details}")
        text.setReadOnly(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(dialog.close)
        layout = QVBoxLayout(dialog)
        layout.addWidget(text)
        layout.addWidget(buttons)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()  # non-modal: the window stays usable
        self.details_dialog = dialog
