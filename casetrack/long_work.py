"""How far long work has come (issue 28): the services report, whoever listens shows it.

A service calls `report(step, done, total)` as it goes (rows read, rows checked, cases swept);
with nobody listening, as in a plain request or a test, that is one context variable's lookup.
The CLI listens with progress bars on a terminal (`casetrack.console`), an import page by
streaming the reports to the browser (`casetrack.web.import_progress`)."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

Listener = Callable[[str, int, "int | None"], None]
_listener: ContextVar[Listener | None] = ContextVar("long_work_listener", default=None)


def report(step: str, done: int, total: int | None = None) -> None:
    """`done` of `total` (None: not known) of the step named `step` (a short English key)."""
    listener = _listener.get()
    if listener is not None:
        listener(step, done, total)


@contextmanager
def listening(listener: Listener) -> Iterator[None]:
    """Send the reports of the work inside the block to `listener`."""
    token = _listener.set(listener)
    try:
        yield
    finally:
        _listener.reset(token)
