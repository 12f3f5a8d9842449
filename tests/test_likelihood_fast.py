"""The source-plane likelihood's batch path (clusterlens.fit.lens_batch): equal to the row-by-row reference
(``cache=False``) to 1e-12 relative, a batch equal to single calls bit for bit, invalid vectors -inf in both,
its kernels equal to the dPIE functions, and the tabulated tier (free r_cut_ref) equal to the exact tier."""
import numpy as np
import pytest

from clusterlens import ClusterModel
from clusterlens.columns import MAX_OFFSET, MIN_AXIS_RATIO
from clusterlens.errors import LikelihoodError
from clusterlens.fit import chebyshev_table, lens_batch
from clusterlens.fit.point_likelihood import make_likelihood
from clusterlens.lens_builder import member_arrays, tier_group_from_arrays
from clusterlens.profiles import dpie, dpie_numba
from lensmodels import DATASET, Z_LENS, small_cluster_records, with_exact_images, with_priors


def _prior(family, galaxy, parameter, lower, upper):
    return {"family": family, "galaxy": galaxy, "parameter": parameter, "prior": "uniform", "lower": lower,
            "upper": upper}


PRIORS = [_prior("host_halo", "halo", column, lower, upper) for column, lower, upper in
          (("x", -2.0, 2.0), ("y", -2.0, 2.0), ("q", 0.5, 1.0), ("angle", 0.0, 90.0), ("r_core", 1.0, 8.0),
           ("sigma", 800.0, 1100.0))]
PRIORS += [_prior("main_lens_mass", "BCG", column, lower, upper) for column, lower, upper in
           (("sigma", 250.0, 400.0), ("r_cut", 10.0, 60.0), ("r_core", 0.05, 0.5))]
PRIORS += [_prior("main_lens_mass", "G2", "sigma", 150.0, 300.0),
           _prior("scaling_relations", "members", "sigma_ref", 100.0, 250.0),
           _prior("scaling_relations", "members", "r_cut_ref", 3.0, 30.0),
           _prior("source_point", "src1", "redshift", 1.0, 3.0), _prior("source_point", "src3", "redshift", 3.0, 5.0)]


@pytest.fixture(scope="module")
def model() -> ClusterModel:
    """The shared small cluster with a dPIE host instead of the NFW and one round member (q = 1)."""
    records = small_cluster_records()
    records["host_halo"] = [{"galaxy": "halo", "profile": "dPIE", "x": 0.0, "y": 0.0, "redshift": Z_LENS, "q": 0.7,
                             "angle": 40.0, "sigma": 950.0, "r_core": 4.0, "r_cut": 1000.0}]
    records["scaling_galaxies"][0]["q"] = 1.0
    truth = ClusterModel.from_records(records, DATASET)
    return with_priors(with_exact_images(truth, min_abs_magnification=0.5), PRIORS)


@pytest.fixture(scope="module")
def likelihoods(model):
    return make_likelihood(model), make_likelihood(model, cache=False)


def _near_truth(like, model, n, fraction, seed):
    truth = like.parameters.values(model)
    draws = like.parameters.transform(np.random.default_rng(seed).uniform(size=(n, len(like.parameters))))
    return truth + fraction * (draws - truth)


def test_the_batch_path_covers_the_model(likelihoods):
    fast, full = likelihoods
    assert fast._batch_lens is not None and full._batch_lens is None
    assert len(fast._batch_lens.tiers) == 1  # the tier with free sigma_ref and r_cut_ref: cached core term
    assert fast._batch_lens.row_member.max() == 1  # the halo and the BCG recomputed, G2 rescaled
    assert make_likelihood(fast.model, "image")._batch_lens is not None  # test_likelihood_fast_image.py
    assert list(fast.lens.tables) == [0] and not full.lens.tables  # the tier tabulated in r_cut_ref


def test_the_tabulated_tier_equals_the_exact_tier_and_is_exact_outside_its_range(model, likelihoods):
    """The table of the tier's part at the images (lens_at_images.TableTier) against the members evaluated
    exactly at r_cut_ref drawn over the prior (3 - 30), to 1e-12 of each quantity's largest value; outside the
    prior the likelihood evaluates the tier exactly (the same value as the reference, to rounding)."""
    fast, full = likelihoods
    tier = fast.lens.tables[0]
    assert (tier.table.lower, tier.table.upper) == (3.0, 30.0)
    relation = model.tiers[0].relation
    r = np.exp(np.random.default_rng(3).uniform(np.log(3.0), np.log(30.0), 40))
    exact = np.array([fast.lens._evaluate([tier_group_from_arrays(relation.model_copy(update={"r_cut_ref": v}),
                                                                  member_arrays(model.tiers[0]), "")]) for v in r])
    scale = np.abs(exact).max(axis=(0, 2))[None, :, None]
    assert np.abs(tier.table(r) - exact).max() > 0  # a table, not the exact evaluation
    assert np.all(np.abs(tier.table(r) - exact) <= 1e-12 * scale)
    names = list(fast.parameters.names)
    values = np.repeat(fast.parameters.values(model)[None], 3, axis=0)
    values[:, names.index("scaling_relations.members.r_cut_ref")] = [2.5, 35.0, 300.0]  # outside the table
    np.testing.assert_allclose(fast.batch(values), [full(v) for v in values], rtol=1e-12, atol=0)
    assert np.array_equal(fast.batch(values), [fast(v) for v in values])


@pytest.mark.parametrize("fraction", [0.05, 0.2])
def test_batch_equals_single_calls_and_the_reference(model, likelihoods, fraction):
    """Lens quantities agree to ~1e-15; far from the truth an image near a critical curve (|mu| >> 100) amplifies
    that into chi2 (at half-way to prior draws, 4e-12): the points stay where the chi2 is well conditioned."""
    fast, full = likelihoods
    values = _near_truth(fast, model, 12, fraction, seed=7)
    values[0, 2] = 1.0  # a round halo: the kernels' q = 1 limit
    batch = fast.batch(values)
    single = np.array([fast(v) for v in values])
    reference = np.array([full(v) for v in values])
    assert np.array_equal(batch, single)
    assert np.all(np.isfinite(reference))
    np.testing.assert_allclose(batch, reference, rtol=1e-12, atol=0)


def test_invalid_vectors_give_minus_infinity_in_both(model, likelihoods):
    fast, full = likelihoods
    names = list(fast.parameters.names)
    values = np.repeat(fast.parameters.values(model)[None], 6, axis=0)
    values[1, names.index("host_halo.halo.q")] = 1.2  # outside the schema's (0, 1]
    values[2, names.index("main_lens_mass.BCG.r_core")] = 70.0  # r_core >= r_cut
    values[3, names.index("scaling_relations.members.r_cut_ref")] = 0.04  # below r_core_ref
    values[4, names.index("source_point.src1.redshift")] = 0.2  # in front of the lens
    values[5, names.index("main_lens_mass.G2.sigma")] = np.nan
    expected = np.array([np.isfinite(full(v)) for v in values])
    assert expected.tolist() == [True, False, False, False, False, False]
    batch = fast.batch(values)
    assert np.array_equal(np.isfinite(batch), expected)
    assert np.array_equal(batch, [fast(v) for v in values])


def test_a_failure_in_the_batch_path_names_the_values(model, likelihoods, monkeypatch):
    fast, _ = likelihoods

    def broken(*args, **kwargs):
        raise ValueError("a bug in the kernel")

    monkeypatch.setattr(chebyshev_table, "_series", broken)  # the tabulated tier (lens_at_images.TableTier)
    values = fast.parameters.values(model)
    with pytest.raises(LikelihoodError, match="a bug in the kernel") as caught:
        fast(values)
    assert "scaling_relations.members.r_cut_ref=" in str(caught.value)
    with pytest.raises(LikelihoodError, match="a bug in the kernel"):
        fast.batch(values[None])


def _members(rng, n):
    q = rng.uniform(0.3, 1.0, n)
    q[0] = 1.0
    r_core = rng.uniform(0.0, 0.5, n)
    return (rng.uniform(-20, 20, n), rng.uniform(-20, 20, n), rng.uniform(0.1, 3.0, n), r_core,
            r_core + rng.uniform(0.5, 40.0, n), q, rng.uniform(-90, 90, n))


def test_batch_kernels_equal_the_dpie_functions():
    rng = np.random.default_rng(11)
    x, y = rng.uniform(-30, 30, 60), rng.uniform(-30, 30, 60)
    sets = [_members(rng, 9) for _ in range(3)]
    out = np.zeros((3, 5, x.size))
    dpie_numba.add_batch(x, y, dpie_numba.batch_constants(*(np.stack([s[k] for s in sets]) for k in range(7))), out)
    for b, params in enumerate(sets):
        p = [a[None, :] for a in params]
        ax, ay = dpie.deflection(x[:, None], y[:, None], *p)
        hessian = dpie.hessian(x[:, None], y[:, None], *p)
        expected = np.stack([ax.sum(1), ay.sum(1), *(h.sum(1) for h in hessian)])
        np.testing.assert_allclose(out[b], expected, rtol=1e-13, atol=1e-13 * np.abs(expected).max())


def test_cut_kernel_with_the_cached_core_equals_the_dpie_functions():
    rng = np.random.default_rng(12)
    x, y = rng.uniform(-30, 30, 50), rng.uniform(-30, 30, 50)
    cx, cy, b0, r_core, r_cut, q, angle = _members(rng, 8)
    xp, yp, cos, sin = lens_batch._frames(x, y, cx, cy, angle)
    core = lens_batch._unit_core_term(xp, yp, cos, sin, r_core, q)
    cuts = np.stack([r_cut, 1.5 * r_cut])
    bq, _, s_cut = dpie.keeton_parameters(b0[None], r_core[None], cuts, q[None])
    out = np.zeros((2, 5, x.size))
    dpie_numba.add_cut_batch(x, y, dpie_numba.cut_constants(cx, cy, q, angle), core, np.ascontiguousarray(bq),
                             np.ascontiguousarray(s_cut), out)
    for b in range(2):
        p = [a[None, :] for a in (cx, cy, b0, r_core, cuts[b], q, angle)]
        ax, ay = dpie.deflection(x[:, None], y[:, None], *p)
        hessian = dpie.hessian(x[:, None], y[:, None], *p)
        expected = np.stack([ax.sum(1), ay.sum(1), *(h.sum(1) for h in hessian)])
        np.testing.assert_allclose(out[b], expected, rtol=1e-12, atol=1e-13 * np.abs(expected).max())


def test_column_bounds_read_the_row_schemas(model):
    dpie_row = type(model.rows("main_lens_mass")[0])
    assert lens_batch.column_bounds(dpie_row, "q") == (MIN_AXIS_RATIO, 1.0, True, True)
    assert lens_batch.column_bounds(dpie_row, "x") == (-MAX_OFFSET, MAX_OFFSET, True, True)
    assert lens_batch.column_bounds(dpie_row, "galaxy") == (-np.inf, np.inf, True, True)  # no numeric bound


def test_rows_are_revalidated_only_where_their_schema_could_refuse_cells_within_bounds(model):
    """An NFW row's validator asks only which of concentration and mc_relation is blank: its free numeric
    cells need no per-vector validation; a validator that may compare values, or a field validator on a free
    column, does."""
    from pydantic import field_validator, model_validator

    from clusterlens.registry import MASS_PROFILES

    nfw_row = MASS_PROFILES["NFW"].row
    assert not lens_batch.revalidated(nfw_row, {"m200", "concentration", "x"})

    class Compared(nfw_row):
        value_checks = None

        @model_validator(mode="after")
        def _small(self):
            return self

    class Declared(nfw_row):
        value_checks = frozenset({"m200"})

    class Checked(nfw_row):
        @field_validator("x")
        @classmethod
        def _x(cls, value):
            return value

    assert lens_batch.revalidated(Compared, {"x"})
    assert lens_batch.revalidated(Declared, {"m200"}) and not lens_batch.revalidated(Declared, {"x"})
    assert lens_batch.revalidated(Checked, {"x"}) and not lens_batch.revalidated(Checked, {"m200"})


def test_free_rows_of_other_profiles_in_the_batch_path():
    """An NFW host (m200, concentration, x) and an external shear (gamma, angle) free with the tier: each profile's
    rows of every vector in one array operation, a batch equal to single calls bit for bit and to the
    reference to 1e-12; a vector their schemas refuse (gamma >= 1, m200 <= 0) is -inf in both."""
    priors = [_prior("host_halo", "halo", "m200", 5e14, 2e15), _prior("host_halo", "halo", "concentration", 3.0, 9.0),
              _prior("host_halo", "halo", "x", -2.0, 2.0), _prior("main_lens_mass", "shear", "gamma", 0.0, 0.2),
              _prior("main_lens_mass", "shear", "angle", -45.0, 90.0),
              _prior("scaling_relations", "members", "r_cut_ref", 3.0, 30.0)]
    model = with_priors(with_exact_images(ClusterModel.from_records(small_cluster_records(), DATASET),
                                          min_abs_magnification=0.5), priors)
    fast, full = make_likelihood(model), make_likelihood(model, cache=False)
    assert sorted(fast._batch_lens.other_rows) == ["ExternalShear", "NFW"]
    values = _near_truth(fast, model, 10, 0.2, seed=5)
    values[8, 3] = 1.0  # gamma outside [0, 1)
    values[9, 0] = -1e15  # a negative m200
    batch = fast.batch(values)
    assert np.array_equal(batch, [fast(v) for v in values])
    reference = np.array([full(v) for v in values])
    assert np.array_equal(np.isfinite(reference), [True] * 8 + [False] * 2)
    assert np.array_equal(np.isfinite(batch), np.isfinite(reference))
    np.testing.assert_allclose(batch[:8], reference[:8], rtol=1e-12, atol=0)
