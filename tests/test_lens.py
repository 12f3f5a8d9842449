"""Lens: group sums, chunking, scale, backends and derived quantities."""

from dataclasses import replace

import numpy as np
import pytest

from clusterlens.lens import Lens, MassComponents
from clusterlens.peers import lenstronomy_model
from clusterlens.profiles import dpie, nfw
from clusterlens.registry import MASS_PROFILES

HAS_NUMBA = MASS_PROFILES["dPIE"].compiled is not None


def _tier(m=40, seed=1):
    rng = np.random.default_rng(seed)
    q = rng.uniform(0.3, 1.0, m)
    q[:3] = 1.0  # round members take the q = 1 branch
    r_core = rng.uniform(0.0, 0.3, m)
    r_core[3:5] = 0.0  # singular cores
    return MassComponents(
        "dPIE",
        dict(
            center_x=rng.uniform(-30, 30, m),
            center_y=rng.uniform(-30, 30, m),
            b0=rng.uniform(0.1, 2.0, m),
            r_core=r_core,
            r_cut=rng.uniform(1.0, 40.0, m),
            q=q,
            angle=rng.uniform(-180, 180, m),
        ),
        "tier:test",
    )


def _groups():
    return [
        MassComponents("NFW", dict(center_x=[1.0], center_y=[-2.0], kappa_s=[0.25], r_s=[40.0]), "host_halo"),
        MassComponents(
            "SIE",
            dict(center_x=[0.5, -3.0], center_y=[0.2, 4.0], theta_e=[2.0, 0.7], r_core=[0.1, 0.0], q=[0.7, 1.0],
                 angle=[20.0, 0.0]),
            "main_lens_mass",
        ),
        MassComponents("ExternalShear", dict(gamma=[0.05], angle=[33.0]), "main_lens_mass"),
        _tier(),
    ]


def _points(n=500, seed=2):
    rng = np.random.default_rng(seed)
    return rng.uniform(-40, 40, n), rng.uniform(-40, 40, n)


QUANTITIES = ("deflection", "hessian", "convergence", "potential")


BACKENDS = ["numpy", pytest.param("numba", marks=pytest.mark.skipif(not HAS_NUMBA, reason="no numba"))]


@pytest.mark.parametrize("backend", BACKENDS)
def test_tier_equals_sum_of_single_members(backend):
    tier = _tier(m=12)
    x, y = _points(200)
    whole = Lens([tier], backend=backend)
    singles = [
        Lens([MassComponents("dPIE", {k: v[i : i + 1] for k, v in tier.params.items()})], backend=backend)
        for i in range(tier.size)
    ]
    for name in QUANTITIES:
        total = np.atleast_2d(getattr(whole, name)(x, y))
        summed = sum(np.atleast_2d(getattr(s, name)(x, y)) for s in singles)
        np.testing.assert_allclose(total, summed, rtol=1e-12, atol=1e-13)
    # and one member equals the profile function itself
    params = {k: v[0] for k, v in tier.params.items()}
    np.testing.assert_allclose(singles[0].deflection(x, y), dpie.deflection(x, y, **params), rtol=1e-13, atol=1e-15)


def test_chunking_does_not_change_results():
    x, y = _points(301)
    reference = Lens(_groups(), backend="numpy")
    tiny = Lens(_groups(), max_pairs_per_chunk=7, backend="numpy")
    for name in QUANTITIES:
        np.testing.assert_array_equal(
            np.atleast_2d(getattr(tiny, name)(x, y)), np.atleast_2d(getattr(reference, name)(x, y))
        )


def test_chunks_respect_the_pair_bound(monkeypatch):
    """The numpy path never hands a profile more than max_pairs_per_chunk member-point pairs."""
    seen = []
    original = dpie.deflection

    def spy(x, y, **params):
        result = original(x, y, **params)
        seen.append(result[0].size)
        return result

    profile = MASS_PROFILES["dPIE"]
    monkeypatch.setitem(MASS_PROFILES, "dPIE", replace(profile, functions=replace(profile.functions, deflection=spy)))
    x, y = _points(1000)
    Lens([_tier(m=40)], max_pairs_per_chunk=4000, backend="numpy").deflection(x, y)
    assert max(seen) <= 4000 and sum(seen) == 40 * 1000


def test_scale_multiplies_every_quantity_linearly():
    x, y = _points(100)
    model = Lens(_groups())
    for name in QUANTITIES:
        one = np.atleast_2d(getattr(model, name)(x, y))
        scaled = np.atleast_2d(getattr(model, name)(x, y, scale=0.63))
        np.testing.assert_allclose(scaled, 0.63 * one, rtol=1e-15, atol=0)


def test_shapes_are_preserved():
    model = Lens(_groups())
    x, y = np.meshgrid(np.linspace(-5, 5, 7), np.linspace(-4, 4, 3))
    assert all(a.shape == (3, 7) for a in model.deflection(x, y))
    assert all(a.shape == (3, 7) for a in model.deflection_and_hessian(x, y))
    assert model.magnification(x, y).shape == (3, 7)
    assert model.potential(2.0, 1.0).shape == ()


def test_derived_quantities_from_the_hessian():
    x, y = _points(200)
    model = Lens(_groups())
    scale = 0.8
    hxx, hxy, hyy = model.hessian(x, y, scale)
    g1, g2 = model.shear(x, y, scale)
    np.testing.assert_allclose(g1, 0.5 * (hxx - hyy), rtol=1e-15)
    np.testing.assert_allclose(g2, hxy, rtol=1e-15)
    np.testing.assert_allclose(model.convergence(x, y, scale), 0.5 * (hxx + hyy), rtol=1e-12, atol=1e-14)
    mu = model.magnification(x, y, scale)
    np.testing.assert_allclose(mu, 1 / ((1 - hxx) * (1 - hyy) - hxy**2), rtol=1e-15)
    both = model.deflection_and_hessian(x, y, scale)
    for got, want in zip(both, model.deflection(x, y, scale) + (hxx, hxy, hyy), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-15, atol=0)


def test_magnification_by_finite_differences_of_the_lens_mapping():
    """mu = 1/det(d beta / d theta), beta = theta - scale alpha."""
    model = Lens(_groups())
    x, y = _points(50, seed=4)
    h, scale = 1e-5, 0.7

    def beta(a, b):
        ax, ay = model.deflection(a, b, scale)
        return a - ax, b - ay

    bxp, byp = beta(x + h, y)
    bxm, bym = beta(x - h, y)
    cxp, cyp = beta(x, y + h)
    cxm, cym = beta(x, y - h)
    det = ((bxp - bxm) * (cyp - cym) - (cxp - cxm) * (byp - bym)) / (4 * h * h)
    np.testing.assert_allclose(model.magnification(x, y, scale), 1 / det, rtol=1e-5)


@pytest.mark.skipif(not HAS_NUMBA, reason="no numba")
def test_numba_kernel_agrees_with_numpy_reference():
    rng = np.random.default_rng(8)
    tier = _tier(m=150, seed=9)
    # points include member centres exactly and far-away points
    x = np.concatenate([rng.uniform(-40, 40, 3000), tier.params["center_x"][:10], [1e4, -3e3]])
    y = np.concatenate([rng.uniform(-40, 40, 3000), tier.params["center_y"][:10], [2e4, 50.0]])
    fast = Lens([tier], backend="numba").deflection_and_hessian(x, y)
    slow = Lens([tier], backend="numpy").deflection_and_hessian(x, y)
    for got, want in zip(fast, slow, strict=True):
        assert np.all(np.isfinite(got))
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12 * np.max(np.abs(want)))
    # deflection-only and Hessian-only calls use the same kernel branches
    lens_fast = Lens([tier], backend="numba")
    np.testing.assert_array_equal(np.array(lens_fast.deflection(x, y)), np.array(fast[:2]))
    np.testing.assert_array_equal(np.array(lens_fast.hessian(x, y)), np.array(fast[2:]))


def test_lens_matches_lenstronomy_on_a_cluster_like_model():
    """Whole-lens peer check: NFW + SIE + shear + dPIE tier (NIE differences) against lenstronomy."""
    pytest.importorskip("lenstronomy")
    groups = _groups()
    model, kwargs = lenstronomy_model(Lens(groups))
    assert model.lens_model_list == ["NFW", "NIE", "NIE", "SHEAR"] + ["NIE", "NIE"] * groups[3].size
    x, y = _points(300, seed=5)
    ax_ref, ay_ref = model.alpha(x, y, kwargs)
    ax, ay = Lens(groups).deflection(x, y)
    norm = np.hypot(ax_ref, ay_ref)
    # lenstronomy evaluates q = 1 members at q = 1 - 1e-8, a relative change of order 1e-8
    np.testing.assert_allclose(ax / norm, ax_ref / norm, rtol=0, atol=5e-8)
    np.testing.assert_allclose(ay / norm, ay_ref / norm, rtol=0, atol=5e-8)


@pytest.mark.parametrize(
    "profile,params,match",
    [
        ("Jaffe", dict(center_x=[0.0]), "unknown mass profile"),
        ("NFW", dict(center_x=[0.0], center_y=[0.0], kappa_s=[0.1]), "missing"),
        ("NFW", dict(center_x=[0.0, 1.0], center_y=[0.0], kappa_s=[0.1], r_s=[1.0]), "one length"),
        ("NFW", dict(center_x=[np.nan], center_y=[0.0], kappa_s=[0.1], r_s=[1.0]), "non-finite"),
        (
            "dPIE",
            dict(center_x=[0.0], center_y=[0.0], b0=[1.0], r_core=[2.0], r_cut=[1.0], q=[1.0], angle=[0.0]),
            "r_cut",
        ),
    ],
)
def test_bad_groups_raise(profile, params, match):
    with pytest.raises(ValueError, match=match):
        MassComponents(profile, params, "bad")


def test_bad_lens_arguments_raise():
    with pytest.raises(ValueError, match="backend"):
        Lens(_groups(), backend="gpu")
    with pytest.raises(ValueError, match="MassComponents"):
        Lens([dict(profile="NFW")])
    with pytest.raises(ValueError, match="max_pairs"):
        Lens(_groups(), max_pairs_per_chunk=0)


def test_nfw_group_matches_profile_module():
    x, y = _points(100)
    group = _groups()[0]
    params = {k: v[0] for k, v in group.params.items()}
    np.testing.assert_array_equal(Lens([group]).convergence(x, y), nfw.convergence(x, y, **params))


def test_empty_group_contributes_nothing():
    empty = MassComponents("dPIE", {name: np.array([]) for name in dpie.PARAMETERS}, "tier:empty")
    x, y = _points(20)
    for backend in ("numpy",) + (("numba",) if HAS_NUMBA else ()):
        model = Lens([empty], backend=backend)
        assert np.all(np.array(model.deflection_and_hessian(x, y)) == 0.0)
        assert np.all(model.potential(x, y) == 0.0)


def test_threads_split_points_without_changing_a_bit():
    from clusterlens.lens import THREAD_MIN_PAIRS, Lens, MassComponents

    rng = np.random.default_rng(11)
    m = 400
    members = MassComponents("dPIE", {"center_x": rng.uniform(-50, 50, m), "center_y": rng.uniform(-50, 50, m),
                                      "b0": rng.uniform(0.1, 1.0, m), "r_core": rng.uniform(0.0, 0.2, m),
                                      "r_cut": rng.uniform(5, 30, m), "q": rng.uniform(0.4, 1.0, m),
                                      "angle": rng.uniform(0, 180, m)}, "tier")
    halo = MassComponents("NFW", {"center_x": [0.0], "center_y": [0.0], "kappa_s": [0.3], "r_s": [40.0]}, "halo")
    x, y = rng.uniform(-60, 60, (2, 3001))
    assert x.size * (m + 1) >= THREAD_MIN_PAIRS
    for backend in ("numpy", "numba"):
        one = Lens([members, halo], backend=backend, threads=1)
        three = Lens([members, halo], backend=backend, threads=3)
        for a, b in zip(one.deflection_and_hessian(x, y), three.deflection_and_hessian(x, y), strict=True):
            assert np.array_equal(a, b)
        assert np.array_equal(one.potential(x, y), three.potential(x, y))


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_memory_stays_bounded_for_a_large_tier(backend):
    """2000 members x 10^4 points (2e7 pairs): peak memory stays at the chunk/buffer size, far below the
    ~160 MB that one float64 temporary of every pair would take (so a 1000x1000 grid needs ~50 MB)."""
    import tracemalloc

    from clusterlens.lens import Lens, MassComponents

    rng = np.random.default_rng(2)
    m = 2000
    tier = MassComponents("dPIE", {"center_x": rng.uniform(-80, 80, m), "center_y": rng.uniform(-80, 80, m),
                                   "b0": rng.uniform(0.05, 0.5, m), "r_core": rng.uniform(0.0, 0.1, m),
                                   "r_cut": rng.uniform(5, 20, m), "q": rng.uniform(0.5, 1.0, m),
                                   "angle": rng.uniform(0, 180, m)}, "tier")
    x, y = np.meshgrid(np.linspace(-50, 50, 100), np.linspace(-50, 50, 100))
    lens = Lens([tier], backend=backend, threads=1)
    lens.deflection(x[:2, :2], y[:2, :2])  # compile / warm up outside the measurement
    tracemalloc.start()
    lens.deflection_and_hessian(x, y)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 20e6, f"peak {peak / 1e6:.1f} MB"


@pytest.mark.parametrize("name", ["nfw", "shear"])
def test_one_pass_deflection_and_hessian_equals_the_separate_functions(name):
    from clusterlens import profiles

    module = getattr(profiles, name)
    rng = np.random.default_rng(4)
    x, y = rng.uniform(-30, 30, (2, 200))
    params = ({"center_x": 1.0, "center_y": -2.0, "kappa_s": 0.2, "r_s": 15.0} if name == "nfw"
              else {"gamma": 0.07, "angle": 33.0})
    both = module.deflection_and_hessian(x, y, **params)
    for got, want in zip(both, (*module.deflection(x, y, **params), *module.hessian(x, y, **params)), strict=True):
        assert np.array_equal(got, want)


@pytest.mark.skipif(not HAS_NUMBA, reason="no numba")
def test_a_handful_of_points_equals_the_batch_kernel_and_the_buffered_path():
    """Up to FEW_POINTS points run the members-innermost kernel: the numbers of the batch kernel (add_batch)
    bit for bit, and those of the buffered path (numpy's arctan and log1p) to rounding, round members too."""
    from clusterlens.profiles import dpie_numba

    tier = _tier(m=120, seed=4)
    table = dpie_numba.member_table(**tier.params)
    rng = np.random.default_rng(6)
    for n in (1, 3, dpie_numba.FEW_POINTS):
        x, y = rng.uniform(-40, 40, n), rng.uniform(-40, 40, n)
        few = [np.zeros(n) for _ in range(5)]
        dpie_numba.add(x, y, table, few[:2], few[2:])
        batch = np.zeros((1, 5, n))
        dpie_numba.add_batch(x, y, table.constants[None].copy(), batch)
        np.testing.assert_array_equal(np.array(few), batch[0])
        # the buffered path: the same points among more than FEW_POINTS
        many_x, many_y = np.r_[x, rng.uniform(-40, 40, 20)], np.r_[y, rng.uniform(-40, 40, 20)]
        buffered = [np.zeros(many_x.size) for _ in range(5)]
        dpie_numba.add(many_x, many_y, table, buffered[:2], buffered[2:])
        for got, want in zip(few, buffered, strict=True):
            np.testing.assert_allclose(got, want[:n], rtol=1e-13, atol=1e-14 * np.max(np.abs(want)))
        deflection_only = [np.zeros(n), np.zeros(n)]
        dpie_numba.add(x, y, table, deflection_only)
        np.testing.assert_array_equal(np.array(deflection_only), np.array(few[:2]))


def test_joined_groups_give_one_group_per_profile_and_the_same_lens():
    """joined_groups: one group per profile, members in the given order; its Lens equals the groups' to rounding."""
    from clusterlens.lens import joined_groups

    groups = _groups() + [_tier(m=7, seed=3), MassComponents("NFW", dict(center_x=[-5.0], center_y=[3.0],
                                                                         kappa_s=[0.1], r_s=[20.0]), "extra")]
    joined = joined_groups(groups)
    assert [g.profile for g in joined] == ["NFW", "SIE", "ExternalShear", "dPIE"]
    assert [g.size for g in joined] == [2, 2, 1, 47]
    assert joined[0].label == "host_halo+extra"
    np.testing.assert_array_equal(joined[3].params["b0"], np.r_[groups[3].params["b0"], groups[4].params["b0"]])
    x, y = _points(300)
    for backend in ("numpy",) + (("numba",) if HAS_NUMBA else ()):
        want = Lens(groups, backend=backend).deflection_and_hessian(x, y)
        got = Lens(joined, backend=backend).deflection_and_hessian(x, y)
        for g, w in zip(got, want, strict=True):
            np.testing.assert_allclose(g, w, rtol=1e-13, atol=1e-14 * np.max(np.abs(w)))
