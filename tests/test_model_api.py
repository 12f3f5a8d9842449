"""ClusterModel's Python API: from_records reports every bad input as a ModelError; the lensing methods
refuse a source at or in front of the lens."""
import numpy as np
import pytest

from clusterlens import ClusterModel, ModelError
from lensmodels import DATASET, Z_LENS, small_cluster_records

METHODS = ("deflections", "hessian", "convergence", "shear", "magnification", "potential")


@pytest.fixture(scope="module")
def model() -> ClusterModel:
    return ClusterModel.from_records(small_cluster_records(), DATASET)


@pytest.mark.parametrize("method", METHODS)
def test_lensing_methods_refuse_a_source_not_behind_the_lens(model, method):
    x, y = np.array([1.0, -3.0]), np.array([2.0, 0.5])
    assert np.all(np.isfinite(getattr(model, method)(x, y, 2.0)))
    for z_source in (Z_LENS, 0.1):
        with pytest.raises(ValueError, match="z_source must exceed the lens redshift 0.35"):
            getattr(model, method)(x, y, z_source)


def test_distance_ratio_refuses_a_source_not_behind_the_lens(model):
    assert 0.0 < model.distance_ratio(1.0) < model.distance_ratio(2.0) < 1.0
    with pytest.raises(ValueError, match="z_source must exceed"):
        model.distance_ratio(Z_LENS)


@pytest.mark.parametrize("records, dataset, words", [
    ({}, {**DATASET, "reference": {"ra": 400.0, "dec": 2.0}}, "<dataset>: column 'reference.ra' value '400.0'"),
    ({}, {"reference": {"ra": 1.0, "dec": 2.0}}, "<dataset>: column 'cosmology': Field required"),
    ({}, "Planck18", "<dataset>: value 'Planck18'"),
    ({"host_halo": [["halo", "NFW"]]}, DATASET, "<host_halo>:1: expected a dict of column values, got list"),
    ({"host_halo": {"galaxy": "halo"}}, DATASET, "<host_halo>: expected a list of row dicts, got dict"),
    ({"halos": []}, DATASET, "<records>: unknown family 'halos'"),
    ([("host_halo", [])], DATASET, "<records>: expected a dict {family: [row dicts]}, got list"),
])
def test_from_records_reports_bad_input_as_model_error(records, dataset, words):
    with pytest.raises(ModelError) as caught:
        ClusterModel.from_records(records, dataset)
    assert words in str(caught.value)


def test_from_records_lists_dataset_and_row_problems_together():
    records = small_cluster_records()
    records["main_lens_mass"][0] = {**records["main_lens_mass"][0], "r_core": 40.0}
    with pytest.raises(ModelError) as caught:
        ClusterModel.from_records(records, {**DATASET, "cosmology": {"H0": 70.0}})
    files = {p.file for p in caught.value.problems}
    assert files == {"<dataset>", "<main_lens_mass>"}
