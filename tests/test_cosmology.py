"""Cosmology helpers against astropy, lenstronomy's LensCosmo and published relations."""

import math

import numpy as np
import pytest
from astropy.cosmology import FlatLambdaCDM, Planck18

from clusterlens import cosmology
from clusterlens.units import b0_from_sigma

Z_LENS, Z_SOURCE = 0.308, 2.1


@pytest.fixture(scope="module")
def flat():
    return cosmology.make_cosmology({"H0": 70, "Om0": 0.3})


@pytest.fixture(scope="module")
def lenstronomy_sigma_factor():
    """lenstronomy's c^2/(4 pi G) in Msun/Mpc over astropy's: its G, M_sun and Mpc are older values (~3e-4)."""
    const = pytest.importorskip("lenstronomy.Util.constants")
    from astropy import constants, units

    theirs = const.c**2 / (4 * math.pi * const.G) * const.Mpc / const.M_sun
    ours = (constants.c**2 / (4 * math.pi * constants.G)).to_value(units.Msun / units.Mpc)
    return theirs / ours


@pytest.fixture(scope="module")
def lens_cosmo(flat):
    module = pytest.importorskip("lenstronomy.Cosmo.lens_cosmo")
    return module.LensCosmo(z_lens=Z_LENS, z_source=Z_SOURCE, cosmo=flat)


def test_make_cosmology_variants():
    assert cosmology.make_cosmology({"name": "Planck18"}) is Planck18
    flat = cosmology.make_cosmology({"H0": 70, "Om0": 0.3})
    assert isinstance(flat, FlatLambdaCDM) and flat.H0.value == 70 and flat.Om0 == 0.3
    curved = cosmology.make_cosmology({"H0": 70, "Om0": 0.3, "Ode0": 0.6})
    assert curved.Ok0 == pytest.approx(0.1)
    assert cosmology.make_cosmology({"name": "Planck18", "sigma8": 0.8}).meta["sigma8"] == 0.8


@pytest.mark.parametrize(
    "spec",
    [
        {"name": "Planck99"},
        {"H0": 70},
        {"H0": 70, "Om0": 0.3, "w0": -1},
        {"name": "Planck18", "H0": 70},
        {"H0": -1, "Om0": 0.3},
    ],
)
def test_make_cosmology_rejects_bad_specs(spec):
    with pytest.raises(ValueError):
        cosmology.make_cosmology(spec)


def test_distance_ratio_matches_astropy_and_is_cached(flat):
    d_ls = flat.angular_diameter_distance(Z_LENS, Z_SOURCE).value
    d_s = flat.angular_diameter_distance(Z_SOURCE).value
    assert cosmology.distance_ratio(flat, Z_LENS, Z_SOURCE) == pytest.approx(d_ls / d_s, rel=1e-14)
    twin = FlatLambdaCDM(H0=70, Om0=0.3)  # an equal but distinct object shares the cache entry
    before = cosmology._distance_ratio.cache_info().hits
    assert cosmology.distance_ratio(twin, Z_LENS, Z_SOURCE) == cosmology.distance_ratio(flat, Z_LENS, Z_SOURCE)
    assert cosmology._distance_ratio.cache_info().hits >= before + 2
    other = FlatLambdaCDM(H0=70, Om0=0.3000001)
    assert cosmology.distance_ratio(other, Z_LENS, Z_SOURCE) != cosmology.distance_ratio(flat, Z_LENS, Z_SOURCE)
    ratios = cosmology.distance_ratio(flat, Z_LENS, np.array([[0.5, 1.0], [2.1, 9.0]]))
    assert ratios.shape == (2, 2) and ratios[0, 0] > 0.0
    assert ratios[1, 0] == cosmology.distance_ratio(flat, Z_LENS, Z_SOURCE)
    assert np.all(np.diff(ratios.ravel()) > 0)


@pytest.mark.parametrize("z_source", [Z_LENS, 0.1, np.array([0.1, 2.1]), np.array([[2.1], [Z_LENS]])])
def test_distance_ratio_refuses_a_source_at_or_in_front_of_the_lens(flat, z_source):
    with pytest.raises(ValueError, match="z_source must exceed the lens redshift 0.308"):
        cosmology.distance_ratio(flat, Z_LENS, z_source)


def test_concentration_leaves_the_callers_colossus_cosmology_current(flat):
    from colossus.cosmology import cosmology as colossus_cosmology

    mine = colossus_cosmology.setCosmology("planck15", persistence="")
    cosmology.concentration_from_relation(flat, Z_LENS, 1e15, "duffy08")
    assert colossus_cosmology.getCurrent() is mine
    colossus_cosmology.setCurrent(None)  # none set before: none set after
    cosmology.concentration_from_relation(flat, Z_LENS, 1e15, "duffy08")
    assert colossus_cosmology.current_cosmo is None


def test_sigma_crit_and_time_delay_match_lenstronomy(flat, lens_cosmo, lenstronomy_sigma_factor):
    ratio = cosmology.distance_ratio(flat, Z_LENS, Z_SOURCE)
    # Sigma_crit(zl, zs) = Sigma_crit_inf / (D_LS/D_S)
    sigma_crit = cosmology.sigma_crit_inf(flat, Z_LENS) / ratio
    assert sigma_crit * lenstronomy_sigma_factor == pytest.approx(lens_cosmo.sigma_crit_angle, rel=1e-10)
    assert cosmology.time_delay_distance(flat, Z_LENS, Z_SOURCE) == pytest.approx(lens_cosmo.ddt, rel=1e-10)
    fermat = np.array([0.0, 1.0, -2.5])
    np.testing.assert_allclose(
        cosmology.time_delay_days(flat, Z_LENS, Z_SOURCE, fermat), lens_cosmo.time_delay_units(fermat), rtol=1e-8
    )
    with pytest.raises(ValueError, match="z_source > z_lens"):
        cosmology.time_delay_distance(flat, 0.5, 0.5)


def test_dpie_b0_is_one_and_a_half_sis_einstein_radius(flat, lens_cosmo):
    """Lenstool's fiducial sigma: b0 = 6 pi (sigma/c)^2 = (3/2) x the SIS 4 pi (sigma/c)^2."""
    ratio = cosmology.distance_ratio(flat, Z_LENS, Z_SOURCE)
    sigma = np.array([150.0, 300.0, 1200.0])
    np.testing.assert_allclose(
        b0_from_sigma(sigma) * ratio, 1.5 * lens_cosmo.sis_sigma_v2theta_E(sigma), rtol=1e-12
    )
    np.testing.assert_allclose(b0_from_sigma(sigma, 4.0) * ratio, lens_cosmo.sis_sigma_v2theta_E(sigma), rtol=1e-12)
    # 6 pi (1000 km/s / c)^2 rad in arcsec, by hand
    assert b0_from_sigma(1000.0) == pytest.approx(6 * math.pi / 299792.458**2 * 1e6 * 206264.80624709636)


def test_nfw_parameters_match_lenstronomy(flat, lens_cosmo, lenstronomy_sigma_factor):
    ratio = cosmology.distance_ratio(flat, Z_LENS, Z_SOURCE)
    m200, c = np.array([3e14, 1.5e15]), np.array([6.0, 4.0])
    kappa_s, r_s = cosmology.nfw_lensing_parameters(flat, Z_LENS, m200, c)
    rs_ref, alpha_rs_ref = lens_cosmo.nfw_physical2angle(m200, c)
    np.testing.assert_allclose(r_s, rs_ref, rtol=1e-8)
    alpha_rs = 4 * kappa_s * r_s * (1 - np.log(2)) * ratio
    np.testing.assert_allclose(alpha_rs / lenstronomy_sigma_factor, alpha_rs_ref, rtol=1e-8)


def test_nfw_mass_inside_r200_is_m200(flat):
    """Projected-independent check: 4 pi rho_s r_s^3 (ln(1+c) - c/(1+c)) = m200, via kappa_s Sigma_crit_inf."""
    m200, c = 8e14, 5.0
    kappa_s, r_s = cosmology.nfw_lensing_parameters(flat, Z_LENS, m200, c)
    rho_s_r_s = kappa_s * cosmology.sigma_crit_inf(flat, Z_LENS)  # Msun / arcsec^2
    mass = 4 * math.pi * rho_s_r_s * r_s**2 * (math.log(1 + c) - c / (1 + c))
    assert mass == pytest.approx(m200, rel=1e-12)


def test_duffy08_concentration_matches_published_fit(flat):
    """Duffy et al. 2008 (full sample, 200c): c = 5.71 (M / 2e12 Msun/h)^-0.084 (1+z)^-0.47."""
    m200 = np.array([1e13, 1e14, 1e15])
    h = 0.7
    expected = 5.71 * (m200 * h / 2e12) ** -0.084 * (1 + Z_LENS) ** -0.47
    got = cosmology.concentration_from_relation(flat, Z_LENS, m200, "duffy08")
    np.testing.assert_allclose(got, expected, rtol=1e-6)


@pytest.mark.parametrize("relation", ["ludlow16", "diemer19"])
def test_other_relations_give_plausible_cluster_concentrations(relation):
    m200 = np.array([1e14, 1e15])
    c = cosmology.concentration_from_relation(Planck18, Z_LENS, m200, relation)
    assert np.all((c > 2.5) & (c < 7.0)) and c[1] < c[0]


def test_unknown_relation_is_rejected(flat):
    with pytest.raises(ValueError, match="concentration relation"):
        cosmology.concentration_from_relation(flat, Z_LENS, 1e15, "nobody99")


def test_dataset_toml_carries_ob0_sigma8_ns_to_the_cosmology():
    from clusterlens.dataset import DatasetConfig

    spec = DatasetConfig.model_validate({"reference": {"ra": 1.0, "dec": 2.0}, "cosmology": {
        "H0": 70.0, "Om0": 0.3, "Ob0": 0.045, "sigma8": 0.8, "ns": 0.96}}).cosmology
    cosmo = cosmology.make_cosmology(spec.model_dump(exclude_none=True))
    assert cosmo.Ob0 == 0.045 and cosmo.meta["sigma8"] == 0.8 and cosmo.meta["ns"] == 0.96


def test_ns_given_for_a_named_cosmology_reaches_the_concentration():
    base = cosmology.make_cosmology({"name": "Planck18"})
    tilted = cosmology.make_cosmology({"name": "Planck18", "ns": 0.8})
    c0 = cosmology.concentration_from_relation(base, 0.4, 1e15, "diemer19")
    c1 = cosmology.concentration_from_relation(tilted, 0.4, 1e15, "diemer19")
    assert abs(c1 - c0) > 1e-3


@pytest.mark.parametrize("spec", [{"H0": 70.0, "Om0": 0.3}, {"name": "Planck18"},
                                  {"H0": 70.0, "Om0": 0.3, "Ode0": 0.6}, {"H0": 70.0, "Om0": 0.3, "Ode0": 0.8}])
def test_vectorised_distance_ratios_equal_astropys(spec):
    cosmo = cosmology.make_cosmology(spec)
    z = np.array([[0.36, 0.8, 1.5], [3.0, 6.0, 20.0]])
    expected = np.vectorize(lambda zs: cosmology.distance_ratio(cosmo, 0.35, float(zs)))(z)
    np.testing.assert_allclose(cosmology.distance_ratios(cosmo, 0.35, z), expected, rtol=1e-12)
    with pytest.raises(ValueError, match="exceed the lens redshift"):
        cosmology.distance_ratios(cosmo, 0.35, [1.0, 0.3])
