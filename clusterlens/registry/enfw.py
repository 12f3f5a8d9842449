"""Pseudo-elliptical NFW (Lenstool profile 12 with an ellipticity): the CSV row and its conversion.

The halo is the spherical NFW of :mod:`.nfw` (m200 and a concentration or a named relation -> kappa_s,
r_s at D_LS/D_S = 1) with its lensing potential made elliptical (Golse & Kneib 2002;
:mod:`clusterlens.profiles.enfw`). ``epsilon`` is that potential ellipticity, exactly the number
Lenstool 6.8 lenses with: a profile-12 ``ellipticite`` (not the mass ellipticity (a^2-b^2)/(a^2+b^2)
of profile 81). The iso-potential contours have axis ratio sqrt((1 - epsilon)/(1 + epsilon)) along
``angle``; the surface density is not elliptical, which is why this row has ``epsilon`` rather than
``q`` (docs/conventions.md).
"""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import model_validator

from ..columns import X, Y, Angle, Galaxy, Redshift, Row, column
from ..profiles import enfw
from . import MassFunctions, MassProfile, column_array
from .nfw import Concentration, ConcentrationRelation, Mass200, check_one_concentration, halo_parameters


class PseudoEllipticalNFWMass(Row):
    """NFW halo with an elliptical potential (Golse & Kneib 2002; Lenstool profile 12)."""

    galaxy: Galaxy
    profile: Literal["PseudoEllipticalNFW"]
    x: X
    y: Y
    redshift: Redshift
    angle: Angle
    m200: Mass200
    concentration: Concentration
    mc_relation: ConcentrationRelation
    epsilon: Annotated[float, column("", "potential ellipticity (Lenstool profile-12 ellipticite)", ge=0, lt=1)]

    @model_validator(mode="after")
    def _one_concentration(self) -> PseudoEllipticalNFWMass:
        check_one_concentration(self)
        return self


def to_parameters(rows, cosmology, z_lens):
    """The NFW's center_x, center_y, kappa_s, r_s plus epsilon and angle [deg] as in the CSV."""
    return {**halo_parameters(rows, cosmology, z_lens), "epsilon": column_array(rows, "epsilon"),
            "angle": column_array(rows, "angle")}


PROFILES = (MassProfile("PseudoEllipticalNFW", PseudoEllipticalNFWMass, MassFunctions.of(enfw), to_parameters),)
