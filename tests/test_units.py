"""clusterlens.units against astropy (constants, units, cosmology, sky offsets) and closed forms."""
import math

import astropy.constants as const
import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.cosmology import FlatLambdaCDM

from clusterlens import ClusterModel, find_images, units
from clusterlens.maps import PixelGrid

DATASET = {"reference": {"ra": 10.0, "dec": -20.0}, "cosmology": {"H0": 70.0, "Om0": 0.3}}


def test_constants_match_astropy():
    assert units.C_KMS == const.c.to_value(u.km / u.s)
    assert units.ARCSEC == pytest.approx(u.arcsec.to(u.rad), rel=1e-16)
    assert units.ARCSEC_PER_RADIAN == pytest.approx(u.rad.to(u.arcsec), rel=1e-16)
    assert units.ARCSEC_PER_DEG == u.deg.to(u.arcsec)
    assert units.G_OVER_C2 == pytest.approx((const.G / const.c**2).to_value(u.Mpc / u.Msun), rel=1e-15)
    assert units.MPC_OVER_C_DAYS == pytest.approx((u.Mpc / const.c).to_value(u.day), rel=1e-15)
    delay = (1 * u.Mpc / const.c * (1 * u.arcsec).to(u.rad) ** 2).to_value(u.day * u.rad**2)
    assert units.DAYS_PER_MPC_ARCSEC2 == pytest.approx(delay, rel=1e-15)


def test_constants_from_their_exact_definitions():
    """G M_sun is the IAU 2015 nominal value; the au and c are exact: G/c^2 and Mpc/c follow exactly."""
    mpc_m = 1e6 * 648000.0 / math.pi * 149597870700.0
    assert units.G_OVER_C2 == pytest.approx(1.3271244e20 / 299792458.0**2 / mpc_m, rel=1e-15)
    assert units.MPC_OVER_C_DAYS == pytest.approx(mpc_m / 299792458.0 / 86400.0, rel=1e-15)


@pytest.mark.parametrize("factor", [units.DPIE_FACTOR, units.SIS_FACTOR])
def test_b0_from_sigma_against_astropy_and_round_trip(factor):
    sigma = np.array([[0.0, 50.0, 180.0], [300.0, 1000.0, 1500.0]])
    expected = (factor * np.pi * (sigma * u.km / u.s / const.c).decompose() ** 2 * u.rad).to_value(u.arcsec)
    b0 = units.b0_from_sigma(sigma, factor)
    assert b0.shape == sigma.shape
    np.testing.assert_allclose(b0, expected, rtol=1e-14)
    np.testing.assert_allclose(units.sigma_from_b0(b0, factor), sigma, rtol=1e-14)


def test_dpie_b0_is_one_and_a_half_sis_theta_e_and_sigma_checked():
    assert units.b0_from_sigma(250.0) == pytest.approx(1.5 * units.b0_from_sigma(250.0, units.SIS_FACTOR), rel=1e-15)
    with pytest.raises(ValueError, match="sigma must be finite and >= 0 km/s"):
        units.b0_from_sigma([100.0, -1.0])
    with pytest.raises(ValueError, match="b0 must be finite and >= 0 arcsec"):
        units.sigma_from_b0(np.nan)


def test_kpc_arcsec_conversions_against_astropy_cosmology():
    cosmo = FlatLambdaCDM(H0=70.0, Om0=0.3)
    z = np.array([0.1, 0.308, 1.2])
    d_a = cosmo.angular_diameter_distance(z).to_value(u.kpc)
    expected = cosmo.arcsec_per_kpc_proper(z).to_value(u.arcsec / u.kpc) * 100.0
    np.testing.assert_allclose(units.arcsec_from_length(100.0, d_a), expected, rtol=1e-13)
    np.testing.assert_allclose(units.length_from_arcsec(expected, d_a), 100.0, rtol=1e-13)
    expected_kpc = 1.0 / cosmo.arcsec_per_kpc_proper(0.308).value
    assert units.kpc_per_arcsec(cosmo, 0.308) == pytest.approx(expected_kpc, rel=1e-13)


def test_r200_m200_round_trip_and_mean_density():
    rho_crit = FlatLambdaCDM(H0=70.0, Om0=0.3).critical_density(0.3).to_value(u.Msun / u.kpc**3)
    m200 = np.array([1e12, 3e14, 2e15])
    r200 = units.r200_from_m200(m200, rho_crit)
    np.testing.assert_allclose(units.m200_from_r200(r200, rho_crit), m200, rtol=1e-14)
    np.testing.assert_allclose(m200 / (4.0 / 3.0 * np.pi * r200**3), 200.0 * rho_crit, rtol=1e-14)
    assert 1500.0 < units.r200_from_m200(1e15, rho_crit) < 2500.0  # a 1e15 Msun cluster: r200 ~ 2 Mpc


def test_sky_offsets_wrap_ra_across_zero():
    x, y = units.sky_offsets(359.9995, -30.0, 0.001, -30.0)
    assert float(x) == pytest.approx(0.0015 * math.cos(math.radians(30.0)) * 3600.0, rel=1e-9)  # +4.68", West
    assert float(y) == 0.0
    x_east, _ = units.sky_offsets(0.0015, -30.0, 0.001, -30.0)
    assert float(x_east) < 0.0  # larger RA is East: negative x
    x_turns, _ = units.sky_offsets(720.0 + 359.9995, -30.0, 0.001, -30.0)  # several turns apart
    assert float(x_turns) == pytest.approx(float(x), rel=1e-9)


def test_sky_offsets_against_astropy_spherical_offsets():
    """Near the reference the flat-sky offsets agree with astropy's to second order (~1e-4" at 10")."""
    ra0, dec0 = 0.001, -30.4
    rng = np.random.default_rng(3)
    ra = (ra0 + rng.uniform(-3e-3, 3e-3, 50)) % 360.0
    dec = dec0 + rng.uniform(-3e-3, 3e-3, 50)
    dlon, dlat = SkyCoord(ra0, dec0, unit="deg").spherical_offsets_to(SkyCoord(ra, dec, unit="deg"))
    x, y = units.sky_offsets(ra, dec, ra0, dec0)
    np.testing.assert_allclose(x, -dlon.to_value(u.arcsec), atol=1e-3)
    np.testing.assert_allclose(y, dlat.to_value(u.arcsec), atol=1e-3)
    ra_back, dec_back = units.sky_positions(x, y, ra0, dec0)
    np.testing.assert_allclose((ra_back - ra + 180.0) % 360.0 - 180.0, 0.0, atol=1e-12)
    np.testing.assert_allclose(dec_back, dec, atol=1e-12)


def test_as_arcsec_converts_angles_and_refuses_other_units():
    assert units.as_arcsec(60 * u.arcmin, "x") == 3600.0
    np.testing.assert_allclose(units.as_arcsec([1.0, 2.0] * u.deg, "x"), [3600.0, 7200.0])
    np.testing.assert_allclose(units.as_arcsec((1 * u.arcmin, 30 * u.arcsec), "region"), [60.0, 30.0])
    plain = np.array([1.0, 2.0])
    assert units.as_arcsec(plain, "x") is plain and units.as_arcsec(2.5, "x") == 2.5
    with pytest.raises(ValueError, match=r"^y must be an angle .*Quantity in kg \(mass\)"):
        units.as_arcsec(5 * u.kg, "y")
    with pytest.raises(ValueError, match="x must be an angle .*dimensionless"):
        units.as_arcsec(3 * u.dimensionless_unscaled, "x")
    with pytest.raises(ValueError, match="region: cannot read"):
        units.as_arcsec((1 * u.arcsec, 2 * u.kg), "region")


@pytest.fixture(scope="module")
def model():
    host = {"galaxy": "halo", "profile": "dPIE", "x": 0.0, "y": 0.0, "redshift": 0.3, "q": 0.8, "angle": 20.0,
            "sigma": 900.0, "r_core": 5.0, "r_cut": 800.0}
    return ClusterModel.from_records({"host_halo": [host]}, DATASET)


def test_model_lensing_methods_read_quantities_in_arcsec(model):
    x, y = [1.0, 0.5] * u.arcmin, [-20.0, 10.0] * u.arcsec
    plain = model.deflections([60.0, 30.0], [-20.0, 10.0], 2.0)
    np.testing.assert_array_equal(model.deflections(x, y, 2.0), plain)
    assert not np.allclose(plain, model.deflections([1.0, 0.5], [-20.0, 10.0], 2.0))  # not read as 1 arcsec
    for method in ("hessian", "convergence", "shear", "magnification", "potential"):
        np.testing.assert_array_equal(getattr(model, method)(x, y, 2.0),
                                      getattr(model, method)([60.0, 30.0], [-20.0, 10.0], 2.0))
    with pytest.raises(ValueError, match=r"x must be an angle .*kg"):
        model.deflections(5 * u.kg, 0.0, 2.0)


def test_find_images_reads_quantities(model):
    x_source = 0.05 * u.arcmin  # 3 arcsec: inside the caustics, several images
    plain = find_images(model, x_source.to_value(u.arcsec), 1.0, 2.0, region=(-90.0, 90.0, -90.0, 90.0))
    given = find_images(model, x_source, 1.0 * u.arcsec, 2.0, region=[-1.5, 1.5, -1.5, 1.5] * u.arcmin)
    assert len(plain) > 1 and plain.equals(given)
    with pytest.raises(ValueError, match=r"y_source must be an angle .*kg"):
        find_images(model, 0.0, 5 * u.kg, 2.0)


def test_pixel_grid_reads_quantities():
    grid = PixelGrid(1 * u.arcmin, 0.0, (4, 4), 0.5 * u.arcsec)
    assert (grid.center_x, grid.center_y, grid.pixel_scale) == (60.0, 0.0, 0.5)
    assert PixelGrid.covering([-1, 1, -1, 1] * u.arcmin, 30 * u.arcsec).shape == (5, 5)
    with pytest.raises(ValueError, match="pixel_scale must be an angle"):
        PixelGrid(0.0, 0.0, (4, 4), 1 * u.m)
