"""Guard against the PySide6 6.12.0 regression on Python < 3.12.

That release drops one reference to ``None`` on every Qt call that returns nothing; after
about 8,500 such calls the interpreter aborts in ``none_dealloc``. pyproject.toml pins
PySide6 below 6.12 where Python < 3.12. This test makes tens of thousands of such calls in a
child process (an abort would take pytest down with it) and checks None's reference count.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

CALLS = 50_000

CHILD = textwrap.dedent(
    f"""
    import sys
    from PySide6.QtCore import QObject, QPointF
    from PySide6.QtWidgets import QApplication, QWidget

    app = QApplication([])
    obj = QObject()
    widget = QWidget()
    point = QPointF()
    before = sys.getrefcount(None)
    for i in range({CALLS} // 4):
        obj.setObjectName("trace")      # returns None
        widget.setMinimumWidth(i % 50)  # returns None
        point.setX(float(i))            # returns None
        widget.update()                 # returns None
    after = sys.getrefcount(None)
    print(before, after)
    """
)


def test_tens_of_thousands_of_void_qt_calls_keep_none_alive():
    done = subprocess.run(
        [sys.executable, "-c", CHILD],
        capture_output=True,
        text=True,
        timeout=120,
        env={"QT_QPA_PLATFORM": "offscreen", **_env()},
    )
    assert done.returncode == 0, f"the process died ({done.returncode}): {done.stderr[-2000:]}"
    before, after = map(int, done.stdout.split())
    if sys.version_info < (3, 12):  # None is immortal from 3.12 on; its count means nothing
        assert after >= before - 100, f"None lost {before - after} references in {CALLS} calls"


def _env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if k != "QT_QPA_PLATFORM"}
