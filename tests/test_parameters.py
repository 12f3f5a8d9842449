"""priors.csv -> free parameters: wildcard expansion, prior transforms, applying values to rows."""
import numpy as np
import pytest
from scipy import stats

from clusterlens import ClusterModel, load_model
from clusterlens.fit.parameters import Parameters
from conftest import EXAMPLE
from lensmodels import DATASET, small_cluster_records, with_priors


@pytest.fixture(scope="module")
def model():
    return ClusterModel.from_records(small_cluster_records(), DATASET)


def test_example_priors_give_ten_parameters():
    params = Parameters.from_model(load_model(EXAMPLE))
    assert len(params) == 10
    assert params.labels[0] == "host_halo.halo.m200"
    assert "scaling_relations.members.sigma_ref" in params.labels


def test_wildcard_frees_every_row(model):
    params = Parameters.from_model(with_priors(model, [
        {"family": "scaling_galaxies", "galaxy": "*", "parameter": "q", "prior": "uniform", "lower": 0.3,
         "upper": 1.0}]))
    assert len(params) == len(model.rows("scaling_galaxies"))
    assert params.labels[0] == "scaling_galaxies.m0.q"


#: a loguniform, a normal and a truncated-normal prior (both transform tests)
MIXED_PRIORS = [
        {"family": "host_halo", "galaxy": "halo", "parameter": "m200", "prior": "loguniform", "lower": 1e14,
         "upper": 1e16},
        {"family": "main_lens_mass", "galaxy": "G2", "parameter": "sigma", "prior": "normal", "mean": 220.0,
         "sigma": 10.0},
        {"family": "main_lens_mass", "galaxy": "shear", "parameter": "gamma", "prior": "truncnormal", "lower": 0.0,
         "upper": 0.1, "mean": 0.05, "sigma": 0.1},
]


def test_transforms_are_the_prior_quantiles(model):
    params = Parameters.from_model(with_priors(model, [
        {"family": "main_lens_mass", "galaxy": "BCG", "parameter": "sigma", "prior": "uniform", "lower": 200.0,
         "upper": 400.0}, *MIXED_PRIORS]))
    assert params.transform([0.25, 0.5, 0.5, 0.0]) == pytest.approx([250.0, 1e15, 220.0, 0.0])
    assert params.transform([1.0, 1.0, stats.norm.cdf(1.0), 1.0]) == pytest.approx([400.0, 1e16, 230.0, 0.1])
    assert np.isfinite(params.log_prior([300.0, 1e15, 220.0, 0.05]))
    assert params.log_prior([500.0, 1e15, 220.0, 0.05]) == -np.inf


def test_rows_are_mapped_as_single_points_and_as_the_scalar_quantiles(model):
    """The array transform gives each element the scalar inverse CDF (both tails of a truncated normal)."""
    from clusterlens.fit.parameters import quantile

    params = Parameters.from_model(with_priors(model, [
        {"family": "main_lens_mass", "galaxy": "BCG", "parameter": "sigma", "prior": "truncnormal", "lower": 300.0,
         "upper": 400.0, "mean": 220.0, "sigma": 20.0},
        *MIXED_PRIORS,
        {"family": "main_lens_mass", "galaxy": "BCG", "parameter": "r_cut", "prior": "uniform", "lower": 1.0,
         "upper": 50.0},
    ]))
    cube = np.random.default_rng(3).random((40, len(params)))
    rows = params.transform(cube)
    for u, row in zip(cube, rows, strict=True):
        assert params.transform(u).tobytes() == row.tobytes()
        expected = [quantile(p.prior, x) for p, x in zip(params.free, u, strict=True)]
        np.testing.assert_allclose(row, expected, rtol=1e-15, atol=0)
    assert rows[:, 0].min() >= 300.0 and rows[:, 3].max() <= 0.1
    with pytest.raises(ValueError, match=r"expected \(5,\) or \(n, 5\)"):
        params.transform([0.5, 0.5])


def test_apply_writes_values_into_rows(model):
    model = with_priors(model, [
        {"family": "main_lens_mass", "galaxy": "BCG", "parameter": "r_cut", "prior": "uniform", "lower": 1.0,
         "upper": 50.0},
        {"family": "scaling_relations", "galaxy": "members", "parameter": "sigma_ref", "prior": "uniform", "lower": 1.0,
         "upper": 500.0}])
    params = Parameters.from_model(model)
    assert list(params.values(model)) == [30.0, 160.0]
    changed = params.apply(model, [12.5, 180.0])
    assert changed.main_galaxies[0].r_cut == 12.5 and changed.tiers[0].relation.sigma_ref == 180.0
    assert changed.main_galaxies[1] == model.main_galaxies[1]
    with pytest.raises(ValueError, match="main_lens_mass row 1"):
        params.apply(model, [0.1, 180.0])  # r_cut below r_core


@pytest.mark.parametrize("prior", [
    {"prior": "uniform", "lower": -2.0, "upper": 5.0},
    {"prior": "loguniform", "lower": 1e13, "upper": 1e16},
    {"prior": "normal", "mean": 3.0, "sigma": 0.5},
    {"prior": "truncnormal", "lower": 0.0, "upper": 1.0, "mean": 0.2, "sigma": 0.4},
])
def test_closed_form_quantiles_equal_scipy_ppf(prior):
    from clusterlens.fit.parameters import distribution, quantile
    from clusterlens.rows import Prior

    row = Prior(family="host_halo", galaxy="halo", parameter="m200", **prior)
    u = np.linspace(0.001, 0.999, 101)
    assert quantile(row, u) == pytest.approx(distribution(row).ppf(u), rel=1e-12, abs=1e-12)


def test_truncated_normal_far_in_the_upper_tail():
    from clusterlens.fit.parameters import distribution, quantile
    from clusterlens.rows import Prior

    row = Prior(family="host_halo", galaxy="halo", parameter="m200", prior="truncnormal", lower=9.0, upper=12.0,
                mean=0.0, sigma=1.0)
    u = np.array([0.01, 0.5, 0.99])
    assert quantile(row, u) == pytest.approx(distribution(row).ppf(u), rel=1e-9)
    assert quantile(row, u)[0] < 9.01


def test_narrowed_priors_are_the_prior_truncated_to_the_posterior_box():
    """narrowed_priors: median -+ width x sd clipped to the prior's bounds, the same kind of prior (a normal one
    truncated), and the box's prior mass from the closed-form CDFs; the rows load as the model's priors."""
    from clusterlens.fit.priors import narrowed_priors
    from clusterlens.fit.priors import with_priors as add_priors

    example = load_model(EXAMPLE)
    model = add_priors(example, [{"family": "main_lens_mass", "galaxy": "shear", "parameter": "gamma",
                                  "prior": "normal", "mean": 0.05, "sigma": 0.05}])
    params = Parameters.from_model(model)
    labels = params.labels
    rng = np.random.default_rng(2)
    centre = np.array([(p.prior.lower + p.prior.upper) / 2 if p.prior.lower is not None else 0.06
                       for p in params.free])
    centre[labels.index("host_halo.halo.x")] = 4.98  # near its upper bound 5: clipped there
    samples = centre + rng.normal(0.0, 1.0, (4000, len(params))) * 1e-2
    weights = rng.uniform(0.5, 1.5, 4000)
    rows, log_mass = narrowed_priors(params, samples, weights, width=5.0)
    w = weights / weights.sum()
    sd = np.sqrt(w @ (samples - w @ samples) ** 2)
    expected = 0.0
    for j, (p, row) in enumerate(zip(params.free, rows, strict=True)):
        assert (row["family"], row["galaxy"], row["parameter"]) == (p.family, p.key, p.column)
        order = np.argsort(samples[:, j])
        median = np.interp(0.5, np.cumsum(w[order]), samples[order, j])
        if p.prior.prior == "normal":
            assert row["prior"] == "truncnormal" and (row["mean"], row["sigma"]) == (0.05, 0.05)
            dist = stats.norm(0.05, 0.05)
            lower, upper = median - 5 * sd[j], median + 5 * sd[j]
        else:
            assert row["prior"] == p.prior.prior
            dist = (stats.loguniform(p.prior.lower, p.prior.upper) if p.prior.prior == "loguniform"
                    else stats.uniform(p.prior.lower, p.prior.upper - p.prior.lower))
            lower, upper = max(p.prior.lower, median - 5 * sd[j]), min(p.prior.upper, median + 5 * sd[j])
        assert (row["lower"], row["upper"]) == pytest.approx((lower, upper), rel=1e-12)
        expected += np.log(dist.cdf(upper) - dist.cdf(lower))
    assert rows[labels.index("host_halo.halo.x")]["upper"] == 5.0
    assert log_mass == pytest.approx(expected, rel=1e-10)
    narrowed = Parameters.from_model(add_priors(model, rows))
    assert narrowed.labels == labels
    with pytest.raises(ValueError, match="no width"):
        narrowed_priors(params, np.tile(centre, (3, 1)), np.ones(3))
