"""The real application is killed (SIGKILL) right after a technician's label edit; the next
start finds the edit. The child process runs the window offscreen on a real capture, draws
a label the way label mode does, confirms the editor, and prints the label's id."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

from app.workspace import Workspace, file_sha256

CHILD = textwrap.dedent(
    """
    import argparse, sys
    from PySide6.QtWidgets import QApplication
    from widgets.application import start_gui

    app = QApplication([])
    capture, database = sys.argv[1], sys.argv[2]
    window = start_gui(argparse.Namespace(captures=[capture], dbc=[database], demo=False))

    def on_session_opened(_result):
        labels = window.labels
        start, end = labels.display_origin_s + 2.0, labels.display_origin_s + 3.5
        labels.overlay.drawn.emit(start, end)  # what a drag in label mode ends with
        labels.editor.set_class("charging_fault")
        labels.editor.note_edit.setPlainText("charger stopped at the cursor")
        labels.editor.accept()
        print(labels.book.labels()[-1].id, flush=True)

    window.session_opened.connect(on_session_opened)
    app.exec()
    """
)


def test_the_app_killed_right_after_a_label_edit_keeps_it(shared_data, tmp_path):
    capture = shared_data / "bmw-i3-ccs/CAN_Logs/AC-charging/1.ptcan_start-end-chrg_69perc.csv"
    database = shared_data / "bmw-i3-ccs/i3_LIM_dbc1.dbc"
    script = tmp_path / "child.py"
    script.write_text(CHILD, encoding="utf-8")
    child = subprocess.Popen(
        [sys.executable, str(script), str(capture), str(database)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ | {"PYTHONPATH": os.getcwd(), "QT_QPA_PLATFORM": "offscreen"},
    )
    try:
        label_id = child.stdout.readline().strip()
        child.send_signal(signal.SIGKILL)
        assert child.wait(timeout=30) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
        errors = child.stderr.read()
        child.stdout.close()
        child.stderr.close()

    assert label_id, f"the window died before the edit: {errors[-2000:]}"
    with Workspace() as workspace:
        assert workspace.notice is None
        label = workspace.label(label_id)
        assert label is not None, "the edit was lost"
        assert label.session == file_sha256(capture)
        assert label.label_class == "charging_fault"
        assert label.note == "charger stopped at the cursor"
