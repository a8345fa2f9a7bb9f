"""Progress reporting for long operations, without Qt.

A long core function takes ``progress: ProgressCallback | None``. It calls it with the work
done and the work in total (bytes, frames, messages: the function's own unit); the callback
returns ``False`` to cancel, and the function then raises :class:`app.errors.LoadCancelled`.
"""

from __future__ import annotations

from collections.abc import Callable

from app.errors import LoadCancelled

ProgressCallback = Callable[[int, int], bool]


def report(progress: ProgressCallback | None, done: int, total: int) -> None:
    """Tell ``progress`` how far we are; raise LoadCancelled if it asks to stop."""
    if progress is not None and progress(done, total) is False:
        raise LoadCancelled("cancelled by the user")
