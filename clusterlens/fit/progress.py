"""The sampler's progress: one fixed-width rich progress line on a terminal, nothing in pipes, files or CI.

:class:`SamplingProgress` is dynesty's ``print_func``. Its line shows iterations, likelihood calls,
the log-evidence (:func:`log_text`: two decimals, never the 300-digit number of a run whose first
live points all have log L = -1e300), the remaining log-evidence ``dlogz`` against the stopping
value, elapsed time and an estimate of the time left. Progress is measured in log(dlogz): the run
ends when dlogz falls below the stopping value, and log(dlogz) falls about linearly once the live
points have found the posterior, so the bar's speed gives the time left.

It also writes the run's first checkpoint early (``first_checkpoint_s`` after the start, 10 s by
default) so that an interrupted run can be resumed well before dynesty's first periodic one.
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable

from ..progress import interactive

#: Seconds after the start at which the first checkpoint is written (dynesty then saves every checkpoint_every).
FIRST_CHECKPOINT_S = 10.0


def log_text(value: float | None) -> str:
    """A log-evidence (or other log value) for a status line: ``-123.45``, ``-1.2e+300`` for a huge one,
    ``-inf``/``nan`` as such; never more than 10 characters."""
    if value is None:
        return "?"
    value = float(value)
    if not math.isfinite(value):
        return str(value)
    return f"{value:.2f}" if abs(value) < 1e6 else f"{value:.2g}"


def fraction_done(delta: float | None, target: float | None, first: float | None) -> float:
    """How far a run is, 0..1, in log(dlogz) from the first finite ``first`` down to the stopping ``target``."""
    if delta is None or target is None or first is None or not all(map(math.isfinite, (delta, target, first))):
        return 0.0
    if delta <= target:
        return 1.0
    if first <= target or delta <= 0:
        return 0.0
    return min(max(math.log(first / delta) / math.log(first / target), 0.0), 1.0)


class SamplingProgress:
    """dynesty ``print_func``: draws the progress line when ``show`` (and a terminal), and calls
    ``save_checkpoint`` once, ``first_checkpoint_s`` seconds after the start."""

    def __init__(self, show: bool = True, save_checkpoint: Callable[[], None] | None = None,
                 first_checkpoint_s: float = FIRST_CHECKPOINT_S, console=None):
        self.save_checkpoint = save_checkpoint
        self.first_checkpoint_s = first_checkpoint_s
        self.start = time.monotonic()
        self.first_delta: float | None = None
        self.progress = None
        self.task = None
        if show and (console is not None or interactive()):
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
            from rich.table import Column

            self.progress = Progress(
                TextColumn("nested sampling"), BarColumn(bar_width=20), TimeElapsedColumn(),
                TextColumn("left"), TimeRemainingColumn(),
                TextColumn("{task.fields[status]}", table_column=Column(no_wrap=True, overflow="ellipsis")),
                console=console or Console(stderr=True), transient=False, refresh_per_second=4)
            self.task = self.progress.add_task("sampling", total=1.0, status="starting")
            self.progress.start()

    def __call__(self, results, niter, ncall, add_live_it=None, dlogz=None, stop_val=None, nbatch=None, **_):
        if self.save_checkpoint is not None and time.monotonic() - self.start >= self.first_checkpoint_s:
            save, self.save_checkpoint = self.save_checkpoint, None
            save()
        if self.progress is None:
            return
        delta = getattr(results, "delta_logz", None)
        if delta is not None and math.isfinite(delta) and self.first_delta is None:
            self.first_delta = float(delta)
        status = f"iter {niter:>7}  calls {ncall:>8}  logZ {log_text(results.logz):>9}"
        if add_live_it is not None:
            status += f"  adding live point {add_live_it}"
        elif nbatch is not None:
            status += f"  batch {nbatch}" + (f"  stop {stop_val:.3f}" if stop_val is not None else "")
        elif dlogz is not None and delta is not None:
            status += f"  dlogz {float(delta):>8.3g} > {dlogz:.3g}"
        done = 1.0 if add_live_it is not None else fraction_done(delta, dlogz, self.first_delta)
        assert self.task is not None  # created with the progress
        self.progress.update(self.task, completed=max(done, self.progress.tasks[0].completed), status=status)

    def close(self) -> None:
        """Stop drawing (the line stays on the terminal)."""
        if self.progress is not None:
            self.progress.stop()
            self.progress = None
