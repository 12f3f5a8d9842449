"""Cored (non-singular) isothermal ellipsoid, the SIE when ``r_core = 0``.

Convergence (docs/conventions.md#sie-cored, intermediate-axis normalisation)::

    kappa = theta_e / (2 sqrt(r_core^2 + q x'^2 + y'^2 / q))

with (x', y') the frame rotated counter-clockwise by ``angle`` (degrees) about
(``center_x``, ``center_y``); ``q`` = b/a of the kappa contours, major axis along
x'. ``theta_e`` is the Einstein radius at D_LS/D_S = 1: the mass inside the
ellipse of elliptical radius ``theta_e`` equals pi theta_e^2 for every q.
All lengths in arcsec; deflections in arcsec; potential in arcsec^2.

Closed forms: Kormann, Schneider & Bartelmann 1994 (A&A 284, 285) for the
singular case, and Keeton & Kochanek 1998 (ApJ 495, 157; the expressions that
follow their eq. 8) / Keeton 2001 (astro-ph/0102341, softened isothermal
ellipsoid, alpha = 1) for the cored case. In Keeton's form

    kappa = (b q / 2) / psi,   psi = sqrt(q^2 (s^2 + x'^2) + y'^2),

so this profile is Keeton's with b = theta_e / sqrt(q) and s = r_core / sqrt(q).
lenstronomy's 'NIE' (kappa = theta_E / (2 sqrt(s_scale^2 + q x'^2 + y'^2/q))) is the
same profile with theta_E = theta_e, s_scale = r_core and
e1 + i e2 = (1-q)/(1+q) exp(2 i angle) (verified in tests/test_profiles_sie.py).
The Keeton-form functions below (``keeton_*``) are shared with the dPIE module.

Limits: q = 1 uses the analytic limit arctan(u t)/u -> t (no clipping of q);
a core radius below ``CORE_FLOOR`` arcsec is evaluated as ``CORE_FLOOR``, which
keeps the centre finite (kappa ~ 1e50 there instead of infinity) and changes
values elsewhere by less than double precision.
"""

from __future__ import annotations

import numpy as np

PARAMETERS = ("center_x", "center_y", "theta_e", "r_core", "q", "angle")

CORE_FLOOR = 1e-50
"""Smallest core radius (arcsec) used in evaluation; smaller cores, including 0, use it."""


def check_axis_ratio(q) -> None:
    """Raise ValueError unless every q satisfies 0 < q <= 1."""
    q = np.asarray(q, dtype=float)
    if not np.all((q > 0.0) & (q <= 1.0)):
        raise ValueError(f"axis ratio q must satisfy 0 < q <= 1, got {q[~((q > 0.0) & (q <= 1.0))].ravel()[:5]}")


def check_nonnegative(name: str, value) -> None:
    """Raise ValueError unless every element of value is finite and >= 0."""
    value = np.asarray(value, dtype=float)
    bad = ~(np.isfinite(value) & (value >= 0.0))
    if np.any(bad):
        raise ValueError(f"{name} must be finite and >= 0, got {value[bad].ravel()[:5]}")


def to_profile_frame(x, y, center_x, center_y, angle):
    """Coordinates (x', y') in the frame rotated counter-clockwise by ``angle`` degrees.

    Returns (x', y', cos(angle), sin(angle)); x' runs along the major axis.
    """
    phi = np.deg2rad(angle)
    cos, sin = np.cos(phi), np.sin(phi)
    dx = np.subtract(x, center_x)
    dy = np.subtract(y, center_y)
    return cos * dx + sin * dy, cos * dy - sin * dx, cos, sin


def vector_to_sky(ax_p, ay_p, cos, sin):
    """Rotate a vector from the profile frame back to the sky frame."""
    return cos * ax_p - sin * ay_p, sin * ax_p + cos * ay_p


def hessian_to_sky(hxx_p, hxy_p, hyy_p, cos, sin):
    """Rotate a Hessian from the profile frame back to the sky frame (H = R^T H' R)."""
    cos2 = cos * cos - sin * sin
    sin2 = 2.0 * sin * cos
    kappa = 0.5 * (hxx_p + hyy_p)
    g1_p = 0.5 * (hxx_p - hyy_p)
    g1 = cos2 * g1_p - sin2 * hxy_p
    g2 = sin2 * g1_p + cos2 * hxy_p
    return kappa + g1, g2, kappa - g1


def arctan_over(u, t):
    """arctan(u t) / u for u >= 0, equal to its limit t where u == 0."""
    u_safe = np.where(u > 0.0, u, 1.0)
    out = np.arctan(u_safe * t) / u_safe
    if np.any(u == 0.0):
        out = np.where(u > 0.0, out, t)
    return out


def arctanh_over(u, t):
    """arctanh(u t) / u for u >= 0 and |u t| < 1, equal to its limit t where u == 0."""
    u_safe = np.where(u > 0.0, u, 1.0)
    z = np.where(u > 0.0, u_safe * t, 0.0)  # where u == 0, |t| may reach 1: keep the unused branch finite
    out = 0.5 * np.log1p(2.0 * z / (1.0 - z)) / u_safe
    if np.any(u == 0.0):
        out = np.where(u > 0.0, out, t)
    return out


def keeton_deflection(xp, yp, bq, s, q):
    """Deflection (profile frame) of kappa = (bq/2)/sqrt(q^2(s^2+x'^2)+y'^2).

    Keeton & Kochanek 1998, expressions after eq. 8:
    alpha_x' = bq/u arctan(u x'/(psi+s)), alpha_y' = bq/u arctanh(u y'/(psi+q^2 s)),
    u = sqrt(1-q^2). ``bq`` is Keeton's b times q; s > 0 (arcsec).
    """
    u = np.sqrt((1.0 - q) * (1.0 + q))
    psi = np.sqrt(q * q * (s * s + xp * xp) + yp * yp)
    ax = bq * arctan_over(u, xp / (psi + s))
    ay = bq * arctanh_over(u, yp / (psi + q * q * s))
    return ax, ay


def keeton_hessian(xp, yp, bq, s, q):
    """Hessian (profile frame) of the Keeton-form cored isothermal ellipsoid.

    psi_x'x' = bq (q^2 s^2 + y'^2 + s psi) / (psi D), psi_y'y' = bq (s^2 + x'^2 + s psi) / (psi D),
    psi_x'y' = -bq x' y' / (psi D), D = (psi + s)^2 + (1 - q^2) x'^2 (Keeton 2001, alpha = 1).
    """
    psi = np.sqrt(q * q * (s * s + xp * xp) + yp * yp)
    common = bq / (psi * ((psi + s) ** 2 + (1.0 - q) * (1.0 + q) * xp * xp))
    spsi = s * psi
    return (
        common * (q * q * s * s + yp * yp + spsi),
        -common * xp * yp,
        common * (s * s + xp * xp + spsi),
    )


def keeton_potential_log_term(xp, yp, bq, s, q):
    """bq s ln[sqrt((psi+s)^2 + (1-q^2)x'^2) / ((1+q) s)], written without cancellation.

    ((psi+s)^2 + (1-q^2)x'^2) / ((1+q)s)^2 - 1 = [x'^2 + y'^2 + 2 s (q^2 x'^2 + y'^2)/(psi + q s)] / ((1+q)s)^2.
    The constant ln((1+q)s) sets the potential to 0 at the centre (Keeton 2001).
    """
    r2_ell = q * q * xp * xp + yp * yp
    psi = np.sqrt(q * q * s * s + r2_ell)
    excess = (xp * xp + yp * yp + 2.0 * s * r2_ell / (psi + q * s)) / ((1.0 + q) * s) ** 2
    return 0.5 * bq * s * np.log1p(excess)


def keeton_potential(xp, yp, bq, s, q):
    """Potential (arcsec^2) of the Keeton-form profile, zero at its centre.

    psi = x' alpha_x' + y' alpha_y' - bq s ln[sqrt((psi+s)^2 + (1-q^2) x'^2) / ((1+q) s)].
    """
    ax, ay = keeton_deflection(xp, yp, bq, s, q)
    return xp * ax + yp * ay - keeton_potential_log_term(xp, yp, bq, s, q)


def _keeton_parameters(theta_e, r_core, q):
    check_axis_ratio(q)
    check_nonnegative("theta_e", theta_e)
    check_nonnegative("r_core", r_core)
    sqrt_q = np.sqrt(q)
    s = np.maximum(r_core, CORE_FLOOR) / sqrt_q
    return theta_e * sqrt_q, s


def deflection(x, y, center_x, center_y, theta_e, r_core, q, angle):
    """Deflection (alpha_x, alpha_y) in arcsec at D_LS/D_S = 1 (Keeton & Kochanek 1998)."""
    bq, s = _keeton_parameters(theta_e, r_core, q)
    xp, yp, cos, sin = to_profile_frame(x, y, center_x, center_y, angle)
    ax_p, ay_p = keeton_deflection(xp, yp, bq, s, q)
    return vector_to_sky(ax_p, ay_p, cos, sin)


def hessian(x, y, center_x, center_y, theta_e, r_core, q, angle):
    """Second derivatives (psi_xx, psi_xy, psi_yy) of the potential, dimensionless (Keeton 2001)."""
    bq, s = _keeton_parameters(theta_e, r_core, q)
    xp, yp, cos, sin = to_profile_frame(x, y, center_x, center_y, angle)
    hxx_p, hxy_p, hyy_p = keeton_hessian(xp, yp, bq, s, q)
    return hessian_to_sky(hxx_p, hxy_p, hyy_p, cos, sin)


def convergence(x, y, center_x, center_y, theta_e, r_core, q, angle):
    """kappa = theta_e / (2 sqrt(r_core^2 + q x'^2 + y'^2/q)), dimensionless (docs/conventions.md#sie-cored)."""
    check_axis_ratio(q)
    check_nonnegative("theta_e", theta_e)
    check_nonnegative("r_core", r_core)
    xp, yp, _, _ = to_profile_frame(x, y, center_x, center_y, angle)
    core = np.maximum(r_core, CORE_FLOOR)
    return 0.5 * theta_e / np.sqrt(core * core + q * xp * xp + yp * yp / q)


def potential(x, y, center_x, center_y, theta_e, r_core, q, angle):
    """Lensing potential in arcsec^2, zero at the centre (Keeton 2001)."""
    bq, s = _keeton_parameters(theta_e, r_core, q)
    xp, yp, _, _ = to_profile_frame(x, y, center_x, center_y, angle)
    return keeton_potential(xp, yp, bq, s, q)
