"""Cored isothermal ellipsoid: the CSV row and its conversion to :mod:`clusterlens.profiles.sie`.

``theta_e`` [arcsec] is the intermediate-axis Einstein radius at D_LS/D_S = 1; every lensing quantity
is proportional to it. Lenstool: read from profile 8 (PIEMD, the equivalent cored SIE) and from
profiles 1 and 0 (SIS) without ellipticity; written as profile 1 when singular and round, else 8.
"""
from __future__ import annotations

import math
from typing import Annotated, Literal

from ..columns import Angle, AxisRatio, Galaxy, Radius, Redshift, Row, X, Y, column
from ..profiles import sie
from ..units import SIS_FACTOR, b0_from_sigma, sigma_from_b0
from . import (
    Amplitude,
    LenstoolCodec,
    LenstoolContext,
    LenstoolLimit,
    MassFunctions,
    MassProfile,
    columns_as_arrays,
)
from .lenstool_rules import (
    ANGLE_LIMIT,
    CENTRE_KEYWORDS,
    CENTRE_LIMITS,
    HOST_MIN_CORE,
    HOST_MIN_SIGMA,
    emass_from_q,
    preimage,
    q_from_emass,
)


class SIEMass(Row):
    """Cored isothermal ellipsoid; theta_e is the intermediate-axis Einstein radius at D_LS/D_S = 1."""

    galaxy: Galaxy
    profile: Literal["SIE"]
    x: X
    y: Y
    redshift: Redshift
    q: AxisRatio
    angle: Angle
    theta_e: Annotated[float, column("arcsec", "Einstein radius (intermediate axis)", gt=0, le=1e4)]
    r_core: Radius


_COLUMNS = {"center_x": "x", "center_y": "y", "theta_e": "theta_e", "r_core": "r_core", "q": "q", "angle": "angle"}


def to_parameters(rows, cosmology, z_lens):
    """center_x, center_y, theta_e, r_core [arcsec], q, angle [deg]: the CSV columns as they are."""
    return columns_as_arrays(rows, _COLUMNS)


# ------------------------------------------------------------------ Lenstool: profiles 8 (PIEMD), 1 and 0 (SIS)
_SIS_FIELDS = frozenset({"type", "nid", "x", "y", "x_wcs", "y_wcs", "epot", "emass", "theta", "sigma", "z", "mag"})
_PIEMD_FIELDS = _SIS_FIELDS | {"rc", "rckpc"}


def _sis_theta_e(sigma: float) -> float:
    """theta_e [arcsec] of a profile-1 ``v_disp`` sigma [km/s]: 4 pi (sigma/c)^2."""
    return float(b0_from_sigma(sigma, SIS_FACTOR))


def _stretch(q: float) -> float:
    """(1 + q)/(2 sqrt q): a PIEMD (b0, rc) is the cored SIE (b0 / stretch, rc / stretch)."""
    return (1.0 + q) / (2.0 * math.sqrt(q))


def read_lenstool(context: LenstoolContext) -> dict:
    """Profile 8: kappa = (b0/2)/sqrt(rc^2 + rho^2), rho^2 = x'^2/(1+eps)^2 + y'^2/(1-eps)^2, b0 = 6 pi
    (sigma/c)^2, is the cored SIE (docs/conventions.md#sie-cored) with theta_e = b0 / s, r_core = rc / s,
    s = (1+q)/(2 sqrt q).
    Profiles 1 and 0 with no ellipticity: the SIS, theta_e = 4 pi (sigma/c)^2, q = 1, r_core = 0."""
    f = context.fields
    x, y = context.centre()
    emass = context.emass()
    if f["type"] == 8:
        if "sigma" not in f:
            raise context.error("profile 8 needs 'v_disp'")
        q = q_from_emass(emass)
        stretch = _stretch(q)
        return {"x": x, "y": y, "q": q, "angle": f.get("theta", 0.0),
                "theta_e": float(b0_from_sigma(f["sigma"])) / stretch,
                "r_core": context.radius("rc", "rckpc", 0.0) / stretch}
    if f["type"] == 1 and emass != 0.0:
        raise context.error("an elliptical profile 1 (pseudo-elliptical potential) has no exact clusterlens "
                            "equivalent: expected ellipticite 0, or profile 81", "emass")
    if "sigma" not in f:
        raise context.error(f"profile {f['type']} needs 'v_disp'")
    return {"x": x, "y": y, "q": 1.0, "angle": 0.0, "theta_e": _sis_theta_e(f["sigma"]), "r_core": 0.0}


def write_lenstool(row, cosmology, z_lens) -> dict:
    """A singular round SIE as profile 1 (SIS); any other as the equivalent profile 8 (PIEMD)."""
    if row.q == 1.0 and row.r_core == 0.0:
        sigma = preimage(_sis_theta_e, row.theta_e, float(sigma_from_b0(row.theta_e, SIS_FACTOR)))
        return {"type": 1, "x": row.x, "y": row.y, "emass": 0.0, "theta": row.angle, "sigma": sigma}
    stretch = _stretch(row.q)
    return {"type": 8, "x": row.x, "y": row.y, "emass": emass_from_q(row.q), "theta": row.angle,
            "rc": row.r_core * stretch, "sigma": float(sigma_from_b0(row.theta_e * stretch))}


def is_host(row) -> bool:
    """A host halo when the SIS sigma of theta_e or r_core reach the host thresholds."""
    return float(sigma_from_b0(row["theta_e"], SIS_FACTOR)) >= HOST_MIN_SIGMA or row["r_core"] >= HOST_MIN_CORE


def _sigma_values(keyword: str, flag: int, v1: float, v2: float) -> tuple[float, float]:
    """A velocity-dispersion prior's values, checked >= 0 km/s."""
    if v1 < 0.0 or flag == 1 and v2 < 0.0:
        raise ValueError(f"{keyword} prior ({v1!r}, {v2!r}) reaches a negative velocity dispersion: expected values "
                         ">= 0 km/s")
    return v1, v2


_SIS_SIGMA_LIMIT = LenstoolLimit("theta_e", forward=_sis_theta_e, derivative=lambda s: 2.0 * _sis_theta_e(1.0) * s,
                                 check=_sigma_values)
_LIMITS = {**CENTRE_LIMITS, **ANGLE_LIMIT, "v_disp": _SIS_SIGMA_LIMIT, "sigma_e": _SIS_SIGMA_LIMIT}


def limits_for(fields, row) -> dict[str, LenstoolLimit]:
    """The limit rules of one potential: a profile-8 ``v_disp`` prior becomes a prior on theta_e =
    6 pi (sigma/c)^2 / s with the row's stretch s = (1+q)/(2 sqrt q) (:func:`read_lenstool`); profiles 1
    and 0 use theta_e = 4 pi (sigma/c)^2."""
    if fields["type"] != 8:
        return _LIMITS
    stretch = _stretch(row["q"])
    rule = LenstoolLimit("theta_e", forward=lambda s: float(b0_from_sigma(s)) / stretch,
                         derivative=lambda s: 2.0 * float(b0_from_sigma(1.0)) * s / stretch, check=_sigma_values)
    return {**_LIMITS, "v_disp": rule, "sigma_e": rule}


LENSTOOL = LenstoolCodec(
    profils={8: _PIEMD_FIELDS, 1: _SIS_FIELDS, 0: _SIS_FIELDS}, read=read_lenstool, write=write_lenstool,
    host=is_host, limits=_LIMITS, limit_keywords={**CENTRE_KEYWORDS, "angle": "angle_pos"}, limits_for=limits_for)

PROFILES = (MassProfile("SIE", SIEMass, MassFunctions.of(sie), to_parameters, Amplitude("theta_e", 1.0),
                        lenstool=LENSTOOL),)
