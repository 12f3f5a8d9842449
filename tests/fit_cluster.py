"""A small simulated cluster for the fit tests: NFW host, 2 main galaxies, 20 members, 3 point sources.

Free parameters (priors.csv): the host's m200, the BCG's sigma and the members' sigma_ref. The image
is small (pixels of 1 arcsec) so that a simulation takes a few seconds.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

import clusterlens
from clusterlens.model import ClusterModel

DATASET = {
    "name": "tiny_cluster",
    "reference": {"ra": 150.1, "dec": 2.2},
    "cosmology": {"name": "Planck18"},
    "imaging": {"shape": [60, 60], "pixel_scale": 1.0, "psf_fwhm": 1.5, "psf_size": 7, "oversampling": 1},
    "points": {"position_sigma": 0.05, "flux_sigma_fraction": 0.05},
}
TRUTH = {"host_halo.halo.m200": 1.0e15, "main_lens_mass.BCG.sigma": 320.0,
         "scaling_relations.members.sigma_ref": 160.0}


def records() -> dict:
    rng = np.random.default_rng(7)
    members = [{"galaxy": f"m{i:02d}", "x": float(x), "y": float(y), "mag": float(m), "q": 0.8, "angle": 10.0 * i}
               for i, (x, y, m) in enumerate(zip(rng.uniform(-28, 28, 20), rng.uniform(-28, 28, 20),
                                                 np.sort(rng.uniform(18.5, 22.0, 20)), strict=True))]
    return {
        "host_halo": [{"galaxy": "halo", "profile": "NFW", "x": 0.0, "y": 0.0, "redshift": 0.35,
                       "m200": TRUTH["host_halo.halo.m200"], "concentration": 5.0}],
        "main_lens_mass": [
            {"galaxy": "BCG", "profile": "dPIE", "x": 0.5, "y": -0.4, "redshift": 0.35, "q": 0.75, "angle": 30.0,
             "sigma": TRUTH["main_lens_mass.BCG.sigma"], "r_core": 0.15, "r_cut": 30.0},
            {"galaxy": "G2", "profile": "dPIE", "x": -12.0, "y": 8.0, "redshift": 0.35, "q": 0.8, "angle": -20.0,
             "sigma": 220.0, "r_core": 0.1, "r_cut": 20.0},
        ],
        "scaling_relations": [{"tier": "members", "profile": "dPIE", "mag_ref": 19.5,
                               "sigma_ref": TRUTH["scaling_relations.members.sigma_ref"], "r_core_ref": 0.05,
                               "r_cut_ref": 10.0, "sigma_slope": 0.25, "r_core_slope": 0.5, "r_cut_slope": 0.5}],
        "scaling_galaxies": members,
        "source_point": [
            {"galaxy": "src1", "name": "s1", "x": 1.0, "y": 0.6, "redshift": 1.2, "flux": 100.0},
            {"galaxy": "src2", "name": "s2", "x": -1.5, "y": 1.2, "redshift": 2.0, "flux": 100.0},
            {"galaxy": "src3", "name": "s3", "x": 1.8, "y": -1.6, "redshift": 3.5, "flux": 100.0},
        ],
        "priors": [
            {"family": "host_halo", "galaxy": "halo", "parameter": "m200", "prior": "loguniform",
             "lower": 3e14, "upper": 3e15},
            {"family": "main_lens_mass", "galaxy": "BCG", "parameter": "sigma", "prior": "uniform",
             "lower": 150.0, "upper": 500.0},
            {"family": "scaling_relations", "galaxy": "members", "parameter": "sigma_ref", "prior": "uniform",
             "lower": 60.0, "upper": 300.0},
        ],
    }


def model() -> ClusterModel:
    return ClusterModel.from_records(records(), DATASET)


def write_model(folder: Path) -> Path:
    return clusterlens.save_model(model(), folder)
