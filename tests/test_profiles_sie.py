"""Cored isothermal ellipsoid: normalisation, limits and the lenstronomy peer."""

import warnings

import numpy as np
import pytest

from clusterlens.lens import Lens, MassComponents
from clusterlens.peers import lenstronomy_model
from clusterlens.profiles import dpie, sie


def _points(n=300, seed=5, rmin=0.05, rmax=20.0):
    rng = np.random.default_rng(seed)
    r = np.exp(rng.uniform(np.log(rmin), np.log(rmax), n))
    phase = rng.uniform(0, 2 * np.pi, n)
    return r * np.cos(phase), r * np.sin(phase)


def test_round_singular_case_is_sis():
    x, y = _points()
    ax, ay = sie.deflection(x, y, 0.0, 0.0, theta_e=1.25, r_core=0.0, q=1.0, angle=12.0)
    np.testing.assert_allclose(np.hypot(ax, ay), 1.25, rtol=1e-14)
    np.testing.assert_allclose(sie.potential(x, y, 0.0, 0.0, 1.25, 0.0, 1.0, 0.0), 1.25 * np.hypot(x, y), rtol=1e-13)


def test_round_singular_case_on_the_y_axis_warns_nothing():
    """q = 1, no core, x' = 0: the arctanh argument reaches 1 in the unused u > 0 branch; no RuntimeWarning."""
    y = np.array([-3.0, 0.5, 2.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ax, ay = sie.deflection(0.0 * y, y, 0.0, 0.0, theta_e=1.25, r_core=0.0, q=1.0, angle=0.0)
    np.testing.assert_array_equal(ax, 0.0)
    np.testing.assert_allclose(ay, 1.25 * np.sign(y), rtol=1e-15)


def test_round_cored_deflection_closed_form():
    """q = 1: alpha(R) = theta_e (sqrt(rc^2 + R^2) - rc) / R."""
    radius = np.array([1e-3, 0.1, 1.0, 10.0, 1e4])
    rc = 0.3
    ax, _ = sie.deflection(radius, 0.0 * radius, 0.0, 0.0, 0.8, rc, 1.0, 0.0)
    np.testing.assert_allclose(ax, 0.8 * radius / (np.sqrt(rc**2 + radius**2) + rc), rtol=1e-14)


@pytest.mark.parametrize("q", [0.9, 0.5, 0.15])
def test_mass_inside_einstein_ellipse_is_independent_of_q(q):
    """Intermediate-axis normalisation: the flux of alpha through the ellipse of elliptical radius theta_e
    (q x'^2 + y'^2/q = theta_e^2) is 2 pi theta_e^2, i.e. mean kappa = 1 inside it."""
    theta_e = 1.3
    t = (np.arange(4000) + 0.5) * 2 * np.pi / 4000
    xp, yp = theta_e / np.sqrt(q) * np.cos(t), theta_e * np.sqrt(q) * np.sin(t)
    ax, ay = sie.deflection(xp, yp, 0.0, 0.0, theta_e, 0.0, q, 0.0)
    # outward normal times arc length element: (dy/dt, -dx/dt) dt
    nx, ny = theta_e * np.sqrt(q) * np.cos(t), theta_e / np.sqrt(q) * np.sin(t)
    flux = np.sum(ax * nx + ay * ny) * 2 * np.pi / 4000
    assert flux == pytest.approx(2 * np.pi * theta_e**2, rel=1e-10)


@pytest.mark.parametrize("func", ["deflection", "hessian", "convergence", "potential"])
def test_continuous_limits(func):
    x, y = _points(n=100, rmin=0.01)
    base = dict(center_x=0.2, center_y=-0.1, theta_e=1.0, r_core=0.1, angle=-30.0)
    exact = np.atleast_2d(getattr(sie, func)(x, y, **base, q=1.0))
    near = np.atleast_2d(getattr(sie, func)(x, y, **base, q=1.0 - 1e-9))
    assert np.all(np.isfinite(exact))
    np.testing.assert_allclose(near, exact, rtol=0, atol=1e-8 * np.max(np.abs(exact)))
    for q in (1.0, 0.4):
        zero = np.atleast_2d(getattr(sie, func)(x, y, **dict(base, r_core=0.0), q=q))
        small = np.atleast_2d(getattr(sie, func)(x, y, **dict(base, r_core=1e-12), q=q))
        assert np.all(np.isfinite(zero))
        np.testing.assert_allclose(small, zero, rtol=0, atol=1e-9 * np.max(np.abs(zero)))


def test_singular_dpie_with_huge_cut_is_sie():
    """dPIE(rc = 0, rt -> inf) = SIE(theta_e = b0 f), f = 2 sqrt(q)/(1+q)."""
    x, y = _points(n=200, rmax=5.0)
    q, b0 = 0.6, 1.2
    ax, ay = dpie.deflection(x, y, 0.1, 0.2, b0, 0.0, 1e9, q, 50.0)
    bx, by = sie.deflection(x, y, 0.1, 0.2, b0 * 2 * np.sqrt(q) / (1 + q), 0.0, q, 50.0)
    np.testing.assert_allclose(ax, bx, rtol=0, atol=1e-8)
    np.testing.assert_allclose(ay, by, rtol=0, atol=1e-8)


def test_bad_parameters_raise():
    with pytest.raises(ValueError, match="axis ratio"):
        sie.deflection(1.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0)
    with pytest.raises(ValueError, match="r_core"):
        sie.hessian(1.0, 1.0, 0.0, 0.0, 1.0, -1.0, 0.5, 0.0)


def test_matches_lenstronomy_nie():
    """lenstronomy peer (clusterlens.peers): SIE(theta_e, r_core, q, angle) = NIE(theta_E = theta_e,
    s_scale = r_core, e1 + i e2 = (1-q)/(1+q) exp(2 i angle)), r_core = 0 included."""
    pytest.importorskip("lenstronomy")
    x, y = _points(n=300, rmax=40.0)
    for theta_e, rc, q, angle in [(1.2, 0.3, 0.7, 20.0), (0.5, 0.0, 0.35, -75.0), (2.0, 1.0, 0.95, 130.0)]:
        params = dict(center_x=[-0.3], center_y=[0.8], theta_e=[theta_e], r_core=[rc], q=[q], angle=[angle])
        model, kw = lenstronomy_model(Lens([MassComponents("SIE", params)]))
        ax_ref, ay_ref = model.alpha(x, y, kw)
        ax, ay = sie.deflection(x, y, -0.3, 0.8, theta_e, rc, q, angle)
        norm = np.hypot(ax_ref, ay_ref)
        np.testing.assert_allclose(ax / norm, ax_ref / norm, rtol=0, atol=1e-8)
        np.testing.assert_allclose(ay / norm, ay_ref / norm, rtol=0, atol=1e-8)
        psi_ref = model.potential(x, y, kw)
        psi = sie.potential(x, y, -0.3, 0.8, theta_e, rc, q, angle)
        # lenstronomy's NIE potential omits the constant that makes psi(centre) = 0
        offset = psi - psi_ref
        np.testing.assert_allclose(offset, offset[0], rtol=0, atol=1e-8 * np.max(np.abs(psi)))
