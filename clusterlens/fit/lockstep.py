"""dynesty's proposals run in lockstep, so that their likelihood evaluations go through ``L.batch``.

dynesty fills its queue by mapping one proposal function (a random walk, a slice sequence, a draw
from the bound) over ``queue_size`` starting points; each proposal evaluates the likelihood one point
at a time, from one to some hundred times, and between two evaluations runs a little Python.
:class:`ProposalPool` is the pool dynesty is given: when dynesty maps one of its proposal functions,
the pool runs the generator version of that proposal (:mod:`clusterlens.fit.proposals`) for every
item at once. Each step collects the point every unfinished proposal is waiting on, maps them to
parameter values and evaluates them in one ``batch`` call of the installed likelihood, then sends each
proposal its value. The initial live points are evaluated as one batch too; anything else dynesty maps is
mapped as it is.

Reproducibility. A proposal's result depends only on its starting point, its seed and the values it
receives, and ``L.batch`` and ``parameters.transform`` give each row exactly what a single call gives
(the likelihood's contract): the queue comes out byte for byte as dynesty's plain ``map`` gives it,
whatever the grouping. With processes (a pool or MPI ranks) the queue is split into one contiguous
chunk per process, this one included, each run in lockstep: the chain depends on ``queue_size``, not on
the processes.

Whether to split. Splitting the queue between processes divides each step's rows, not the batch's
fixed cost (its Python overhead), so it pays only for a likelihood whose cost grows with the rows: a
fit whose number of processes is not given uses the cores available only when one batch of the whole
queue costs at least :data:`SPLIT_GAIN` times a batch of one process's chunk (:func:`useful_processes`;
the example cluster's source-plane likelihood does not, and runs faster in one process). The chain is
the same either way.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from dynesty.internal_samplers import RSliceSampler, RWalkSampler, SliceSampler, UniformBoundSampler, UnitCubeSampler
from dynesty.utils import LogLikelihood, LoglOutput

from .installed import installed, installed_batch, log_likelihood, prior_transform
from .proposals import Proposal, axis_slices, bound_draw, cube_draw, random_slices, random_walk

#: dynesty's proposal functions -> their generator versions
GENERATORS: dict[Callable, Callable[[Any], Proposal]] = {
    UnitCubeSampler.sample: cube_draw, UniformBoundSampler.sample: bound_draw, RWalkSampler.sample: random_walk,
    RSliceSampler.sample: random_slices, SliceSampler.sample: axis_slices}


def run_in_lockstep(proposal: Callable[[Any], Proposal], items: Sequence[Any],
                    evaluate: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]) -> list:
    """The results of the generators ``proposal(item)``, run together: at each step the unit-cube points
    they wait on go to ``evaluate(points) -> (parameter values, log L)`` in one call, in item order."""
    walks = [proposal(item) for item in items]
    results: list[Any] = [None] * len(walks)
    waiting: dict[int, np.ndarray] = {}

    def advance(index: int, answer) -> None:
        try:
            waiting[index] = walks[index].send(answer)
        except StopIteration as done:
            results[index] = done.value

    for index in range(len(walks)):
        advance(index, None)
    while waiting:
        order = sorted(waiting)
        values, log_l = evaluate(np.array([waiting.pop(i) for i in order]))
        for index, row, value in zip(order, values, log_l, strict=True):
            advance(index, (row, LoglOutput(float(value), False)))
    return results


def evaluate_installed(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit-cube ``points`` -> (parameter values, log L) through the likelihood installed in this process."""
    values = installed().parameters.transform(points)
    return values, installed_batch(values)


def batch_form(function: Callable) -> Callable[[np.ndarray], list] | None:
    """The batch equivalent of ``function`` when it is dynesty's wrapper of
    :func:`~clusterlens.fit.installed.log_likelihood` or :func:`~clusterlens.fit.installed.prior_transform`
    (what dynesty maps over its initial live points), else None."""
    inner = function.loglikelihood if isinstance(function, LogLikelihood) and not function.blob else function
    if getattr(inner, "args", None) or getattr(inner, "kwargs", None):  # extra arguments: not ours
        return None
    wrapped = getattr(inner, "func", None)
    if inner is not function and wrapped is log_likelihood:
        return lambda rows: [LoglOutput(float(v), False) for v in installed_batch(rows)]
    if inner is function and wrapped is prior_transform:
        return lambda rows: list(installed().parameters.transform(rows))
    return None


SPLIT_GAIN = 1.5  #: a queue is split only if its batch costs this many times one process's chunk
TIMING_REPEATS = 5
SLOW_CHUNK_S = 0.02  #: a chunk this slow is dominated by its rows (a batch's fixed cost is ~0.3 ms): split


def useful_processes(likelihood, available: int, queue_size: int, seed: int = 0) -> int:
    """How many processes dynesty's lockstep queue should be split between: ``available`` if a ``batch`` of
    ``queue_size`` rows of ``likelihood`` costs at least :data:`SPLIT_GAIN` times a batch of one process's
    chunk (best of :data:`TIMING_REPEATS`, at seeded prior draws; a chunk slower than :data:`SLOW_CHUNK_S` is
    not timed further; the image-plane and Lenstool kinds are not timed: their rows cost milliseconds, up to
    seconds at prior draws), else 1 (module docstring). Only the speed depends on the answer, never the
    chain."""
    if available <= 1:
        return 1
    if getattr(likelihood, "kind", "source") != "source":  # image plane, Lenstool's: milliseconds per row
        return available
    unit = np.random.default_rng(seed).random((queue_size, len(likelihood.parameters)))
    rows = likelihood.parameters.transform(unit)
    chunk = rows[: -(-queue_size // available)]

    def seconds(values: np.ndarray) -> float:
        best = np.inf
        for _ in range(TIMING_REPEATS):
            start = time.perf_counter()
            likelihood.batch(values)
            best = min(best, time.perf_counter() - start)
        return best

    likelihood.batch(chunk[:1])  # warm-up: first calls compile and fill caches
    start = time.perf_counter()
    likelihood.batch(chunk)
    if time.perf_counter() - start >= SLOW_CHUNK_S:
        return available
    return available if seconds(rows) >= SPLIT_GAIN * seconds(chunk) else 1


def map_here(function: Callable, items: Sequence[Any]) -> list:
    """``function`` over ``items`` in this process: a dynesty proposal in lockstep, the likelihood or the prior
    transform of the initial live points as one batch, anything else one by one."""
    proposal = GENERATORS.get(function)
    if proposal is not None:
        return run_in_lockstep(proposal, items, evaluate_installed)
    batch = batch_form(function)
    if batch is not None and len(items):
        return batch(np.array([np.asarray(item, float) for item in items]))
    return [function(item) for item in items]


def run_chunk(job: tuple[Callable, Sequence[Any]]) -> list:
    """One process's share of a :class:`ProposalPool` map (:func:`map_here` of its chunk)."""
    return map_here(*job)


class ProposalPool:
    """The pool dynesty is given: ``map(function, items)`` is :func:`map_here` when ``processes`` is None,
    else the items are split into ``size`` contiguous chunks: the first is evaluated here while the
    ``size - 1`` processes of ``processes`` (a :class:`~clusterlens.fit.sampler.StartingPool`, or an MPI
    executor) evaluate the others. Until a starting pool is ready this process evaluates everything (the
    results do not depend on the split)."""

    def __init__(self, processes=None, size: int = 1):
        self.processes = processes
        self.size = size

    def map(self, function: Callable, items) -> list:
        items = list(items)
        ready = getattr(self.processes, "ready", None)  # a pool still starting: this process does it all
        if self.processes is None or not items or (ready is not None and not ready()):
            return map_here(function, items)
        share = -(-len(items) // self.size)
        chunks = [(function, items[i:i + share]) for i in range(0, len(items), share)]
        if hasattr(self.processes, "map_async"):  # multiprocessing
            pending = self.processes.map_async(run_chunk, chunks[1:])
            first = map_here(*chunks[0])
            rest = pending.get()
        else:  # an MPI executor
            futures = [self.processes.submit(run_chunk, chunk) for chunk in chunks[1:]]
            first = map_here(*chunks[0])
            rest = [future.result() for future in futures]
        return first + [result for chunk in rest for result in chunk]
