"""Every escaping exception reaches the technician through the one notification route."""

from __future__ import annotations

import sys
import threading

from widgets.notifications import ERROR, NotificationCenter, install_exception_hooks


def test_exceptions_from_threads_and_the_main_loop_become_notifications(qtbot):
    center = NotificationCenter()
    saved = sys.excepthook, threading.excepthook
    try:
        install_exception_hooks(center)

        worker = threading.Thread(target=lambda: 1 / 0, name="decode-worker")
        worker.start()
        worker.join()
        qtbot.waitUntil(lambda: len(center.history) == 1)

        try:
            {}["pack_voltage"]
        except KeyError:
            sys.excepthook(*sys.exc_info())
        qtbot.waitUntil(lambda: len(center.history) == 2)
    finally:
        sys.excepthook, threading.excepthook = saved

    first, second = center.history
    assert first.level == ERROR and "ZeroDivisionError" in first.text
    assert "Traceback" in first.details and "<lambda>" in first.details
    assert second.level == ERROR and "KeyError" in second.text and "pack_voltage" in second.text
