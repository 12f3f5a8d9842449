"""Spherical NFW: the CSV row (m200 and a concentration or a named relation) and its conversion.

m200 [Msun] inside r200 (200 x the critical density at the lens) and c = r200/r_s become
(kappa_s, r_s [arcsec]) at D_LS/D_S = 1 (:func:`clusterlens.cosmology.nfw_lensing_parameters`); no
single column scales the profile (r_s depends on m200), so it has no amplitude.
"""
from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from pydantic import Field, model_validator

from ..columns import X, Y, Galaxy, Redshift, Row, column
from ..cosmology import concentration_from_relation, nfw_lensing_parameters
from ..profiles import nfw
from . import MassFunctions, MassProfile, column_array

Mass200 = Annotated[float, column("Msun", "mass inside r200 (200 x critical density)", gt=0)]
Concentration = Annotated[float | None, column("", "concentration r200/r_s", None, gt=0, le=100)]
ConcentrationRelation = Annotated[
    Literal["duffy08", "ludlow16", "diemer19", "child18", "bullock01", "prada12", "klypin16_m"] | None,
    Field(None, description="colossus mass-concentration relation name (instead of concentration)"),
]


class NFWMass(Row):
    """Spherical NFW from m200 (200 x critical density at the lens) and a concentration or a named relation."""

    galaxy: Galaxy
    profile: Literal["NFW"]
    x: X
    y: Y
    redshift: Redshift
    q: Annotated[float | None, column("", "axis ratio; NFW is spherical, so blank or 1", None, ge=1, le=1)]
    angle: Annotated[float | None, column("deg", "position angle (unused by a spherical NFW)", None, ge=-360, le=360)]
    m200: Mass200
    concentration: Concentration
    mc_relation: ConcentrationRelation

    @model_validator(mode="after")
    def _one_concentration(self) -> NFWMass:
        check_one_concentration(self)
        return self


def check_one_concentration(row) -> None:
    """Raise ValueError unless exactly one of ``concentration`` and ``mc_relation`` is filled."""
    if (row.concentration is None) == (row.mc_relation is None):
        raise ValueError("fill exactly one of concentration or mc_relation")


def halo_parameters(rows, cosmology, z_lens) -> dict[str, np.ndarray]:
    """center_x, center_y [arcsec], kappa_s, r_s [arcsec] of NFW halos from m200 and c (or a relation)."""
    m200 = column_array(rows, "m200")
    conc = np.array([r.concentration if r.concentration is not None
                     else concentration_from_relation(cosmology, z_lens, r.m200, r.mc_relation) for r in rows])
    kappa_s, r_s = nfw_lensing_parameters(cosmology, z_lens, m200, conc)
    return {"center_x": column_array(rows, "x"), "center_y": column_array(rows, "y"),
            "kappa_s": np.asarray(kappa_s, float), "r_s": np.asarray(r_s, float)}


PROFILES = (MassProfile("NFW", NFWMass, MassFunctions.of(nfw), halo_parameters),)
