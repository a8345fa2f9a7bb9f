"""The window opens inside the screen it is on, also on a small laptop screen."""

from __future__ import annotations


def test_the_window_fits_the_screen_it_opens_on(window):
    room = window.screen().availableGeometry()
    window.resize(3000, 2000)  # as if restored on a bigger monitor

    window.fit_to_screen()

    assert window.width() <= room.width() and window.height() <= room.height()
    assert room.contains(window.frameGeometry().center())
