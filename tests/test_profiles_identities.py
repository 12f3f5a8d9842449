"""Identities every registered mass profile must satisfy, checked by finite differences.

div alpha = 2 kappa, curl alpha = 0, alpha = grad psi, Hessian = Jacobian of alpha, the one-pass
deflection_and_hessian equal to the separate functions, rotation and translation invariance, on
random points (seeded). The cases cover every profile of the registry: a new profile without cases
here fails ``test_every_registered_profile_has_cases``.
"""

import numpy as np
import pytest

from clusterlens.registry import MASS_PROFILES

dpie, sie, nfw, shear, enfw = (MASS_PROFILES[name].functions
                               for name in ("dPIE", "SIE", "NFW", "ExternalShear", "PseudoEllipticalNFW"))

CASES = [
    ("dpie-elliptical", dpie, dict(center_x=0.4, center_y=-0.3, b0=1.7, r_core=0.15, r_cut=6.0, q=0.55, angle=37.0)),
    ("dpie-singular", dpie, dict(center_x=-0.2, center_y=0.1, b0=0.9, r_core=0.0, r_cut=3.0, q=0.8, angle=-120.0)),
    ("dpie-round", dpie, dict(center_x=0.0, center_y=0.0, b0=1.2, r_core=0.3, r_cut=20.0, q=1.0, angle=10.0)),
    ("dpie-flat", dpie, dict(center_x=1.0, center_y=0.5, b0=2.0, r_core=0.05, r_cut=2.0, q=0.2, angle=95.0)),
    ("sie-cored", sie, dict(center_x=0.4, center_y=-0.3, theta_e=1.7, r_core=0.25, q=0.6, angle=-25.0)),
    ("sie-singular", sie, dict(center_x=0.1, center_y=0.2, theta_e=1.1, r_core=0.0, q=0.35, angle=160.0)),
    ("sie-round", sie, dict(center_x=0.1, center_y=0.2, theta_e=1.1, r_core=0.1, q=1.0, angle=0.0)),
    ("nfw", nfw, dict(center_x=0.3, center_y=-0.6, kappa_s=0.35, r_s=2.5)),
    ("shear", shear, dict(gamma=0.07, angle=28.0)),
    ("enfw", enfw, dict(center_x=-0.4, center_y=0.2, kappa_s=0.3, r_s=3.0, epsilon=0.2, angle=-41.0)),
    ("enfw-round", enfw, dict(center_x=0.2, center_y=0.3, kappa_s=0.5, r_s=1.5, epsilon=0.0, angle=12.0)),
]
IDS = [case[0] for case in CASES]


def test_every_registered_profile_has_cases():
    covered = {id(case[1]) for case in CASES}
    missing = [name for name, profile in MASS_PROFILES.items() if id(profile.functions) not in covered]
    assert not missing, f"registered mass profiles without identity cases: {missing}"


ONE_PASS = [case for case in CASES if case[1].deflection_and_hessian is not None]


@pytest.mark.parametrize("name,module,params", ONE_PASS, ids=[case[0] for case in ONE_PASS])
def test_one_pass_deflection_and_hessian_equals_separate_calls(name, module, params):
    x, y = _points(seed=13)
    both = module.deflection_and_hessian(x, y, **params)
    separate = (*module.deflection(x, y, **params), *module.hessian(x, y, **params))
    for got, want in zip(both, separate, strict=True):
        np.testing.assert_array_equal(got, want)

STEP = 1e-4


def _points(seed=7, n=400):
    """Random points 0.8 - 8 arcsec from the origin (at least ~0.1 arcsec from every centre)."""
    rng = np.random.default_rng(seed)
    radius = rng.uniform(0.8, 8.0, n)
    phase = rng.uniform(0.0, 2.0 * np.pi, n)
    return radius * np.cos(phase), radius * np.sin(phase)


def _derivative(func, x, y, axis):
    """Fourth-order central difference of func along x (axis 0) or y (axis 1)."""
    h = STEP
    dx, dy = (h, 0.0) if axis == 0 else (0.0, h)
    f = [np.asarray(func(x + k * dx, y + k * dy)) for k in (-2, -1, 1, 2)]
    return (f[0] - 8.0 * f[1] + 8.0 * f[2] - f[3]) / (12.0 * h)


@pytest.mark.parametrize("name,module,params", CASES, ids=IDS)
def test_divergence_is_twice_convergence_and_curl_vanishes(name, module, params):
    x, y = _points()
    ax_dx = _derivative(lambda a, b: module.deflection(a, b, **params)[0], x, y, 0)
    ay_dy = _derivative(lambda a, b: module.deflection(a, b, **params)[1], x, y, 1)
    ax_dy = _derivative(lambda a, b: module.deflection(a, b, **params)[0], x, y, 1)
    ay_dx = _derivative(lambda a, b: module.deflection(a, b, **params)[1], x, y, 0)
    kappa = module.convergence(x, y, **params)
    scale = np.maximum(np.abs(ax_dx) + np.abs(ay_dy), 1e-3)
    np.testing.assert_allclose((ax_dx + ay_dy) / scale, 2.0 * kappa / scale, rtol=0, atol=1e-8)
    np.testing.assert_allclose((ay_dx - ax_dy) / scale, 0.0, atol=1e-8)


@pytest.mark.parametrize("name,module,params", CASES, ids=IDS)
def test_deflection_is_gradient_of_potential(name, module, params):
    x, y = _points(seed=8)
    ax, ay = module.deflection(x, y, **params)
    dpsi_dx = _derivative(lambda a, b: module.potential(a, b, **params), x, y, 0)
    dpsi_dy = _derivative(lambda a, b: module.potential(a, b, **params), x, y, 1)
    norm = np.hypot(ax, ay)
    np.testing.assert_allclose(dpsi_dx / norm, ax / norm, rtol=0, atol=1e-8)
    np.testing.assert_allclose(dpsi_dy / norm, ay / norm, rtol=0, atol=1e-8)


@pytest.mark.parametrize("name,module,params", CASES, ids=IDS)
def test_hessian_is_jacobian_of_deflection(name, module, params):
    x, y = _points(seed=9)
    hxx, hxy, hyy = module.hessian(x, y, **params)
    jxx = _derivative(lambda a, b: module.deflection(a, b, **params)[0], x, y, 0)
    jxy = _derivative(lambda a, b: module.deflection(a, b, **params)[0], x, y, 1)
    jyx = _derivative(lambda a, b: module.deflection(a, b, **params)[1], x, y, 0)
    jyy = _derivative(lambda a, b: module.deflection(a, b, **params)[1], x, y, 1)
    scale = np.maximum(np.abs(hxx) + np.abs(hyy) + np.abs(hxy), 1e-3)
    for analytic, numeric in ((hxx, jxx), (hxy, jxy), (hxy, jyx), (hyy, jyy)):
        np.testing.assert_allclose(analytic / scale, numeric / scale, rtol=0, atol=1e-8)


def _rotate(x, y, degrees):
    c, s = np.cos(np.deg2rad(degrees)), np.sin(np.deg2rad(degrees))
    return c * x - s * y, s * x + c * y


@pytest.mark.parametrize("name,module,params", CASES, ids=IDS)
def test_rotation_invariance(name, module, params):
    """Rotating the whole configuration by theta rotates alpha, keeps kappa and psi."""
    theta = 71.0
    x, y = _points(seed=10)
    rotated = dict(params)
    if "angle" in rotated:
        rotated["angle"] = params["angle"] + theta
    if "center_x" in params:
        rotated["center_x"], rotated["center_y"] = _rotate(params["center_x"], params["center_y"], theta)
    xr, yr = _rotate(x, y, theta)
    ax, ay = module.deflection(x, y, **params)
    axr, ayr = module.deflection(xr, yr, **rotated)
    ex, ey = _rotate(ax, ay, theta)
    np.testing.assert_allclose(axr, ex, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ayr, ey, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(
        module.convergence(xr, yr, **rotated), module.convergence(x, y, **params), rtol=1e-12, atol=1e-14
    )
    np.testing.assert_allclose(
        module.potential(xr, yr, **rotated), module.potential(x, y, **params), rtol=1e-11, atol=1e-12
    )
    hxx, hxy, hyy = module.hessian(x, y, **params)
    hxx_r, hxy_r, hyy_r = module.hessian(xr, yr, **rotated)
    # the Hessian transforms as R H R^T
    c, s = np.cos(np.deg2rad(theta)), np.sin(np.deg2rad(theta))
    exx = c * c * hxx - 2 * c * s * hxy + s * s * hyy
    eyy = s * s * hxx + 2 * c * s * hxy + c * c * hyy
    exy = c * s * (hxx - hyy) + (c * c - s * s) * hxy
    for got, want in ((hxx_r, exx), (hxy_r, exy), (hyy_r, eyy)):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


CENTRED = [case for case in CASES if "center_x" in case[2]]


@pytest.mark.parametrize("name,module,params", CENTRED, ids=[case[0] for case in CENTRED])
def test_translation_invariance(name, module, params):
    shift = np.array([3.7, -12.25])
    x, y = _points(seed=11)
    moved = dict(params, center_x=params["center_x"] + shift[0], center_y=params["center_y"] + shift[1])
    for func in ("deflection", "hessian", "convergence", "potential"):
        here = np.atleast_2d(getattr(module, func)(x, y, **params))
        there = np.atleast_2d(getattr(module, func)(x + shift[0], y + shift[1], **moved))
        np.testing.assert_allclose(there, here, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name,module,params", CASES, ids=IDS)
def test_broadcasting_members_against_points(name, module, params):
    """Parameters of shape (M, 1) against points (1, N) give each member's own evaluation."""
    x, y = _points(seed=12, n=50)
    first = dict(params)
    second = {k: (v * 0.8 if k in ("b0", "theta_e", "kappa_s", "gamma") else v) for k, v in params.items()}
    stacked = {k: np.array([[first[k]], [second[k]]]) for k in params}
    for func in ("deflection", "hessian", "convergence", "potential"):
        both = np.asarray(getattr(module, func)(x[None, :], y[None, :], **stacked))
        one = np.asarray(getattr(module, func)(x, y, **first))
        two = np.asarray(getattr(module, func)(x, y, **second))
        np.testing.assert_allclose(both[..., 0, :], one, rtol=1e-14, atol=1e-15)
        np.testing.assert_allclose(both[..., 1, :], two, rtol=1e-14, atol=1e-15)
