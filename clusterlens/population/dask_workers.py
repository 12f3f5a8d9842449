"""Realisations on an existing Dask cluster (``dask.distributed``; ``pip install "clusterlens[dask]"``).

Imported only when ``simulate-many --scheduler ADDRESS`` (or ``scheduler=``) asks for it.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from .workers import Task

DASK_EXTRA = 'pip install "clusterlens[dask]"'


def run_dask(task: Task, indices: Iterable[int], scheduler: Any, window: int | None = None) -> Iterator[Any]:
    """Results of ``task`` over ``indices`` on the Dask cluster at ``scheduler`` (an address such as
    ``tcp://host:8786``, or a ``distributed.Client``), as they finish; at most ``window`` tasks in flight
    (default: twice the cluster's threads)."""
    try:
        from dask.distributed import Client, as_completed
    except ImportError:
        raise RuntimeError(f"--scheduler needs dask.distributed: {DASK_EXTRA}") from None
    client = scheduler if isinstance(scheduler, Client) else Client(scheduler)
    try:
        size = window or max(2, 2 * sum(client.nthreads().values()))
        pending = iter(indices)
        first = [client.submit(task, i, pure=False) for _, i in zip(range(size), pending, strict=False)]
        flow = as_completed(first)
        for future in flow:
            result = future.result()
            future.release()
            for index in pending:
                flow.add(client.submit(task, index, pure=False))
                break
            yield result
    finally:
        if client is not scheduler:
            client.close()
