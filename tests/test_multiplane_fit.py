"""The point likelihood of multi-plane models (clusterlens.fit.multiplane_at_images): effective quantities
at the images, the cached front planes, exact source-plane weights, and a two-plane truth recovered."""
import numpy as np
import pytest
from scipy.optimize import minimize

from clusterlens import ClusterModel
from clusterlens.fit import likelihood
from clusterlens.fit.multiplane_at_images import MultiPlaneAtImages, symmetric_factor
from clusterlens.fit.parameters import Parameters
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
    assert lens.first_free == 1 and len(lens._fixed) == 1
    values = np.array([250.0])
    q = lens.evaluate(parameters.updated_rows(model, values))
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


def test_the_likelihood_is_maximal_at_the_truth(observed):
    model = with_priors(observed, [_prior("main_lens_mass", "G2", "sigma", 150.0, 300.0),
                                   _prior("main_lens_mass", "BCG", "sigma", 250.0, 400.0)])
    log_l = likelihood(model)
    truth = log_l.parameters.values(model)
    assert log_l(truth) == pytest.approx(0.0, abs=1e-6)
    assert log_l(truth + [20.0, 0.0]) < -1.0 and log_l(truth + [0.0, 5.0]) < -1.0
    with pytest.raises(ValueError, match="source-plane likelihood"):
        likelihood(model, "image")


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
