"""Small lens models shared by tests (built in Python, no files)."""
import numpy as np

from clusterlens import ClusterModel
from clusterlens.families import FAMILIES
from clusterlens.solver import find_images

Z_LENS = 0.35
Z_GROUP = 0.8  #: the background plane of two_plane_records
DATASET = {"name": "small", "reference": {"ra": 150.0, "dec": 2.0}, "cosmology": {"H0": 70.0, "Om0": 0.3}}


def small_cluster_records(n_members: int = 15, seed: int = 3) -> dict:
    """NFW host + 2 main dPIE + shear + one tier of members + 3 point sources (no point_datasets yet)."""
    rng = np.random.default_rng(seed)
    members = [{"galaxy": f"m{i}", "x": float(rng.uniform(-40, 40)), "y": float(rng.uniform(-40, 40)),
                "mag": float(rng.uniform(19, 23)), "q": float(rng.uniform(0.5, 1)), "angle": float(rng.uniform(0, 180))}
               for i in range(n_members)]
    sources = [(0.9, 0.6, 1.5), (-1.4, 1.0, 2.5), (1.2, -1.6, 4.0)]
    return {
        "host_halo": [{"galaxy": "halo", "profile": "NFW", "x": 0.0, "y": 0.0, "redshift": Z_LENS, "m200": 1e15,
                       "concentration": 6.0}],
        "main_lens_mass": [
            {"galaxy": "BCG", "profile": "dPIE", "x": 0.3, "y": -0.2, "redshift": Z_LENS, "q": 0.7, "angle": 30.0,
             "sigma": 330.0, "r_core": 0.2, "r_cut": 30.0},
            {"galaxy": "G2", "profile": "dPIE", "x": -15.0, "y": 9.0, "redshift": Z_LENS, "q": 0.8, "angle": -10.0,
             "sigma": 220.0, "r_core": 0.1, "r_cut": 15.0},
            {"galaxy": "shear", "profile": "ExternalShear", "redshift": Z_LENS, "gamma": 0.05, "angle": 20.0},
        ],
        "scaling_relations": [{"tier": "members", "profile": "dPIE", "mag_ref": 19.5, "sigma_ref": 160.0,
                               "r_core_ref": 0.05, "r_cut_ref": 10.0, "sigma_slope": 0.25, "r_core_slope": 0.5,
                               "r_cut_slope": 0.5}],
        "scaling_galaxies": members,
        "source_point": [{"galaxy": f"src{i}", "name": f"s{i}", "x": x, "y": y, "redshift": z}
                         for i, (x, y, z) in enumerate(sources, start=1)],
    }


def two_plane_records() -> dict:
    """The small cluster at z = 0.35 with G2, an NFW group halo and three members at z = 0.8."""
    records = small_cluster_records()
    records["main_lens_mass"][1] |= {"redshift": Z_GROUP}
    records["host_halo"].append({"galaxy": "group", "profile": "NFW", "x": -14.0, "y": 10.0, "redshift": Z_GROUP,
                                 "m200": 1e14, "concentration": 5.0})
    for member in records["scaling_galaxies"][:3]:
        member["redshift"] = Z_GROUP
    return records


def with_exact_images(model: ClusterModel, sigma: float = 0.05, min_abs_magnification: float = 0.3,
                      flux: bool = False) -> ClusterModel:
    """``model`` plus point_datasets holding the exact (noise-free) images of every source_point."""
    rows = []
    for point in model.source_points:
        images = find_images(model, point.x, point.y, point.redshift, min_abs_magnification=min_abs_magnification)
        for i, image in enumerate(images.itertuples()):
            record = {"name": point.name, "image": chr(ord("a") + i), "x": image.x, "y": image.y, "sigma": sigma}
            if flux:
                record |= {"flux": 10.0 * abs(image.magnification), "flux_sigma": 0.5}
            rows.append(FAMILIES["point_datasets"].adapter.validate_python(record))
    return model.with_rows("point_datasets", rows)


def with_priors(model: ClusterModel, priors: list[dict]) -> ClusterModel:
    return model.with_rows("priors", [FAMILIES["priors"].adapter.validate_python(p) for p in priors])


def assert_every_observed_image_is_reproduced(model: ClusterModel, max_offset: float) -> None:
    """Simulating ``model``'s point sources gives each system at least its observed images, each observed
    image having a simulated one within ``max_offset`` arcsec."""
    from clusterlens.simulation.points import find_point_images

    simulated = find_point_images(model, 0.0)
    for source in model.source_points:
        observed = np.array([(p.x, p.y) for p in model.point_datasets if p.name == source.name])
        found = simulated[simulated["name"] == source.name][["x", "y"]].to_numpy()
        assert len(found) >= len(observed), source.name
        nearest = np.hypot(*(observed[:, None, :] - found[None, :, :]).transpose(2, 0, 1)).min(axis=1)
        assert nearest.max() < max_offset, source.name
