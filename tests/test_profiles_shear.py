"""External shear: definition and the lenstronomy peer."""

import numpy as np
import pytest

from clusterlens.lens import Lens, MassComponents
from clusterlens.peers import lenstronomy_model
from clusterlens.profiles import shear


def test_components_follow_the_angle_convention():
    g1, g2 = shear.components(0.1, 22.5)
    assert g1 == pytest.approx(0.1 / np.sqrt(2), rel=1e-15)
    assert g2 == pytest.approx(0.1 / np.sqrt(2), rel=1e-15)
    # angle = 90 deg: A = 1 - H = diag(1 + gamma, 1 - gamma), so images are stretched along y (along `angle`)
    hxx, hxy, hyy = shear.hessian(0.0, 0.0, 0.05, 90.0)
    assert (hxx, hxy, hyy) == pytest.approx((-0.05, 0.0, 0.05), abs=1e-17)


def test_shear_has_no_mass_and_constant_hessian():
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(2, 50)) * 20
    assert np.all(shear.convergence(x, y, 0.08, 17.0) == 0.0)
    hxx, hxy, hyy = shear.hessian(x, y, 0.08, 17.0)
    g1, g2 = shear.components(0.08, 17.0)
    assert np.all(hxx == g1) and np.all(hxy == g2) and np.all(hyy == -g1)
    assert hxx.shape == x.shape


def test_negative_gamma_is_rejected():
    with pytest.raises(ValueError, match="gamma"):
        shear.deflection(1.0, 1.0, -0.1, 0.0)


def test_matches_lenstronomy_shear():
    """lenstronomy peer (clusterlens.peers): SHEAR with gamma1 = gamma cos 2 angle, gamma2 = gamma sin 2 angle."""
    pytest.importorskip("lenstronomy")
    rng = np.random.default_rng(4)
    x, y = rng.uniform(-50, 50, size=(2, 200))
    gamma, angle = 0.12, -58.0
    model, kw = lenstronomy_model(Lens([MassComponents("ExternalShear", dict(gamma=[gamma], angle=[angle]))]))
    ax_ref, ay_ref = model.alpha(x, y, kw)
    ax, ay = shear.deflection(x, y, gamma, angle)
    np.testing.assert_allclose(ax, ax_ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ay, ay_ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(shear.potential(x, y, gamma, angle), model.potential(x, y, kw), rtol=1e-12, atol=1e-10)
