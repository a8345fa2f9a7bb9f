"""The shared database's connection dialog: saved profiles and a "Test connection" button.

A profile is host, port, database, user, TLS mode and CA file; it is saved in the settings
folder without its password, which goes to the operating system's keyring
(:mod:`app.store.connection`). "Test connection" connects in a worker thread and says what it
found: the server's version, TimescaleDB's version or its absence, the schema version and
what the user may do; a failure shows the store's one-line reason (never a password).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QThread, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.errors import MonitorError
from app.store import Profile, delete_profile, load_profiles, save_profile
from app.store.connection import TLS_MODES, stored_password

log = logging.getLogger(__name__)


class StoreJob(QThread):
    """Runs one store call off the GUI thread; ``succeeded(result)`` or ``failed(text)``."""

    succeeded = Signal(object)
    failed = Signal(str)

    def __init__(self, work: Callable[[], object], parent=None):
        super().__init__(parent)
        self._work = work

    def run(self) -> None:
        try:
            result = self._work()
        except MonitorError as exc:
            self.failed.emit(str(exc))
            return
        except Exception as exc:  # noqa: BLE001 - the dialog shows any failure, not a crash
            log.exception("store call failed")
            self.failed.emit(f"{type(exc).__name__}: {exc}")
            return
        self.succeeded.emit(result)


def test_connection(profile: Profile, password: str | None) -> list[str]:
    """What a connection to ``profile`` finds, as lines for the dialog."""
    from app.store import connect, info

    with connect(profile, password=password) as conn:
        return info(conn).lines()


class ConnectionDialog(QDialog):
    """Choose, edit, test and save a connection profile; ``profile()`` after ``accept``."""

    tested = Signal(bool, str)  # success, what was found or why not

    def __init__(self, parent: QWidget | None = None, current: str | None = None):
        super().__init__(parent)
        self.setWindowTitle("Shared database")
        self._job: StoreJob | None = None
        self._build()
        self._reload(select=current)

    # ------------------------------------------------------------------ layout

    def _build(self) -> None:
        self.profile_list = QListWidget()
        self.profile_list.currentTextChanged.connect(self._on_profile_list_current_changed)
        self.new_button = QPushButton("New")
        self.new_button.clicked.connect(self._on_new_button_clicked)
        self.delete_button = QPushButton("Delete")
        self.delete_button.clicked.connect(self._on_delete_button_clicked)
        left = QVBoxLayout()
        left.addWidget(QLabel("Saved profiles"))
        left.addWidget(self.profile_list)
        buttons = QHBoxLayout()
        buttons.addWidget(self.new_button)
        buttons.addWidget(self.delete_button)
        left.addLayout(buttons)

        self.name_edit = QLineEdit()
        self.host_edit = QLineEdit("localhost")
        self.port_spin = QSpinBox()
        self.port_spin.setRange(1, 65535)
        self.port_spin.setValue(5432)
        self.dbname_edit = QLineEdit("evbm")
        self.user_edit = QLineEdit()
        self.password_edit = QLineEdit()
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.password_edit.setPlaceholderText("kept in the system keyring")
        self.tls_combo = QComboBox()
        self.tls_combo.addItems(TLS_MODES)
        self.tls_combo.setCurrentText("require")
        self.ca_edit = QLineEdit()
        self.ca_edit.setPlaceholderText("CA certificate, for verify-full")
        self.ca_button = QPushButton("…")
        self.ca_button.clicked.connect(self._on_ca_button_clicked)
        ca_row = QHBoxLayout()
        ca_row.addWidget(self.ca_edit)
        ca_row.addWidget(self.ca_button)
        form = QFormLayout()
        form.addRow("Profile name", self.name_edit)
        form.addRow("Host", self.host_edit)
        form.addRow("Port", self.port_spin)
        form.addRow("Database", self.dbname_edit)
        form.addRow("User", self.user_edit)
        form.addRow("Password", self.password_edit)
        form.addRow("TLS", self.tls_combo)
        form.addRow("CA file", ca_row)

        self.test_button = QPushButton("Test connection")
        self.test_button.clicked.connect(self._on_test_button_clicked)
        self.save_button = QPushButton("Save profile")
        self.save_button.clicked.connect(self._on_save_button_clicked)
        self.result_label = QLabel("")
        self.result_label.setWordWrap(True)
        self.result_label.setObjectName("connectionResult")
        actions = QHBoxLayout()
        actions.addWidget(self.test_button)
        actions.addWidget(self.save_button)
        actions.addStretch(1)
        right = QVBoxLayout()
        right.addLayout(form)
        right.addLayout(actions)
        right.addWidget(self.result_label)
        right.addStretch(1)

        self.button_box = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.button_box.button(QDialogButtonBox.StandardButton.Ok).setText("Connect")
        self.button_box.accepted.connect(self._on_button_box_accepted)
        self.button_box.rejected.connect(self.reject)
        columns = QHBoxLayout()
        columns.addLayout(left, 1)
        columns.addLayout(right, 2)
        outer = QVBoxLayout(self)
        outer.addLayout(columns)
        outer.addWidget(self.button_box)

    # ------------------------------------------------------------------ the form

    def profile(self) -> Profile:
        return Profile(
            name=self.name_edit.text().strip() or "default",
            host=self.host_edit.text().strip() or "localhost",
            port=self.port_spin.value(),
            dbname=self.dbname_edit.text().strip(),
            user=self.user_edit.text().strip(),
            sslmode=self.tls_combo.currentText(),
            sslrootcert=self.ca_edit.text().strip(),
        )

    def password(self) -> str | None:
        return self.password_edit.text() or None

    def set_profile(self, profile: Profile) -> None:
        self.name_edit.setText(profile.name)
        self.host_edit.setText(profile.host)
        self.port_spin.setValue(profile.port)
        self.dbname_edit.setText(profile.dbname)
        self.user_edit.setText(profile.user)
        self.tls_combo.setCurrentText(profile.sslmode)
        self.ca_edit.setText(profile.sslrootcert)
        self.password_edit.clear()
        has_password = stored_password(profile) is not None
        self.password_edit.setPlaceholderText(
            "stored in the system keyring" if has_password else "none stored"
        )

    def _reload(self, select: str | None = None) -> None:
        try:
            profiles = load_profiles()
        except MonitorError as exc:
            self._show(False, str(exc))
            profiles = {}
        self._profiles = profiles
        self.profile_list.blockSignals(True)
        self.profile_list.clear()
        self.profile_list.addItems(sorted(profiles))
        self.profile_list.blockSignals(False)
        if select in profiles:
            self.profile_list.setCurrentRow(sorted(profiles).index(select))

    def _show(self, ok: bool, text: str) -> None:
        self.result_label.setText(text)
        self.result_label.setStyleSheet("" if ok else "color: #c0392b;")
        self.tested.emit(ok, text)

    # ------------------------------------------------------------------ handlers

    def _on_profile_list_current_changed(self, name: str) -> None:
        if name in self._profiles:
            self.set_profile(self._profiles[name])
            self.result_label.clear()

    def _on_new_button_clicked(self) -> None:
        self.profile_list.clearSelection()
        self.set_profile(Profile(name="", user=""))
        self.name_edit.setFocus()

    def _on_delete_button_clicked(self) -> None:
        item = self.profile_list.currentItem()
        if item is None:
            return
        delete_profile(item.text())
        self._reload()

    def _on_ca_button_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "CA certificate", "", "Certificates (*.crt *.pem);;All files (*)"
        )
        if path:
            self.ca_edit.setText(path)

    def _on_test_button_clicked(self) -> None:
        if self._job is not None and self._job.isRunning():
            return
        profile, password = self.profile(), self.password()
        self.test_button.setEnabled(False)
        self.result_label.setStyleSheet("")
        self.result_label.setText(f"connecting to {profile.host}:{profile.port} …")
        self._job = StoreJob(lambda: test_connection(profile, password), self)
        self._job.succeeded.connect(self._on_job_succeeded)
        self._job.failed.connect(self._on_job_failed)
        self._job.start()

    def _on_job_succeeded(self, lines: list[str]) -> None:
        self.test_button.setEnabled(True)
        self._show(True, "\n".join(lines))

    def _on_job_failed(self, text: str) -> None:
        self.test_button.setEnabled(True)
        self._show(False, text)

    def _on_save_button_clicked(self) -> bool:
        profile = self.profile()
        try:
            profile.conninfo_params()  # checks TLS mode and CA file before saving
            save_profile(profile, self.password())
        except MonitorError as exc:
            self._show(False, str(exc))
            return False
        self._reload(select=profile.name)
        self.result_label.setStyleSheet("")
        self.result_label.setText(f"profile {profile.name!r} saved")
        return True

    def _on_button_box_accepted(self) -> None:
        if self._on_save_button_clicked():
            self.accept()

    def done(self, result: int) -> None:
        if self._job is not None:
            self._job.wait(15_000)  # a test in flight ends by its connect timeout
        super().done(result)
