"""External shear: the CSV row (no centre: the reference point) and :mod:`clusterlens.profiles.shear`.

``gamma`` is the shear at D_LS/D_S = 1; every lensing quantity is proportional to it.
"""
from __future__ import annotations

from typing import Annotated, Literal

from ..columns import Angle, Galaxy, Redshift, Row, column
from ..profiles import shear
from . import Amplitude, MassFunctions, MassProfile, columns_as_arrays


class ExternalShearMass(Row):
    """External shear centred on the reference point; gamma is the value at D_LS/D_S = 1."""

    galaxy: Galaxy
    profile: Literal["ExternalShear"]
    redshift: Redshift
    gamma: Annotated[float, column("", "shear strength", ge=0, lt=1)]
    angle: Angle


def to_parameters(rows, cosmology, z_lens):
    """gamma (dimensionless) and angle [deg], as in the CSV."""
    return columns_as_arrays(rows, {"gamma": "gamma", "angle": "angle"})


PROFILES = (MassProfile("ExternalShear", ExternalShearMass, MassFunctions.of(shear), to_parameters,
                        Amplitude("gamma", 1.0)),)
