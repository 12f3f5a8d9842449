"""FITS maps: pixels equal the model API at the WCS pixel centres, posterior median/percentile maps,
byte-identical files for one seed, kappa summed over pixels equals M(<R) of the mass-profile function."""
from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS

import clusterlens
from clusterlens.cosmology import sigma_crit_inf
from clusterlens.products import make_maps, open_input
from clusterlens.products.fits_maps import lens_maps, map_grid
from clusterlens.products.mass_profile import einstein_radius, enclosed_mass
from clusterlens.units import SIS_FACTOR, b0_from_sigma

ZS = (1.5, 3.0)


@pytest.fixture
def data(products_inputs):
    return products_inputs


def model_xy(path, hdu=0):
    """Model x, y of every pixel centre of a FITS map through its own WCS: pixel -> sky -> from_sky."""
    with fits.open(path) as hdul:
        data, wcs = hdul[hdu].data.astype(float), WCS(hdul[hdu].header)
    rows, cols = np.mgrid[: data.shape[0], : data.shape[1]]
    return data, wcs.pixel_to_world(cols, rows)


def test_map_pixels_equal_the_model_at_the_wcs_pixel_centres(data, tmp_path):
    dataset, _ = data
    model = clusterlens.load_model(dataset)
    result = make_maps(dataset, tmp_path, ZS, pixel_scale=1.5, size=(24, 30), samples=3)
    assert result.n_samples == 0 and set(result.paths) >= {"kappa", "psi", "magnification_z1.5"}
    kappa, sky = model_xy(result.paths["kappa"])
    x, y = model.from_sky(sky)
    lens = model.lens
    hxx, hxy, hyy = lens.hessian(x, y, scale=1.0)
    expected = {"kappa": lens.convergence(x, y), "gamma1": 0.5 * (hxx - hyy), "gamma2": hxy,
                "gamma": np.hypot(0.5 * (hxx - hyy), hxy), "deflect_x": lens.deflection(x, y)[0],
                "deflect_y": lens.deflection(x, y)[1], "psi": lens.potential(x, y)}
    expected |= {f"magnification_z{z:g}": model.magnification(x, y, z) for z in ZS}
    for name, values in expected.items():
        mapped = fits.getdata(result.paths[name]).astype(float)
        assert mapped.shape == (24, 30)
        np.testing.assert_allclose(mapped, values, rtol=1e-11, atol=1e-13, err_msg=name)
    header = fits.getheader(result.paths["magnification_z3"])
    assert header["ZSOURCE"] == 3.0 and header["DLSDS"] == pytest.approx(model.distance_ratio(3.0), rel=1e-15)
    assert fits.getheader(result.paths["kappa"])["DLSDS"] == 1.0


def test_map_wcs_is_the_data_wcs_for_the_same_pixels(data, tmp_path):
    """North up, East left, and the same reference pixel as data.fits (maps overlay the data in DS9)."""
    dataset, _ = data
    model = clusterlens.load_model(dataset)
    s = model.dataset.imaging
    result = make_maps(dataset, tmp_path, [2.0], pixel_scale=s.pixel_scale, size=s.shape)
    mapped, data_header = fits.getheader(result.paths["kappa"]), fits.getheader(dataset / "data.fits")
    for key in ("CTYPE1", "CTYPE2", "CRVAL1", "CRVAL2", "CRPIX1", "CRPIX2", "CDELT1", "CDELT2", "NAXIS1", "NAXIS2"):
        assert mapped[key] == data_header[key], key
    assert mapped["CDELT1"] < 0 < mapped["CDELT2"]  # RA grows to the left (East), Dec upwards (North)


def test_posterior_maps_are_per_pixel_median_and_percentiles_of_the_draws(data, tmp_path):
    _, results = data
    product = open_input(results)
    result = make_maps(product, tmp_path / "a", ZS, pixel_scale=4.0, size=8, samples=5, seed=1)
    assert result.n_samples == 5
    draws = list(product.draws(5, 1))
    assert len({m.host_halo[0].m200 for m in draws}) == 5  # distinct rows of samples.csv
    _, sky = model_xy(result.paths["kappa"])
    x, y = draws[0].from_sky(sky)
    for name, values in (("kappa", [m.lens.convergence(x, y) for m in draws]),
                         ("magnification_z3", [m.magnification(x, y, 3.0) for m in draws])):
        with fits.open(result.paths[name]) as hdul:
            assert [h.header["STAT"] for h in hdul] == ["median", "p16", "p84"]
            assert hdul[0].header["NSAMPLES"] == 5 and hdul[0].header["SEED"] == 1
            np.testing.assert_allclose(hdul[0].data, np.median(values, axis=0), rtol=1e-11, atol=1e-13)
            np.testing.assert_allclose(hdul["P16"].data, np.quantile(values, 0.16, axis=0), rtol=1e-11, atol=1e-13)
            np.testing.assert_allclose(hdul["P84"].data, np.quantile(values, 0.84, axis=0), rtol=1e-11, atol=1e-13)
            assert np.all(hdul["P16"].data <= hdul[0].data) and np.all(hdul[0].data <= hdul["P84"].data)
    again = make_maps(product, tmp_path / "b", ZS, pixel_scale=4.0, size=8, samples=5, seed=1)
    other = make_maps(product, tmp_path / "c", ZS, pixel_scale=4.0, size=8, samples=5, seed=2)
    for name, path in result.paths.items():
        assert path.read_bytes() == again.paths[name].read_bytes(), name
    assert result.paths["kappa"].read_bytes() != other.paths["kappa"].read_bytes()


def test_kappa_map_sums_to_the_enclosed_mass_of_the_profile_function(data):
    """Sum of kappa * Sigma_crit * pixel area over the pixels whose centre lies inside R equals
    M(<R) from the deflection on the circle; pixelisation error (0.2" pixels, R = 20"): 1.2e-4 measured,
    asserted < 1e-3."""
    dataset, _ = data
    model = clusterlens.load_model(dataset)
    grid = map_grid(model, pixel_scale=0.2, size=210)
    kappa = lens_maps(model, grid.x, grid.y, [], potential=False)["kappa"]
    radius = 20.0
    inside = np.hypot(grid.x, grid.y) < radius
    summed = kappa[inside].sum() * 0.2**2 * sigma_crit_inf(model.cosmology, model.z_lens)
    assert summed == pytest.approx(float(enclosed_mass(model, [radius])[0]), rel=1e-3)


def test_enclosed_mass_and_einstein_radius_of_a_singular_isothermal_sphere():
    """SIS: kappa = theta_E / (2 r), so M(<R) = Sigma_crit pi theta_E R and the effective Einstein radius
    at a source redshift is (D_LS/D_S) theta_E (closed forms)."""
    theta_e = float(b0_from_sigma(900.0, SIS_FACTOR))
    model = clusterlens.ClusterModel.from_records(
        {"main_lens_mass": [{"galaxy": "sis", "profile": "SIE", "x": 3.0, "y": -2.0, "redshift": 0.3, "q": 1.0,
                             "angle": 0.0, "theta_e": theta_e, "r_core": 0.0}]},
        {"reference": {"ra": 10.0, "dec": -5.0}, "cosmology": {"name": "Planck18"}})
    radii = np.array([0.7, 5.0, 40.0])
    expected = sigma_crit_inf(model.cosmology, 0.3) * np.pi * theta_e * radii
    with np.errstate(divide="ignore"):  # the SIE's round (q = 1) branch divides by zero harmlessly
        np.testing.assert_allclose(enclosed_mass(model, radii, center=(3.0, -2.0)), expected, rtol=1e-10)
        theta = einstein_radius(model, 2.0, center=(3.0, -2.0))
    assert theta == pytest.approx(model.distance_ratio(2.0) * theta_e, rel=1e-7)
