"""clusterlens.peers: the lenstronomy twin of a Lens (its parameter maps are checked profile by profile in
tests/test_profiles_*.py and as a whole lens in tests/test_lens.py)."""
import sys

import numpy as np
import pytest

from clusterlens.lens import Lens, MassComponents
from clusterlens.peers import COUNTERPARTS, lenstronomy_model, to_lenstronomy
from clusterlens.registry import MASS_PROFILES


def _lens() -> Lens:
    return Lens([
        MassComponents("NFW", {"center_x": [1.0], "center_y": [-2.0], "kappa_s": [0.25], "r_s": [40.0]}),
        MassComponents("SIE", {"center_x": [0.5], "center_y": [0.2], "theta_e": [2.0], "r_core": [0.0], "q": [1.0],
                               "angle": [0.0]}),
        MassComponents("dPIE", {"center_x": [3.0, -4.0], "center_y": [1.0, 6.0], "b0": [0.8, 0.5],
                                "r_core": [0.1, 0.0], "r_cut": [12.0, 8.0], "q": [0.6, 1.0], "angle": [35.0, -20.0]}),
        MassComponents("ExternalShear", {"gamma": [0.05], "angle": [33.0]}),
        MassComponents("PseudoEllipticalNFW", {"center_x": [-2.0], "center_y": [3.0], "kappa_s": [0.1], "r_s": [25.0],
                                               "epsilon": [0.18], "angle": [70.0]}),
    ])


def test_every_registered_mass_profile_has_a_counterpart():
    assert set(COUNTERPARTS) == set(MASS_PROFILES)
    assert {group.profile for group in _lens().groups} == set(MASS_PROFILES)


def test_one_model_per_component_two_per_dpie_and_amplitudes_scale_linearly():
    names, kwargs = to_lenstronomy(_lens())
    assert names == ["NFW", "NIE", "NIE", "NIE", "NIE", "NIE", "SHEAR", "NFW_ELLIPSE_POTENTIAL"]
    half_names, half = to_lenstronomy(_lens(), scale=0.5)
    assert half_names == names
    amplitudes = {"alpha_Rs", "theta_E", "gamma1", "gamma2"}
    for full, scaled in zip(kwargs, half, strict=True):
        assert full.keys() == scaled.keys()
        for key, value in full.items():
            assert scaled[key] == pytest.approx(0.5 * value if key in amplitudes else value, rel=1e-15)


def test_the_twin_deflects_like_the_lens_at_any_distance_ratio():
    pytest.importorskip("lenstronomy")
    lens = _lens()
    rng = np.random.default_rng(6)
    x, y = rng.uniform(-30, 30, (2, 200))
    for scale in (1.0, 0.37):
        model, kwargs = lenstronomy_model(lens, scale)
        ax_ref, ay_ref = model.alpha(x, y, kwargs)
        ax, ay = lens.deflection(x, y, scale)
        norm = np.hypot(ax_ref, ay_ref)
        # lenstronomy evaluates q = 1 at q = 1 - 1e-8, a relative change of order 1e-8
        np.testing.assert_allclose(np.hypot(ax - ax_ref, ay - ay_ref) / norm, 0.0, atol=5e-8)


def test_missing_lenstronomy_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "lenstronomy.LensModel.lens_model", None)
    with pytest.raises(ImportError, match=r'pip install -e "\.\[test\]"'):
        lenstronomy_model(_lens())


def test_profile_without_a_counterpart_is_named():
    unknown = MassComponents("Jaffe", {"center_x": [0.0]}, "odd", check=False)  # unchecked: any name goes
    with pytest.raises(ValueError, match="'Jaffe'.*'odd'"):
        to_lenstronomy(Lens([unknown], backend="numpy"))
