"""Image finder on a 300-member cluster: mesh time, time per source, completeness, lenstronomy.

Lens at z_lens = 0.4 (H0 = 70, Om0 = 0.3), source at z_s = 2: one NFW halo (m200, c), three
bright dPIE galaxies and 300 dPIE members from a scaling relation (seeded).  Prints

* the mesh build time of ``ImageFinder`` (numba kernel compiled before timing) and its size;
* the time per source of ``find`` (one source per call) and of ``find_many`` (amortised);
* completeness against a brute-force inversion (ray-shoot a regular grid that covers every
  image, start a finite-difference Newton iteration at each local minimum of |beta - beta_s|,
  merge roots): every brute-force image must be among ours (to 1e-6 arcsec); half of the
  sources are random inside the main caustic, half next to random caustic points;
* lenstronomy's ``LensEquationSolver`` on the same lens (each dPIE a difference of two NIE,
  clusterlens.peers) for a few sources: its time per source and whether its images
  are a subset of ours.

Timings on a shared machine are noisy.
Run: python benchmarks/bench_solver.py [--sources 200] [--brute-spacing 0.05] [--lenstronomy-sources 2]
     [--threads N]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
from scipy.spatial.distance import pdist

from clusterlens.cosmology import distance_ratio, make_cosmology, nfw_lensing_parameters
from clusterlens.lens import Lens, MassComponents
from clusterlens.maps import PixelGrid, caustics, critical_curves
from clusterlens.peers import lenstronomy_model
from clusterlens.scaling import member_parameters
from clusterlens.solver import ImageFinder
from clusterlens.units import b0_from_sigma

# the tests' independent reference inversion
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from inversion import brute_force_images, matched

Z_LENS, Z_SOURCE = 0.4, 2.0
N_MEMBERS = 300
SEED = 20240612


def cluster_groups(cosmo, seed: int = SEED) -> list[MassComponents]:
    rng = np.random.default_rng(seed)
    kappa_s, r_s = nfw_lensing_parameters(cosmo, Z_LENS, 6e14, 4.0)
    halo = MassComponents("NFW", {"center_x": [1.0], "center_y": [-0.5], "kappa_s": [float(kappa_s)],
                                  "r_s": [float(r_s)]}, "host_halo")
    main = MassComponents("dPIE", {
        "center_x": [0.0, 24.0, -27.0], "center_y": [0.0, 16.0, -19.0],
        "b0": b0_from_sigma(np.array([380.0, 280.0, 260.0])), "r_core": [0.4, 0.25, 0.2],
        "r_cut": [80.0, 45.0, 40.0], "q": [0.65, 0.75, 0.8], "angle": [30.0, 110.0, -20.0]}, "main_lens_mass")
    radius = np.abs(rng.normal(0.0, 45.0, N_MEMBERS)) + 2.0
    phi = rng.uniform(0.0, 2 * np.pi, N_MEMBERS)
    mag = rng.uniform(18.0, 24.0, N_MEMBERS)
    sigma, r_core, r_cut = member_parameters(mag, 19.0, 200.0, 0.05, 15.0, 0.25, 0.5, 0.5)
    members = MassComponents("dPIE", {
        "center_x": radius * np.cos(phi), "center_y": radius * np.sin(phi), "b0": b0_from_sigma(sigma),
        "r_core": r_core, "r_cut": r_cut, "q": rng.uniform(0.5, 1.0, N_MEMBERS),
        "angle": rng.uniform(0.0, 180.0, N_MEMBERS)}, "tier:members")
    return [halo, main, members]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, default=200)
    parser.add_argument("--brute-spacing", type=float, default=0.05)
    parser.add_argument("--lenstronomy-sources", type=int, default=2)
    parser.add_argument("--lenstronomy-min-distance", type=float, default=0.2)
    parser.add_argument("--threads", type=int, default=0, help="lens evaluation threads (0: every usable core)")
    args = parser.parse_args()
    if args.threads:
        os.environ["CLUSTERLENS_THREADS"] = str(args.threads)

    cosmo = make_cosmology({"H0": 70.0, "Om0": 0.3})
    scale = float(distance_ratio(cosmo, Z_LENS, Z_SOURCE))
    groups = cluster_groups(cosmo)
    lens = Lens(groups)
    lens.deflection_and_hessian(np.zeros(2), np.zeros(2))  # compile / load the numba kernel
    lens.deflection(np.zeros(2), np.zeros(2))
    print(f"lens: 1 NFW + 3 dPIE + {N_MEMBERS} dPIE members, z_lens {Z_LENS}, z_s {Z_SOURCE} (D_LS/D_S {scale:.4f}); "
          f"backend {lens.backend}, lens threads {lens.threads}, cpus {os.cpu_count()}, "
          f"load {os.getloadavg()[0]:.2f}")

    start = time.perf_counter()
    finder = ImageFinder(lens, scale)
    t_mesh = time.perf_counter() - start
    m = finder.mesh
    print(f"mesh: {t_mesh:.3f} s, region {tuple(round(v, 1) for v in finder.region)}, {m.x.size} vertices, "
          f"{m.triangles.shape[0]} triangles, {m.n_levels} refinement levels")

    curves = critical_curves(lens, PixelGrid(0.0, 0.0, (1000, 1000), 0.12), scale)
    points = caustics(lens, curves, scale)
    main_caustic = max(points, key=lambda c: np.ptp(c[:, 0]) * np.ptp(c[:, 1]))
    rng = np.random.default_rng(SEED + 1)
    half = args.sources // 2
    lo, hi = main_caustic.min(axis=0), main_caustic.max(axis=0)
    all_points = np.concatenate(points)
    near = all_points[rng.choice(len(all_points), args.sources - half, replace=False)]
    xs = np.concatenate([rng.uniform(lo[0], hi[0], half), near[:, 0] + rng.normal(0, 0.05, near.shape[0])])
    ys = np.concatenate([rng.uniform(lo[1], hi[1], half), near[:, 1] + rng.normal(0, 0.05, near.shape[0])])

    singles = []
    for k in range(min(30, xs.size)):
        start = time.perf_counter()
        finder.find(xs[k], ys[k])
        singles.append(time.perf_counter() - start)
    start = time.perf_counter()
    table = finder.find_many(xs, ys)
    t_many = time.perf_counter() - start
    print(f"find (one source per call, {len(singles)} sources): median {1e3 * np.median(singles):.1f} ms, "
          f"max {1e3 * np.max(singles):.1f} ms")
    print(f"find_many ({xs.size} sources): {t_many:.2f} s = {1e3 * t_many / xs.size:.1f} ms per source, "
          f"{len(table)} images")
    ax, ay = lens.deflection(table["x"].to_numpy(), table["y"].to_numpy(), scale=scale)
    owner = table["source"].to_numpy()
    residual = np.hypot(table["x"] - ax - xs[owner], table["y"] - ay - ys[owner])
    separation = min((pdist(g[["x", "y"]].to_numpy()).min() for _, g in table.groupby("source") if len(g) > 1),
                     default=np.inf)
    print(f"largest |beta(theta) - beta_s| of our images: {residual.max():.1e} arcsec; "
          f"closest two images of one source: {separation:.2e} arcsec")

    # brute force over a box holding every image: |theta - beta| <= max |alpha|
    amax = float(np.max(np.hypot(*lens.deflection(*np.meshgrid(np.linspace(-100, 100, 201),
                                                                  np.linspace(-100, 100, 201)), scale=scale))))
    box = (float(xs.min()) - amax - 2, float(xs.max()) + amax + 2,
           float(ys.min()) - amax - 2, float(ys.max()) + amax + 2)
    start = time.perf_counter()
    brute = brute_force_images(lens, xs, ys, scale, box, args.brute_spacing)
    t_brute = time.perf_counter() - start
    n_brute = sum(len(b) for b in brute)
    missed, extra_mu = [], []
    for k, reference in enumerate(brute):
        ours = table.loc[table["source"] == k]
        hit = matched(ours[["x", "y"]].to_numpy(), reference)
        missed += [(k, *reference[i]) for i in np.flatnonzero(~hit)]
        if len(ours):
            found_by_brute = (matched(reference, ours[["x", "y"]].to_numpy()) if len(reference)
                              else np.zeros(len(ours), bool))
            extra_mu += list(np.abs(ours["magnification"].to_numpy()[~found_by_brute]))
    print(f"brute force: box {tuple(round(v, 1) for v in box)}, spacing {args.brute_spacing}\", {t_brute:.0f} s, "
          f"{n_brute} images; ours {len(table)}; brute-force images we miss: {len(missed)}")
    for k, x, y in missed:
        print(f"  missed source {k} ({xs[k]:.4f}, {ys[k]:.4f}): image ({x:.5f}, {y:.5f})")
    if extra_mu:
        print(f"images only we find: {len(extra_mu)}, |mu| from {min(extra_mu):.2e} to {max(extra_mu):.2e}")

    if args.lenstronomy_sources:
        from lenstronomy.LensModel.Solver.lens_equation_solver import LensEquationSolver

        model, kwargs = lenstronomy_model(lens, scale)
        solver = LensEquationSolver(model)
        window = 2 * (max(abs(v) for v in box) + 1)
        for k in range(args.lenstronomy_sources):
            start = time.perf_counter()
            tx, ty = solver.image_position_from_source(xs[k], ys[k], kwargs, min_distance=args.lenstronomy_min_distance,
                                                       search_window=window, precision_limit=1e-10,
                                                       num_iter_max=100)
            t_peer = time.perf_counter() - start
            theirs = np.column_stack([tx, ty])
            ours = table.loc[table["source"] == k, ["x", "y"]].to_numpy()
            hit = matched(ours, theirs)
            print(f"lenstronomy source {k}: {t_peer:.1f} s (min_distance {args.lenstronomy_min_distance}\", "
                  f"window {window:.0f}\"), {len(theirs)} images, {int(hit.sum())} of them among our {len(ours)}")


if __name__ == "__main__":
    main()
