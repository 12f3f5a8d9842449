"""Spherical NFW: projection integral, enclosed mass, stability and the lenstronomy peer."""

import numpy as np
import pytest
from scipy import integrate

from clusterlens.lens import Lens, MassComponents
from clusterlens.peers import lenstronomy_model
from clusterlens.profiles import nfw

KAPPA_S, R_S = 0.3, 2.0


def _projected_kappa(x):
    """kappa(x) = 2 kappa_s int_0^inf dz / (s (1+s)^2), s = sqrt(x^2 + z^2) (line-of-sight integral of rho)."""

    def integrand(z):
        s = np.hypot(x, z)
        return 1.0 / (s * (1.0 + s) ** 2)

    total = 0.0
    for lower, upper in ((0.0, x), (x, 10 * x + 10.0), (10 * x + 10.0, np.inf)):
        total += integrate.quad(integrand, lower, upper, epsabs=0.0, epsrel=1e-13, limit=200)[0]
    return 2.0 * KAPPA_S * total


@pytest.mark.parametrize("x", [0.01, 0.3, 0.9, 0.99, 1.0, 1.001, 1.3, 4.0, 60.0])
def test_convergence_is_the_line_of_sight_projection(x):
    kappa = nfw.convergence(x * R_S, 0.0, 0.0, 0.0, KAPPA_S, R_S)
    assert kappa == pytest.approx(_projected_kappa(x), rel=1e-10)


def test_values_at_scale_radius():
    """kappa(r_s) = 2 kappa_s / 3 and alpha(r_s) = 4 kappa_s r_s (1 - ln 2) (Bartelmann 1996 g(1))."""
    assert nfw.convergence(R_S, 0.0, 0.0, 0.0, KAPPA_S, R_S) == pytest.approx(2 * KAPPA_S / 3, rel=1e-15)
    ax, ay = nfw.deflection(0.0, R_S, 0.0, 0.0, KAPPA_S, R_S)
    assert ax == 0.0
    assert ay == pytest.approx(4 * KAPPA_S * R_S * (1 - np.log(2)), rel=1e-15)


@pytest.mark.parametrize("x", [1e-4, 0.2, 0.97, 1.0, 1.02, 2.5, 30.0])
def test_mean_convergence_is_enclosed_mass(x):
    """alpha(R) R = 2 int_0^R kappa(r) r dr (the mean convergence inside R times R^2)."""
    radius = x * R_S
    enclosed = integrate.quad(
        lambda r: 2 * r * nfw.convergence(r, 0.0, 0.0, 0.0, KAPPA_S, R_S),
        0.0,
        radius,
        epsabs=0.0,
        epsrel=1e-12,
        limit=200,
        points=[R_S] if radius > R_S else None,
    )[0]
    ax, _ = nfw.deflection(radius, 0.0, 0.0, 0.0, KAPPA_S, R_S)
    assert ax * radius == pytest.approx(enclosed, rel=1e-9)


def test_stable_near_centre_and_scale_radius():
    x = np.array([0.0, 1e-300, 1e-30, 1e-8, 1 - 1e-12, 1.0, 1 + 1e-12, 1 - 0.05131, 1 + 0.04881])
    for func in ("deflection", "hessian", "convergence", "potential"):
        assert np.all(np.isfinite(getattr(nfw, func)(x * R_S, 0.0 * x, 0.0, 0.0, KAPPA_S, R_S)))
    assert nfw.deflection(0.0, 0.0, 0.0, 0.0, KAPPA_S, R_S) == (0.0, 0.0)
    # across the switch between closed form and series (|1 - x^2| = 0.1) the functions are smooth
    edge = np.sqrt(np.array([0.9, 1.1]))
    for centre in edge:
        xs = centre * (1 + np.array([-1e-12, 0.0, 1e-12]))
        kappa = nfw.convergence(xs * R_S, 0.0 * xs, 0.0, 0.0, KAPPA_S, R_S)
        ax = nfw.deflection(xs * R_S, 0.0 * xs, 0.0, 0.0, KAPPA_S, R_S)[0]
        # equal steps on both sides of the switch: the second difference is rounding only
        assert abs(kappa[0] - 2 * kappa[1] + kappa[2]) < 1e-14
        assert abs(ax[0] - 2 * ax[1] + ax[2]) < 1e-14


def test_small_radius_asymptotics():
    """For x -> 0: kappa -> 2 kappa_s (ln(2/x) - 1), alpha -> kappa_s r_s x (2 ln(2/x) - 1)."""
    x = 1e-7
    kappa = nfw.convergence(x * R_S, 0.0, 0.0, 0.0, KAPPA_S, R_S)
    assert kappa == pytest.approx(2 * KAPPA_S * (np.log(2 / x) - 1), rel=1e-12)
    ax, _ = nfw.deflection(x * R_S, 0.0, 0.0, 0.0, KAPPA_S, R_S)
    assert ax == pytest.approx(KAPPA_S * R_S * x * (2 * np.log(2 / x) - 1), rel=1e-12)


def test_bad_parameters_raise():
    with pytest.raises(ValueError, match="r_s"):
        nfw.deflection(1.0, 1.0, 0.0, 0.0, 0.3, 0.0)
    with pytest.raises(ValueError, match="kappa_s"):
        nfw.convergence(1.0, 1.0, 0.0, 0.0, -0.3, 1.0)


def test_matches_lenstronomy_nfw():
    """lenstronomy peer (clusterlens.peers): NFW(Rs = r_s, alpha_Rs = 4 kappa_s r_s (1 - ln 2))."""
    pytest.importorskip("lenstronomy")
    rng = np.random.default_rng(21)
    r = np.exp(rng.uniform(np.log(0.05), np.log(200.0), 400))
    phase = rng.uniform(0, 2 * np.pi, 400)
    x, y = 1.5 + r * np.cos(phase), -2.0 + r * np.sin(phase)
    params = dict(center_x=[1.5], center_y=[-2.0], kappa_s=[KAPPA_S], r_s=[R_S])
    model, kw = lenstronomy_model(Lens([MassComponents("NFW", params)]))
    ax_ref, ay_ref = model.alpha(x, y, kw)
    ax, ay = nfw.deflection(x, y, 1.5, -2.0, KAPPA_S, R_S)
    norm = np.hypot(ax_ref, ay_ref)
    np.testing.assert_allclose(ax / norm, ax_ref / norm, rtol=0, atol=1e-8)
    np.testing.assert_allclose(ay / norm, ay_ref / norm, rtol=0, atol=1e-8)
    np.testing.assert_allclose(nfw.convergence(x, y, 1.5, -2.0, KAPPA_S, R_S), model.kappa(x, y, kw), rtol=1e-8)
    hxx, hxy, hyy = nfw.hessian(x, y, 1.5, -2.0, KAPPA_S, R_S)
    ref_xx, ref_xy, _, ref_yy = model.hessian(x, y, kw)
    scale = np.abs(hxx) + np.abs(hyy)
    for got, want in ((hxx, ref_xx), (hxy, ref_xy), (hyy, ref_yy)):
        np.testing.assert_allclose(got / scale, want / scale, rtol=0, atol=1e-8)
