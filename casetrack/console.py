"""Progress bars of long CLI work on a terminal: rich, on stderr, only when stderr is a terminal.
Piped or in cron's log, the command prints its final summary line and nothing else."""
from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from casetrack import long_work

REFRESH = 0.1  # seconds between two updates of a bar (a service may report every row)


@contextmanager
def progress_bars(stream: TextIO | None = None) -> Iterator[None]:
    """One bar per step the services report inside the block, on `stream` (stderr) when it is
    a terminal; nothing otherwise."""
    stream = stream or sys.stderr
    if not stream.isatty():
        yield
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    bars = Progress(SpinnerColumn(), TextColumn("{task.description:<16}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=Console(file=stream), redirect_stderr=False,
                    # what is printed on the same terminal meanwhile goes above the bars, not through them
                    redirect_stdout=sys.stdout.isatty())
    tasks: dict[str, int] = {}
    shown: dict[str, float] = {}

    def show(step: str, done: int, total: int | None) -> None:
        moment = time.monotonic()
        if step in tasks and done != total and moment - shown[step] < REFRESH:
            return
        if step not in tasks:
            tasks[step] = bars.add_task(step, total=total)
        shown[step] = moment
        bars.update(tasks[step], completed=done, total=total)

    with bars, long_work.listening(show):
        yield
