"""Lens evaluation speed: 1 NFW + 300 elliptical dPIE members, clusterlens vs lenstronomy.

Prints member-point pairs per second for deflection and deflection + Hessian on a
200 x 200 grid and on 100 points, for clusterlens's numba and numpy backends (evaluations of
>= 1e6 pairs split over the usable cores; CLUSTERLENS_THREADS=1 for one) and for lenstronomy on the
same model (each dPIE as a difference of two NIE, clusterlens.peers), with ratios. Timings are the
best of a few repeats; on a shared machine they are noisy.

Run: python benchmarks/bench_lens.py
"""

from __future__ import annotations

import os
import time

import numpy as np

from clusterlens.lens import Lens, MassComponents, default_threads
from clusterlens.peers import lenstronomy_model

N_MEMBERS = 300
SEED = 20240611


def cluster_groups(seed: int = SEED) -> list[MassComponents]:
    """A cluster-like model: one NFW halo and N_MEMBERS elliptical dPIE members (seeded)."""
    rng = np.random.default_rng(seed)
    m = N_MEMBERS
    halo = MassComponents("NFW", dict(center_x=[0.0], center_y=[0.0], kappa_s=[0.28], r_s=[65.0]), "host_halo")
    members = MassComponents(
        "dPIE",
        dict(
            center_x=rng.uniform(-60, 60, m),
            center_y=rng.uniform(-60, 60, m),
            b0=rng.uniform(0.05, 1.2, m),
            r_core=rng.uniform(0.02, 0.3, m),
            r_cut=rng.uniform(5.0, 50.0, m),
            q=rng.uniform(0.4, 0.95, m),
            angle=rng.uniform(-90, 90, m),
        ),
        "tier:members",
    )
    return [halo, members]


def best_time(func, repeats: int, *args) -> float:
    """Shortest of ``repeats`` calls ``func(*args)`` (seconds)."""
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        func(*args)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    import numba

    groups = cluster_groups()
    n_pairs_per_point = sum(g.size for g in groups)
    grid = np.linspace(-60, 60, 200)
    gx, gy = np.meshgrid(grid, grid)
    rng = np.random.default_rng(SEED + 1)
    px, py = rng.uniform(-60, 60, 100), rng.uniform(-60, 60, 100)
    cases = {"200x200 grid": (gx.ravel(), gy.ravel(), 3), "100 points": (px, py, 50)}

    fast, slow = Lens(groups, backend="numba"), Lens(groups, backend="numpy")
    fast.deflection_and_hessian(px[:2], py[:2])  # compile (or load the cached kernel) before timing
    peer, peer_kwargs = lenstronomy_model(slow)
    # correctness of the comparison itself
    ref = peer.alpha(px, py, peer_kwargs)
    got = fast.deflection(px, py)
    worst = np.max(np.abs(np.array(got) - np.array(ref)) / np.hypot(*ref))
    print(f"model: 1 NFW + {N_MEMBERS} elliptical dPIE ({n_pairs_per_point} components); clusterlens threads "
          f"{default_threads()} for >= 1e6 pairs (numba {numba.__version__}); os.cpu_count() {os.cpu_count()}, "
          f"load average {os.getloadavg()[0]:.2f}")
    print(f"max |alpha_clusterlens - alpha_lenstronomy| / |alpha| on 100 points: {worst:.1e}")
    print(f"{'points':>14} {'quantity':>20} {'numba pairs/s':>14} {'numpy pairs/s':>14} "
          f"{'lenstronomy':>12} {'numba/lenst.':>12} {'numpy/lenst.':>12} {'numba ms':>9}")
    jobs = {  # quantity: (ours(lens, x, y), theirs(x, y))
        "deflection": (lambda lens, x, y: lens.deflection(x, y), lambda x, y: peer.alpha(x, y, peer_kwargs)),
        "deflection+hessian": (
            lambda lens, x, y: lens.deflection_and_hessian(x, y),
            lambda x, y: (peer.alpha(x, y, peer_kwargs), peer.hessian(x, y, peer_kwargs)),
        ),
    }
    for label, (x, y, repeats) in cases.items():
        pairs = x.size * n_pairs_per_point
        for quantity, (ours, theirs) in jobs.items():
            t_fast = best_time(ours, repeats, fast, x, y)
            t_slow = best_time(ours, repeats, slow, x, y)
            t_peer = best_time(theirs, max(1, repeats // 3), x, y)
            print(f"{label:>14} {quantity:>20} {pairs / t_fast:14.3e} {pairs / t_slow:14.3e} {pairs / t_peer:12.3e} "
                  f"{t_peer / t_fast:12.1f} {t_peer / t_slow:12.1f} {1e3 * t_fast:9.2f}")


if __name__ == "__main__":
    main()
