"""Spherical NFW: the CSV row (m200 and a concentration or a named relation) and its conversion.

m200 [Msun] inside r200 (200 x the critical density at the lens) and c = r200/r_s become
(kappa_s, r_s [arcsec]) at D_LS/D_S = 1 (:func:`clusterlens.cosmology.nfw_lensing_parameters`); no
single column scales the profile (r_s depends on m200), so it has no amplitude. Lenstool: profile 12
with ellipticite 0 (and no ``ellip_pot``); m200 and c from what the block gives, in Lenstool's
set_dynamics order (:func:`halo_from_lenstool`).
"""
from __future__ import annotations

from types import ModuleType
from typing import Annotated, ClassVar, Literal

import numpy as np
from pydantic import Field, model_validator

from ..columns import Galaxy, Redshift, Row, X, Y, column
from ..cosmology import concentration_from_relation, nfw_lensing_parameters
from ..profiles import nfw
from ..units import m200_from_r200, r200_from_m200
from . import (
    LenstoolCodec,
    LenstoolContext,
    LenstoolLimit,
    MassFunctions,
    MassProfile,
    column_array,
)
from .lenstool_rules import (
    ANGLE_LIMIT,
    CENTRE_KEYWORDS,
    CENTRE_LIMITS,
)

_compiled: ModuleType | None
try:
    from ..profiles import nfw_numba as _compiled
except ImportError:  # numba missing: the numpy functions serve every NFW group
    _compiled = None

Mass200 = Annotated[float, column("Msun", "mass inside r200 (200 x critical density)", gt=0, le=1e17)]
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
    value_checks: ClassVar[frozenset[str]] = frozenset()  # the validator asks only which cell is blank

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


def halo_from_lenstool(context: LenstoolContext) -> tuple[float, float]:
    """(m200 [Msun], concentration) of a profile-12 block, from the first pair it gives in Lenstool's
    set_dynamics order: (c, m200), (c, r200), (c, r_s), (r_s, m200), (r_s, r200); lengths in kpc or
    arcsec (times the kpc per arcsec at the lens), r200 and m200 related by 200 rho_crit(z_lens)."""
    import astropy.units as u

    f = context.fields
    if f.get("alpha", 0.0) != 0.0:
        raise context.error(f"a generalised NFW (alpha {f['alpha']!r}) is not supported: expected alpha 0")
    d1 = context.kpc_per_arcsec
    conc, m200 = f.get("beta", 0.0), f.get("masse", 0.0)
    rs_kpc = f["rckpc"] if f.get("rckpc", 0.0) != 0.0 else f.get("rc", 0.0) * d1
    r200_kpc = f["rcutkpc"] if "rcutkpc" in f else f.get("rcut", 0.0) * d1
    rho_crit = float(context.cosmology.critical_density(context.redshift).to_value(u.Msun / u.kpc**3))
    if conc != 0.0 and m200 != 0.0:
        pass
    elif conc != 0.0 and r200_kpc != 0.0:
        m200 = float(m200_from_r200(r200_kpc, rho_crit))
    elif conc != 0.0 and rs_kpc != 0.0:
        m200 = float(m200_from_r200(conc * rs_kpc, rho_crit))
    elif rs_kpc != 0.0 and m200 != 0.0:
        conc = float(r200_from_m200(m200, rho_crit)) / rs_kpc
    elif rs_kpc != 0.0 and r200_kpc != 0.0:
        conc, m200 = r200_kpc / rs_kpc, float(m200_from_r200(r200_kpc, rho_crit))
    else:
        raise context.error("profile 12 needs two of concentration, m200, scale_radius[_kpc] and r200[_kpc] (a halo "
                            "given by v_disp alone is not supported)")
    return m200, conc


def write_halo(row, cosmology, z_lens, emass: float, angle: float) -> dict:
    """The profile-12 fields of a halo row with ellipticite ``emass``; a named relation's c is evaluated."""
    concentration = row.concentration
    if concentration is None:
        concentration = float(concentration_from_relation(cosmology, z_lens, row.m200, row.mc_relation))
    return {"type": 12, "x": row.x, "y": row.y, "emass": emass, "theta": angle, "beta": float(concentration),
            "masse": float(row.m200)}


def read_lenstool(context: LenstoolContext) -> dict:
    """Profile 12 without ellipticity: the spherical halo (q and angle stay blank)."""
    x, y = context.centre()
    m200, conc = halo_from_lenstool(context)
    return {"x": x, "y": y, "m200": m200, "concentration": conc}


def is_round(fields) -> bool:
    """Whether a profile-12 block has no ellipticity (neither ``ellipticite`` nor ``ellip_pot``)."""
    return fields.get("emass", 0.0) == 0.0 and fields.get("epot", 0.0) == 0.0


#: The Lenstool fields a profile-12 block uses; the limit keywords of its m200 and concentration.
HALO_FIELDS = frozenset({"type", "nid", "x", "y", "x_wcs", "y_wcs", "epot", "emass", "theta", "rc", "rckpc", "rcut",
                         "rcutkpc", "sigma", "beta", "masse", "pmass", "rcslope", "alpha", "z", "mag"})
_CONCENTRATION, _M200 = LenstoolLimit("concentration"), LenstoolLimit("m200")
HALO_LIMITS = {**CENTRE_LIMITS, **ANGLE_LIMIT, "concentration": _CONCENTRATION, "c": _CONCENTRATION,
               "beta": _CONCENTRATION, "m200": _M200, "masse": _M200, "mass": _M200}
HALO_LIMIT_KEYWORDS = {**CENTRE_KEYWORDS, "concentration": "concentration", "m200": "m200"}

LENSTOOL = LenstoolCodec(
    profils={12: HALO_FIELDS}, takes=is_round, read=read_lenstool, host=lambda row: True,
    write=lambda row, cosmology, z_lens: write_halo(row, cosmology, z_lens, 0.0,
                                                    0.0 if row.angle is None else row.angle),
    limits=HALO_LIMITS, limit_keywords=HALO_LIMIT_KEYWORDS)

PROFILES = (MassProfile("NFW", NFWMass, MassFunctions.of(nfw), halo_parameters, compiled=_compiled,
                        lenstool=LENSTOOL),)
