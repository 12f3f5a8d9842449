"""dPIE: closed forms, limits, the SIE decomposition and the lenstronomy peer."""

import numpy as np
import pytest

from clusterlens.lens import Lens, MassComponents
from clusterlens.peers import lenstronomy_model
from clusterlens.profiles import dpie, sie
from clusterlens.registry import MASS_PROFILES

RNG_SEED = 3


def _points(n=300, seed=RNG_SEED, rmin=0.05, rmax=30.0):
    rng = np.random.default_rng(seed)
    r = np.exp(rng.uniform(np.log(rmin), np.log(rmax), n))
    phase = rng.uniform(0, 2 * np.pi, n)
    return r * np.cos(phase), r * np.sin(phase)


def test_sis_limit_has_constant_deflection_b0():
    """q = 1, r_core = 0, r_cut -> inf is an SIS with Einstein radius b0: |alpha| = b0 everywhere."""
    x, y = _points(rmax=10.0)
    ax, ay = dpie.deflection(x, y, 0.0, 0.0, b0=1.4, r_core=0.0, r_cut=1e9, q=1.0, angle=0.0)
    np.testing.assert_allclose(np.hypot(ax, ay), 1.4, rtol=2e-8)
    kappa = dpie.convergence(x, y, 0.0, 0.0, b0=1.4, r_core=0.0, r_cut=1e9, q=1.0, angle=0.0)
    np.testing.assert_allclose(kappa, 1.4 / (2 * np.hypot(x, y)), rtol=2e-8)


def test_circular_enclosed_mass_matches_eliasdottir_closed_form():
    """alpha(R) = M(<R)/(pi R) with M(<R) = pi b0 F [sqrt(rc^2+R^2) - rc - sqrt(rt^2+R^2) + rt]."""
    b0, rc, rt = 2.3, 0.4, 7.0
    radius = np.array([0.01, 0.3, 1.0, 4.0, 7.0, 25.0, 300.0])
    ax, ay = dpie.deflection(radius, 0.0 * radius, 0.0, 0.0, b0, rc, rt, 1.0, 0.0)
    # sqrt(r^2 + R^2) - r written as R^2 / (sqrt(r^2 + R^2) + r) to avoid cancellation in the reference
    grow = radius**2 / (np.sqrt(rc**2 + radius**2) + rc) - radius**2 / (np.sqrt(rt**2 + radius**2) + rt)
    mass = np.pi * b0 * rt / (rt - rc) * grow
    np.testing.assert_allclose(ax, mass / (np.pi * radius), rtol=1e-13)
    np.testing.assert_allclose(ay, 0.0, atol=1e-16)
    # total mass pi b0 r_cut: the deflection far away tends to b0 r_cut / R
    far = 1e7
    assert dpie.deflection(far, 0.0, 0.0, 0.0, b0, rc, rt, 1.0, 0.0)[0] == pytest.approx(b0 * rt / far, rel=1e-6)


def test_mean_convergence_inside_ellipse_of_elliptical_profile_by_quadrature():
    """The mass inside a large circle equals the integral of kappa (elliptical case, 2-D quadrature)."""
    b0, rc, rt, q, angle = 1.5, 0.2, 3.0, 0.5, 30.0
    radius = 2.0
    n_r, n_phi = 1500, 720
    r_edges = np.linspace(0.0, radius, n_r + 1)
    r_mid = 0.5 * (r_edges[1:] + r_edges[:-1])
    phi = (np.arange(n_phi) + 0.5) * 2 * np.pi / n_phi
    rr, pp = np.meshgrid(r_mid, phi, indexing="ij")
    kappa = dpie.convergence(rr * np.cos(pp), rr * np.sin(pp), 0.0, 0.0, b0, rc, rt, q, angle)
    mass = np.sum(kappa * rr) * (radius / n_r) * (2 * np.pi / n_phi)
    # Gauss: the flux of alpha through the circle is 2 M
    edge_phi = phi
    ax, ay = dpie.deflection(radius * np.cos(edge_phi), radius * np.sin(edge_phi), 0.0, 0.0, b0, rc, rt, q, angle)
    flux = np.sum(ax * np.cos(edge_phi) + ay * np.sin(edge_phi)) * radius * 2 * np.pi / n_phi
    assert flux == pytest.approx(2 * mass, rel=2e-6)


@pytest.mark.parametrize("q", [1.0, 0.7, 0.25])
def test_kappa_contours_have_axis_ratio_q_and_match_design_formula(q):
    """kappa is the formula of docs/conventions.md#dpie with rho^2 = x'^2/(1+eps)^2 + y'^2/(1-eps)^2,
    eps = (1-q)/(1+q)."""
    b0, rc, rt, angle = 1.1, 0.3, 5.0, 20.0
    x, y = _points(n=50)
    phi = np.deg2rad(angle)
    xp = np.cos(phi) * x + np.sin(phi) * y
    yp = -np.sin(phi) * x + np.cos(phi) * y
    eps = (1 - q) / (1 + q)
    rho2 = xp**2 / (1 + eps) ** 2 + yp**2 / (1 - eps) ** 2
    expected = 0.5 * b0 * rt / (rt - rc) * (1 / np.sqrt(rc**2 + rho2) - 1 / np.sqrt(rt**2 + rho2))
    np.testing.assert_allclose(dpie.convergence(x, y, 0.0, 0.0, b0, rc, rt, q, angle), expected, rtol=1e-12)
    # along the major axis at distance a and the minor axis at distance q a, kappa is equal
    a = 1.7
    major = dpie.convergence(a * np.cos(phi), a * np.sin(phi), 0.0, 0.0, b0, rc, rt, q, angle)
    minor = dpie.convergence(-q * a * np.sin(phi), q * a * np.cos(phi), 0.0, 0.0, b0, rc, rt, q, angle)
    assert major == pytest.approx(minor, rel=1e-13)


def test_dpie_is_difference_of_two_cored_sies():
    """dPIE = SIE(theta_e = b0 F f, r_core = f rc) - SIE(theta_e, r_core = f rt), f = 2 sqrt(q)/(1+q)."""
    b0, rc, rt, q, angle = 1.9, 0.25, 9.0, 0.45, -63.0
    f = 2 * np.sqrt(q) / (1 + q)
    theta = b0 * rt / (rt - rc) * f
    x, y = _points(n=200, rmax=200.0)
    inner = dict(center_x=0.5, center_y=-1.0, theta_e=theta, r_core=f * rc, q=q, angle=angle)
    outer = dict(inner, r_core=f * rt)
    params = dict(center_x=0.5, center_y=-1.0, b0=b0, r_core=rc, r_cut=rt, q=q, angle=angle)
    for func in ("deflection", "hessian", "convergence", "potential"):
        got = np.atleast_2d(getattr(dpie, func)(x, y, **params))
        want = np.atleast_2d(getattr(sie, func)(x, y, **inner)) - np.atleast_2d(getattr(sie, func)(x, y, **outer))
        scale = np.max(np.abs(want), axis=0)
        np.testing.assert_allclose(got / scale, want / scale, rtol=0, atol=1e-12)


@pytest.mark.parametrize("func", ["deflection", "hessian", "convergence", "potential"])
def test_continuous_limits_round_and_coreless(func):
    x, y = _points(n=100, rmin=0.01, rmax=20.0)
    base = dict(center_x=0.1, center_y=0.2, b0=1.3, r_core=0.2, r_cut=4.0, angle=40.0)
    exact = np.atleast_2d(getattr(dpie, func)(x, y, **base, q=1.0))
    near = np.atleast_2d(getattr(dpie, func)(x, y, **base, q=1.0 - 1e-9))
    assert np.all(np.isfinite(exact))
    # a change of 1e-9 in q moves every value by O(1e-9) of the typical magnitude, no more
    np.testing.assert_allclose(near, exact, rtol=0, atol=1e-8 * np.max(np.abs(exact)))
    coreless = dict(base, r_core=0.0)
    tiny = dict(base, r_core=1e-12)
    for q in (1.0, 0.6):
        zero = np.atleast_2d(getattr(dpie, func)(x, y, **coreless, q=q))
        small = np.atleast_2d(getattr(dpie, func)(x, y, **tiny, q=q))
        assert np.all(np.isfinite(zero))
        np.testing.assert_allclose(small, zero, rtol=0, atol=1e-9 * np.max(np.abs(zero)))


def test_centre_of_singular_profile_is_finite():
    for q in (1.0, 0.5):
        params = dict(center_x=0.0, center_y=0.0, b0=1.0, r_core=0.0, r_cut=5.0, q=q, angle=0.0)
        assert dpie.deflection(0.0, 0.0, **params) == (0.0, 0.0)
        assert dpie.potential(0.0, 0.0, **params) == 0.0
        assert np.all(np.isfinite(dpie.hessian(0.0, 0.0, **params)))
        assert np.isfinite(dpie.convergence(0.0, 0.0, **params))


@pytest.mark.parametrize(
    "bad",
    [dict(q=0.0), dict(q=1.2), dict(q=np.nan), dict(r_core=-0.1), dict(r_cut=0.1), dict(b0=-1.0), dict(r_cut=np.inf)],
)
def test_bad_parameters_raise(bad):
    params = dict(center_x=0.0, center_y=0.0, b0=1.0, r_core=0.2, r_cut=5.0, q=0.8, angle=0.0)
    params.update(bad)
    with pytest.raises(ValueError):
        dpie.deflection(1.0, 1.0, **params)


def test_matches_lenstronomy_nie_difference():
    """lenstronomy peer (clusterlens.peers): dPIE = NIE(theta, s = f rc) - NIE(theta, s = f rt),
    theta = b0 F f, f = 2 sqrt(q)/(1+q)."""
    pytest.importorskip("lenstronomy")
    x, y = _points(n=300, rmax=60.0)
    for b0, rc, rt, q, angle in [(1.3, 0.2, 4.0, 0.6, 33.0), (0.4, 0.05, 1.5, 0.3, -100.0), (2.0, 0.0, 30.0, 0.9, 5.0)]:
        params = dict(center_x=[0.7], center_y=[-0.4], b0=[b0], r_core=[rc], r_cut=[rt], q=[q], angle=[angle])
        model, kwargs = lenstronomy_model(Lens([MassComponents("dPIE", params)]))
        assert model.lens_model_list == ["NIE", "NIE"]
        ax_ref, ay_ref = model.alpha(x, y, kwargs)
        ax, ay = dpie.deflection(x, y, 0.7, -0.4, b0, rc, rt, q, angle)
        norm = np.hypot(ax_ref, ay_ref)
        np.testing.assert_allclose(ax / norm, ax_ref / norm, rtol=0, atol=1e-8)
        np.testing.assert_allclose(ay / norm, ay_ref / norm, rtol=0, atol=1e-8)
        # (lenstronomy's NIE Hessian and kappa are finite differences, so only the deflection is compared)


HAS_NUMBA = MASS_PROFILES["dPIE"].compiled is not None


def _members(m=60, seed=4):
    """A tier with round (q = 1), coreless, very flat and ordinary members."""
    rng = np.random.default_rng(seed)
    q = rng.uniform(0.2, 1.0, m)
    q[:4] = 1.0
    q[4] = 0.05
    r_core = rng.uniform(0.0, 0.5, m)
    r_core[2:8] = 0.0
    return MassComponents("dPIE", dict(center_x=rng.uniform(-20, 20, m), center_y=rng.uniform(-20, 20, m),
                                       b0=rng.uniform(0.1, 3.0, m), r_core=r_core, r_cut=rng.uniform(1.0, 60.0, m),
                                       q=q, angle=rng.uniform(-180, 180, m)), "tier")


@pytest.mark.skipif(not HAS_NUMBA, reason="no numba")
def test_compiled_potential_equals_numpy_reference():
    """dpie_numba.add_potential (through Lens) equals the sum of dpie.potential to 1e-12 relative: near and far,
    at member centres (the coreless ones included) and at q = 1."""
    members = _members()
    rng = np.random.default_rng(5)
    x = np.concatenate([rng.uniform(-30, 30, 2000), members.params["center_x"], [1e4, -3e5, 2e7]])
    y = np.concatenate([rng.uniform(-30, 30, 2000), members.params["center_y"], [5e3, 10.0, -1e7]])
    fast = Lens([members], backend="numba").potential(x, y)
    reference = sum(dpie.potential(x, y, **{k: v[i] for k, v in members.params.items()}) for i in range(members.size))
    assert np.all(reference > 0.0)
    np.testing.assert_allclose(fast, reference, rtol=1e-12, atol=0)
    alone = {k: v[2:3] for k, v in members.params.items()}  # a coreless round member at its own centre
    assert Lens([MassComponents("dPIE", alone)], backend="numba").potential(alone["center_x"], alone["center_y"]) == 0.0
    compiled = MASS_PROFILES["dPIE"].compiled
    with pytest.raises(ValueError, match="both"):
        compiled.add_potential(x, y, compiled.member_table(**members.params), np.zeros_like(x), (x, y), None)


@pytest.mark.skipif(not HAS_NUMBA, reason="no numba")
def test_compiled_potential_gradient_is_the_deflection():
    """alpha = grad psi for the compiled kernels (fourth-order central differences, h = 1e-4 arcsec)."""
    lens = Lens([_members(m=20, seed=6)], backend="numba")
    x, y = _points(n=200, rmin=0.5, rmax=30.0)
    h = 1e-4
    ax, ay = lens.deflection(x, y)
    for alpha, (dx, dy) in ((ax, (h, 0.0)), (ay, (0.0, h))):
        f = [lens.potential(x + k * dx, y + k * dy) for k in (-2, -1, 1, 2)]
        gradient = (f[0] - 8.0 * f[1] + 8.0 * f[2] - f[3]) / (12.0 * h)
        np.testing.assert_allclose(gradient, alpha, rtol=0, atol=1e-7 * np.max(np.abs(alpha)))


@pytest.mark.parametrize("backend", ["numpy", pytest.param("numba", marks=pytest.mark.skipif(not HAS_NUMBA,
                                                                                            reason="no numba"))])
def test_one_pass_maps_equal_separate_calls(backend):
    """Lens.deflection_hessian_and_potential: psi equals Lens.potential bit for bit, the rest equal
    deflection_and_hessian (the compiled pass takes vector_math's arctan, arctanh: ~1e-15 relative)."""
    halo = MassComponents("NFW", dict(center_x=[1.0], center_y=[-2.0], kappa_s=[0.25], r_s=[40.0]))
    lens = Lens([_members(m=30, seed=7), halo], backend=backend)
    x, y = _points(n=500, rmin=0.01, rmax=40.0)
    *both, psi = lens.deflection_hessian_and_potential(x, y, scale=0.7)
    np.testing.assert_array_equal(psi, lens.potential(x, y, scale=0.7))
    for got, want in zip(both, lens.deflection_and_hessian(x, y, scale=0.7), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-14 * np.max(np.abs(want)))
