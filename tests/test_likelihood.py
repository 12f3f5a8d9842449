"""Point likelihoods: exact at the truth, fast path identical to full recomputation, analytic best source
and flux equal to numerical minimisation, image-plane predictions are true lens-equation solutions."""
import numpy as np
import pytest
from scipy.optimize import minimize

from clusterlens import ClusterModel
from clusterlens.errors import InvalidParameters, LikelihoodError
from clusterlens.fit.chi2 import chi2_flux
from clusterlens.fit.lens_batch import BatchLens
from clusterlens.fit.point_likelihood import make_likelihood
from clusterlens.lens import Lens
from clusterlens.solver import find_images
from lensmodels import DATASET, small_cluster_records, with_exact_images, with_priors

PRIORS = [
    {"family": "main_lens_mass", "galaxy": "BCG", "parameter": "sigma", "prior": "uniform",
     "lower": 250.0, "upper": 400.0},
    {"family": "scaling_relations", "galaxy": "members", "parameter": "sigma_ref", "prior": "uniform",
     "lower": 100.0, "upper": 250.0},
    {"family": "main_lens_mass", "galaxy": "shear", "parameter": "gamma", "prior": "uniform",
     "lower": 0.0, "upper": 0.15},
    {"family": "host_halo", "galaxy": "halo", "parameter": "m200", "prior": "loguniform",
     "lower": 5e14, "upper": 2e15},
]


@pytest.fixture(scope="module")
def truth() -> ClusterModel:
    model = ClusterModel.from_records(small_cluster_records(), DATASET)
    return with_priors(with_exact_images(model), PRIORS)


@pytest.mark.parametrize("kind", ["source", "image"])
def test_chi2_vanishes_at_the_truth(truth, kind):
    like = make_likelihood(truth, kind)
    chi2 = like.chi2(like.parameters.values(truth))
    assert chi2["n_images"] >= 6 and chi2["chi2"] < 1e-8
    assert like(like.parameters.values(truth)) == pytest.approx(0.0, abs=1e-8)


@pytest.mark.parametrize("kind", ["source", "image"])
def test_fast_path_equals_full_recomputation(truth, kind):
    fast, full = make_likelihood(truth, kind), make_likelihood(truth, kind, cache=False)
    assert fast.lens.tier_modes[0][1] == "amplitude"
    assert sorted(a.column for a in fast.lens.amplitudes) == ["gamma", "sigma", "sigma_ref"]  # m200 is recomputed
    assert not full.lens.amplitudes
    assert all(mode == "recompute" for _, mode in full.lens.tier_modes)
    rng = np.random.default_rng(0)
    for _ in range(4):
        values = fast.parameters.transform(rng.uniform(0.2, 0.8, len(fast.parameters)))
        assert fast(values) == pytest.approx(full(values), rel=1e-10)


@pytest.mark.parametrize(("extra", "mode"), [((), "table"), (("r_core_ref",), "recompute")])
def test_fast_path_with_tabulated_or_recomputed_tier(truth, extra, mode):
    """A free r_cut_ref: the tier tabulated over its prior; with r_core_ref free too, recomputed per call."""
    priors = [{"family": "scaling_relations", "galaxy": "members", "parameter": column, "prior": "uniform",
               "lower": lower, "upper": upper} for column, lower, upper in
              (("r_cut_ref", 3.0, 30.0), ("r_core_ref", 0.01, 0.2)) if column in ("r_cut_ref", *extra)]
    model = with_priors(truth, PRIORS + priors)
    fast, full = make_likelihood(model), make_likelihood(model, cache=False)
    assert fast.lens.tier_modes[0][1] == mode
    for u in (0.01, 0.37, 0.99):
        values = fast.parameters.transform(np.full(len(fast.parameters), u))
        assert fast(values) == pytest.approx(full(values), rel=1e-10)
        assert fast.evaluate(values).chi2 == pytest.approx(full.evaluate(values).chi2, rel=1e-10)


def test_best_source_minimises_the_source_plane_chi2(truth):
    rng = np.random.default_rng(5)
    rows = [r.model_copy(update={"x": r.x + rng.normal(0, 0.05), "y": r.y + rng.normal(0, 0.05)})
            for r in truth.point_datasets]
    model = truth.with_rows("point_datasets", rows)
    like = make_likelihood(model)
    values = like.parameters.values(model)
    out = like.evaluate(values)
    q = like.lens.evaluate({})
    scale = like._base_scales[like.images.system]
    im = like.images
    bx, by = im.x - scale * q[0], im.y - scale * q[1]
    a11, a12, a22 = 1 - scale * q[2], -scale * q[3], 1 - scale * q[4]

    def chi2(beta, sel):
        total = 0.0
        for i in np.flatnonzero(sel):
            a = np.array([[a11[i], a12[i]], [a12[i], a22[i]]])
            d = np.linalg.solve(a, np.array([bx[i] - beta[0], by[i] - beta[1]]))
            total += d @ d / im.sigma[i] ** 2
        return total

    for k in range(im.n_systems):
        sel = im.system == k
        best = minimize(chi2, x0=[bx[sel].mean(), by[sel].mean()], args=(sel,), method="Nelder-Mead",
                        options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 4000})
        assert out.source_x[k] == pytest.approx(best.x[0], abs=1e-6)
        assert out.source_y[k] == pytest.approx(best.x[1], abs=1e-6)
        assert out.chi2_images[sel].sum() == pytest.approx(best.fun, rel=1e-6)


def test_image_plane_predictions_are_images_of_the_best_source(truth):
    rng = np.random.default_rng(8)
    rows = [r.model_copy(update={"x": r.x + rng.normal(0, 0.03), "y": r.y + rng.normal(0, 0.03)})
            for r in truth.point_datasets]
    model = truth.with_rows("point_datasets", rows)
    like = make_likelihood(model, "image")
    values = like.parameters.values(model)
    out = like.evaluate(values)
    table = like.predicted_images(values)
    assert table["matched"].all()
    for k, name in enumerate(like.images.names):
        z = next(p.redshift for p in model.source_points if p.name == name)
        found = find_images(model, out.source_x[k], out.source_y[k], z)
        for row in table[table.name == name].itertuples():
            distance = np.hypot(found.x - row.x_pred, found.y - row.y_pred).min()
            assert distance < 1e-6
    expected = ((table.x_pred - table.x_obs) ** 2 + (table.y_pred - table.y_obs) ** 2) / table.sigma**2
    assert out.chi2_pos == pytest.approx(expected.sum(), rel=1e-12)


def test_missing_image_is_penalised(truth):
    rows = list(truth.point_datasets)
    rows[0] = rows[0].model_copy(update={"x": 150.0, "y": -150.0})  # no image can be there
    like = make_likelihood(truth.with_rows("point_datasets", rows), "image")
    out = like.evaluate(like.parameters.values(truth))
    assert not out.matched[0]
    assert out.chi2_images[0] >= (like.missing_distance / rows[0].sigma) ** 2


def test_flux_term_solves_the_intrinsic_flux(truth):
    model = with_exact_images(truth, flux=True)
    like = make_likelihood(model)
    values = like.parameters.values(model)
    assert like.chi2(values)["chi2_flux"] < 1e-12
    rows = [r.model_copy(update={"flux": r.flux * (1.1 if i % 2 else 0.95)})
            for i, r in enumerate(model.point_datasets)]
    like = make_likelihood(model.with_rows("point_datasets", rows))
    out = like.evaluate(values)
    im = like.images
    mu = np.abs(out.magnification)

    def flux_chi2(f, sel):
        return np.sum((im.flux[sel] - mu[sel] * f[0]) ** 2 / im.flux_sigma[sel] ** 2)

    numeric = 0.0
    for k in range(im.n_systems):
        numeric += minimize(flux_chi2, x0=[5.0], args=(im.system == k,), method="Nelder-Mead",
                            options={"xatol": 1e-12, "fatol": 1e-14}).fun
    assert out.chi2_flux > 0
    assert out.chi2_flux == pytest.approx(numeric, rel=1e-6)
    # the likelihood's flux term is chi2_flux of its own predicted magnifications
    assert like.chi2(values)["chi2_flux"] == chi2_flux(im.flux, im.flux_sigma, out.magnification, im.system)


@pytest.mark.parametrize("prior, invalid, valid", [
    ({"family": "main_lens_mass", "galaxy": "BCG", "parameter": "r_cut", "lower": 0.01, "upper": 50.0},
     0.1, 20.0),  # r_cut below the row's r_core
    ({"family": "source_point", "galaxy": "src1", "parameter": "redshift", "lower": 0.1, "upper": 3.0},
     0.2, 1.5),  # the source in front of the lens (z_lens 0.35)
    ({"family": "scaling_relations", "galaxy": "members", "parameter": "r_cut_slope", "lower": 0.5, "upper": 5.0},
     5.0, 0.5),  # faint members' r_cut below their r_core
])
def test_invalid_parameters_give_minus_infinity(truth, prior, invalid, valid):
    model = with_priors(truth, [{**prior, "prior": "uniform"}])
    like = make_likelihood(model)
    with pytest.raises(InvalidParameters):
        like.evaluate([invalid])
    assert like([invalid]) == -np.inf
    assert np.isfinite(like([valid]))


@pytest.mark.parametrize("kind", ["source", "image"])
def test_a_failure_other_than_invalid_parameters_propagates_with_the_values(truth, monkeypatch, kind):
    """The source kind's batch path (its free NFW row through the profile's functions) and the image kind's
    full lens: a bug in the lens reaches the caller as LikelihoodError naming the values."""
    like = make_likelihood(truth, kind)
    values = like.parameters.values(truth)
    assert like._batch_lens is not None and "NFW" in like._batch_lens.other_rows

    def broken(*args, **kwargs):
        raise ValueError("a bug in the lens")

    if kind == "source":
        monkeypatch.setattr(BatchLens, "_add_other_rows", broken)
    monkeypatch.setattr(Lens, "deflection_and_hessian", broken)
    with pytest.raises(LikelihoodError, match="a bug in the lens") as caught:
        like(values)
    assert f"host_halo.halo.m200={float(values[3])!r}" in str(caught.value)
    assert isinstance(caught.value.__cause__, ValueError)


def test_threads_reach_every_lens_the_likelihood_builds(truth):
    one, three = make_likelihood(truth, "image", threads=1), make_likelihood(truth, "image", threads=3)
    assert one.lens.full_lens({}).threads == 1 and three.lens.full_lens({}).threads == 3
    values = one.parameters.transform(np.full(len(one.parameters), 0.4))
    assert one(values) == three(values)


def test_prior_on_a_source_position_is_refused(truth):
    model = with_priors(truth, [{"family": "source_point", "galaxy": "src1", "parameter": "x", "prior": "uniform",
                                 "lower": -1.0, "upper": 1.0}])
    with pytest.raises(ValueError, match="solved analytically"):
        make_likelihood(model)


def test_free_source_redshift_changes_only_its_system(truth):
    model = with_priors(truth, [{"family": "source_point", "galaxy": "src1", "parameter": "redshift",
                                 "prior": "uniform", "lower": 1.0, "upper": 3.0}])
    like = make_likelihood(model)
    at_truth = like.evaluate([1.5]).chi2_images
    shifted = like.evaluate([2.0]).chi2_images
    system = like.images.system
    assert np.all(shifted[system == 0] > at_truth[system == 0])
    assert np.allclose(shifted[system != 0], at_truth[system != 0], atol=1e-12)


def test_degrees_of_freedom_count_every_constraint(truth):
    like = make_likelihood(truth)
    n, k = len(like.images.x), like.images.n_systems
    assert like.chi2(like.parameters.values(truth))["dof"] == 2 * (n - k) - len(like.parameters)
    model = with_exact_images(truth, flux=True)
    like = make_likelihood(model)
    assert like.chi2(like.parameters.values(model))["dof"] == 2 * (n - k) + (n - k) - len(like.parameters)


def test_free_mag_ref_keeps_luminosity_members_luminosities(truth):
    """A member given by luminosity keeps L/L_ref when mag_ref is free: the fit equals the rebuilt model."""
    members = [r.model_copy(update={"mag": None, "luminosity": 10 ** (0.4 * (19.5 - r.mag))}) if i % 2 else r
               for i, r in enumerate(truth.rows("scaling_galaxies"))]
    model = with_priors(truth.with_rows("scaling_galaxies", members), [
        {"family": "scaling_relations", "galaxy": "members", "parameter": "mag_ref", "prior": "uniform",
         "lower": 18.0, "upper": 21.0}])
    like = make_likelihood(model)
    for value in (18.7, 20.5):
        rebuilt = like.parameters.apply(model, [value]).with_rows("priors", [])
        assert like([value]) == pytest.approx(make_likelihood(rebuilt)([]), rel=1e-10)


def test_time_delay_term_vanishes_for_exact_delays_and_solves_the_offset(truth):
    rows = []
    for point in truth.source_points:
        images = find_images(truth, point.x, point.y, point.redshift, min_abs_magnification=0.3)
        for i, image in enumerate(images.itertuples()):
            rows.append({"name": point.name, "image": chr(97 + i), "x": image.x, "y": image.y, "sigma": 0.05,
                         "time_delay": image.time_delay + 7.0, "time_delay_sigma": 0.5 + i})  # any zero point
    from clusterlens.families import FAMILIES

    model = truth.with_rows("point_datasets", [FAMILIES["point_datasets"].adapter.validate_python(r) for r in rows])
    like = make_likelihood(model)
    values = like.parameters.values(model)
    assert like.chi2(values)["chi2_td"] < 1e-8
    shifted = [r.model_copy(update={"time_delay": r.time_delay + (1.0 if r.image == "b" else 0.0)})
               for r in model.point_datasets]
    like = make_likelihood(model.with_rows("point_datasets", shifted))
    im = like.images
    # one image of each system moved by 1 day: the best offset shares it, chi2 = 1 / (sum 1/s^2 * s_b^2) per system
    expected = 0.0
    for k in range(im.n_systems):
        s = im.time_delay_sigma[im.system == k]
        w = 1 / s**2
        wb = w[1]
        expected += wb * (1 - wb / w.sum()) ** 2 + (w.sum() - wb) * (wb / w.sum()) ** 2
    assert like.chi2(values)["chi2_td"] == pytest.approx(expected, rel=1e-6)


def test_two_observed_images_never_share_one_model_image(truth):
    """A twin 0.02" from an observed image: the nearer one keeps the model image, the twin is scored
    against another model image of the source (or as missing), never the shared one (chi2 0.2)."""
    rows = list(truth.point_datasets)
    first = rows[0]
    twin = first.model_copy(update={"image": "z", "x": first.x + 0.02, "y": first.y - 0.01})
    like = make_likelihood(truth.with_rows("point_datasets", rows + [twin]), "image")
    out = like.evaluate(like.parameters.values(truth))
    assert out.matched[0] and out.chi2_images[0] < 0.1  # the twin moves the best source a little
    if out.matched[-1]:
        assert np.hypot(out.x_pred[-1] - out.x_pred[0], out.y_pred[-1] - out.y_pred[0]) > 1e-3
        assert out.chi2_images[-1] == pytest.approx(((out.x_pred[-1] - twin.x) ** 2 + (out.y_pred[-1] - twin.y) ** 2)
                                                    / twin.sigma**2, rel=1e-12)
    else:  # no other model image within the missing distance: scored as missing
        assert out.chi2_images[-1] >= (1 - 1e-12) * (like.missing_distance / twin.sigma) ** 2
    assert out.chi2_images[-1] > 100
