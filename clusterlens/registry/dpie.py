"""dPIE (Lenstool profile 81): the CSV row and its conversion to :mod:`clusterlens.profiles.dpie`.

``sigma`` [km/s] is Lenstool's fiducial velocity dispersion: b0 = 6 pi (sigma/c)^2 at D_LS/D_S = 1
(Eliasdottir et al. 2007, eq. A7), so every lensing quantity scales as sigma^2. Lenstool: profile 81
with ``v_disp``, ``core_radius[_kpc]``, ``cut_radius[_kpc]``, ``ellipticite`` emass -> q, ``angle_pos``.
"""
from __future__ import annotations

from types import ModuleType
from typing import Literal

from pydantic import model_validator

from ..columns import (
    Angle,
    AxisRatio,
    Galaxy,
    PositiveRadius,
    Radius,
    Redshift,
    Row,
    VelocityDispersion,
    X,
    Y,
    check_core_below_cut,
)
from ..profiles import dpie
from ..units import b0_from_sigma
from . import (
    Amplitude,
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
    HOST_MIN_CORE,
    HOST_MIN_SIGMA,
    Q_FROM_EMASS,
    emass_from_q,
    q_from_emass,
)

_compiled: ModuleType | None
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


def read_lenstool(context: LenstoolContext) -> dict:
    """Profile 81: sigma = v_disp, q from emass, radii in arcsec (from the arcsec or the kpc keyword)."""
    f = context.fields
    x, y = context.centre()
    emass = context.emass()
    r_core = context.radius("rc", "rckpc", 0.0)
    r_cut = context.radius("rcut", "rcutkpc", None)
    if r_cut is None:
        raise context.error("profile 81 needs 'cut_radius' or 'cut_radius_kpc' (a dPIE without a cut radius has "
                            "infinite mass)")
    if "sigma" not in f:
        raise context.error("profile 81 needs 'v_disp'")
    return {"x": x, "y": y, "q": q_from_emass(emass), "angle": f.get("theta", 0.0), "sigma": f["sigma"],
            "r_core": r_core, "r_cut": r_cut}


def write_lenstool(row, cosmology, z_lens) -> dict:
    """The profile-81 fields of a dPIE row (emass read back gives q exactly)."""
    return {"type": 81, "x": row.x, "y": row.y, "emass": emass_from_q(row.q), "theta": row.angle, "rc": row.r_core,
            "rcut": row.r_cut, "sigma": row.sigma}


def is_host(row) -> bool:
    """A host halo when r_core or sigma reach the host thresholds."""
    return row["r_core"] >= HOST_MIN_CORE or row["sigma"] >= HOST_MIN_SIGMA


_SIGMA = LenstoolLimit("sigma")
LENSTOOL = LenstoolCodec(
    profils={81: frozenset({"type", "nid", "x", "y", "x_wcs", "y_wcs", "epot", "emass", "theta", "rc", "rckpc",
                            "rcut", "rcutkpc", "sigma", "z", "mag"})},
    read=read_lenstool, write=write_lenstool, host=is_host,
    limits={**CENTRE_LIMITS, **ANGLE_LIMIT, "ellipticite": Q_FROM_EMASS, "ellipticity": Q_FROM_EMASS, "v_disp": _SIGMA,
            "sigma_e": _SIGMA, "core_radius": LenstoolLimit("r_core"), "cut_radius": LenstoolLimit("r_cut"),
            "core_radius_kpc": LenstoolLimit("r_core", kpc=True), "cut_radius_kpc": LenstoolLimit("r_cut", kpc=True)},
    limit_keywords={**CENTRE_KEYWORDS, "angle": "angle_pos", "sigma": "v_disp", "r_core": "core_radius",
                    "r_cut": "cut_radius", "q": "ellipticite"})

PROFILES = (MassProfile("dPIE", DPIEMass, MassFunctions.of(dpie), to_parameters, Amplitude("sigma", 2.0),
                        compiled=_compiled, lenstool=LENSTOOL),)
