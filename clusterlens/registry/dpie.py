"""dPIE (Lenstool profile 81): the CSV row and its conversion to :mod:`clusterlens.profiles.dpie`.

``sigma`` [km/s] is Lenstool's fiducial velocity dispersion: b0 = 6 pi (sigma/c)^2 at D_LS/D_S = 1
(Eliasdottir et al. 2007, eq. A7), so every lensing quantity scales as sigma^2.
"""
from __future__ import annotations

from typing import Literal

from pydantic import model_validator

from ..columns import X, Y, Angle, AxisRatio, Galaxy, PositiveRadius, Radius, Redshift, Row, VelocityDispersion
from ..columns import check_core_below_cut
from ..units import b0_from_sigma
from ..profiles import dpie
from . import Amplitude, MassFunctions, MassProfile, column_array

try:
    from ..profiles import dpie_numba as _compiled
except ImportError:  # numba missing: the numpy functions serve every dPIE group
    _compiled = None


class DPIEMass(Row):
    """dPIE (Lenstool profile 81): b0 = 6 pi (sigma/c)^2 at D_LS/D_S = 1."""

    galaxy: Galaxy
    profile: Literal["dPIE"]
    x: X
    y: Y
    redshift: Redshift
    q: AxisRatio
    angle: Angle
    sigma: VelocityDispersion
    r_core: Radius
    r_cut: PositiveRadius

    @model_validator(mode="after")
    def _core_below_cut(self) -> DPIEMass:
        check_core_below_cut(self.r_core, self.r_cut, "r_core", "r_cut")
        return self


def to_parameters(rows, cosmology, z_lens):
    """center_x, center_y [arcsec], b0 [arcsec], r_core, r_cut [arcsec], q, angle [deg]."""
    return {"center_x": column_array(rows, "x"), "center_y": column_array(rows, "y"),
            "b0": b0_from_sigma(column_array(rows, "sigma")), "r_core": column_array(rows, "r_core"),
            "r_cut": column_array(rows, "r_cut"), "q": column_array(rows, "q"), "angle": column_array(rows, "angle")}


PROFILES = (MassProfile("dPIE", DPIEMass, MassFunctions.of(dpie), to_parameters, Amplitude("sigma", 2.0),
                        compiled=_compiled),)
