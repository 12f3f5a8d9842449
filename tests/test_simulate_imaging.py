"""Imaging physics of the simulator against independent facts: Sersic total flux, the mass-sheet
magnification, a constant deflection's shift, the pixel-integrated Gaussian's moments, Poisson + read
noise statistics, and the FITS WCS against the flat-sky x/y convention
(docs/conventions.md#positions-on-the-sky)."""
from __future__ import annotations

import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.io import fits

from clusterlens.profiles.sersic import total_flux
from clusterlens.simulation import fits_output, imaging

SHAPE, PIXEL, OVERSAMPLING = (64, 64), 0.1, 4


def sersic_group(scale=1.0, x=0.2, y=-0.1, intensity=3.0, effective_radius=0.35, n=1.5, q=0.7, angle=30.0):
    params = dict(center_x=x, center_y=y, intensity=intensity, effective_radius=effective_radius, sersic_index=n,
                  q=q, angle=angle)
    return imaging.LightGroup("Sersic", {k: np.atleast_1d(np.asarray(v, float)) for k, v in params.items()},
                              np.atleast_1d(np.asarray(scale, float)))


def no_deflection(x, y):
    return np.zeros_like(x), np.zeros_like(y)


def test_unlensed_total_flux_matches_analytic_sersic():
    group = sersic_group()
    image = imaging.render_sources(no_deflection, [group], SHAPE, PIXEL, OVERSAMPLING)
    expected = total_flux(3.0, 0.35, 1.5)
    assert image.sum() == pytest.approx(expected, rel=0.01)
    psf = imaging.gaussian_psf(0.15, PIXEL, 21)
    assert imaging.convolve(image, psf).sum() == pytest.approx(expected, rel=0.01)


def test_mass_sheet_magnifies_total_flux_by_inverse_det():
    # alpha_inf = kappa theta (uniform sheet): beta = (1 - s kappa) theta, mu = 1 / (1 - s kappa)^2
    kappa, scale = 0.5, 0.8

    def sheet(x, y):
        return kappa * x, kappa * y

    group = sersic_group(scale=scale, x=0.05, y=0.02, effective_radius=0.15)
    image = imaging.render_sources(sheet, [group], SHAPE, PIXEL, OVERSAMPLING)
    mu = 1.0 / (1.0 - scale * kappa) ** 2
    assert image.sum() == pytest.approx(mu * total_flux(3.0, 0.15, 1.5), rel=0.01)


def test_constant_deflection_shifts_each_source_by_its_scale():
    shift = np.array([0.9, -0.6])

    def constant(x, y):
        return np.full_like(x, shift[0]), np.full_like(y, shift[1])

    x, y = imaging.pixel_centres(SHAPE, PIXEL)
    for scale in (0.3, 0.9):
        image = imaging.render_sources(constant, [sersic_group(scale=scale, n=1.0)], SHAPE, PIXEL, OVERSAMPLING)
        centroid = np.array([(image * x).sum(), (image * y).sum()]) / image.sum()
        # image-plane position theta = beta + s alpha
        np.testing.assert_allclose(centroid, np.array([0.2, -0.1]) + scale * shift, atol=2e-3)


def test_groups_of_both_profiles_add():
    core = imaging.LightGroup("SersicCore", {
        "center_x": np.array([-0.8]), "center_y": np.array([0.5]), "intensity": np.array([1.0]),
        "effective_radius": np.array([0.4]), "sersic_index": np.array([2.0]), "q": np.array([0.9]),
        "angle": np.array([10.0]), "radius_break": np.array([0.1]), "inner_slope": np.array([0.2]),
        "transition": np.array([3.0])}, np.array([1.0]))
    sersic = sersic_group()
    both = imaging.render_sources(no_deflection, [sersic, core], SHAPE, PIXEL, 2)
    separate = sum(imaging.render_sources(no_deflection, [g], SHAPE, PIXEL, 2) for g in (sersic, core))
    np.testing.assert_allclose(both, separate, rtol=1e-12)


def test_pixel_centres_follow_the_model_grid():
    x, y = imaging.pixel_centres((3, 4), 0.5, center_x=1.0, center_y=-2.0)
    np.testing.assert_allclose(x[0], [0.25, 0.75, 1.25, 1.75])
    np.testing.assert_allclose(y[:, 0], [-2.5, -2.0, -1.5])


def test_gaussian_psf_moments_are_sigma2_plus_pixel_variance():
    fwhm_pixels = 5.0
    psf = imaging.gaussian_psf(fwhm_pixels * 0.1, 0.1, 41)
    assert psf.sum() == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(psf, psf.T, atol=1e-15)
    k = np.arange(41) - 20
    variance = (psf.sum(axis=0) * k**2).sum()
    sigma = fwhm_pixels / (2 * np.sqrt(2 * np.log(2)))
    # a Gaussian integrated over unit pixels has variance sigma^2 + 1/12 (Sheppard's correction)
    assert variance == pytest.approx(sigma**2 + 1 / 12, rel=1e-6)


@pytest.mark.parametrize("bad", [dict(size=4), dict(size=0), dict(fwhm=0.0)])
def test_gaussian_psf_rejects_bad_settings(bad):
    args = dict(fwhm=0.15, pixel_scale=0.1, size=21) | bad
    with pytest.raises(ValueError):
        imaging.gaussian_psf(**args)


def test_noise_has_the_stated_mean_and_sigma():
    source, background, exposure, read_noise = 0.2, 0.5, 200.0, 4.0
    image = np.full((300, 300), source)
    data = imaging.observe(image, background, exposure, read_noise, np.random.default_rng(1))
    sigma = imaging.noise_sigma(image, background, exposure, read_noise)
    expected_sigma = np.sqrt((source + background) * exposure + read_noise**2) / exposure
    np.testing.assert_allclose(sigma, expected_sigma)
    n = data.size
    assert abs(data.mean() - source) < 5 * expected_sigma / np.sqrt(n)
    assert data.std() == pytest.approx(expected_sigma, rel=5 * np.sqrt(1 / (2 * n)))


def test_wcs_matches_the_flat_sky_convention(tmp_path):
    reference = (64.0381, -24.0675)
    shape, pixel, cx, cy = (40, 50), 0.2, 1.3, -0.7
    wcs = fits_output.celestial_wcs(reference, shape, pixel, cx, cy)
    data = fits_output.fits_bytes(np.zeros(shape), wcs, [("SEED", 3, "seed")])
    path = tmp_path / "a.fits"
    path.write_bytes(data)
    header = fits.getheader(path)
    assert "DATE" not in header and header["SEED"] == 3 and header["CDELT1"] < 0
    from astropy.wcs import WCS

    read = WCS(header)
    x, y = imaging.pixel_centres(shape, pixel, cx, cy)
    sky = read.pixel_to_world(*np.meshgrid(np.arange(shape[1]), np.arange(shape[0])))
    ra0, dec0 = reference
    x_sky = -(sky.ra.deg - ra0) * np.cos(np.radians(dec0)) * 3600
    y_sky = (sky.dec.deg - dec0) * 3600
    # TAN vs flat sky differ at second order: < 1e-4 arcsec over this 10 arcsec field
    np.testing.assert_allclose(x_sky, x, atol=1e-4)
    np.testing.assert_allclose(y_sky, y, atol=1e-4)
    # the reference point is at x = y = 0, and x > 0 is West (lower RA)
    px, py = read.world_to_pixel(SkyCoord(ra0, dec0, unit="deg"))
    reference = (cx + (px - (shape[1] - 1) / 2) * pixel, cy + (py - (shape[0] - 1) / 2) * pixel)
    assert reference == pytest.approx((0, 0), abs=1e-9)
    west = read.pixel_to_world(px + 5, py)
    assert west.ra.deg < ra0
