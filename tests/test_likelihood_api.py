"""The public likelihood API: clusterlens.fit.likelihood(model, kind), its parameters (names, values,
transform) and the batch entry point, equal bit for bit to single calls."""
import numpy as np
import pytest

import clusterlens.fit
from clusterlens import ClusterModel
from clusterlens.errors import LikelihoodError
from clusterlens.fit import point_likelihood
from clusterlens.fit.lens_batch import BatchLens
from clusterlens.fit.point_likelihood import PointLikelihood, make_likelihood
from clusterlens.lens import Lens
from lensmodels import DATASET, small_cluster_records, with_exact_images, with_priors

PRIORS = [
    {"family": "main_lens_mass", "galaxy": "BCG", "parameter": "sigma", "prior": "uniform", "lower": 250.0,
     "upper": 400.0},
    # r_core above the row's r_cut (30") is invalid: about a third of the draws give log L = -inf
    {"family": "main_lens_mass", "galaxy": "BCG", "parameter": "r_core", "prior": "uniform", "lower": 0.05,
     "upper": 45.0},
    {"family": "host_halo", "galaxy": "halo", "parameter": "x", "prior": "normal", "mean": 0.0, "sigma": 0.5},
    {"family": "scaling_relations", "galaxy": "members", "parameter": "sigma_ref", "prior": "uniform",
     "lower": 120.0, "upper": 200.0},
    {"family": "source_point", "galaxy": "src2", "parameter": "redshift", "prior": "uniform", "lower": 2.0,
     "upper": 3.0},
]


@pytest.fixture(scope="module")
def model() -> ClusterModel:
    truth = with_exact_images(ClusterModel.from_records(small_cluster_records(), DATASET))
    return with_priors(truth, PRIORS)


def test_public_entry_point_is_the_point_likelihood(model):
    L = clusterlens.fit.likelihood(model, kind="image", missing_distance=3.0)
    assert isinstance(L, PointLikelihood) and L.kind == "image" and L.missing_distance == 3.0
    assert clusterlens.fit.likelihood is point_likelihood.likelihood and "likelihood" in dir(clusterlens.fit)
    values = L.parameters.values(model)
    assert L(values) == make_likelihood(model, "image", missing_distance=3.0)(values)
    with pytest.raises(ValueError, match="likelihood kind"):
        clusterlens.fit.likelihood(model, kind="lens plane")


def test_parameters_names_values_and_transform(model):
    parameters = clusterlens.fit.likelihood(model).parameters
    assert parameters.names == ("main_lens_mass.BCG.sigma", "main_lens_mass.BCG.r_core", "host_halo.halo.x",
                                "scaling_relations.members.sigma_ref", "source_point.src2.redshift")
    np.testing.assert_array_equal(parameters.values(model), [330.0, 0.2, 0.0, 160.0, 2.5])
    cube = np.random.default_rng(0).random((6, len(parameters)))
    rows = parameters.transform(cube)
    assert rows.shape == cube.shape
    for u, row in zip(cube, rows, strict=True):
        assert parameters.transform(u).tobytes() == row.tobytes()
    assert rows[:, 0].min() >= 250.0 and rows[:, 0].max() <= 400.0
    with pytest.raises(ValueError, match=r"expected \(5,\) or \(n, 5\)"):
        parameters.transform(cube[:, :4])


@pytest.mark.parametrize("kind", ["source", "image", "lenstool"])
def test_batch_equals_single_calls_bit_for_bit(model, kind):
    L = clusterlens.fit.likelihood(model, kind=kind, threads=1)
    values = L.parameters.transform(np.random.default_rng(1).random((12, len(L.parameters))))
    values[0] = L.parameters.values(model)  # the truth: chi2 = 0 (to rounding) for every kind
    values[1, 1] = 40.0  # r_core 40" > r_cut 30": an invalid row
    batch = L.batch(values)
    single = np.array([L(v) for v in values])
    assert batch.shape == (12,) and batch.dtype == float
    assert batch.tobytes() == single.tobytes()
    assert -1e-9 < batch[0] <= 0.0 and batch[1] == -np.inf
    assert np.isfinite(batch).sum() >= 4 and (batch == -np.inf).sum() >= 2  # both kinds of row are covered


def test_batch_of_no_rows_and_of_a_model_without_free_parameters(model):
    L = clusterlens.fit.likelihood(model)
    assert L.batch(np.empty((0, len(L.parameters)))).shape == (0,)
    fixed = clusterlens.fit.likelihood(with_priors(model, []))
    np.testing.assert_array_equal(fixed.batch(np.empty((3, 0))), [fixed([])] * 3)


@pytest.mark.parametrize("shape", [(5,), (4, 4), (4, 6), (2, 4, 5)])
def test_batch_refuses_a_wrong_shape(model, shape):
    L = clusterlens.fit.likelihood(model)
    with pytest.raises(ValueError, match=r"expected \(n, 5\)"):
        L.batch(np.full(shape, 0.5))


def test_single_call_of_the_wrong_length_names_the_values(model):
    L = clusterlens.fit.likelihood(model)
    with pytest.raises(LikelihoodError, match="4 parameter values for 5 free parameters"):
        L([330.0, 0.2, 0.0, 160.0])


def test_a_failure_in_a_batch_propagates_with_the_row(model, monkeypatch):
    L = clusterlens.fit.likelihood(model)
    values = np.array([L.parameters.values(model)] * 2)

    def broken(*args, **kwargs):
        raise ValueError("a bug in the lens")

    monkeypatch.setattr(Lens, "deflection_and_hessian", broken)
    monkeypatch.setattr(BatchLens, "evaluate", broken)  # the batch path (its free NFW row included)
    with pytest.raises(LikelihoodError, match="main_lens_mass.BCG.sigma=330.0"):
        L.batch(values)


@pytest.mark.parametrize("kind", ["source", "image", "lenstool"])
def test_the_likelihood_pickles_for_a_process_pool(model, kind):
    """--cores N sends the likelihood to spawned workers: it must pickle and give the same values there."""
    import pickle

    L = clusterlens.fit.likelihood(model, kind=kind)
    values = L.parameters.values(model)
    copy = pickle.loads(pickle.dumps(L))
    assert copy(values) == L(values)
