"""Cored isothermal ellipsoid: the CSV row and its conversion to :mod:`clusterlens.profiles.sie`.

``theta_e`` [arcsec] is the intermediate-axis Einstein radius at D_LS/D_S = 1; every lensing quantity
is proportional to it.
"""
from __future__ import annotations

from typing import Annotated, Literal

from ..columns import X, Y, Angle, AxisRatio, Galaxy, Radius, Redshift, Row, column
from ..profiles import sie
from . import Amplitude, MassFunctions, MassProfile, columns_as_arrays


class SIEMass(Row):
    """Cored isothermal ellipsoid; theta_e is the intermediate-axis Einstein radius at D_LS/D_S = 1."""

    galaxy: Galaxy
    profile: Literal["SIE"]
    x: X
    y: Y
    redshift: Redshift
    q: AxisRatio
    angle: Angle
    theta_e: Annotated[float, column("arcsec", "Einstein radius (intermediate axis)", gt=0)]
    r_core: Radius


_COLUMNS = {"center_x": "x", "center_y": "y", "theta_e": "theta_e", "r_core": "r_core", "q": "q", "angle": "angle"}


def to_parameters(rows, cosmology, z_lens):
    """center_x, center_y, theta_e, r_core [arcsec], q, angle [deg]: the CSV columns as they are."""
    return columns_as_arrays(rows, _COLUMNS)


PROFILES = (MassProfile("SIE", SIEMass, MassFunctions.of(sie), to_parameters, Amplitude("theta_e", 1.0)),)
