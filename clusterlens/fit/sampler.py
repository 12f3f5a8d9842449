"""Nested sampling of a likelihood with dynesty: seeded, checkpointed, resumable, in parallel.

``sample(likelihood, settings, ...)`` runs dynesty's static ``NestedSampler`` (or, with
``settings.dynamic``, the ``DynamicNestedSampler``) on ``likelihood`` (``L(values) -> log L``,
``L.parameters.transform`` as the prior transform) and returns dynesty's ``Results``.

Proposals. dynesty proposes ``queue_size`` new points at once (default :data:`QUEUE_SIZE`), and the
proposals run in lockstep (:mod:`clusterlens.fit.lockstep`): each step evaluates the points all of
them wait on in one ``batch`` call of the likelihood, so the Python overhead of a call is paid once
per step and the likelihood's vectorised path does the work.

Reproducibility. The run is a function of the likelihood and :class:`SamplerSettings` only:
``rstate = numpy.random.default_rng(seed)``, and the queued proposals take their seeds from that
generator, so ``queue_size`` fixes the result, not the number of processes or their speed (the queue
is split between the processes).

Checkpoints. With ``checkpoint=path`` dynesty pickles the whole sampler (its random generator
included) every ``checkpoint_every`` seconds and at the end; dynesty writes ``path.tmp`` and renames
it, so a run killed at any moment (even SIGKILL) leaves the previous complete checkpoint. The first
checkpoint is written early (:data:`~clusterlens.fit.progress.FIRST_CHECKPOINT_S` after the start), so
a run interrupted after its first seconds can be resumed. The pickle is signed with this user's key and
only a validly signed checkpoint is unpickled (:mod:`clusterlens.fit.checkpoint_signing`): a checkpoint
from elsewhere is refused, never run.
``resume=True`` restores it and continues: the resumed run follows exactly the iterations the
uninterrupted run would have made. The sampler calls the module-level functions
:func:`log_likelihood` and :func:`prior_transform`, which evaluate the likelihood installed in the
process (:func:`install`), so a checkpoint holds no copy of the data and may be resumed with a
different number of processes.

Parallelism.
- ``cores > 1``: this process and a ``multiprocessing`` pool of ``cores - 1`` processes (spawned; each
  process installs a copy of the likelihood once, then evaluates proposals on the threads the
  likelihood was built with: :func:`clusterlens.fit.fit` builds it with ``threads=1``, the processes
  being the parallelism); each queue is split into ``cores`` chunks, the first evaluated here while
  the pool evaluates the others.
- MPI: launched as ``mpirun -n N clusterlens fit ...`` (detected from the launcher's environment,
  ``OMPI_COMM_WORLD_SIZE``, ``PMI_SIZE`` or ``MV2_COMM_WORLD_SIZE``), rank 0 samples and the other
  N - 1 ranks evaluate proposals through ``mpi4py.futures.MPICommExecutor`` (rank 0 its share too); every rank builds
  the likelihood, ranks > 0 return ``None`` from :func:`sample` after serving. Needs
  ``pip install mpi4py`` (and an MPI library); ``cores`` is ignored under MPI.
"""
from __future__ import annotations

import functools
import math
import os
import signal
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..sampling_methods import BOUNDS, METHODS
from .checkpoint_signing import UntrustedCheckpoint, load_checkpoint, signing_checkpoints
from .installed import install, log_likelihood, prior_transform
from .lockstep import ProposalPool
from .progress import FIRST_CHECKPOINT_S, SamplingProgress

#: Environment variables by which MPI launchers (Open MPI, MPICH/Intel MPI/Hydra, MVAPICH) give the world size.
MPI_SIZE_VARIABLES = ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "MV2_COMM_WORLD_SIZE")


QUEUE_SIZE = 16
"""dynesty's default number of points proposed at once. Larger queues batch better but propose from staler
live points: on the example fit (nlive 100) queues of 1, 16, 32 and 64 cost 139k, 150k, 164k and 189k calls."""


def default_nlive(ndim: int) -> int:
    """dynesty's live points when none are given: 100, or 2 ndim + 2 above 49 free parameters (dynesty
    warns that nlive <= 2 ndim is extremely risky: too few live points to follow the likelihood contours)."""
    return max(100, 2 * int(ndim) + 2)


@dataclass(frozen=True)
class SamplerSettings:
    """Everything the sampled chain depends on (besides the likelihood).

    nlive: live points; bound: dynesty bounding method (none, single, multi, balls, cubes);
    sample: proposal method (auto, unif, rwalk, slice, rslice); dlogz: stopping threshold on the
    remaining log-evidence (None: dynesty's default, 1e-3 (nlive - 1) + 0.01 for a static run,
    0.01 for the baseline run of a dynamic one); dynamic: DynamicNestedSampler instead of the static
    NestedSampler; seed: of ``numpy.random.default_rng``; queue_size: points proposed at once (1 = one at
    a time; default :data:`QUEUE_SIZE`), evaluated together and split between the processes.
    """

    nlive: int = 100
    bound: str = "multi"
    sample: str = "auto"
    dlogz: float | None = None
    dynamic: bool = False
    seed: int = 0
    queue_size: int = QUEUE_SIZE

    def __post_init__(self):
        if int(self.nlive) != self.nlive or self.nlive < 2:
            raise ValueError(f"nlive must be an integer >= 2, got {self.nlive!r}")
        if self.bound not in BOUNDS:
            raise ValueError(f"bound must be one of {', '.join(BOUNDS)}, got {self.bound!r}")
        if self.sample not in METHODS:
            raise ValueError(f"sample must be one of {', '.join(METHODS)}, got {self.sample!r}")
        if self.dlogz is not None and not (math.isfinite(self.dlogz) and self.dlogz > 0):
            raise ValueError(f"dlogz must be a positive number (or None for dynesty's default), got {self.dlogz!r}")
        if int(self.seed) != self.seed or self.seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {self.seed!r}")
        if int(self.queue_size) != self.queue_size or self.queue_size < 1:
            raise ValueError(f"queue_size must be an integer >= 1, got {self.queue_size!r}")

    def as_dict(self) -> dict:
        return asdict(self)


# ---------------------------------------------------------------- pool processes
def install_in_worker(likelihood, started=None) -> None:
    """:func:`install` in a pool process, which ignores Ctrl-C (from its start: :func:`parallel_pool`): the
    parent alone handles an interruption (it stops the pool), so an interrupted run prints one line, not a
    traceback per process. ``started``: a shared counter this process increments once it is ready."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    install(likelihood)
    if started is not None:
        with started.get_lock():
            started.value += 1


class FitInterrupted(KeyboardInterrupt):
    """A run stopped by Ctrl-C; ``checkpoint`` is the file it can resume from, None when none was written yet."""

    def __init__(self, checkpoint: Path | None):
        super().__init__("interrupted")
        self.checkpoint = checkpoint


def interrupted(checkpoint: Path | None) -> FitInterrupted:
    """The :class:`FitInterrupted` of a run whose checkpoint file is ``checkpoint`` (kept only if it exists)."""
    return FitInterrupted(checkpoint if checkpoint is not None and checkpoint.exists() else None)


# ---------------------------------------------------------------- pools
def available_cores() -> int:
    """The number of CPU cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def mpi_world_size(environ=os.environ) -> int:
    """The MPI world size announced by the launcher's environment (1 when not launched by mpirun)."""
    for name in MPI_SIZE_VARIABLES:
        if environ.get(name, "").strip().isdigit():
            return int(environ[name])
    return 1


class MPIUnavailable(RuntimeError):
    """Launched under mpirun but mpi4py cannot be imported."""


def _mpi():
    try:
        from mpi4py import MPI
    except ImportError:
        found = ", ".join(f"{n}={os.environ[n]}" for n in MPI_SIZE_VARIABLES if n in os.environ)
        raise MPIUnavailable(f"launched under MPI ({found}) but mpi4py is not installed: `pip install mpi4py` "
                           "(it needs an MPI library, e.g. Open MPI or MPICH), or run without mpirun "
                           "and use --cores N") from None
    return MPI


def mpi_rank() -> int:
    """This process's MPI rank (0 when not launched under MPI)."""
    return _mpi().COMM_WORLD.Get_rank() if mpi_world_size() > 1 else 0


class RootFailed(RuntimeError):
    """Raised on MPI ranks > 0 when rank 0 failed in :func:`on_root` (rank 0 reports the error itself)."""


def on_root(function, *args, **kwargs):
    """``function(*args, **kwargs)`` run on MPI rank 0 only (file writes), its result broadcast to every rank.

    Without MPI it is a plain call. When it raises on rank 0, the other ranks raise :class:`RootFailed`."""
    if mpi_world_size() <= 1:
        return function(*args, **kwargs)
    comm = _mpi().COMM_WORLD
    outcome = None
    if comm.Get_rank() == 0:
        try:
            outcome = (True, function(*args, **kwargs))
        except Exception as err:
            comm.bcast((False, f"{type(err).__name__}: {err}"), root=0)
            raise
    ok, value = comm.bcast(outcome, root=0)
    if not ok:
        raise RootFailed(f"MPI rank 0 failed: {value}")
    return value


def _ignore_ctrl_c():
    """Ignore SIGINT here (main thread only) until the returned function restores the handler: processes
    started meanwhile inherit the ignored signal through exec, and Python then leaves it ignored, so a Ctrl-C
    never reaches them, even while they import (the parent alone handles it and stops the pool)."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    return functools.partial(signal.signal, signal.SIGINT, previous)


WORKER = object()  #: what :func:`parallel_pool` yields on MPI ranks > 0 after they have served rank 0
WORKER_START_TIMEOUT = 600.0  #: seconds the pool's processes may take to start (imports, the likelihood)


class StartingPool:
    """A multiprocessing pool whose processes may still be starting: :meth:`ready` tells whether all of them
    have installed the likelihood (:func:`install_in_worker` counts them in ``started``); RuntimeError when
    they take longer than :data:`WORKER_START_TIMEOUT`."""

    def __init__(self, pool, started, processes: int):
        self.pool, self.started, self.processes = pool, started, processes
        self.deadline = time.monotonic() + WORKER_START_TIMEOUT

    def ready(self) -> bool:
        if self.started.value >= self.processes:
            return True
        if time.monotonic() > self.deadline:
            raise RuntimeError(f"{self.processes - self.started.value} of {self.processes} worker processes did "
                               f"not start within {WORKER_START_TIMEOUT:.0f} s")
        return False

    def wait(self) -> None:
        """Return once every process has started."""
        while not self.ready():
            time.sleep(0.01)

    def map(self, function, items):
        return self.pool.map(function, items)

    def map_async(self, function, items):
        return self.pool.map_async(function, items)


@contextmanager
def parallel_pool(likelihood, processes: int, wait: bool = True) -> Iterator:
    """The worker processes that evaluate the likelihood: None (``processes`` 0: this process only), a
    spawned multiprocessing pool of ``processes`` processes (a :class:`StartingPool`; ``wait``: return it
    once they have all started, else at once), or MPI ranks (an executor on rank 0, :data:`WORKER` on the
    others; module docstring). ``likelihood`` is installed in every process."""
    install(likelihood)
    if mpi_world_size() > 1:
        MPI = _mpi()
        from mpi4py.futures import MPICommExecutor

        with MPICommExecutor(MPI.COMM_WORLD, root=0) as executor:
            yield WORKER if executor is None else executor
        return
    if processes > 0:
        import multiprocessing

        restore = _ignore_ctrl_c()  # the processes never see a Ctrl-C
        try:
            context = multiprocessing.get_context("spawn")
            started = context.Value("i", 0)
            pool = context.Pool(processes, initializer=install_in_worker, initargs=(likelihood, started))
        finally:
            restore()
        with pool:
            starting = StartingPool(pool, started, processes)
            if wait:
                starting.wait()
            yield starting
        return
    yield None


# ---------------------------------------------------------------- sampling
def new_sampler(ndim: int, settings: SamplerSettings, pool):
    """A fresh dynesty sampler over the installed likelihood (``rstate = default_rng(seed)``)."""
    import dynesty

    cls = dynesty.DynamicNestedSampler if settings.dynamic else dynesty.NestedSampler
    return cls(log_likelihood, prior_transform, ndim, nlive=settings.nlive, bound=settings.bound,
               sample=settings.sample, rstate=np.random.default_rng(settings.seed), pool=pool,
               queue_size=settings.queue_size)


def restore_sampler(checkpoint: Path, settings: SamplerSettings, pool):
    """The sampler saved in the signed ``checkpoint``, set to evaluate through ``pool`` with
    ``settings.queue_size``; :class:`UntrustedCheckpoint` for anything else (nothing unpickled)."""
    import dynesty
    from dynesty.dynamicsampler import DynamicSampler
    from dynesty.sampler import Sampler

    saved = load_checkpoint(checkpoint)
    sampler = saved.get("sampler") if isinstance(saved, dict) else None
    if not isinstance(sampler, (Sampler, DynamicSampler)) or saved.get("format_version") != 1:
        raise UntrustedCheckpoint(f"{checkpoint}: refused: not a dynesty checkpoint (format 1)")
    if saved.get("version") != dynesty.__version__:
        warnings.warn(f"{checkpoint} was written by dynesty {saved.get('version')}, this is dynesty "
                      f"{dynesty.__version__}: resuming may fail", stacklevel=2)
    samplers = [sampler]
    if isinstance(sampler, DynamicSampler):
        samplers += [s for s in (sampler.sampler, sampler.batch_sampler) if s is not None]
    for s in samplers:
        s.pool = pool
        s.mapper = pool.map
        s.queue_size = settings.queue_size
    return sampler


def is_finished(sampler) -> bool:
    """Whether ``sampler`` holds a completed run (nothing left to resume)."""
    from dynesty.dynamicsampler import DynamicSamplerStatesEnum

    if hasattr(sampler, "internal_state"):
        return sampler.internal_state == DynamicSamplerStatesEnum.RUN_DONE
    return bool(sampler.added_live)


def sample(likelihood, settings: SamplerSettings, *, cores: int = 1, checkpoint: str | os.PathLike | None = None,
           checkpoint_every: float = 60.0, resume: bool = False, progress: bool = True):
    """Run nested sampling of ``likelihood``; return dynesty's ``Results`` (None on MPI ranks > 0).

    The likelihood is evaluated as given: build a :class:`~clusterlens.fit.point_likelihood.PointLikelihood`
    with ``threads=1`` when the processes are to be the only parallelism (``fit`` and ``run`` do).
    cores: processes evaluating proposals (ignored under MPI); checkpoint: file saved every
    ``checkpoint_every`` seconds (the first after ``min(FIRST_CHECKPOINT_S, checkpoint_every)``) and at
    the end; resume: continue from ``checkpoint`` (a finished run is returned as it is); progress: a
    progress line on a terminal's stderr (:mod:`clusterlens.fit.progress`). Ctrl-C raises
    :class:`FitInterrupted` naming the checkpoint to resume from (None before the first one).
    """
    if int(cores) != cores or cores < 1:
        raise ValueError(f"cores must be an integer >= 1, got {cores!r}")
    if checkpoint_every <= 0:
        raise ValueError(f"checkpoint_every must be > 0 seconds, got {checkpoint_every!r}")
    checkpoint = None if checkpoint is None else Path(checkpoint)
    if resume and (checkpoint is None or not checkpoint.exists()):
        raise FileNotFoundError(f"cannot resume: no checkpoint {checkpoint}")
    # this process evaluates a share of every queue too: cores - 1 worker processes (MPI: the other ranks)
    with parallel_pool(likelihood, cores - 1, wait=False) as processes:
        if processes is WORKER:
            return None
        pool = ProposalPool(processes, mpi_world_size() if mpi_world_size() > 1 else cores)
        if resume:
            assert checkpoint is not None  # checked above: resuming needs an existing checkpoint
            sampler = restore_sampler(checkpoint, settings, pool)
        else:
            sampler = new_sampler(len(likelihood.parameters), settings, pool)
        if not is_finished(sampler):
            early = None if checkpoint is None or settings.dynamic or resume else functools.partial(
                sampler.save, str(checkpoint))
            report = SamplingProgress(show=progress, save_checkpoint=early,
                                      first_checkpoint_s=min(FIRST_CHECKPOINT_S, checkpoint_every))
            # print_func also runs without progress: it writes the early checkpoint
            options = dict(print_progress=True, print_func=report, resume=resume,
                           checkpoint_file=None if checkpoint is None else str(checkpoint),
                           checkpoint_every=checkpoint_every)
            try:
                with signing_checkpoints():
                    if settings.dynamic:
                        sampler.run_nested(nlive_init=settings.nlive, dlogz_init=settings.dlogz or 0.01, **options)
                    else:
                        sampler.run_nested(dlogz=settings.dlogz, **options)
            except KeyboardInterrupt:
                raise interrupted(checkpoint) from None
            finally:
                report.close()
        return sampler.results
