"""dynesty's proposals in lockstep: their likelihood calls batched, the chain that of a plain map."""
from __future__ import annotations

import time
from types import SimpleNamespace

import numpy as np
import pytest

from clusterlens.fit.lockstep import ProposalPool, run_in_lockstep, useful_processes
from clusterlens.fit.sampler import SamplerSettings, install, log_likelihood, prior_transform, sample
from test_fit_nautilus import BatchGaussian
from test_fit_units import uniform_model


def walk(steps: int):
    """A toy proposal: ``steps`` evaluations, each at a point that depends on the previous value."""
    point, seen = np.full(3, 0.1 * steps), []
    for _ in range(steps):
        _, value = yield point
        seen.append(float(value))
        point = point + 1e-3 * float(value)
    return seen


def test_lockstep_gives_each_walk_its_own_values_in_batches_of_the_waiting_points():
    likelihood = BatchGaussian(uniform_model())
    install(likelihood)
    batches = []

    def evaluate(points):
        batches.append(len(points))
        return points, likelihood.batch(points)

    items = [3, 1, 4, 1, 5]
    alone = [run_in_lockstep(walk, [n], evaluate)[0] for n in items]
    batches.clear()
    assert run_in_lockstep(walk, items, evaluate) == alone
    assert batches == [5, 3, 3, 2, 1]  # at each step, the point of every unfinished walk
    assert alone[0][0] == likelihood(np.full(3, 0.3))


def test_an_error_in_the_evaluation_is_raised():
    def broken(points):
        raise ValueError(f"row 0 of {len(points)}: broken")

    with pytest.raises(ValueError, match="row 0 of 3: broken"):
        run_in_lockstep(walk, [2, 2, 2], broken)


@pytest.mark.parametrize("method", ["unif", "rwalk", "rslice", "slice"])
def test_the_chain_is_that_of_dynesty_mapping_each_proposal_alone(method):
    """The same seed and queue size give, byte for byte, the chain of dynesty with the builtin map."""
    import dynesty

    settings = SamplerSettings(nlive=30, seed=5, sample=method, queue_size=6, dlogz=1.0)
    likelihood = BatchGaussian(uniform_model())
    lockstep = sample(likelihood, settings, progress=False)
    assert {30, 6} <= likelihood.batch_sizes  # the initial live points together, then the queue's proposals

    class PlainMap:
        map = staticmethod(lambda function, items: list(map(function, items)))

    install(likelihood)
    plain = dynesty.NestedSampler(log_likelihood, prior_transform, len(likelihood.parameters), nlive=30,
                                  sample=method, rstate=np.random.default_rng(5), pool=PlainMap(), queue_size=6)
    plain.run_nested(dlogz=1.0, print_progress=False)
    for name in ("samples", "logl", "logwt", "ncall"):
        np.testing.assert_array_equal(getattr(lockstep, name), getattr(plain.results, name), err_msg=name)


def test_a_pool_splits_the_queue_into_one_chunk_per_process_this_one_first():
    class Recording:
        """A multiprocessing pool's map_async, run here."""

        def __init__(self):
            self.chunks = []

        def map_async(self, function, jobs):
            self.chunks = [len(items) for _, items in jobs]
            results = [function(job) for job in jobs]
            return SimpleNamespace(get=lambda: results)

    processes = Recording()
    assert ProposalPool(processes, 3).map(abs, range(-7, 0)) == [7, 6, 5, 4, 3, 2, 1]
    assert processes.chunks == [3, 1]  # the first 3 evaluated in this process


class _Cube:
    """Three free parameters, the unit cube mapped to itself."""

    def __len__(self) -> int:
        return 3

    def transform(self, unit):
        return unit


class _Timed:
    """A stand-in likelihood whose batch takes ``fixed`` + ``per_row`` x rows seconds."""

    def __init__(self, fixed: float, per_row: float):
        self.fixed, self.per_row, self.parameters = fixed, per_row, _Cube()

    def batch(self, rows):
        time.sleep(self.fixed + self.per_row * len(rows))
        return np.zeros(len(rows))


def test_the_queue_is_split_only_where_the_rows_dominate_its_cost():
    """useful_processes: one process for a batch whose cost is its fixed overhead, every core for one whose
    rows dominate (a chunk slower than SLOW_CHUNK_S is not timed further), one where only one is available."""
    overhead, rows = _Timed(0.004, 0.0), _Timed(0.0, 0.004)
    assert useful_processes(overhead, 2, 16) == 1
    assert useful_processes(rows, 2, 16) == 2
    assert useful_processes(rows, 1, 16) == 1
    overhead.kind = "lenstool"  # not timed: milliseconds per row
    assert useful_processes(overhead, 2, 16) == 2
