"""A benchmark cluster of real size, shaped like the CATS model of MACS J1149 (issue 13), from a fixed seed.

    python benchmarks/m1149_like.py [OUT] [--seed 1149]      # OUT: default /tmp/clusterlens_m1149_like

Writes OUT/model (the model folder: CSVs, dataset.toml, priors.csv) and OUT/dataset (its simulated
point dataset, ``clusterlens.simulate`` with the same seed); nothing is written into the repository.

The lens (z = 0.543, H0 = 70, Om0 = 0.3): five cluster-scale dPIE halos (host_halo), two dPIE galaxies
(main_lens_mass) and one member tier of 230 galaxies (magnitudes 18-23.5, positions from a cored
isothermal surface density). 47 point sources on 16 redshift planes at z = 1-6 (one image-finder
mesh per plane keeps generation short), each placed by back-tracing a random image-plane point 5-45"
from the centre and kept when the image finder gives it 2-4 images (about 150 in all); observed
positions carry 0.05" noise. Free parameters (priors.csv), 53 in all: x, y, q,
angle, r_core and sigma of each halo (30), sigma, r_cut and r_core of each galaxy (6), the tier's
sigma_ref and r_cut_ref (2), and the redshifts of 15 sources (uniform within +-0.5 of the truth, the
"photometric" systems). The issue counts 54 for the CATS model; the list it gives adds up to these 53.
Generation takes well under a minute.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from clusterlens import ClusterModel, save_model, simulate
from clusterlens.solver import ImageFinder

Z_LENS = 0.543
N_MEMBERS = 230
N_SOURCES = 47
N_FREE_REDSHIFTS = 15
N_PLANES = 16  #: distinct source redshifts (one image-finder mesh each)
MIN_ABS_MAGNIFICATION = 0.2
DEFAULT_OUT = Path("/tmp/clusterlens_m1149_like")

DATASET = {
    "name": "m1149_like",
    "reference": {"ra": 177.39875, "dec": 22.39853},
    "cosmology": {"H0": 70.0, "Om0": 0.3},
    "points": {"position_sigma": 0.05, "min_abs_magnification": MIN_ABS_MAGNIFICATION},
}

#: galaxy, x, y [arcsec], q, angle [deg], r_core [arcsec], sigma [km/s] of the cluster-scale halos (r_cut 1000")
HALOS = [("H1", 0.0, 0.0, 0.55, 35.0, 9.0, 950.0), ("H2", -28.0, 22.0, 0.7, -20.0, 6.0, 620.0),
         ("H3", 24.0, -30.0, 0.65, 60.0, 5.0, 560.0), ("H4", 40.0, 25.0, 0.8, 10.0, 4.0, 430.0),
         ("H5", -40.0, -35.0, 0.75, -50.0, 4.0, 400.0)]
#: galaxy, x, y [arcsec], q, angle [deg], r_core, r_cut [arcsec], sigma [km/s] of the free galaxies
GALAXIES = [("BCG", 0.6, -0.4, 0.8, 30.0, 0.15, 40.0, 320.0), ("G2", -12.0, 8.5, 0.85, -15.0, 0.1, 25.0, 230.0)]
RELATION = {"tier": "members", "profile": "dPIE", "mag_ref": 19.5, "sigma_ref": 165.0, "r_core_ref": 0.05,
            "r_cut_ref": 14.0, "sigma_slope": 0.25, "r_core_slope": 0.5, "r_cut_slope": 0.5}


def lens_records() -> dict[str, list[dict]]:
    halos = [{"galaxy": g, "profile": "dPIE", "x": x, "y": y, "redshift": Z_LENS, "q": q, "angle": a, "sigma": s,
              "r_core": rc, "r_cut": 1000.0} for g, x, y, q, a, rc, s in HALOS]
    galaxies = [{"galaxy": g, "profile": "dPIE", "x": x, "y": y, "redshift": Z_LENS, "q": q, "angle": a, "sigma": s,
                 "r_core": rc, "r_cut": rcut} for g, x, y, q, a, rc, rcut, s in GALAXIES]
    return {"host_halo": halos, "main_lens_mass": galaxies, "scaling_relations": [RELATION]}


def members(rng: np.random.Generator) -> list[dict]:
    """Members 10-100" from the centre (cored isothermal surface density, core 30"), random shapes."""
    mags = np.sort(rng.uniform(18.0, 23.5, N_MEMBERS))
    rc, r_min, r_max = 30.0, 10.0, 100.0
    lo, hi = np.hypot(r_min, rc), np.hypot(r_max, rc)  # enclosed count of 1/sqrt(R^2 + rc^2) ~ sqrt(R^2 + rc^2)
    radius = np.sqrt((lo + rng.uniform(0, 1, N_MEMBERS) * (hi - lo)) ** 2 - rc**2)
    phi = rng.uniform(0, 2 * np.pi, N_MEMBERS)
    q, angle = rng.uniform(0.5, 1.0, N_MEMBERS), rng.uniform(-90.0, 90.0, N_MEMBERS)
    return [{"galaxy": f"m{i + 1:03d}", "tier": "members", "x": round(float(radius[i] * np.cos(phi[i])), 3),
             "y": round(float(radius[i] * np.sin(phi[i])), 3), "mag": round(float(mags[i]), 3),
             "q": round(float(q[i]), 3), "angle": round(float(angle[i]), 1)} for i in range(N_MEMBERS)]


def sources(lens_model: ClusterModel, rng: np.random.Generator) -> list[dict]:
    """47 multiply imaged point sources on 16 redshift planes: back-traced random image-plane points
    kept when they have 2-4 images (one image-finder mesh per plane, as the simulation builds)."""
    planes = np.round(np.sort(rng.uniform(1.0, 6.0, N_PLANES)), 3)
    out: list[dict] = []
    finders: dict[float, ImageFinder] = {}
    for k in range(N_SOURCES):
        z = float(planes[k % N_PLANES])
        scale = lens_model.distance_ratio(z)
        if z not in finders:
            finders[z] = ImageFinder(lens_model.lens, scale)
        finder = finders[z]
        while True:
            radius, phi = rng.uniform(5.0, 45.0), rng.uniform(0, 2 * np.pi)
            tx, ty = np.array([radius * np.cos(phi)]), np.array([radius * np.sin(phi)])
            ax, ay = lens_model.lens.deflection(tx, ty, scale=scale)
            bx, by = round(float(tx[0] - ax[0]), 4), round(float(ty[0] - ay[0]), 4)
            if 2 <= len(finder.find(bx, by, min_abs_magnification=MIN_ABS_MAGNIFICATION)) <= 4:
                break
        out.append({"galaxy": f"src{k + 1:02d}", "name": f"s{k + 1:02d}", "x": bx, "y": by, "redshift": z})
    return out


def priors(source_rows: list[dict]) -> list[dict]:
    def uniform(family, galaxy, parameter, lower, upper):
        return {"family": family, "galaxy": galaxy, "parameter": parameter, "prior": "uniform", "lower": lower,
                "upper": upper}

    out = []
    for g, x, y, _q, a, _rc, s in HALOS:
        out += [uniform("host_halo", g, "x", x - 4.0, x + 4.0), uniform("host_halo", g, "y", y - 4.0, y + 4.0),
                uniform("host_halo", g, "q", 0.3, 0.95), uniform("host_halo", g, "angle", a - 40.0, a + 40.0),
                uniform("host_halo", g, "r_core", 1.0, 20.0), uniform("host_halo", g, "sigma", 0.6 * s, 1.4 * s)]
    for g, *_ in GALAXIES:
        out += [uniform("main_lens_mass", g, "sigma", 100.0, 450.0), uniform("main_lens_mass", g, "r_cut", 5.0, 100.0),
                uniform("main_lens_mass", g, "r_core", 0.01, 1.0)]
    out += [uniform("scaling_relations", "members", "sigma_ref", 100.0, 250.0),
            uniform("scaling_relations", "members", "r_cut_ref", 3.0, 60.0)]
    for row in source_rows[-N_FREE_REDSHIFTS:]:  # the last 15 systems: "photometric" redshifts
        z = row["redshift"]
        out.append(uniform("source_point", row["galaxy"], "redshift", round(max(z - 0.5, Z_LENS + 0.3), 3),
                           round(z + 0.5, 3)))
    return out


def build(seed: int) -> ClusterModel:
    """The model (no point_datasets: the simulation adds them)."""
    rng = np.random.default_rng(seed)
    records = lens_records() | {"scaling_galaxies": members(rng)}
    lens_model = ClusterModel.from_records(records, DATASET)
    source_rows = sources(lens_model, rng)
    return ClusterModel.from_records(records | {"source_point": source_rows, "priors": priors(source_rows)}, DATASET)


def generate(out: Path, seed: int = 1149) -> Path:
    """Write ``out``/model and simulate ``out``/dataset from ``seed``; return the dataset folder."""
    out = Path(out)
    save_model(build(seed), out / "model", overwrite=True)
    return simulate(out / "model", out / "dataset", seed=seed, overwrite=True)


def ensure(out: Path = DEFAULT_OUT, seed: int = 1149) -> Path:
    """The dataset folder of ``out``: the model is built only when ``out``/model is missing (delete
    ``out`` to rebuild it), the dataset simulated only when missing or stale (``clusterlens.ensure_dataset``)."""
    from clusterlens import ensure_dataset

    out = Path(out)
    if not (out / "model").is_dir():
        save_model(build(seed), out / "model", overwrite=True)
    return ensure_dataset(out / "model", out / "dataset", seed=seed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, nargs="?", default=DEFAULT_OUT, help=f"folder (default {DEFAULT_OUT})")
    parser.add_argument("--seed", type=int, default=1149)
    args = parser.parse_args()
    start = time.perf_counter()
    dataset = generate(args.out, args.seed)
    from clusterlens import load_model
    from clusterlens.fit.point_likelihood import make_likelihood

    model = load_model(dataset)
    n_free = len(make_likelihood(model).parameters)
    print(f"wrote {args.out / 'model'} and {dataset}: {len(model.point_datasets)} images of "
          f"{len(model.source_points)} sources, {sum(len(t.members) for t in model.tiers)} members, "
          f"{n_free} free parameters ({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
