"""The point likelihood of multi-plane models (clusterlens.fit.multiplane_at_images): effective quantities
at the images, the cached front planes, exact source-plane weights, and a two-plane truth recovered."""
import numpy as np
import pytest
from scipy.optimize import minimize

from clusterlens import ClusterModel
from clusterlens.families import FAMILIES
from clusterlens.fit import likelihood
from clusterlens.fit.multiplane_at_images import MultiPlaneAtImages, symmetric_factor
from clusterlens.fit.parameters import Parameters
from clusterlens.solver import find_images
from lensmodels import DATASET, two_plane_records, with_exact_images, with_priors


def _prior(family, galaxy, parameter, lower, upper):
    return {"family": family, "galaxy": galaxy, "parameter": parameter, "prior": "uniform", "lower": lower,
            "upper": upper}


@pytest.fixture(scope="module")
def observed() -> ClusterModel:
    """The two-plane cluster with its exact images (found through both planes)."""
    return with_exact_images(ClusterModel.from_records(two_plane_records(), DATASET))


def test_symmetric_factor_keeps_a_at_a_transpose_and_det():
    rng = np.random.default_rng(0)
    a11, a12, a21, a22 = rng.uniform(-2, 2, (4, 200))
    s11, s12, s22 = symmetric_factor(a11, a12, a21, a22)
    np.testing.assert_allclose(s11 * s11 + s12 * s12, a11 * a11 + a12 * a12, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(s11 * s12 + s12 * s22, a11 * a21 + a12 * a22, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(s12 * s12 + s22 * s22, a21 * a21 + a22 * a22, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(s11 * s22 - s12 * s12, a11 * a22 - a12 * a21, rtol=1e-10, atol=1e-12)
    symmetric = symmetric_factor(a11, a12, a12, a22)
    for got, want in zip(symmetric, (a11, a12, a22), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_cached_front_plane_and_rebuilt_back_plane_match_a_fresh_trace(observed):
    model = with_priors(observed, [_prior("main_lens_mass", "G2", "sigma", 150.0, 300.0)])
    parameters = Parameters.from_model(model)
    x = np.array([r.x for r in model.point_datasets])
    y = np.array([r.y for r in model.point_datasets])
    z = np.array([next(p.redshift for p in model.source_points if p.name == r.name) for r in model.point_datasets])
    lens = MultiPlaneAtImages(model, parameters, x, y, z, with_potential=True)
    scale = lens.scales(z)
    assert lens.first_free == 1 and len(lens._fixed) == 1
    values = np.array([250.0])
    q = lens.evaluate(parameters.updated_rows(model, values)) * scale
    moved = parameters.apply(model, values)
    for zs in np.unique(z):
        idx = z == zs
        traced = moved.lens_toward(zs)[0]
        ax, ay, a11, a12, a21, a22 = traced.deflection_and_jacobian(x[idx], y[idx])
        np.testing.assert_allclose(q[0, idx], ax, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(q[1, idx], ay, rtol=1e-12, atol=1e-12)
        det = (1 - q[2, idx]) * (1 - q[4, idx]) - q[3, idx] ** 2
        np.testing.assert_allclose(det, a11 * a22 - a12 * a21, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(q[5, idx], traced.potential(x[idx], y[idx]) * traced.time_delay_distance
                                   / lens._factors[float(zs)][1], rtol=1e-10)
        # the whole lens, keyed by the reference scales, traces like the model
        keyed = lens.full_lens(parameters.updated_rows(model, values))
        np.testing.assert_allclose(keyed.deflection(x[idx], y[idx], scale[idx])[0], ax, rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="names none of the sources"):
        keyed.deflection(x, y, 0.123)


def test_the_likelihood_is_maximal_at_the_truth(observed):
    model = with_priors(observed, [_prior("main_lens_mass", "G2", "sigma", 150.0, 300.0),
                                   _prior("main_lens_mass", "BCG", "sigma", 250.0, 400.0)])
    log_l = likelihood(model)
    truth = log_l.parameters.values(model)
    assert log_l(truth) == pytest.approx(0.0, abs=1e-6)
    assert log_l(truth + [20.0, 0.0]) < -1.0 and log_l(truth + [0.0, 5.0]) < -1.0


@pytest.mark.parametrize("kind", ["image", "lenstool"])
def test_image_plane_kinds_match_every_image_through_both_planes(observed, kind):
    model = with_priors(observed, [_prior("main_lens_mass", "G2", "sigma", 150.0, 300.0)])
    log_l = likelihood(model, kind)
    truth = log_l.parameters.values(model)
    out = log_l.evaluate(truth)
    assert out.matched.all() and out.chi2_pos == pytest.approx(0.0, abs=1e-8)
    assert log_l(truth + [20.0]) < -1.0


def test_a_two_plane_cluster_is_fitted_and_its_truth_recovered(observed):
    """The background group's velocity dispersion and the BCG's, from a wrong start, by the source-plane
    likelihood of the exact images."""
    model = with_priors(observed, [_prior("main_lens_mass", "G2", "sigma", 150.0, 300.0),
                                   _prior("main_lens_mass", "BCG", "sigma", 250.0, 400.0)])
    log_l = likelihood(model)
    truth = log_l.parameters.values(model)
    best = minimize(lambda v: -log_l(v), truth + [-25.0, 20.0], method="Nelder-Mead",
                    options={"xatol": 1e-4, "fatol": 1e-10, "maxiter": 400})
    np.testing.assert_allclose(best.x, truth, atol=0.05)


def test_time_delays_of_the_finder_have_zero_chi2_at_the_truth(observed):
    rows = []
    for point in observed.source_points:
        table = find_images(observed, point.x, point.y, point.redshift, min_abs_magnification=0.3)
        rows += [{"name": point.name, "image": f"i{i}", "x": r.x, "y": r.y, "sigma": 0.05,
                  "time_delay": r.time_delay + 3.0, "time_delay_sigma": 0.5} for i, r in enumerate(table.itertuples())]
    timed = observed.with_rows("point_datasets", [FAMILIES["point_datasets"].adapter.validate_python(r) for r in rows])
    model = with_priors(timed, [_prior("main_lens_mass", "G2", "sigma", 150.0, 300.0)])
    log_l = likelihood(model)
    truth = log_l.parameters.values(model)
    assert max(r["time_delay"] for r in rows) > 10.0
    assert log_l.evaluate(truth).chi2_td == pytest.approx(0.0, abs=1e-6)
    assert log_l.evaluate(truth + [20.0]).chi2_td > 1.0
