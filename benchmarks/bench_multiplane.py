"""Multi-plane ray tracing cost: a two-plane cluster against the sum of its planes.

The cluster plane (1 NFW + 300 dPIE members, ``bench_lens.cluster_groups``) at z = 0.375 and a background
group (1 NFW + 30 dPIE members, as the CATS Abell 370 group at z = 1.05) traced to z_s = 3 on a
200 x 200 grid and at 100 points. Prints, for deflection + Jacobian (the solver's and likelihood's
need) and deflection alone, the time of :func:`clusterlens.multiplane.ray_trace`, the sum of each
plane's own evaluation (``Lens.deflection_and_hessian`` / ``Lens.deflection``) at the same number of
points, and their ratio: the recursion's overhead (a few array operations per plane) is the excess
over 1. Timings are the best of a few repeats; on a shared machine they are noisy.

Run: python benchmarks/bench_multiplane.py [--quick]
"""
from __future__ import annotations

import sys
import time

import numpy as np
from astropy.cosmology import FlatLambdaCDM

from bench_lens import cluster_groups
from clusterlens.lens import Lens, MassComponents
from clusterlens.multiplane import plane_factors, ray_trace

Z_CLUSTER, Z_GROUP, Z_SOURCE = 0.375, 1.05, 3.0
SEED = 20261201


def group_groups(seed: int = SEED) -> list[MassComponents]:
    """A background group: one NFW and 30 elliptical dPIE members within 20 arcsec of (25, -15)."""
    rng = np.random.default_rng(seed)
    m = 30
    halo = MassComponents("NFW", dict(center_x=[25.0], center_y=[-15.0], kappa_s=[0.1], r_s=[30.0]), "group")
    members = MassComponents("dPIE", dict(
        center_x=25.0 + rng.uniform(-20, 20, m), center_y=-15.0 + rng.uniform(-20, 20, m),
        b0=rng.uniform(0.05, 0.6, m), r_core=rng.uniform(0.02, 0.2, m), r_cut=rng.uniform(5.0, 30.0, m),
        q=rng.uniform(0.4, 0.95, m), angle=rng.uniform(-90, 90, m)), "tier:group")
    return [halo, members]


def best_of(function, repeats: int) -> float:
    """Smallest wall time of ``repeats`` calls, seconds."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def compare(cluster: Lens, group: Lens, factors, x, y, repeats: int) -> dict[str, tuple[float, float]]:
    """{what: (multi-plane seconds, sum-of-planes seconds)} at points x, y [arcsec]."""
    ray_trace([cluster, group], factors, x, y, jacobian=True)   # warm-up (numba compilation)
    return {
        "deflection + Jacobian": (
            best_of(lambda: ray_trace([cluster, group], factors, x, y, jacobian=True), repeats),
            best_of(lambda: (cluster.deflection_and_hessian(x, y), group.deflection_and_hessian(x, y)), repeats)),
        "deflection": (
            best_of(lambda: ray_trace([cluster, group], factors, x, y), repeats),
            best_of(lambda: (cluster.deflection(x, y), group.deflection(x, y)), repeats)),
    }


def main(quick: bool = False) -> None:
    cluster, group = Lens(cluster_groups()), Lens(group_groups())
    factors = plane_factors(FlatLambdaCDM(H0=70.0, Om0=0.3), [Z_CLUSTER, Z_GROUP], Z_SOURCE)
    repeats = 2 if quick else 5
    side = 100 if quick else 200
    grid = np.meshgrid(np.linspace(-80, 80, side), np.linspace(-80, 80, side))
    points = np.random.default_rng(1).uniform(-60, 60, (2, 100))
    print(f"two planes: cluster (1 NFW + 300 dPIE) at z = {Z_CLUSTER}, group (1 NFW + 30 dPIE) at z = {Z_GROUP}; "
          f"source z = {Z_SOURCE}")
    print(f"{'what':<34}{'multi-plane [s]':>16}{'sum of planes [s]':>19}{'ratio':>8}")
    for where, (x, y), n in ((f"{side} x {side} grid", grid, repeats), ("100 points", points, 20 * repeats)):
        for what, (traced, planes) in compare(cluster, group, factors, x, y, n).items():
            print(f"{what + ', ' + where:<34}{traced:>16.4g}{planes:>19.4g}{traced / planes:>8.3f}")

if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
