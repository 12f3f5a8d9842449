"""Sersic and core-Sersic light, total flux and sub-pixel integration."""

import numpy as np
import pytest

from clusterlens.profiles import sersic


def test_b_n_known_values():
    """Ciotti & Bertin 1999: b_1 = 1.678347, b_4 = 7.669249; asymptotically b_n ~ 2n - 1/3 + 4/(405 n)."""
    assert sersic.sersic_b(1.0) == pytest.approx(1.678346990, abs=1e-8)
    assert sersic.sersic_b(4.0) == pytest.approx(7.669249443, abs=1e-8)
    assert sersic.sersic_b(10.0) == pytest.approx(20 - 1 / 3 + 4 / 4050 + 46 / (25515 * 100), abs=1e-6)


def _polar_integral(brightness, r_max, q, n_radial=200, n_angle=720):
    """Integral of brightness(x', y') over the ellipse q x'^2 + y'^2/q < r_max^2 (q = 1: the disc).

    x' = r cos t / sqrt(q), y' = r sqrt(q) sin t (Jacobian r); r = r_max u^3 with Gauss-Legendre
    in u (smooths the central cusp), trapezoid in t (spectrally accurate for periodic integrands).
    """
    u, weights = np.polynomial.legendre.leggauss(n_radial)
    u, weights = 0.5 * (u + 1), 0.5 * weights
    radius, radius_weight = r_max * u**3, 3 * r_max * u**2 * weights
    t = (np.arange(n_angle) + 0.5) * 2 * np.pi / n_angle
    xp = radius[:, None] * np.cos(t)[None, :] / np.sqrt(q)
    yp = radius[:, None] * np.sin(t)[None, :] * np.sqrt(q)
    return np.sum(brightness(xp, yp) * (radius * radius_weight)[:, None]) * 2 * np.pi / n_angle


@pytest.mark.parametrize("n,q", [(1.0, 0.5), (2.5, 0.8), (0.6, 1.0)])
def test_total_flux_and_half_light_by_quadrature(n, q):
    """Integrate I over the plane; compare with the closed-form total, and check that the ellipse of
    elliptical radius R_e holds half of it."""
    intensity, r_e, angle = 2.0, 0.7, 25.0

    def in_profile_frame(xp, yp):
        # points given in the profile frame, rotated to the sky so the module's rotation is exercised
        phi = np.deg2rad(angle)
        x, y = np.cos(phi) * xp - np.sin(phi) * yp, np.sin(phi) * xp + np.cos(phi) * yp
        return sersic.surface_brightness(x + 0.3, y - 0.2, 0.3, -0.2, intensity, r_e, n, q, angle)

    total = sersic.total_flux(intensity, r_e, n)
    assert _polar_integral(in_profile_frame, r_e, q) == pytest.approx(0.5 * total, rel=1e-9)
    # independent of the elliptical substitution: a circular disc (q = 1 grid) out to where the
    # profile is below 1e-14 of its effective value
    r_max = r_e * ((np.log(1e14) + sersic.sersic_b(n)) / sersic.sersic_b(n)) ** n / np.sqrt(q)
    assert _polar_integral(in_profile_frame, r_max, 1.0) == pytest.approx(total, rel=1e-7)


def test_sersic_is_intensity_at_effective_radius_along_both_axes():
    q, angle, r_e = 0.4, 30.0, 1.5
    phi = np.deg2rad(angle)
    # major axis: x' = r_e / sqrt(q); minor axis: y' = r_e sqrt(q)
    a, b = r_e / np.sqrt(q), r_e * np.sqrt(q)
    xs = np.array([a * np.cos(phi), -b * np.sin(phi)]) + 1.0
    ys = np.array([a * np.sin(phi), b * np.cos(phi)]) - 2.0
    values = sersic.surface_brightness(xs, ys, 1.0, -2.0, 3.0, r_e, 2.0, q, angle)
    np.testing.assert_allclose(values, 3.0, rtol=1e-14)


def test_core_sersic_normalisation_and_limits():
    params = dict(center_x=0.0, center_y=0.0, effective_radius=1.2, sersic_index=3.0, q=1.0, angle=0.0)
    core = dict(radius_break=0.2, inner_slope=0.3, transition=5.0)
    # intensity is the value at the break radius
    at_break = sersic.core_sersic_surface_brightness(0.2, 0.0, intensity=4.0, **params, **core)
    assert at_break == pytest.approx(4.0, rel=1e-14)
    # far outside the break it is a Sersic profile with I_e = I' exp(-b_n)
    b_n = sersic.sersic_b(3.0)
    i_prime = 4.0 * 2 ** (-0.3 / 5.0) * np.exp(b_n * (2 ** (1 / 5.0) * 0.2 / 1.2) ** (1 / 3.0))
    r = np.array([20.0, 40.0])
    outer = sersic.core_sersic_surface_brightness(r, 0.0 * r, intensity=4.0, **params, **core)
    plain = sersic.surface_brightness(r, 0.0 * r, intensity=i_prime * np.exp(-b_n), **params)
    np.testing.assert_allclose(outer, plain, rtol=1e-9)
    # well inside the break it is a power law of slope -inner_slope
    small = np.array([1e-6, 2e-6])
    inner = sersic.core_sersic_surface_brightness(small, 0.0 * small, intensity=4.0, **params, **core)
    assert np.log(inner[1] / inner[0]) / np.log(2.0) == pytest.approx(-0.3, rel=1e-4)


def test_integrate_pixels_is_exact_for_quadratics_and_chunking_is_invisible():
    rng = np.random.default_rng(6)
    x, y = rng.uniform(-3, 3, size=(2, 7, 5))
    pixel, n = 0.1, 4

    def func(a, b):
        return 3.0 + 2.0 * a - b + a * a + a * b

    # midpoint sub-sampling: mean of x^2 over n sub-points = x_c^2 + pixel^2 (1 - 1/n^2) / 12
    expected = 3.0 + 2.0 * x - y + x * x + pixel**2 * (1 - 1 / n**2) / 12 + x * y
    got = sersic.integrate_pixels(func, x, y, pixel, n)
    assert got.shape == x.shape
    np.testing.assert_allclose(got, expected, rtol=1e-13)
    tiny_chunks = sersic.integrate_pixels(func, x, y, pixel, n, max_points_per_chunk=20)
    np.testing.assert_array_equal(tiny_chunks, got)
    with pytest.raises(ValueError, match="oversampling"):
        sersic.integrate_pixels(func, x, y, pixel, 0)


def test_bad_light_parameters_raise():
    with pytest.raises(ValueError, match="effective_radius"):
        sersic.surface_brightness(0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0)
    with pytest.raises(ValueError, match="sersic_index"):
        sersic.total_flux(1.0, 1.0, -1.0)
