"""External shear: the CSV row (no centre: the reference point) and :mod:`clusterlens.profiles.shear`.

``gamma`` is the shear at D_LS/D_S = 1; every lensing quantity is proportional to it. Lenstool:
profile 14, ``gamma`` (its ellipticity field) and ``angle_pos``.
"""
from __future__ import annotations

from typing import Annotated, Literal

from ..columns import Angle, Galaxy, Redshift, Row, column
from ..profiles import shear
from . import (
    Amplitude,
    LenstoolCodec,
    LenstoolContext,
    LenstoolLimit,
    MassFunctions,
    MassProfile,
    columns_as_arrays,
)
from .lenstool_rules import ANGLE_LIMIT


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


def read_lenstool(context: LenstoolContext) -> dict:
    """Profile 14: gamma is the block's ellipticity field (keyword ``gamma``), angle its ``angle_pos``."""
    return {"gamma": context.fields.get("emass", 0.0), "angle": context.fields.get("theta", 0.0)}


def write_lenstool(row, cosmology, z_lens) -> dict:
    """The profile-14 fields (the ellipticity field written with keyword ``gamma``)."""
    return {"type": 14, "emass": row.gamma, "theta": row.angle}


_GAMMA = LenstoolLimit("gamma")
LENSTOOL = LenstoolCodec(
    profils={14: frozenset({"type", "nid", "x", "y", "emass", "theta", "z", "mag"})}, read=read_lenstool,
    write=write_lenstool, host=lambda row: False, keywords={"emass": "gamma"},
    limits={**ANGLE_LIMIT, "ellipticite": _GAMMA, "ellipticity": _GAMMA, "gamma": _GAMMA},
    limit_keywords={"gamma": "gamma", "angle": "angle_pos"})

PROFILES = (MassProfile("ExternalShear", ExternalShearMass, MassFunctions.of(shear), to_parameters,
                        Amplitude("gamma", 1.0), lenstool=LENSTOOL),)
