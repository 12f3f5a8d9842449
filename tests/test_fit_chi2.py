"""The flux chi2 at the analytic best intrinsic flux: closed-form cases and brute-force minimisation."""
import numpy as np
import pytest
from scipy.optimize import minimize_scalar

from clusterlens.fit.chi2 import chi2_flux


def test_two_images_closed_form():
    """f = (2, 3), sigma = (0.5, 1), |mu| = (1, 2): F = (4*2*1 + 3*2)/(4*1 + 4) = 1.75 and
    chi2 = 4 (2 - 1.75)^2 + (3 - 3.5)^2 = 0.5; the sign of mu (the parity) does not matter."""
    assert chi2_flux([2.0, 3.0], [0.5, 1.0], [1.0, 2.0], [0, 0]) == pytest.approx(0.5, rel=1e-14)
    assert chi2_flux([2.0, 3.0], [0.5, 1.0], [-1.0, 2.0], [0, 0]) == pytest.approx(0.5, rel=1e-14)


def test_unmeasured_fluxes_and_single_images_add_nothing():
    # system 0: the closed-form pair plus an unmeasured image (NaN flux and sigma); system 1: one image,
    # fitted exactly by its intrinsic flux; system 2: no measured flux at all
    flux = [2.0, np.nan, 3.0, 7.0, np.nan]
    sigma = [0.5, np.nan, 1.0, 0.1, np.nan]
    mu = [1.0, 5.0, 2.0, -3.0, 4.0]
    assert chi2_flux(flux, sigma, mu, [0, 0, 0, 1, 2]) == pytest.approx(0.5, rel=1e-14)


def test_equals_brute_force_minimisation_over_the_intrinsic_fluxes():
    rng = np.random.default_rng(12)
    counts = [2, 3, 4, 5]
    system = np.repeat(np.arange(len(counts)), counts)
    mu = rng.uniform(0.5, 20.0, system.size) * rng.choice([-1.0, 1.0], system.size)
    sigma = rng.uniform(0.2, 2.0, system.size)
    flux = np.abs(mu) * rng.uniform(1.0, 5.0, len(counts))[system] + rng.normal(0.0, sigma)
    flux[4] = np.nan  # one unmeasured image in the second system
    expected = 0.0
    for k in range(len(counts)):
        sel = (system == k) & np.isfinite(flux)

        def chi2(intrinsic, sel=sel):
            return np.sum(((flux[sel] - np.abs(mu[sel]) * intrinsic) / sigma[sel]) ** 2)

        best = minimize_scalar(chi2, bracket=(0.0, 10.0), tol=1e-12)
        expected += best.fun
    assert expected > 1.0
    assert chi2_flux(flux, sigma, mu, system) == pytest.approx(expected, rel=1e-9)


def test_arrays_of_different_lengths_are_rejected():
    with pytest.raises(ValueError, match="1-D arrays of one length"):
        chi2_flux([1.0, 2.0], [0.1, 0.1], [1.0], [0, 0])


def test_the_compiled_rows_equal_the_numpy_term_and_each_row_alone():
    """flux_chi2_rows (the batch likelihood's flux term): each row the numpy chi2_flux at mu = 1 / det, and
    a batch equal to its rows bit for bit."""
    from clusterlens.fit.source_plane import flux_chi2_rows

    rng = np.random.default_rng(7)
    system = np.repeat(np.arange(4), [2, 3, 1, 4])
    flux = rng.uniform(1.0, 5.0, system.size)
    flux[[1, 5]] = np.nan  # not measured
    sigma = rng.uniform(0.1, 0.5, system.size)
    det = rng.uniform(0.05, 2.0, (6, system.size)) * rng.choice([-1.0, 1.0], (6, system.size))
    rows = flux_chi2_rows(flux, sigma, system, 4, det)
    for d, value in zip(det, rows, strict=True):
        assert value == pytest.approx(chi2_flux(flux, sigma, 1.0 / d, system), rel=1e-12)
        assert flux_chi2_rows(flux, sigma, system, 4, d[None])[0] == value
