"""The profile registry: every declared profile reaches rows, files, the lens builder and the schemas.

The elliptical NFW (PseudoEllipticalNFW) is the profile added through the registry alone: a model with
such a halo lenses exactly as :mod:`clusterlens.profiles.enfw` with the NFW's (kappa_s, r_s).
"""
import numpy as np
import pytest

from clusterlens import ClusterModel, ModelError, load_model, save_model
from clusterlens.cosmology import nfw_lensing_parameters
from clusterlens.families import FAMILIES
from clusterlens.profiles import enfw
from clusterlens.registry import LIGHT_PROFILES, MASS_PROFILES, mass_profile
from lensmodels import DATASET, Z_LENS, small_cluster_records

HALO = {"galaxy": "halo", "profile": "PseudoEllipticalNFW", "x": 1.5, "y": -2.0, "redshift": Z_LENS, "m200": 1e15,
        "concentration": 6.0, "epsilon": 0.15, "angle": 35.0}


def _model(halo: dict) -> ClusterModel:
    return ClusterModel.from_records({**small_cluster_records(), "host_halo": [halo]}, DATASET)


def test_every_lens_and_light_family_variant_is_a_registered_profile():
    assert set(FAMILIES["host_halo"].profiles) == set(MASS_PROFILES)
    assert set(FAMILIES["main_lens_mass"].profiles) == set(MASS_PROFILES)
    assert set(FAMILIES["source_light"].profiles) == set(LIGHT_PROFILES)
    for name, profile in MASS_PROFILES.items():
        assert profile.name == name and FAMILIES["host_halo"].variants[name] is profile.row


def test_unknown_profile_lists_the_registered_ones():
    with pytest.raises(ValueError, match="unknown mass profile 'Hernquist'; expected one of dPIE, SIE"):
        mass_profile("Hernquist")


def test_pseudo_elliptical_nfw_halo_lenses_as_the_enfw_functions(tmp_path):
    model = _model(HALO)
    kappa_s, r_s = nfw_lensing_parameters(model.cosmology, Z_LENS, 1e15, 6.0)
    x, y = np.meshgrid(np.linspace(-30, 30, 7), np.linspace(-25, 25, 6))
    only_halo = ClusterModel.from_records({"host_halo": [HALO]}, DATASET)
    scale = only_halo.distance_ratio(2.0)
    expected = enfw.deflection(x, y, HALO["x"], HALO["y"], kappa_s, r_s, HALO["epsilon"], HALO["angle"])
    got = only_halo.deflections(x, y, 2.0)
    np.testing.assert_allclose(got[0], scale * expected[0], rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(got[1], scale * expected[1], rtol=1e-13, atol=1e-14)
    # the CSV files round trip byte for byte and load to the same lens
    save_model(model, tmp_path / "m")
    text = (tmp_path / "m" / "host_halo.csv").read_text()
    assert text.splitlines()[0] == "galaxy,profile,x,y,redshift,angle,m200,concentration,epsilon"
    again = load_model(tmp_path / "m")
    np.testing.assert_array_equal(again.deflections(x, y, 2.0)[0], model.deflections(x, y, 2.0)[0])


def test_round_pseudo_elliptical_nfw_equals_the_spherical_nfw():
    round_halo = dict(HALO, epsilon=0.0, angle=0.0)
    spherical = {k: v for k, v in HALO.items() if k not in ("epsilon", "angle")} | {"profile": "NFW"}
    x, y = np.meshgrid(np.linspace(-30, 30, 9), np.linspace(-25, 25, 8))
    a = _model(round_halo).deflections(x, y, 2.0)
    b = _model(spherical).deflections(x, y, 2.0)
    np.testing.assert_allclose(a, b, rtol=1e-14, atol=1e-15)


def test_pseudo_elliptical_nfw_row_rejects_a_q_and_an_epsilon_of_one():
    with pytest.raises(ModelError) as err:
        _model(dict(HALO, q=0.8))
    assert "q" in str(err.value)
    with pytest.raises(ModelError) as err:
        _model(dict(HALO, epsilon=1.0))
    assert "epsilon" in str(err.value)
