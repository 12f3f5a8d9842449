"""Where realisations are made: this process, local processes (concurrent.futures) or a Dask cluster.

Every worker gets the population's input files (bytes, so a remote Dask worker needs no shared disk)
and rebuilds the population once (cached by the files' digest). Each task is one realisation index,
so results do not depend on how many workers there are or in which order tasks finish. At most
``window`` tasks are in flight at a time, so a run of any length holds few results in memory.
"""
from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Any

from .. import atomic
from ..digest import digest_files
from .realise import Population, load_population
from .simulate_one import realisation_files, simulate_realisation

_CACHE: dict[str, Population] = {}


def population_from_files(files: Mapping[str, bytes], overrides: Mapping[str, Any]) -> Population:
    """The population of a model folder holding ``files`` ({name: bytes}), its settings updated with
    ``overrides`` (e.g. n, seed); built once per process and input."""
    key = digest_files(dict(files)) + repr(sorted(overrides.items()))
    if key not in _CACHE:
        with tempfile.TemporaryDirectory(prefix="clusterlens-population-") as folder:
            atomic.write_files(folder, files)
            population = load_population(Path(folder))
        settings = population.settings.model_copy(update=dict(overrides))
        _CACHE[key] = Population(population.model, settings, population.distributions, population.lines,
                                 population.source)
    return _CACHE[key]


def make_one(files: Mapping[str, bytes], overrides: Mapping[str, Any], folders: bool, index: int):
    """One task: realisation ``index`` as a Realisation (store) or as dataset-folder files (``folders``)."""
    population = population_from_files(files, overrides)
    if folders:
        return index, realisation_files(population, index)
    return index, simulate_realisation(population, index)


Task = Callable[[int], Any]


def run_serial(task: Task, indices: Iterable[int]) -> Iterator[Any]:
    """Results of ``task`` over ``indices`` in this process."""
    for index in indices:
        yield task(index)


def run_local(task: Task, indices: Iterable[int], workers: int) -> Iterator[Any]:
    """Results of ``task`` over ``indices`` on ``workers`` local processes, as they finish."""
    pending = iter(indices)
    window = 2 * workers
    with ProcessPoolExecutor(max_workers=workers) as pool:
        running: set[Future] = set()
        try:
            for index in pending:
                running.add(pool.submit(task, index))
                if len(running) >= window:
                    done, running = wait(running, return_when=FIRST_COMPLETED)
                    yield from (f.result() for f in done)
            while running:
                done, running = wait(running, return_when=FIRST_COMPLETED)
                yield from (f.result() for f in done)
        except BaseException:
            for future in running:
                future.cancel()
            raise


def default_workers() -> int:
    """The cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
