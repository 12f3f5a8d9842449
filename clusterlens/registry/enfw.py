"""Pseudo-elliptical NFW (Lenstool profile 12 with an ellipticity): the CSV row and its conversion.

The halo is the spherical NFW of :mod:`.nfw` (m200 and a concentration or a named relation -> kappa_s,
r_s at D_LS/D_S = 1) with its lensing potential made elliptical (Golse & Kneib 2002;
:mod:`clusterlens.profiles.enfw`). ``epsilon`` is that potential ellipticity, exactly the number
Lenstool 6.8 lenses with: a profile-12 ``ellipticite`` (not the mass ellipticity (a^2-b^2)/(a^2+b^2)
of profile 81). The iso-potential contours have axis ratio sqrt((1 - epsilon)/(1 + epsilon)) along
``angle``; the surface density is not elliptical, which is why this row has ``epsilon`` rather than
``q`` (docs/conventions.md). Lenstool: a profile-12 block with an ellipticity, epsilon = its
``ellipticite`` (or 3 ``ellip_pot`` when only that is given), ``angle_pos`` -> angle, m200 and the
concentration as for the spherical NFW; written back as profile 12 with ``ellipticite`` epsilon.
"""
from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import model_validator

from ..columns import Angle, Galaxy, Redshift, Row, X, Y, column
from ..profiles import enfw
from . import (
    LenstoolCodec,
    LenstoolContext,
    LenstoolLimit,
    MassFunctions,
    MassProfile,
    column_array,
)
from .nfw import (
    HALO_FIELDS,
    HALO_LIMIT_KEYWORDS,
    HALO_LIMITS,
    Concentration,
    ConcentrationRelation,
    Mass200,
    check_one_concentration,
    halo_from_lenstool,
    halo_parameters,
    is_round,
    write_halo,
)


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
    value_checks: ClassVar[frozenset[str]] = frozenset()  # the validator asks only which cell is blank

    @model_validator(mode="after")
    def _one_concentration(self) -> PseudoEllipticalNFWMass:
        check_one_concentration(self)
        return self


def to_parameters(rows, cosmology, z_lens):
    """The NFW's center_x, center_y, kappa_s, r_s plus epsilon and angle [deg] as in the CSV."""
    return {**halo_parameters(rows, cosmology, z_lens), "epsilon": column_array(rows, "epsilon"),
            "angle": column_array(rows, "angle")}


def read_lenstool(context: LenstoolContext) -> dict:
    """Profile 12 with an ellipticity: epsilon = ellipticite, else 3 ellip_pot (Lenstool 6.8 set_lens)."""
    f = context.fields
    epsilon = f.get("emass", 0.0)
    if epsilon == 0.0:
        epsilon = 3.0 * f.get("epot", 0.0)
    if not 0.0 <= epsilon < 1.0:
        raise context.error(f"ellipticite {epsilon!r} out of range: expected 0 <= epsilon < 1 (the potential "
                            "ellipticity of profile 12)", "emass" if "emass" in f else "epot")
    x, y = context.centre()
    m200, conc = halo_from_lenstool(context)
    return {"x": x, "y": y, "angle": f.get("theta", 0.0), "m200": m200, "concentration": conc, "epsilon": epsilon}


def _epsilon_values(keyword: str, flag: int, v1: float, v2: float) -> tuple[float, float]:
    """An ``ellipticite`` prior's values, checked below 1 and with negative bounds raised to 0."""
    if flag == 1 and max(v1, v2) >= 1.0 or flag == 3 and not 0.0 <= v1 < 1.0:
        raise ValueError(f"ellipticite prior ({v1!r}, {v2!r}) reaches epsilon >= 1: expected values below 1")
    return max(v1, 0.0), v2 if flag == 3 else max(v2, 0.0)


_EPSILON = LenstoolLimit("epsilon", check=_epsilon_values)
LENSTOOL = LenstoolCodec(
    profils={12: HALO_FIELDS}, takes=lambda fields: not is_round(fields), read=read_lenstool, host=lambda row: True,
    write=lambda row, cosmology, z_lens: write_halo(row, cosmology, z_lens, row.epsilon, row.angle),
    limits={**HALO_LIMITS, "ellipticite": _EPSILON, "ellipticity": _EPSILON},
    limit_keywords={**HALO_LIMIT_KEYWORDS, "angle": "angle_pos", "epsilon": "ellipticite"})

PROFILES = (MassProfile("PseudoEllipticalNFW", PseudoEllipticalNFWMass, MassFunctions.of(enfw), to_parameters,
                        lenstool=LENSTOOL),)
