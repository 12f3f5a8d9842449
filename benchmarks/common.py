"""Shared inputs and helpers of the benchmark suite (``run.py``, ``scaling.py``).

Inputs (all in this repository):

- Abell 2744, the HFF CATS Lenstool model (tests/data/a2744): ``best.par`` (258 explicit dPIE
  potentials) with ``img_mul_constraints.cat`` (83 images of 29 systems, sigma_pos 0.5"), and
  ``A2744_SLspec.par`` (the Lenstool input: 6 optimised potentials and 3 potfile tiers holding the
  other 252 galaxies) with the same catalogue;
- the issue's standard lens, 1 NFW + 300 elliptical dPIE members (``bench_lens.cluster_groups``);
- synthetic cluster models of any size for the scaling runs (:func:`synthetic_model`).

Helpers: repeated timings with their spread (:func:`time_calls`), the peak traced memory of one
call (:func:`peak_mb`), a wall-clock limit for peers that may run for minutes
(:func:`with_time_limit`) and the agreement of a lenstronomy twin (:func:`clusterlens.peers.lenstronomy_model`)
with clusterlens (:func:`worst_relative_difference`). Positions in arcsec (x West, y North), times in seconds.
"""
from __future__ import annotations

import functools
import importlib.metadata
import importlib.util
import os
import platform
import signal
import time
import tracemalloc
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from clusterlens.lens import Lens
from clusterlens.lenstool import LenstoolWarning, read_par
from clusterlens.model import ClusterModel

ROOT = Path(__file__).resolve().parents[1]
A2744 = ROOT / "tests" / "data" / "a2744"
EXAMPLE = ROOT / "datasets" / "example_cluster"
POSITION_SIGMA = 0.5  # arcsec, Lenstool's sigposArcsec of the CATS model

#: Figures quoted in issue #8 (measured by the issue author on this machine, 1 NFW + 300 dPIE), seconds.
QUOTED = {
    "lenstronomy": {"grid": 1.15, "points": 0.019, "source_likelihood": 0.180, "images": 17.0,
                    "image_likelihood": 17.8},
    "autolens": {"grid": 0.76, "points": 0.0052, "source_likelihood": 0.96, "images": 4.1,
                 "image_likelihood": 7.9},
}
#: Lenstool's published time for two 200 x 200 amplification maps of the A2744 model, seconds.
LENSTOOL_TWO_AMPLIFICATION_MAPS = 8.0


# ---------------------------------------------------------------------------------------- timing
@dataclass(frozen=True)
class Timing:
    """Wall-clock seconds of repeated calls, and the CPU seconds of this process during each (on a
    loaded machine the wall time of a long call includes the time other processes held the cores;
    the CPU time does not, but it leaves out worker processes)."""

    seconds: tuple[float, ...]
    cpu_seconds: tuple[float, ...] = ()

    @property
    def median(self) -> float:
        return float(np.median(self.seconds))

    @property
    def low(self) -> float:
        return float(np.min(self.seconds))

    @property
    def high(self) -> float:
        return float(np.max(self.seconds))

    @property
    def cpu_median(self) -> float:
        return float(np.median(self.cpu_seconds)) if self.cpu_seconds else float("nan")

    def __str__(self) -> str:
        if len(self.seconds) == 1:
            return f"{format_seconds(self.median)} (n=1)"
        spread = f"[{format_seconds(self.low)}-{format_seconds(self.high)}]"
        return f"{format_seconds(self.median)} {spread} n={len(self.seconds)}"


def best_of(function, repeats: int = 3):
    """(result, seconds) of the fastest of ``repeats`` calls."""
    timings, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        timings.append(time.perf_counter() - start)
    return result, min(timings)


def format_seconds(t: float) -> str:
    """A duration with a readable unit (ns, us, ms, s)."""
    if not np.isfinite(t):
        return "-"
    if abs(t) < 1e-6:
        return f"{t * 1e9:.3g} ns"
    if abs(t) < 1e-3:
        return f"{t * 1e6:.3g} us"
    if t < 1.0:
        return f"{t * 1e3:.3g} ms"
    return f"{t:.3g} s"


def time_calls(function, repeats: int, warmup: int = 1) -> Timing:
    """Time ``repeats`` calls of ``function()`` after ``warmup`` untimed calls."""
    for _ in range(warmup):
        function()
    seconds, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        function()
        cpu.append(time.process_time() - start_cpu)
        seconds.append(time.perf_counter() - start)
    return Timing(tuple(seconds), tuple(cpu))


def time_each(function, arguments) -> Timing:
    """Time one call ``function(a)`` per element of ``arguments`` (e.g. prior draws); the first is also
    called once untimed beforehand."""
    function(arguments[0])
    seconds, cpu = [], []
    for a in arguments:
        start, start_cpu = time.perf_counter(), time.process_time()
        function(a)
        cpu.append(time.process_time() - start_cpu)
        seconds.append(time.perf_counter() - start)
    return Timing(tuple(seconds), tuple(cpu))


def peak_mb(function) -> float:
    """Peak memory traced by tracemalloc (Python objects and numpy buffers, MB) during one call."""
    tracemalloc.start()
    try:
        function()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def max_rss_mb() -> float:
    """Peak resident memory of this process so far (MB; Linux reports kB)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class TimeLimitExceeded(Exception):
    """Raised inside a call that ran past :func:`with_time_limit`'s limit."""


def with_time_limit(function, seconds: float):
    """(result, Timing of the one call, finished) of ``function()``, interrupted after ``seconds``
    (SIGALRM, main thread, POSIX; the interruption lands at the next Python bytecode)."""

    def interrupt(signum, frame):
        raise TimeLimitExceeded

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    start, start_cpu = time.perf_counter(), time.process_time()
    try:
        result, finished = function(), True
    except TimeLimitExceeded:
        result, finished = None, False
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    return result, Timing((time.perf_counter() - start,), (time.process_time() - start_cpu,)), finished


# ---------------------------------------------------------------------------------------- machine
def peers() -> dict[str, str]:
    """Version of each peer code, or 'not installed'."""
    out = {}
    for name, module in (("lenstronomy", "lenstronomy"), ("autolens", "autolens")):
        if importlib.util.find_spec(module) is None:
            out[name] = "not installed"
        else:
            try:
                out[name] = importlib.metadata.version(module)
            except importlib.metadata.PackageNotFoundError:
                out[name] = "installed (version unknown)"
    return out


def machine() -> str:
    """One line on the machine and the numerical stack."""
    import numba

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"{platform.processor() or platform.machine()}, {os.cpu_count()} cpus, load average {load:.2f}; "
            f"Python {platform.python_version()}, numpy {np.__version__}, numba {numba.__version__} "
            f"({numba.get_num_threads()} threads)")


# ---------------------------------------------------------------------------------------- A2744
@functools.cache
def a2744_best() -> ClusterModel:
    """best.par (258 explicit dPIE potentials) with the 83 catalogue images at sigma = 0.5"."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LenstoolWarning)
        return read_par(A2744 / "best.par", images=A2744 / "img_mul_constraints.cat", position_sigma=POSITION_SIGMA)


@functools.cache
def a2744_tiers() -> ClusterModel:
    """A2744_SLspec.par (6 potentials O1, O2, O4-O7 and 3 potfile tiers, 258 dPIE in all) with the
    83 catalogue images at sigma = 0.5" and the .par's own priors."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LenstoolWarning)
        return read_par(A2744 / "A2744_SLspec.par", images=A2744 / "img_mul_constraints.cat",
                        position_sigma=POSITION_SIGMA)


MAIN_POTENTIALS = ("O1", "O2", "O4", "O5", "O6", "O7")
"""The potentials A2744_SLspec.par optimises (``nlens_opt 6``; O1, O2 are host halos, the others galaxies)."""
FREE_TIER = "new_potfile_with_ASTRODEEP_data"
"""The 246-member tier whose amplitude (sigma_ref) is free in the likelihood benchmarks."""


def a2744_likelihood_model() -> ClusterModel:
    """:func:`a2744_tiers` with seven free parameters: sigma of each main potential (uniform within
    +-10 % of its .par value) and the sigma_ref of :data:`FREE_TIER` (uniform within +-10 %); priors
    built in Python, replacing the .par's."""
    from clusterlens.fit.priors import with_priors

    model = a2744_tiers()
    priors = []
    for family in ("host_halo", "main_lens_mass"):
        for row in model.rows(family):
            if row.galaxy in MAIN_POTENTIALS:
                priors.append(dict(family=family, galaxy=row.galaxy, parameter="sigma", prior="uniform",
                                   lower=0.9 * row.sigma, upper=1.1 * row.sigma))
    relation = next(t.relation for t in model.tiers if t.name == FREE_TIER)
    priors.append(dict(family="scaling_relations", galaxy=FREE_TIER, parameter="sigma_ref", prior="uniform",
                       lower=0.9 * relation.sigma_ref, upper=1.1 * relation.sigma_ref))
    if len(priors) != len(MAIN_POTENTIALS) + 1:
        raise ValueError(f"expected priors on {MAIN_POTENTIALS} and {FREE_TIER}, built {len(priors)}")
    return with_priors(model, priors, replace=True)


def prior_draws(parameters, n: int, seed: int) -> np.ndarray:
    """``n`` parameter vectors drawn from the priors (seeded), shape (n, len(parameters))."""
    rng = np.random.default_rng(seed)
    return np.array([parameters.transform(u) for u in rng.random((n, len(parameters)))])


def observed_positions(model: ClusterModel) -> tuple[np.ndarray, np.ndarray]:
    """x, y (arcsec) of the model's point_datasets rows."""
    rows = model.point_datasets
    return np.array([r.x for r in rows]), np.array([r.y for r in rows])


def covering_grid(x: np.ndarray, y: np.ndarray, n: int = 200, margin: float = 5.0):
    """(gx, gy): an n x n square grid centred on the points' extent, covering it plus ``margin`` arcsec."""
    cx, cy = (x.min() + x.max()) / 2, (y.min() + y.max()) / 2
    half = max(np.ptp(x), np.ptp(y)) / 2 + margin
    return np.meshgrid(np.linspace(cx - half, cx + half, n), np.linspace(cy - half, cy + half, n))


# ---------------------------------------------------------------------------------------- standard lens
def standard_lens_inputs():
    """(groups, (grid_x, grid_y), (points_x, points_y)) of bench_lens.py: 1 NFW + 300 dPIE, a 200 x 200
    grid over [-60, 60]^2 arcsec and 100 seeded random points in it."""
    from bench_lens import SEED, cluster_groups

    grid = np.linspace(-60, 60, 200)
    gx, gy = np.meshgrid(grid, grid)
    rng = np.random.default_rng(SEED + 1)
    return cluster_groups(), (gx, gy), (rng.uniform(-60, 60, 100), rng.uniform(-60, 60, 100))


# ---------------------------------------------------------------------------------------- lenstronomy twin
def worst_relative_difference(lens: Lens, peer, peer_kwargs, x, y) -> float:
    """max |alpha_clusterlens - alpha_lenstronomy| / |alpha_lenstronomy| at the points (a check that the
    peer computes the same lens)."""
    ours = np.array(lens.deflection(x, y))
    theirs = np.array(peer.alpha(x, y, peer_kwargs))
    return float(np.max(np.hypot(*(ours - theirs)) / np.hypot(*theirs)))


# ---------------------------------------------------------------------------------------- synthetic models
def synthetic_model(n_members: int, n_images: int, seed: int = 0) -> ClusterModel:
    """A cluster at z = 0.3 (H0 = 70, Om0 = 0.3): one dPIE host halo, two dPIE galaxies and one
    scaling-relation tier of ``n_members`` elliptical members (seeded positions within 80" and
    magnitudes 18-24), with ``n_images`` observed images (sigma 0.5") in systems of three at
    redshifts 1-5. The image positions are drawn at random: they are not images of the model, which
    does not change what a likelihood call costs. Priors: the BCG's sigma and the tier's sigma_ref
    (uniform)."""
    rng = np.random.default_rng(seed)
    z = 0.3
    records = {
        "host_halo": [dict(galaxy="halo", profile="dPIE", x=0.0, y=0.0, redshift=z, q=0.6, angle=30.0,
                           sigma=1100.0, r_core=15.0, r_cut=800.0)],
        "main_lens_mass": [
            dict(galaxy="BCG", profile="dPIE", x=0.5, y=-0.3, redshift=z, q=0.7, angle=40.0, sigma=320.0,
                 r_core=0.1, r_cut=60.0),
            dict(galaxy="G2", profile="dPIE", x=-20.0, y=18.0, redshift=z, q=0.8, angle=-20.0, sigma=260.0,
                 r_core=0.1, r_cut=40.0)],
        "scaling_relations": [dict(tier="members", profile="dPIE", mag_ref=19.0, sigma_ref=180.0, r_core_ref=0.05,
                                   r_cut_ref=15.0, sigma_slope=0.25, r_core_slope=0.5, r_cut_slope=0.5)],
    }
    radius = 80.0 * np.sqrt(rng.random(n_members))
    phi = rng.uniform(0, 2 * np.pi, n_members)
    mag, q, angle = rng.uniform(18, 24, n_members), rng.uniform(0.4, 1.0, n_members), rng.uniform(-90, 90, n_members)
    records["scaling_galaxies"] = [
        dict(galaxy=f"m{i}", tier="members", x=float(radius[i] * np.cos(phi[i])), y=float(radius[i] * np.sin(phi[i])),
             mag=float(mag[i]), q=float(q[i]), angle=float(angle[i])) for i in range(n_members)]
    n_systems = max(1, -(-n_images // 3))
    system = np.arange(n_images) % n_systems
    zs = rng.uniform(1.0, 5.0, n_systems)
    x, y = rng.uniform(-50, 50, n_images), rng.uniform(-50, 50, n_images)
    records["source_point"] = [dict(galaxy=f"s{k}", name=f"s{k}", x=0.0, y=0.0, redshift=float(zs[k]))
                               for k in range(n_systems)]
    records["point_datasets"] = [dict(name=f"s{system[i]}", image=f"{system[i]}.{i}", x=float(x[i]), y=float(y[i]),
                                      sigma=POSITION_SIGMA) for i in range(n_images)]
    records["priors"] = [
        dict(family="main_lens_mass", galaxy="BCG", parameter="sigma", prior="uniform", lower=250.0, upper=400.0),
        dict(family="scaling_relations", galaxy="members", parameter="sigma_ref", prior="uniform", lower=150.0,
             upper=210.0)]
    dataset = {"reference": {"ra": 3.586259, "dec": -30.400174}, "cosmology": {"H0": 70.0, "Om0": 0.3}}
    return ClusterModel.from_records(records, dataset)


def random_dpie_lens(n_members: int, seed: int = 0) -> Lens:
    """A Lens of ``n_members`` elliptical dPIE members (the parameter ranges of bench_lens.py)."""
    from clusterlens.lens import MassComponents

    rng = np.random.default_rng(seed)
    m = n_members
    return Lens([MassComponents("dPIE", dict(
        center_x=rng.uniform(-60, 60, m), center_y=rng.uniform(-60, 60, m), b0=rng.uniform(0.05, 1.2, m),
        r_core=rng.uniform(0.02, 0.3, m), r_cut=rng.uniform(5.0, 50.0, m), q=rng.uniform(0.4, 0.95, m),
        angle=rng.uniform(-90, 90, m)), "tier:members")])
