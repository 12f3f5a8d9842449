"""Physical constants and unit conventions: the one definition of each in clusterlens.

Angles are arcsec, velocities km/s, masses Msun; RA, Dec in degrees. Every function is a pure,
vectorised numpy function. The constants are literals (with their source), so this module loads
without astropy; ``tests/test_units.py`` checks each against ``astropy.constants`` / ``astropy.units``.

- Sky offsets: x = -(RA - RA0) cos(Dec0) 3600, y = (Dec - Dec0) 3600 arcsec from the reference
  (RA0, Dec0), x positive to the West, RA - RA0 wrapped into [-180, 180) (Lenstool's convention,
  no tangent projection).
- Isothermal strengths, as Lenstool computes them (set_dynamics): the dPIE/PIEMD b0 = 6 pi (sigma/c)^2
  of Eliasdottir et al. 2007 (arXiv:0710.5636), sigma being Lenstool's fiducial velocity dispersion,
  and the SIS Einstein radius theta_E = 4 pi (sigma/c)^2; radians at D_LS/D_S = 1.
- r200 <-> m200: the mean density inside r200 is 200 rho_crit(z) (Navarro, Frenk & White 1997).
"""
from __future__ import annotations

import math

import numpy as np

C_KMS = 299792.458
"""Speed of light [km/s], exact (SI definition of the metre, 1983)."""
ARCSEC = math.pi / 648000.0
"""One arcsecond in radians (pi / (180 * 3600))."""
ARCSEC_PER_RADIAN = 648000.0 / math.pi
"""Arcseconds in one radian (180 * 3600 / pi)."""
ARCSEC_PER_DEG = 3600.0
"""Arcseconds in one degree."""
G_OVER_C2 = 4.785415841587843e-20
"""G / c^2 [Mpc/Msun]: the IAU 2015 nominal G M_sun = 1.3271244e20 m^3 s^-2 (Resolution B3) over c^2,
in Mpc (1 pc = 648000/pi au, 1 au = 149597870700 m exactly), as astropy.constants computes it."""
MPC_OVER_C_DAYS = 1191286169.610405
"""Light travel time across 1 Mpc [days] (1 Mpc = 1e6 pc as above, 1 day = 86400 s), as astropy computes it."""
DAYS_PER_MPC_ARCSEC2 = MPC_OVER_C_DAYS * ARCSEC**2
"""Days of delay per Mpc of time-delay distance per arcsec^2 of Fermat potential: dt = D_dt / c * dphi."""

#: ``factor`` of :func:`b0_from_sigma` for a dPIE/PIEMD b0 and for an SIS Einstein radius.
DPIE_FACTOR, SIS_FACTOR = 6.0, 4.0


def _finite_nonnegative(name: str, value, unit: str) -> np.ndarray:
    value = np.asarray(value, dtype=float)
    if np.any(~np.isfinite(value)) or np.any(value < 0):
        raise ValueError(f"{name} must be finite and >= 0 {unit}, got {value}")
    return value


def b0_from_sigma(sigma_kms, factor: float = DPIE_FACTOR):
    """Lens strength factor * pi * (sigma/c)^2 in arcsec at D_LS/D_S = 1 for a velocity dispersion in km/s.

    ``factor`` 6 gives the dPIE/PIEMD b0 (Eliasdottir et al. 2007, with Lenstool's fiducial sigma), 4 the
    SIS Einstein radius theta_E. Vectorised; raises ValueError for sigma < 0 or not finite.
    """
    sigma = _finite_nonnegative("sigma", sigma_kms, "km/s")
    return factor * math.pi * (sigma / C_KMS) ** 2 / ARCSEC


def sigma_from_b0(b0_arcsec, factor: float = DPIE_FACTOR):
    """Velocity dispersion [km/s] whose :func:`b0_from_sigma` (same ``factor``) is ``b0_arcsec`` [arcsec]."""
    b0 = _finite_nonnegative("b0", b0_arcsec, "arcsec")
    return C_KMS * np.sqrt(b0 / (factor * math.pi * ARCSEC_PER_RADIAN))


def arcsec_from_length(length, distance):
    """Angle [arcsec] subtended by a proper ``length`` at angular diameter ``distance`` (same length unit)."""
    return np.asarray(length, dtype=float) / np.asarray(distance, dtype=float) / ARCSEC


def length_from_arcsec(theta_arcsec, distance):
    """Proper length (unit of ``distance``) subtended by ``theta_arcsec`` [arcsec] at angular diameter ``distance``."""
    return np.asarray(theta_arcsec, dtype=float) * ARCSEC * np.asarray(distance, dtype=float)


def kpc_per_arcsec(cosmology, z: float) -> float:
    """Proper kpc per arcsec at redshift ``z`` from the angular diameter distance of an astropy ``cosmology``."""
    import astropy.units as u

    return float(cosmology.angular_diameter_distance(z).to_value(u.kpc)) / ARCSEC_PER_RADIAN


def m200_from_r200(r200, rho_crit):
    """Mass inside ``r200`` where the mean density is 200 ``rho_crit``: 200 rho_crit (4/3) pi r200^3.

    Units follow the arguments: r200 [kpc] with rho_crit [Msun/kpc^3] gives Msun (likewise Mpc).
    """
    return 200.0 * np.asarray(rho_crit, dtype=float) * 4.0 / 3.0 * np.pi * np.asarray(r200, dtype=float) ** 3


def r200_from_m200(m200, rho_crit):
    """Radius inside which the mean density is 200 ``rho_crit`` for mass ``m200`` (inverse of :func:`m200_from_r200`).

    m200 [Msun] with rho_crit [Msun/kpc^3] gives kpc (with Msun/Mpc^3, Mpc).
    """
    m200 = np.asarray(m200, dtype=float)
    return (3.0 * m200 / (4.0 * np.pi * 200.0 * np.asarray(rho_crit, dtype=float))) ** (1.0 / 3.0)


def sky_offsets(ra_deg, dec_deg, ra0_deg: float, dec0_deg: float) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) [arcsec] of sky positions RA, Dec [deg] from the reference (RA0, Dec0) [deg].

    x = -(RA - RA0) cos(Dec0) 3600 (positive to the West), y = (Dec - Dec0) 3600, with RA - RA0
    wrapped into [-180, 180) so that a reference near RA = 0 sees both sides of it.
    """
    dra = np.asarray(ra_deg, dtype=float) - ra0_deg
    dra = np.where(dra >= 180.0, dra - 360.0, np.where(dra < -180.0, dra + 360.0, dra))
    outside = (dra < -180.0) | (dra >= 180.0)  # more than one turn apart
    if np.any(outside):
        dra = np.where(outside, np.remainder(dra + 180.0, 360.0) - 180.0, dra)
    x = -dra * np.cos(np.deg2rad(dec0_deg)) * ARCSEC_PER_DEG
    y = (np.asarray(dec_deg, dtype=float) - dec0_deg) * ARCSEC_PER_DEG
    return x, y


def sky_positions(x_arcsec, y_arcsec, ra0_deg: float, dec0_deg: float) -> tuple[np.ndarray, np.ndarray]:
    """RA, Dec [deg] of offsets (x, y) [arcsec] from (RA0, Dec0) [deg]: the inverse of :func:`sky_offsets`.

    RA is RA0 plus the offset, not reduced into [0, 360) (:func:`sky_offsets` wraps the difference).
    """
    ra = np.asarray(x_arcsec, dtype=float) / (-ARCSEC_PER_DEG * np.cos(np.deg2rad(dec0_deg))) + ra0_deg
    dec = np.asarray(y_arcsec, dtype=float) / ARCSEC_PER_DEG + dec0_deg
    return ra, dec


def _is_quantity(value) -> bool:
    """True for an astropy Quantity, checked without importing astropy for anything else."""
    if not type(value).__module__.startswith("astropy"):
        return False
    import astropy.units as u

    return isinstance(value, u.Quantity)


def as_arcsec(value, name: str):
    """A position or length given by a user, in arcsec.

    An astropy Quantity in angle units (also a list or tuple of them) is converted to arcsec: a
    float for a scalar, else a float array. Plain numbers and arrays are arcsec already and are
    returned unchanged. A Quantity in any other unit, a dimensionless one included, raises
    ValueError naming the argument ``name`` and the unit.
    """
    if isinstance(value, (list, tuple)) and any(_is_quantity(v) for v in value):
        import astropy.units as u

        try:
            value = u.Quantity(value)
        except (TypeError, ValueError) as err:  # UnitConversionError is a ValueError
            raise ValueError(f"{name}: cannot read {value!r} as angles (give all in angle units, "
                             f"e.g. astropy.units.arcsec): {err}") from None
    if not _is_quantity(value):
        return value
    import astropy.units as u

    if not value.unit.is_equivalent(u.arcsec):
        what = "a dimensionless Quantity" if value.unit.physical_type == "dimensionless" else \
            f"a Quantity in {value.unit} ({value.unit.physical_type})"
        raise ValueError(f"{name} must be an angle (arcsec, or an astropy Quantity in angle units), got {what}")
    arcsec = np.asarray(value.to_value(u.arcsec), dtype=float)
    return float(arcsec) if arcsec.ndim == 0 else arcsec
