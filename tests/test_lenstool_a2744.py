"""Physics of the imported Abell 2744 Lenstool model: the member scaling relations hidden in best.par and
Lenstool's image-plane chi2 (best.par header: Chi2pos 150.084066 for 83 images, sigposArcsec 0.5)."""
import re
import warnings
from pathlib import Path

import numpy as np
import pytest

from clusterlens.lenstool import LenstoolWarning, read_par, write_par
from clusterlens.lenstool.chi2 import image_plane_chi2
from clusterlens.scaling import member_parameters
from lensmodels import assert_every_observed_image_is_reproduced

DATA = Path(__file__).parent / "data" / "a2744"
BEST, IMAGES = DATA / "best.par", DATA / "img_mul_constraints.cat"
# potfile blocks of A2744_SLspec.par: catalogue -> mag0 (vdslope 4 and slope 4 in all three)
TIERS = {"potfile_cl_N-NW-S3": 27.0, "new_potfile_with_ASTRODEEP_data": 19.44, "potfile_cl_S1-S2-S4": 27.0}


def raw_potentials():
    blocks = re.findall(r"^potentiel\s+(\S+)\s*\n(.*?)^\s*end", BEST.read_text(), flags=re.M | re.S)
    return {name: {line.split()[0]: float(line.split()[1]) for line in body.splitlines() if line.strip()}
            for name, body in blocks}


@pytest.fixture(scope="module")
def best():
    return read_par(BEST, images=IMAGES, position_sigma=0.5)


@pytest.mark.parametrize("tier, mag0", TIERS.items())
def test_best_par_members_follow_one_scaling_relation_per_tier(best, tier, mag0):
    """Recover sigma*, r_core*, r_cut* of each potfile tier from its explicit members in best.par and
    reproduce every member with member_parameters (sigma ~ L^(1/4), r_core, r_cut ~ L^(1/2))."""
    rows = {r.galaxy: r for r in best.main_galaxies + best.host_halo}
    names = [line.split()[0] for line in (DATA / f"{tier}.txt").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    raw = raw_potentials()
    mag = np.array([raw[n]["mag"] for n in names])
    sigma = np.array([rows[n].sigma for n in names])
    r_core = np.array([rows[n].r_core for n in names])
    r_cut = np.array([rows[n].r_cut for n in names])
    luminosity = 10 ** (0.4 * (mag0 - mag))
    sigma_ref = np.median(sigma / luminosity**0.25)
    r_core_ref = np.median(r_core / luminosity**0.5)
    r_cut_ref = np.median(r_cut / luminosity**0.5)
    model_sigma, model_core, model_cut = member_parameters(mag, mag0, sigma_ref, r_core_ref, r_cut_ref, 0.25, 0.5, 0.5)
    assert np.allclose(model_sigma, sigma, rtol=1e-4, atol=0)
    assert np.allclose(model_cut, r_cut, rtol=1e-4, atol=0)
    # best.par prints 6 decimals: a 0.003" core is known to 1.5e-4, hence the half-digit allowance
    assert np.allclose(model_core, r_core, rtol=1e-4, atol=5e-7)
    # the recovered relations agree with the potfile blocks of A2744_SLspec.par (kpc via Lenstool's own scale)
    kpc = np.median([raw[n]["cut_radius_kpc"] / raw[n]["cut_radius"] for n in names])
    if tier == "new_potfile_with_ASTRODEEP_data":
        assert 120.0 <= sigma_ref <= 208.0 and r_core_ref * kpc == pytest.approx(0.15, rel=1e-3)
    else:  # fixed cutkpc 300 / 600; best.par has no cores for these group tiers (SLspec's corekpc is unused)
        assert r_cut_ref * kpc == pytest.approx(300.0 if "N-NW" in tier else 600.0, rel=1e-5)
        assert r_core_ref == 0.0 and 10.0 <= sigma_ref <= 300.0


def test_image_plane_chi2_reproduces_lenstool(best):
    chi2_lenstool = float(re.search(r"^#Chi2pos: (\S+)", BEST.read_text(), flags=re.M).group(1))
    result = image_plane_chi2(best)
    assert result.chi2 == pytest.approx(chi2_lenstool, rel=0.02)
    assert (result.images["method"] == "newton").all()
    assert len(result.systems) == 29 and result.systems["n_images"].sum() == 83
    assert result.systems["chi2"].sum() == pytest.approx(result.chi2)

    # independent checks: each source is the |mu|-weighted back-traced barycentre, and each predicted
    # image solves the lens equation for its system's source
    images, systems = result.images, result.systems.set_index("name")
    z = systems.loc[images["name"], "redshift"].to_numpy()
    sx, sy = systems.loc[images["name"], "x_source"].to_numpy(), systems.loc[images["name"], "y_source"].to_numpy()
    ax, ay = np.empty(len(images)), np.empty(len(images))
    bx, by, mu = np.empty(len(images)), np.empty(len(images)), np.empty(len(images))
    for value in np.unique(z):
        rows = z == value
        ax[rows], ay[rows] = best.deflections(images["x_model"][rows], images["y_model"][rows], value)
        ox, oy = best.deflections(images["x"][rows], images["y"][rows], value)
        bx[rows], by[rows] = images["x"][rows] - ox, images["y"][rows] - oy
        mu[rows] = best.magnification(images["x"][rows], images["y"][rows], value)
    assert np.allclose(images["x_model"] - ax, sx, atol=1e-8) and np.allclose(images["y_model"] - ay, sy, atol=1e-8)
    for name, group in images.groupby("name"):
        w = np.abs(mu[group.index])
        assert systems.loc[name, "x_source"] == pytest.approx(np.sum(w * bx[group.index]) / w.sum(), abs=1e-9)
        assert systems.loc[name, "y_source"] == pytest.approx(np.sum(w * by[group.index]) / w.sum(), abs=1e-9)


def test_chi2_is_unchanged_by_a_lenstool_round_trip(best, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error", LenstoolWarning)
        again = read_par(write_par(best, tmp_path / "best_again.par"))
    assert image_plane_chi2(again).chi2 == image_plane_chi2(best).chi2


def test_bad_barycentre_name_fails(best):
    with pytest.raises(ValueError, match="barycentre must be"):
        image_plane_chi2(best, barycentre="weighted")


# --------------------------------------------------------------- closed form: a singular isothermal sphere
def sis_model(theta_e, observed, z_source=2.0):
    from clusterlens.model import ClusterModel

    records = {
        "main_lens_mass": [{"galaxy": "sis", "profile": "SIE", "x": 0.0, "y": 0.0, "redshift": 0.3, "q": 1.0,
                            "angle": 0.0, "theta_e": theta_e, "r_core": 0.0}],
        "source_point": [{"galaxy": "s", "name": "A", "x": 0.0, "y": 0.0, "redshift": z_source}],
        "point_datasets": [{"name": "A", "image": f"A.{k + 1}", "x": x, "y": y, "sigma": 0.1}
                           for k, (x, y) in enumerate(observed)],
    }
    return ClusterModel.from_records(records, {"reference": {"ra": 10.0, "dec": -20.0},
                                               "cosmology": {"H0": 70.0, "Om0": 0.3}})


@pytest.mark.parametrize("barycentre", ["magnification", "mean"])
def test_chi2_of_a_singular_isothermal_sphere_in_closed_form(barycentre):
    """SIS: beta = theta - b theta/|theta| with b = s theta_e; |mu| = |theta| / ||theta| - b|; the images of a
    source beta lie at beta_hat (|beta| + b) and -beta_hat (b - |beta|)."""
    observed = np.array([[2.9, 0.35], [-1.3, -0.05]])
    model = sis_model(2.0, observed)
    b = model.distance_ratio(2.0) * 2.0
    r = np.hypot(observed[:, 0], observed[:, 1])
    beta = observed - b * observed / r[:, None]
    weight = r / np.abs(r - b) if barycentre == "magnification" else np.ones(2)
    source = (weight[:, None] * beta).sum(axis=0) / weight.sum()
    unit = source / np.hypot(*source)
    predicted = np.array([unit * (np.hypot(*source) + b), -unit * (b - np.hypot(*source))])
    expected = np.sum((predicted - observed) ** 2) / 0.1**2
    result = image_plane_chi2(model, barycentre=barycentre)
    assert result.chi2 == pytest.approx(expected, rel=1e-9)
    assert np.allclose(result.images[["x_model", "y_model"]].to_numpy(), predicted, atol=1e-9)


# ------------------------------------------------------------ the optimisation file with best.par's values
SPEC = DATA / "A2744_SLspec.par"


@pytest.fixture(scope="module")
def restarted(tmp_path_factory):
    from clusterlens import load_model
    from clusterlens.cli import main

    folder = tmp_path_factory.mktemp("a2744") / "restart"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LenstoolWarning)
        assert main(["import-lenstool", str(SPEC), "--values", str(BEST), "--out", str(folder)]) == 0
    assert main(["validate", str(folder)]) == 0
    return load_model(folder)


def test_optimisation_file_with_best_values_scores_lenstools_chi2(restarted):
    chi2_lenstool = float(re.search(r"^#Chi2pos: (\S+)", BEST.read_text(), flags=re.M).group(1))
    assert image_plane_chi2(restarted).chi2 == pytest.approx(chi2_lenstool, rel=0.01)
    assert (restarted.dataset.fit.likelihood, restarted.dataset.fit.forme) == ("lenstool", -2)
    assert len(restarted.priors) == 21 and [len(t.members) for t in restarted.tiers] == [3, 246, 3]
    # SLspec's potentiel O4 is Lenstool's third clump: best.par's O3
    o4 = {r.galaxy: r for r in restarted.main_galaxies}["O4"]
    assert (o4.x, o4.y, o4.sigma) == (-3.577, 24.718, 175.555629)


def test_group_tiers_have_no_core_as_in_best_par(restarted):
    """'corekpc 150.0' / 'corekpc 400.0' are flag 150 / 400 with value .0 for Lenstool: core 0, which the
    optimisation file alone gives and best.par's members confirm."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LenstoolWarning)
        spec = {t.name: t.relation for t in read_par(SPEC).tiers}
    raw = raw_potentials()
    for name in ("potfile_cl_N-NW-S3", "potfile_cl_S1-S2-S4"):
        assert spec[name].r_core_ref == 0.0
        members = {t.name: t for t in restarted.tiers}[name].members
        assert all(raw[m.galaxy]["core_radius"] == 0.0 for m in members)


@pytest.mark.slow
def test_simulating_the_restarted_model_reproduces_every_observed_image(restarted):
    assert_every_observed_image_is_reproduced(restarted, 2.0)  # the largest residual at best.par's values: 1.84"
