"""Member scaling relations."""

import numpy as np
import pytest

from clusterlens.scaling import member_parameters

REFERENCE = dict(mag_ref=19.5, sigma_ref=180.0, r_core_ref=0.05, r_cut_ref=12.0)
LENSTOOL_SLOPES = dict(sigma_slope=1 / 4, r_core_slope=1 / 2, r_cut_slope=2 / 4)  # vdslope = 4, slope = 4


def test_reference_magnitude_gives_reference_values():
    sigma, r_core, r_cut = member_parameters(19.5, **REFERENCE, **LENSTOOL_SLOPES)
    assert (sigma, r_core, r_cut) == pytest.approx((180.0, 0.05, 12.0), rel=1e-15)


def test_five_magnitudes_is_a_factor_hundred_in_luminosity():
    mag = np.array([14.5, 24.5])  # L/L_ref = 100 and 1/100
    sigma, r_core, r_cut = member_parameters(mag, **REFERENCE, **LENSTOOL_SLOPES)
    np.testing.assert_allclose(sigma, 180.0 * np.array([100 ** 0.25, 100 ** -0.25]), rtol=1e-14)
    np.testing.assert_allclose(r_core, 0.05 * np.array([10.0, 0.1]), rtol=1e-14)
    np.testing.assert_allclose(r_cut, 12.0 * np.array([10.0, 0.1]), rtol=1e-14)


def test_constant_mass_to_light_tidal_radius_scales_mass_with_luminosity():
    """dPIE total mass ~ sigma^2 r_cut; with sigma ~ L^1/4 and r_cut ~ L^1/2 it is ~ L (Lenstool's usual choice)."""
    rng = np.random.default_rng(0)
    mag = rng.uniform(17, 24, 30)
    sigma, _, r_cut = member_parameters(mag, **REFERENCE, **LENSTOOL_SLOPES)
    luminosity = 10 ** (0.4 * (19.5 - mag))
    mass_to_light = sigma**2 * r_cut / luminosity
    np.testing.assert_allclose(mass_to_light, mass_to_light[0], rtol=1e-12)


@pytest.mark.parametrize(
    "bad",
    [dict(mag=[np.nan]), dict(sigma_ref=0.0), dict(r_cut_ref=-1.0), dict(r_core_ref=-0.1), dict(sigma_slope=np.inf)],
)
def test_bad_inputs_raise(bad):
    kwargs = dict(mag=[20.0], **REFERENCE, **LENSTOOL_SLOPES)
    kwargs.update(bad)
    with pytest.raises(ValueError):
        member_parameters(**kwargs)
