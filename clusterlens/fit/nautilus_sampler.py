"""Importance nested sampling of a likelihood with nautilus: seeded, checkpointed, resumable, in parallel.

nautilus (Lange 2023, MNRAS 525, 3181; ``pip install nautilus-sampler``) bounds the likelihood's
shells with neural-network emulators and estimates the posterior and the evidence by importance
sampling, usually in far fewer likelihood calls than nested sampling with dynesty.
``sample_nautilus(likelihood, settings, ...)`` runs it on ``likelihood`` (``L(values) -> log L``,
``L.parameters.transform`` as the prior transform) and returns :class:`NautilusResults`, which has the
attributes of dynesty's ``Results`` that :func:`clusterlens.fit.results.write_results` reads, so
both samplers write the same results files.

Batches. nautilus evaluates ``settings.n_batch`` points at once in its vectorised mode: the rows go
to :func:`~clusterlens.fit.installed.installed_batch`, which calls the installed likelihood's
``batch(values_2d)`` when it has one and otherwise evaluates the rows one by one (the same numbers
either way).

Reproducibility. ``seed`` seeds nautilus' ``numpy.random.default_rng``, which draws every point and
seeds every network. The processes evaluate likelihood batches and also nautilus' own work (training
a bound's networks, drawing points from a bound): that work is always split into ``SAMPLER_JOBS``
jobs, each with its own seed from the generator, run on the processes when there are several and one
after the other otherwise; with the batch size fixed by the settings, the chain does not depend on the
number of processes.

Checkpoints. With ``checkpoint=path`` (``.hdf5``; needs h5py) nautilus writes its state, random
generator included, after every batch of likelihood evaluations; ``resume=True`` reads it back and
continues. The checkpoint is HDF5 read through h5py, which holds arrays and plain attributes and never
unpickles: a checkpoint from elsewhere cannot run code; one that reaches outside itself (an external
link, external or virtual dataset storage) is refused before nautilus opens it, and one that nautilus
cannot read is one error line. The file is written in place: a process killed while writing it (not merely interrupted
between batches) can leave it unreadable, and the run must then start again.

Parallelism is that of :mod:`clusterlens.fit.sampler`: ``cores > 1`` spawns a pool of processes that
each install the likelihood once; under ``mpirun`` the ranks > 0 evaluate batches for rank 0.
"""
from __future__ import annotations

import contextlib
import math
import os
import pickle
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..progress import interactive
from .installed import installed, installed_batch
from .sampler import WORKER, interrupted, mpi_world_size, parallel_pool


@dataclass(frozen=True)
class NautilusSettings:
    """Everything a nautilus chain depends on (besides the likelihood).

    nlive: live points that each new bound encloses; n_networks: networks per bound; n_batch:
    likelihood evaluations per batch (the points proposed at once); n_eff: effective posterior sample
    size to reach; f_live: largest fraction of the evidence left in the live set when the exploration
    stops; discard_exploration: drop the exploration-phase points from the posterior (unbiased, costs
    calls); seed: of ``numpy.random.default_rng``. Defaults are nautilus' own.
    """

    nlive: int = 2000
    n_networks: int = 4
    n_batch: int = 100
    n_eff: float = 10000.0
    f_live: float = 0.01
    discard_exploration: bool = False
    seed: int = 0

    def __post_init__(self):
        for name in ("nlive", "n_networks", "n_batch"):
            value = getattr(self, name)
            if int(value) != value or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        if not (math.isfinite(self.n_eff) and self.n_eff > 0):
            raise ValueError(f"n_eff must be a positive number, got {self.n_eff!r}")
        if not (0 < self.f_live < 1):
            raise ValueError(f"f_live must be between 0 and 1, got {self.f_live!r}")
        if int(self.seed) != self.seed or self.seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {self.seed!r}")

    def as_dict(self) -> dict:
        return {"name": "nautilus", **asdict(self)}


@dataclass(frozen=True)
class NautilusResults:
    """A finished nautilus run under the names of dynesty's ``Results`` that the results files use.

    samples: parameter values [one row per point]; logwt: log posterior weights (normalised); logl:
    log-likelihoods; logz, logzerr: the log-evidence and its error (one-element arrays, as dynesty's
    last entry); information: the posterior's information H = sum w (log L - log Z) [nats];
    niter: likelihood batches; ncall: likelihood calls; eff: effective samples per call [percent].
    """

    samples: np.ndarray
    logwt: np.ndarray
    logl: np.ndarray
    logz: np.ndarray
    logzerr: np.ndarray
    information: np.ndarray
    niter: int
    ncall: int
    eff: float


def prior_rows(unit: np.ndarray) -> np.ndarray:
    """Unit-hypercube rows -> parameter-value rows through the installed likelihood's priors."""
    return installed().parameters.transform(np.atleast_2d(unit)).reshape(np.shape(unit))


SAMPLER_JOBS = 4  #: nautilus' internal work (networks, point draws) is split into this many jobs, whatever the cores


class SamplerJobs:
    """nautilus' pool for its own computations: ``size`` is always :data:`SAMPLER_JOBS` (nautilus splits a
    bound's point draws into ``size`` seeded jobs, so the chain must not see the number of processes);
    ``map`` runs the jobs on ``pool`` (a process pool or MPI executor), or here when None. A job run here
    gets its own copy of the function (a pickle round trip, as a process would: a job may change the bound
    it belongs to, which a process does on its copy only)."""

    size = SAMPLER_JOBS

    def __init__(self, pool):
        self.pool = pool

    def map(self, function, items):
        if self.pool is None:
            payload = pickle.dumps(function)
            return [pickle.loads(payload)(item) for item in items]  # noqa: S301 -- our own object, just pickled
        return list(self.pool.map(function, items))


class Workers:
    """A pool as nautilus wants it: ``map`` and ``size`` (the number of processes evaluating batches)."""

    def __init__(self, pool, size: int):
        self.pool = pool
        self.size = size

    def map(self, function, items):
        return list(self.pool.map(function, items))


def _nautilus():
    try:
        import nautilus
    except ImportError:
        raise ImportError("the nautilus sampler is not installed: `pip install clusterlens[nautilus]` "
                          "(or `pip install nautilus-sampler h5py`)") from None
    return nautilus


def evidence_error(log_weights: np.ndarray) -> float:
    """Importance-sampling error of log Z from the normalised log weights: sqrt(1/N_eff - 1/N).

    The relative variance of a mean of N importance weights w_i is (N/N_eff - 1)/N, with
    N_eff = (sum w)^2 / sum w^2 (Kish's effective sample size); the error of nautilus' shell volumes
    is not included."""
    w = np.exp(log_weights - np.max(log_weights))
    n_eff = w.sum() ** 2 / np.sum(w ** 2)
    return float(math.sqrt(max(1.0 / n_eff - 1.0 / len(w), 0.0)))


def results_of(sampler) -> NautilusResults:
    """The posterior and evidence of a nautilus ``Sampler`` as :class:`NautilusResults`."""
    points, log_w, log_l = sampler.posterior()
    log_z = float(sampler.log_z)
    weights = np.exp(log_w)
    finite = weights > 0
    information = float(np.sum(weights[finite] * (log_l[finite] - log_z)))
    return NautilusResults(samples=np.asarray(points, float), logwt=np.asarray(log_w, float),
                           logl=np.asarray(log_l, float), logz=np.array([log_z]),
                           logzerr=np.array([evidence_error(log_w)]), information=np.array([information]),
                           niter=int(sampler.n_like) // int(sampler.n_batch), ncall=int(sampler.n_like),
                           eff=100.0 * float(sampler.n_eff) / max(int(sampler.n_like), 1))


def refuse_outside_storage(checkpoint: Path) -> None:
    """Raise ValueError (one line naming ``checkpoint``) when the HDF5 file reaches outside itself: an
    external link, a dataset stored in external files or a virtual dataset would make reading it read other
    files. Checked before nautilus opens it; an HDF5 file h5py cannot open is one error line as well."""
    import h5py

    def outside(group) -> str | None:
        for name in group:
            link = group.get(name, getlink=True)
            if isinstance(link, h5py.ExternalLink):
                return f"an external link {group.name.rstrip('/')}/{name} to {link.filename!r}"
            if isinstance(link, h5py.SoftLink):
                continue  # a path inside this file: reached by its own name
            item = group[name]
            if isinstance(item, h5py.Dataset) and (item.external or item.is_virtual):
                return f"a dataset {item.name} stored in other files"
            found = outside(item) if isinstance(item, h5py.Group) else None
            if found:
                return found
        return None

    try:
        with h5py.File(checkpoint, "r") as handle:
            found = outside(handle)
    except (OSError, KeyError, TypeError, ValueError) as err:
        raise ValueError(f"{checkpoint}: not a readable nautilus checkpoint ({type(err).__name__}: {err}): "
                         "fit again with --overwrite, or delete it") from None
    if found:
        raise ValueError(f"{checkpoint}: refused: it holds {found}; a nautilus checkpoint holds its own data "
                         "only: fit again with --overwrite, or delete it")


def sample_nautilus(likelihood, settings: NautilusSettings, *, cores: int = 1,
                    checkpoint: str | os.PathLike | None = None, resume: bool = False,
                    progress: bool = True) -> NautilusResults | None:
    """Run nautilus on ``likelihood``; return :class:`NautilusResults` (None on MPI ranks > 0).

    cores: processes evaluating batches (ignored under MPI); checkpoint: ``.hdf5`` file written after
    every batch (module docstring); resume: continue from ``checkpoint`` (a finished run is returned
    as it is); progress: nautilus' status table on a terminal's stderr. Ctrl-C raises
    :class:`~clusterlens.fit.sampler.FitInterrupted` naming the checkpoint (None before the first batch).
    """
    if int(cores) != cores or cores < 1:
        raise ValueError(f"cores must be an integer >= 1, got {cores!r}")
    checkpoint = None if checkpoint is None else Path(checkpoint)
    if checkpoint is not None and checkpoint.suffix not in (".h5", ".hdf5"):
        raise ValueError(f"a nautilus checkpoint must end in .hdf5 or .h5, got {checkpoint}")
    if resume and (checkpoint is None or not checkpoint.exists()):
        raise FileNotFoundError(f"cannot resume: no checkpoint {checkpoint}")
    nautilus = _nautilus()
    if checkpoint is not None:
        try:
            import h5py  # noqa: F401 -- nautilus writes its checkpoints with it
        except ImportError:
            raise ImportError("nautilus' checkpoints need h5py: `pip install h5py`") from None
        if resume:
            refuse_outside_storage(checkpoint)
    with parallel_pool(likelihood, cores if cores > 1 else 0) as pool:
        if pool is WORKER:
            return None
        ranks = mpi_world_size()
        workers = None if pool is None else Workers(pool, ranks - 1 if ranks > 1 else cores)
        try:
            sampler = nautilus.Sampler(prior_rows, installed_batch, n_dim=len(likelihood.parameters),
                                       n_live=settings.nlive, n_networks=settings.n_networks,
                                       n_batch=settings.n_batch, vectorized=True, pass_dict=False,
                                       pool=(workers, SamplerJobs(None if workers is None else pool)),
                                       seed=settings.seed, filepath=checkpoint,
                                       resume=resume)
        except (OSError, KeyError, TypeError, ValueError, IndexError, AttributeError) as err:
            if not resume:
                raise
            raise ValueError(f"{checkpoint}: not a readable nautilus checkpoint ({type(err).__name__}: {err}): "
                             "fit again with --overwrite, or delete it") from None
        try:
            with contextlib.redirect_stdout(sys.stderr):
                sampler.run(f_live=settings.f_live, n_eff=settings.n_eff,
                            discard_exploration=settings.discard_exploration, verbose=progress and interactive())
        except KeyboardInterrupt:
            raise interrupted(checkpoint) from None
        return results_of(sampler)
