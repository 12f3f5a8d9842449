"""Regenerate ``datasets/example_cluster/`` (the bundled example) from a fixed seed.

    python datasets/make_example_cluster.py [--seed 2744] [--out datasets/example_cluster]

A realistic cluster at z = 0.4: an NFW host halo (m200 = 1.2e15 Msun), a BCG and two other
main dPIE galaxies, external shear, one member tier of 160 galaxies drawn from a Schechter
luminosity function, and 8 sources at z = 1-6 (each with source_light and source_point rows).
Member magnitudes, positions and shapes are the only random draws; the same seed gives the same files.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from clusterlens import ClusterModel, save_model
from clusterlens.population.generators import cored_isothermal_radii

Z_LENS = 0.4
N_MEMBERS = 160

DATASET = {
    "name": "example_cluster",
    "reference": {"ra": 64.0381, "dec": -24.0675},
    "cosmology": {"name": "Planck18"},
    "imaging": {"shape": [450, 450], "pixel_scale": 0.2, "psf_fwhm": 0.15, "exposure_time": 3000.0,
                "background": 0.5, "read_noise": 4.0, "oversampling": 3},
    "points": {"position_sigma": 0.04},
}

HOST = [{"galaxy": "halo", "profile": "NFW", "x": 0.0, "y": 0.0, "redshift": Z_LENS, "m200": 1.2e15,
         "concentration": 6.0}]

MAIN = [
    {"galaxy": "BCG", "profile": "dPIE", "x": 0.4, "y": -0.3, "redshift": Z_LENS, "q": 0.75, "angle": 35.0,
     "sigma": 340.0, "r_core": 0.15, "r_cut": 35.0},
    {"galaxy": "G2", "profile": "dPIE", "x": -18.5, "y": 11.2, "redshift": Z_LENS, "q": 0.8, "angle": -20.0,
     "sigma": 240.0, "r_core": 0.1, "r_cut": 20.0},
    {"galaxy": "G3", "profile": "dPIE", "x": 14.8, "y": 16.1, "redshift": Z_LENS, "q": 0.65, "angle": 70.0,
     "sigma": 210.0, "r_core": 0.1, "r_cut": 18.0},
    {"galaxy": "shear", "profile": "ExternalShear", "redshift": Z_LENS, "gamma": 0.06, "angle": 25.0},
]

RELATION = [{"tier": "members", "profile": "dPIE", "mag_ref": 19.5, "sigma_ref": 170.0, "r_core_ref": 0.05,
             "r_cut_ref": 12.0, "sigma_slope": 0.25, "r_core_slope": 0.5, "r_cut_slope": 0.5}]

# (x, y) of each source [arcsec] and its redshift: placed near the caustics so each is multiply imaged.
SOURCES = [(1.2, 0.8, 1.0), (-2.0, 1.5, 1.5), (2.6, -1.9, 2.0), (-0.7, -2.4, 2.5),
           (0.3, 3.1, 3.0), (-3.0, -0.6, 3.8), (2.2, 2.4, 4.7), (-1.1, 0.4, 6.0)]


def members(rng: np.random.Generator) -> list[dict]:
    """Members: Schechter-function magnitudes (alpha = -1.1, m* = 19.5, 18-23.5 mag), positions
    from a cored isothermal surface density (core 25", out to 90"), random shapes."""
    mags = []
    while len(mags) < N_MEMBERS:
        m = rng.uniform(18.0, 23.5, 4 * N_MEMBERS)
        lum = 10 ** (0.4 * (19.5 - m))
        keep = rng.uniform(0, 1, m.size) < (lum ** (-0.1) * np.exp(-lum)) / (10 ** (0.4 * 1.5 * 0.1))
        mags.extend(m[keep].tolist())
    mags = np.sort(np.array(mags[:N_MEMBERS]))
    # Sigma(R) ~ 1/sqrt(R^2 + rc^2): inverse CDF of the enclosed count (clusterlens.population.generators).
    radius = cored_isothermal_radii(rng, N_MEMBERS, core_radius=25.0, max_radius=90.0)
    phi = rng.uniform(0, 2 * np.pi, N_MEMBERS)
    q = rng.uniform(0.5, 1.0, N_MEMBERS)
    angle = rng.uniform(-90.0, 90.0, N_MEMBERS)
    out = []
    for i in range(N_MEMBERS):
        out.append({"galaxy": f"m{i + 1:03d}", "x": round(float(radius[i] * np.cos(phi[i])), 3),
                    "y": round(float(radius[i] * np.sin(phi[i])), 3), "mag": round(float(mags[i]), 3),
                    "q": round(float(q[i]), 3), "angle": round(float(angle[i]), 1)})
    return out


def sources() -> tuple[list[dict], list[dict]]:
    light, points = [], []
    for i, (x, y, z) in enumerate(SOURCES, start=1):
        light.append({"galaxy": f"src{i}", "profile": "Sersic", "x": x, "y": y, "redshift": z,
                      "q": 0.7, "angle": 30.0 * i, "intensity": 2.0, "effective_radius": 0.25,
                      "sersic_index": 1.5})
        points.append({"galaxy": f"src{i}", "name": f"s{i}", "x": x, "y": y, "redshift": z, "flux": 100.0})
    return light, points


PRIOR_COLUMNS = ("family", "galaxy", "parameter", "prior", "lower", "upper")
PRIORS = [dict(zip(PRIOR_COLUMNS, row, strict=True)) for row in [
    ("host_halo", "halo", "m200", "loguniform", 3e14, 4e15),
    ("host_halo", "halo", "concentration", "uniform", 2.0, 12.0),
    ("host_halo", "halo", "x", "uniform", -5.0, 5.0),
    ("host_halo", "halo", "y", "uniform", -5.0, 5.0),
    ("main_lens_mass", "BCG", "sigma", "uniform", 200.0, 500.0),
    ("main_lens_mass", "BCG", "r_cut", "uniform", 5.0, 100.0),
    ("main_lens_mass", "shear", "gamma", "uniform", 0.0, 0.2),
    ("main_lens_mass", "shear", "angle", "uniform", -45.0, 90.0),
    ("scaling_relations", "members", "sigma_ref", "uniform", 100.0, 250.0),
    ("scaling_relations", "members", "r_cut_ref", "uniform", 2.0, 40.0),
]]


def build(seed: int) -> ClusterModel:
    rng = np.random.default_rng(seed)
    light, points = sources()
    records = {"host_halo": HOST, "main_lens_mass": MAIN, "scaling_relations": RELATION,
               "scaling_galaxies": members(rng), "source_light": light, "source_point": points, "priors": PRIORS}
    return ClusterModel.from_records(records, DATASET)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=2744)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "example_cluster")
    args = parser.parse_args()
    save_model(build(args.seed), args.out, overwrite=True)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
