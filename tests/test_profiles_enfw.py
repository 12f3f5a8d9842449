"""Pseudo-elliptical NFW: lenstronomy peer, Golse & Kneib eq. 17, lensing identities, limits."""

import numpy as np
import pytest

from clusterlens.lens import Lens, MassComponents
from clusterlens.peers import lenstronomy_model
from clusterlens.profiles import enfw, nfw
from test_profiles_identities import _derivative, _points

CASES = {
    "moderate": {"center_x": 0.3, "center_y": -0.2, "kappa_s": 0.3, "r_s": 2.0, "epsilon": 0.2, "angle": 37.0},
    "strong": {"center_x": -0.1, "center_y": 0.25, "kappa_s": 0.45, "r_s": 0.7, "epsilon": 0.6, "angle": -120.0},
    "round": {"center_x": 0.2, "center_y": 0.1, "kappa_s": 0.2, "r_s": 3.0, "epsilon": 0.0, "angle": 15.0},
}
FUNCTIONS = ("deflection", "hessian", "convergence", "potential")


@pytest.mark.parametrize("name", ["moderate", "strong"])
def test_matches_lenstronomy_nfw_ellipse_potential(name):
    """Deflection and potential to 1e-8; the Hessian against the derivative of lenstronomy's deflection.

    lenstronomy's own NFW_ELLIPSE_POTENTIAL Hessian is a one-sided difference with step 1e-10 (good to
    ~1e-3 only), so the peer Hessian here is a fourth-order central difference of its analytic deflection.
    """
    pytest.importorskip("lenstronomy")
    params = CASES[name]
    model, kw = lenstronomy_model(Lens([MassComponents("PseudoEllipticalNFW", {k: [v] for k, v in params.items()})]))
    assert model.lens_model_list == ["NFW_ELLIPSE_POTENTIAL"]
    rng = np.random.default_rng(5)
    r = np.exp(rng.uniform(np.log(0.05), np.log(200.0), 400))
    phase = rng.uniform(0, 2 * np.pi, 400)
    x, y = params["center_x"] + r * np.cos(phase), params["center_y"] + r * np.sin(phase)

    ax, ay = enfw.deflection(x, y, **params)
    ax_ref, ay_ref = model.alpha(x, y, kw)
    norm = np.hypot(ax_ref, ay_ref)
    np.testing.assert_allclose(ax / norm, ax_ref / norm, rtol=0, atol=1e-8)
    np.testing.assert_allclose(ay / norm, ay_ref / norm, rtol=0, atol=1e-8)
    np.testing.assert_allclose(enfw.potential(x, y, **params), model.potential(x, y, kw), rtol=1e-8)

    hxx, hxy, hyy = enfw.hessian(x, y, **params)
    jxx = _derivative(lambda a, b: model.alpha(a, b, kw)[0], x, y, 0)
    jxy = _derivative(lambda a, b: model.alpha(a, b, kw)[0], x, y, 1)
    jyx = _derivative(lambda a, b: model.alpha(a, b, kw)[1], x, y, 0)
    jyy = _derivative(lambda a, b: model.alpha(a, b, kw)[1], x, y, 1)
    scale = np.abs(hxx) + np.abs(hyy)
    for got, want in ((hxx, jxx), (hxy, jxy), (hxy, jyx), (hyy, jyy)):
        np.testing.assert_allclose(got / scale, want / scale, rtol=0, atol=1e-8)


@pytest.mark.parametrize("name", ["moderate", "strong"])
def test_convergence_is_golse_kneib_eq17(name):
    """kappa = kappa(R) + epsilon cos 2phi gamma(R) with (R cos phi, R sin phi) = (sqrt(1-eps) x', sqrt(1+eps) y')."""
    params = CASES[name]
    x, y = _points(seed=3)
    phi = np.deg2rad(params["angle"])
    dx, dy = x - params["center_x"], y - params["center_y"]
    x1 = np.sqrt(1 - params["epsilon"]) * (np.cos(phi) * dx + np.sin(phi) * dy)
    x2 = np.sqrt(1 + params["epsilon"]) * (np.cos(phi) * dy - np.sin(phi) * dx)
    radius = np.hypot(x1, x2)
    kappa = nfw.convergence(radius, 0.0, 0.0, 0.0, params["kappa_s"], params["r_s"])
    gamma = nfw.deflection(radius, 0.0, 0.0, 0.0, params["kappa_s"], params["r_s"])[0] / radius - kappa
    expected = kappa + params["epsilon"] * (x1 * x1 - x2 * x2) / radius**2 * gamma
    np.testing.assert_allclose(enfw.convergence(x, y, **params), expected, rtol=1e-12)


def test_potential_is_elongated_along_angle():
    """At distance d from the centre psi equals the spherical psi at sqrt(1 - eps) d along ``angle``
    (the major axis of the iso-potentials) and at sqrt(1 + eps) d perpendicular to it."""
    params = CASES["moderate"]
    d = np.array([0.5, 2.0, 7.0])
    for offset, factor in ((0.0, 1 - params["epsilon"]), (90.0, 1 + params["epsilon"])):
        direction = np.deg2rad(params["angle"] + offset)
        x, y = params["center_x"] + d * np.cos(direction), params["center_y"] + d * np.sin(direction)
        spherical = nfw.potential(np.sqrt(factor) * d, 0.0, 0.0, 0.0, params["kappa_s"], params["r_s"])
        np.testing.assert_allclose(enfw.potential(x, y, **params), spherical, rtol=1e-13)


@pytest.mark.parametrize("angle", [0.0, 63.0])
def test_zero_epsilon_is_the_spherical_nfw(angle):
    params = dict(CASES["round"], angle=angle)
    spherical = {k: v for k, v in params.items() if k in nfw.PARAMETERS}
    x, y = _points(seed=4)
    x, y = np.append(x, [params["center_x"], 0.0]), np.append(y, [params["center_y"], 0.0])
    for func in FUNCTIONS:
        got = np.atleast_2d(getattr(enfw, func)(x, y, **params))
        want = np.atleast_2d(getattr(nfw, func)(x, y, **spherical))
        scale = np.max(np.abs(want), axis=-1, keepdims=True)
        np.testing.assert_allclose(got / scale, want / scale, rtol=0, atol=1e-14)


@pytest.mark.parametrize("name", list(CASES))
def test_half_turn_is_the_same_profile(name):
    params = CASES[name]
    turned = dict(params, angle=params["angle"] + 180.0)
    x, y = _points(seed=6)
    for func in FUNCTIONS:
        np.testing.assert_allclose(getattr(enfw, func)(x, y, **turned), getattr(enfw, func)(x, y, **params),
                                   rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", list(CASES))
def test_deflection_and_hessian_equals_separate_calls(name):
    params = CASES[name]
    x, y = _points(seed=13)
    both = enfw.deflection_and_hessian(x, y, **params)
    separate = (*enfw.deflection(x, y, **params), *enfw.hessian(x, y, **params))
    for got, want in zip(both, separate, strict=True):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("name", list(CASES))
def test_divergence_is_twice_convergence_and_curl_vanishes(name):
    params = CASES[name]
    x, y = _points()
    ax_dx = _derivative(lambda a, b: enfw.deflection(a, b, **params)[0], x, y, 0)
    ay_dy = _derivative(lambda a, b: enfw.deflection(a, b, **params)[1], x, y, 1)
    ax_dy = _derivative(lambda a, b: enfw.deflection(a, b, **params)[0], x, y, 1)
    ay_dx = _derivative(lambda a, b: enfw.deflection(a, b, **params)[1], x, y, 0)
    scale = np.abs(ax_dx) + np.abs(ay_dy)
    np.testing.assert_allclose((ax_dx + ay_dy) / scale, 2.0 * enfw.convergence(x, y, **params) / scale,
                               rtol=0, atol=1e-8)
    np.testing.assert_allclose((ay_dx - ax_dy) / scale, 0.0, atol=1e-8)


@pytest.mark.parametrize("name", list(CASES))
def test_deflection_is_gradient_of_potential(name):
    params = CASES[name]
    x, y = _points(seed=8)
    ax, ay = enfw.deflection(x, y, **params)
    norm = np.hypot(ax, ay)
    for axis, component in ((0, ax), (1, ay)):
        gradient = _derivative(lambda a, b: enfw.potential(a, b, **params), x, y, axis)
        np.testing.assert_allclose(gradient / norm, component / norm, rtol=0, atol=1e-8)


@pytest.mark.parametrize("name", list(CASES))
def test_hessian_is_jacobian_of_deflection(name):
    params = CASES[name]
    x, y = _points(seed=9)
    hxx, hxy, hyy = enfw.hessian(x, y, **params)
    scale = np.abs(hxx) + np.abs(hyy) + np.abs(hxy)
    for analytic, component, axis in ((hxx, 0, 0), (hxy, 0, 1), (hxy, 1, 0), (hyy, 1, 1)):
        numeric = _derivative(lambda a, b, c=component: enfw.deflection(a, b, **params)[c], x, y, axis)
        np.testing.assert_allclose(analytic / scale, numeric / scale, rtol=0, atol=1e-8)


def test_members_broadcast_against_points():
    """Parameters of shape (1, M) against points (N, 1), as Lens evaluates a group."""
    members = [CASES["moderate"], CASES["strong"], CASES["round"]]
    stacked = {k: np.array([[m[k] for m in members]]) for k in enfw.PARAMETERS}
    x, y = _points(seed=12, n=40)
    for func in FUNCTIONS:
        together = np.asarray(getattr(enfw, func)(x[:, None], y[:, None], **stacked))
        for index, member in enumerate(members):
            alone = np.asarray(getattr(enfw, func)(x, y, **member))
            np.testing.assert_allclose(together[..., index], alone, rtol=1e-15, atol=1e-15)


def test_finite_at_the_centre():
    params = CASES["strong"]
    cx, cy = params["center_x"], params["center_y"]
    assert enfw.deflection(cx, cy, **params) == (0.0, 0.0)
    for func in FUNCTIONS:
        assert np.all(np.isfinite(getattr(enfw, func)(np.array([cx, cx + 1e-300]), np.array([cy, cy]), **params)))


@pytest.mark.parametrize(
    "change,match",
    [
        ({"epsilon": 1.0}, "epsilon"),
        ({"epsilon": -0.1}, "epsilon"),
        ({"epsilon": np.nan}, "epsilon"),
        ({"r_s": 0.0}, "r_s"),
        ({"kappa_s": -0.3}, "kappa_s"),
    ],
)
def test_bad_parameters_raise(change, match):
    params = dict(CASES["moderate"], **change)
    for func in FUNCTIONS + ("deflection_and_hessian",):
        with pytest.raises(ValueError, match=match):
            getattr(enfw, func)(1.0, 1.0, **params)
