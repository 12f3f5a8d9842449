"""clusterlens.multiplane: the recursive lens equation, its chain-rule Jacobian and arrival time, against
lenstronomy's MultiPlane (test-only peer) and against identities."""
import numpy as np
import pytest
from astropy.cosmology import FlatLambdaCDM

from clusterlens.cosmology import distance_ratio, time_delay_distance
from clusterlens.lens import Lens, MassComponents
from clusterlens.multiplane import TracedLens, merge_planes, plane_factors, ray_trace
from clusterlens.peers import to_lenstronomy
from clusterlens.units import DAYS_PER_MPC_ARCSEC2

COSMO = FlatLambdaCDM(H0=70.0, Om0=0.3)
PROFILES = ("dPIE", "SIE", "NFW", "PseudoEllipticalNFW", "ExternalShear")


def _group(profile: str, rng: np.random.Generator, n: int) -> MassComponents:
    """n random components of ``profile`` (q < 1: lenstronomy moves q = 1 by 1e-8)."""
    centre = {"center_x": rng.uniform(-15, 15, n), "center_y": rng.uniform(-15, 15, n)}
    shape = {"q": rng.uniform(0.5, 0.95, n), "angle": rng.uniform(-90, 90, n)}
    if profile == "dPIE":
        params = {**centre, **shape, "b0": rng.uniform(0.5, 3.0, n), "r_core": rng.uniform(0.05, 1.0, n),
                  "r_cut": rng.uniform(5.0, 40.0, n)}
    elif profile == "SIE":
        params = {**centre, **shape, "theta_e": rng.uniform(0.5, 4.0, n), "r_core": rng.uniform(0.05, 1.0, n)}
    elif profile == "NFW":
        params = {**centre, "kappa_s": rng.uniform(0.05, 0.3, n), "r_s": rng.uniform(10.0, 60.0, n)}
    elif profile == "PseudoEllipticalNFW":
        params = {**centre, "kappa_s": rng.uniform(0.05, 0.3, n), "r_s": rng.uniform(10.0, 60.0, n),
                  "epsilon": rng.uniform(0.05, 0.3, n), "angle": rng.uniform(-90, 90, n)}
    else:
        params = {"gamma": rng.uniform(0.01, 0.1, 1), "angle": rng.uniform(-90, 90, 1)}
    return MassComponents(profile, params, profile)


def _configuration(seed: int) -> tuple[list[float], list[Lens], float]:
    """2 or 3 planes, every profile on some plane, random redshifts."""
    rng = np.random.default_rng(seed)
    n_planes = 2 + seed % 2
    redshifts = sorted(rng.uniform(0.2, 1.5, n_planes).tolist())
    groups: list[list[MassComponents]] = [[] for _ in range(n_planes)]
    for k, profile in enumerate(PROFILES):
        groups[(k + seed) % n_planes].append(_group(profile, rng, 1 if profile == "ExternalShear" else 2))
    return redshifts, [Lens(g) for g in groups], float(rng.uniform(2.0, 4.0))


def _peer(redshifts, planes, z_source):
    """lenstronomy's MultiPlane twin: its amplitudes are reduced for z_source_convention = z_source."""
    from lenstronomy.LensModel.lens_model import LensModel

    names, kwargs, zs = [], [], []
    for z, lens in zip(redshifts, planes, strict=True):
        n, k = to_lenstronomy(lens, scale=distance_ratio(COSMO, z, z_source))
        names += n
        kwargs += k
        zs += [z] * len(n)
    model = LensModel(names, z_source=z_source, lens_redshift_list=zs, multi_plane=True, cosmo=COSMO,
                      z_source_convention=z_source)
    return model, kwargs


def _fd_jacobian(trace, x, y, h=3e-3):
    """d beta / d theta by the 5-point central difference (error O(h^4))."""
    def derivative(dx, dy):
        def at(t):
            return np.array(trace(x + t * dx, y + t * dy))
        return (8 * (at(h) - at(-h)) - (at(2 * h) - at(-2 * h))) / (12 * h)
    (a11, a21), (a12, a22) = derivative(1.0, 0.0), derivative(0.0, 1.0)
    return a11, a12, a21, a22


@pytest.mark.parametrize("seed", range(3))
def test_ray_traced_positions_magnifications_and_delays_match_lenstronomy(seed):
    pytest.importorskip("lenstronomy")
    redshifts, planes, z_source = _configuration(seed)
    factors = plane_factors(COSMO, redshifts, z_source)
    model, kwargs = _peer(redshifts, planes, z_source)
    rng = np.random.default_rng(100 + seed)
    x, y = rng.uniform(-25, 25, (2, 60))
    traced = ray_trace(planes, factors, x, y, jacobian=True, arrival_time=True)
    bx, by = model.ray_shooting(x, y, kwargs)
    scale = np.hypot(bx, by) + np.hypot(x - bx, y - by)
    np.testing.assert_array_less(np.hypot(traced.beta_x - bx, traced.beta_y - by) / scale, 1e-8)
    # lenstronomy's Hessian is a one-sided difference (1e-8 step): differentiate its ray shooting instead
    a11, a12, a21, a22 = _fd_jacobian(lambda u, v: model.ray_shooting(u, v, kwargs), x, y)
    assert traced.jacobian is not None
    c11, c12, c21, c22 = traced.jacobian
    det, det_peer = c11 * c22 - c12 * c21, a11 * a22 - a12 * a21
    np.testing.assert_array_less(np.abs(1 / det - 1 / det_peer) * np.abs(det_peer), 1e-8)
    # the profiles' potentials have other zero points in lenstronomy: compare differences between rays
    peer_time = model.arrival_time(x, y, kwargs)
    assert traced.arrival_time is not None
    delay, peer_delay = traced.arrival_time - traced.arrival_time[0], peer_time - peer_time[0]
    np.testing.assert_array_less(np.abs(delay - peer_delay)[1:], 1e-6 * np.abs(peer_delay)[1:])


def test_chain_rule_jacobian_equals_finite_differences_of_the_traced_positions():
    redshifts, planes, z_source = _configuration(5)
    factors = plane_factors(COSMO, redshifts, z_source)
    x, y = np.random.default_rng(9).uniform(-20, 20, (2, 50))
    exact = ray_trace(planes, factors, x, y, jacobian=True).jacobian
    assert exact is not None

    def trace(u, v):
        t = ray_trace(planes, factors, u, v)
        return t.beta_x, t.beta_y

    for a, b in zip(exact, _fd_jacobian(trace, x, y), strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-9)
    assert np.max(np.abs(exact[1] - exact[2])) > 1e-4   # the multi-plane Jacobian is not symmetric


def test_one_plane_is_the_single_plane_lens():
    _, planes, _ = _configuration(0)
    lens, z_lens, z_source = planes[0], 0.4, 2.0
    factors = plane_factors(COSMO, [z_lens], z_source)
    x, y = np.random.default_rng(1).uniform(-20, 20, (2, 40))
    t = ray_trace([lens], factors, x, y, jacobian=True, arrival_time=True)
    s = distance_ratio(COSMO, z_lens, z_source)
    ax, ay = lens.deflection(x, y, scale=s)
    np.testing.assert_allclose(t.beta_x, x - ax, rtol=1e-14, atol=1e-13)
    np.testing.assert_allclose(t.beta_y, y - ay, rtol=1e-14, atol=1e-13)
    np.testing.assert_allclose(1 / (t.jacobian[0] * t.jacobian[3] - t.jacobian[1] * t.jacobian[2]),
                               lens.magnification(x, y, scale=s), rtol=1e-12)
    fermat = 0.5 * ((x - t.beta_x) ** 2 + (y - t.beta_y) ** 2) - lens.potential(x, y, scale=s)
    np.testing.assert_allclose(t.arrival_time, time_delay_distance(COSMO, z_lens, z_source) * DAYS_PER_MPC_ARCSEC2
                               * fermat, rtol=1e-12)


def test_a_massless_second_plane_changes_nothing():
    _, planes, _ = _configuration(0)
    empty = Lens([MassComponents("SIE", {"center_x": [0.0], "center_y": [0.0], "theta_e": [0.0], "r_core": [0.1],
                                         "q": [0.8], "angle": [0.0]})])
    x, y = np.random.default_rng(2).uniform(-20, 20, (2, 40))
    one = ray_trace([planes[0]], plane_factors(COSMO, [0.3], 2.5), x, y, jacobian=True)
    two = ray_trace([planes[0], empty], plane_factors(COSMO, [0.3, 0.9], 2.5), x, y, jacobian=True)
    np.testing.assert_array_equal(two.beta_x, one.beta_x)
    np.testing.assert_array_equal(two.beta_y, one.beta_y)
    for a, b in zip(two.jacobian, one.jacobian, strict=True):
        np.testing.assert_array_equal(a, b)


def test_planes_at_one_redshift_add_up_to_the_merged_plane():
    _, (first, second, *_), _ = _configuration(0)
    z_source = 2.0
    x, y = np.random.default_rng(3).uniform(-20, 20, (2, 40))
    merged = ray_trace([Lens(first.groups + second.groups)], plane_factors(COSMO, [0.5], z_source), x, y, jacobian=True)
    # nearly the same redshift: the separate planes tend to the merged one as dz -> 0
    near = ray_trace([first, second], plane_factors(COSMO, [0.5, 0.5 + 1e-7], z_source), x, y, jacobian=True)
    np.testing.assert_allclose(near.beta_x, merged.beta_x, atol=1e-5)
    np.testing.assert_allclose(near.beta_y, merged.beta_y, atol=1e-5)
    (z, groups), = merge_planes([0.5, 0.5], [*first.groups[:1], *second.groups[:1]])
    assert z == 0.5 and groups == [first.groups[0], second.groups[0]]


def test_traced_lens_presents_the_effective_quantities():
    redshifts, planes, z_source = _configuration(1)
    traced = TracedLens(planes, plane_factors(COSMO, redshifts, z_source))
    x, y = np.random.default_rng(4).uniform(-20, 20, (2, 30))
    t = traced.trace(x, y, jacobian=True, arrival_time=True)
    a11, a12, a21, a22 = t.jacobian
    np.testing.assert_array_equal(traced.magnification(x, y), 1 / (a11 * a22 - a12 * a21))
    np.testing.assert_array_equal(traced.convergence(x, y), 1 - (a11 + a22) / 2)
    psi = traced.potential(x, y)
    fermat = 0.5 * ((x - t.beta_x) ** 2 + (y - t.beta_y) ** 2) - psi
    np.testing.assert_allclose(traced.time_delay_distance * DAYS_PER_MPC_ARCSEC2 * fermat, t.arrival_time, rtol=1e-12)
    assert traced.time_delay_distance == pytest.approx(time_delay_distance(COSMO, redshifts[0], z_source), rel=1e-12)
    with pytest.raises(ValueError, match="scale must be 1"):
        traced.deflection(x, y, scale=0.5)


def test_bad_plane_redshifts_are_refused():
    with pytest.raises(ValueError, match="strictly increasing"):
        plane_factors(COSMO, [0.5, 0.3], 2.0)
    with pytest.raises(ValueError, match="must exceed every lens-plane redshift"):
        plane_factors(COSMO, [0.3, 1.2], 1.0)
