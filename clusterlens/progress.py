"""Progress of the long steps of a command: a rich progress line on a terminal, nothing in pipes, files or CI.

:func:`interactive` decides where progress is drawn (stderr is a terminal and the ``CI`` environment
variable is unset); :func:`steps` draws a run of named steps (the simulation's ray-tracing, image
finding, preview) with the step in progress and the elapsed time. The sampler's own line is
:mod:`clusterlens.fit.progress`.
"""
from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager


def interactive(stream=None) -> bool:
    """Whether progress should be drawn on ``stream`` (default stderr): a terminal, and not under CI."""
    stream = stream or sys.stderr
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and not os.environ.get("CI")


@contextmanager
def steps(title: str, total: int, show: bool = True, console=None) -> Iterator[Callable[[str], None]]:
    """Yield ``begin(name)``, called as each of ``total`` steps starts; a progress line ``title`` shows the
    steps done, the current one and the elapsed time when ``show`` on a terminal (or on ``console``)."""
    if not show or (console is None and not interactive()):
        yield lambda name: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Column

    progress = Progress(TextColumn(title), BarColumn(bar_width=20), MofNCompleteColumn(), TimeElapsedColumn(),
                        TextColumn("{task.description}", table_column=Column(no_wrap=True, overflow="ellipsis")),
                        console=console or Console(stderr=True), transient=True)
    task = progress.add_task("", total=total)
    begun = [0]

    def begin(name: str) -> None:
        progress.update(task, completed=begun[0], description=name)
        begun[0] += 1

    with progress:
        yield begin
        progress.update(task, completed=total, description="done")
