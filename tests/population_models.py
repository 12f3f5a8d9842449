"""A tiny population for the population tests: 32 x 32 pixels, a halo, a BCG with light, drawn members
and two drawn sources, and a population.csv with one row per distribution kind."""
from pathlib import Path

from clusterlens import ClusterModel, save_model

Z_LENS = 0.3
POPULATION_CSV = (
    "family,galaxy,parameter,distribution,lower,upper,mean,sigma,values\n"
    "host_halo,halo,m200,loguniform,4e14,2e15,,,\n"
    "main_lens_mass,BCG,sigma,truncnormal,200,400,300,80,\n"
    "main_lens_mass,BCG,x,normal,,,0,0.3,\n"
    "source_light,*,sersic_index,choice,,,,,1;1.5;4\n"
    "scaling_relations,members,sigma_ref,uniform,100,200,,,\n"
)


def tiny_records() -> dict:
    return {
        "host_halo": [{"galaxy": "halo", "profile": "NFW", "x": 0.0, "y": 0.0, "redshift": Z_LENS, "m200": 8e14,
                       "concentration": 5.0}],
        "main_lens_mass": [{"galaxy": "BCG", "profile": "dPIE", "x": 0.0, "y": 0.0, "redshift": Z_LENS, "q": 0.8,
                            "angle": 10.0, "sigma": 300.0, "r_core": 0.1, "r_cut": 30.0}],
        "main_lens_light": [{"galaxy": "BCG", "profile": "Sersic", "x": 0.0, "y": 0.0, "redshift": Z_LENS, "q": 0.8,
                             "angle": 10.0, "intensity": 1.0, "effective_radius": 2.0, "sersic_index": 4.0}],
        "scaling_relations": [{"tier": "members", "profile": "dPIE", "mag_ref": 19.0, "sigma_ref": 150.0,
                               "r_core_ref": 0.05, "r_cut_ref": 10.0, "sigma_slope": 0.25, "r_core_slope": 0.5,
                               "r_cut_slope": 0.5}],
    }


def tiny_dataset(n: int = 4, outputs=("images", "noise_maps", "kappa", "points")) -> dict:
    return {"name": "tiny", "reference": {"ra": 10.0, "dec": -5.0}, "cosmology": {"name": "Planck18"},
            "imaging": {"shape": [32, 32], "pixel_scale": 0.5, "psf_size": 5, "psf_fwhm": 0.6, "oversampling": 1},
            "lens_light": {"zero_point": 26.0},
            "population": {"n": n, "seed": 7, "outputs": list(outputs),
                           "members": {"richness": 8.0, "mag_star": 19.0, "mag_min": 18.0, "mag_max": 22.0,
                                       "core_radius": 5.0, "max_radius": 15.0},
                           "sources": {"n": 1, "z_min": 1.0, "z_max": 4.0, "radius": 2.0, "point_flux": 50.0}}}


def make_tiny_population(folder: Path, n: int = 4, csv: str = POPULATION_CSV) -> Path:
    save_model(ClusterModel.from_records(tiny_records(), tiny_dataset(n)), folder, overwrite=True)
    (folder / "population.csv").write_text(csv)
    return folder
