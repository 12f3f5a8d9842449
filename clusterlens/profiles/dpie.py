"""Dual pseudo-isothermal elliptical mass distribution (dPIE; Lenstool profile 81).

Convergence (docs/conventions.md#dpie; Eliasdottir et al. 2007, arXiv:0710.5636, appendix A, for
the circular form; Kassiola & Kovner 1993, ApJ 417, 450, for the ellipse)::

    kappa = (b0/2) r_cut/(r_cut - r_core) [(r_core^2 + rho^2)^-1/2 - (r_cut^2 + rho^2)^-1/2]
    rho^2 = x'^2/(1+eps)^2 + y'^2/(1-eps)^2,   eps = (1-q)/(1+q)

(x', y'): frame rotated counter-clockwise by ``angle`` degrees about the centre.
The kappa contours have axis ratio (1-eps)/(1+eps) = q (major axis along x').
In Lenstool's terms q = sqrt((1-emass)/(1+emass)) with emass = (a^2-b^2)/(a^2+b^2)
its ``ellipticite``, and eps = (a-b)/(a+b) is Lenstool's potential ellipticity.
b0 = 6 pi (sigma/c)^2 (arcsec) at D_LS/D_S = 1; r_core < r_cut in arcsec.
With q = 1, r_core -> 0, r_cut -> inf it is an SIS with Einstein radius b0.

Since rho^2 = ((1+q)/(2q))^2 (q^2 x'^2 + y'^2), each bracket term is a Keeton-form
cored isothermal ellipsoid (see ``sie``) with b q = 2 b0 q F/(1+q) and core
s = 2 r/(1+q), F = r_cut/(r_cut - r_core). The dPIE is their difference; the
difference of the two arctan (arctanh) terms is taken in closed form
(arctan a - arctan b = arctan((a-b)/(1+ab)) for ab >= 0; likewise arctanh), with
a - b written without cancellation, so one arctan and one arctanh per point.

Peer mapping (verified in tests/test_profiles_dpie.py): the dPIE equals
lenstronomy NIE(theta_E=theta, s_scale=f r_core) - NIE(theta_E=theta, s_scale=f r_cut)
with f = 2 sqrt(q)/(1+q), theta = b0 F f, and e1 + i e2 = (1-q)/(1+q) exp(2 i angle)
(lenstronomy's NIE has kappa = theta_E / (2 sqrt(s_scale^2 + q x'^2 + y'^2/q)), and
(r^2 + rho^2)^-1/2 = f (f^2 r^2 + q x'^2 + y'^2/q)^-1/2).

Units: positions and radii in arcsec, deflection in arcsec, potential in arcsec^2.
A core below ``sie.CORE_FLOOR`` (including 0) is evaluated as that floor.
"""

from __future__ import annotations

import numpy as np

from .sie import (
    CORE_FLOOR,
    arctan_over,
    arctanh_over,
    check_axis_ratio,
    check_nonnegative,
    hessian_to_sky,
    keeton_hessian,
    keeton_potential_log_term,
    to_profile_frame,
    vector_to_sky,
)

PARAMETERS = ("center_x", "center_y", "b0", "r_core", "r_cut", "q", "angle")


def check_parameters(b0, r_core, r_cut, q) -> None:
    """Raise ValueError unless b0 >= 0, 0 <= r_core < r_cut < inf and 0 < q <= 1."""
    check_axis_ratio(q)
    check_nonnegative("b0", b0)
    check_nonnegative("r_core", r_core)
    r_cut = np.asarray(r_cut, dtype=float)
    ok = np.isfinite(r_cut) & (r_cut > np.asarray(r_core, dtype=float))
    if not np.all(ok):
        raise ValueError(f"r_cut must be finite and larger than r_core, got r_cut {r_cut[~ok].ravel()[:5]}")


def keeton_parameters(b0, r_core, r_cut, q, check: bool = True):
    """(bq, s_core, s_cut): Keeton-form amplitude and cores of the two isothermal terms (``check=False``: the
    caller has checked the parameters, :func:`check_parameters`)."""
    if check:
        check_parameters(b0, r_core, r_cut, q)
    r_core = np.maximum(r_core, CORE_FLOOR)
    bq = 2.0 * b0 * q * r_cut / ((r_cut - r_core) * (1.0 + q))
    return bq, 2.0 * r_core / (1.0 + q), 2.0 * r_cut / (1.0 + q)


def frame_deflection(xp, yp, bq, s1, s2, q):
    """Profile-frame deflection of the Keeton-form difference (core s1 minus core s2)."""
    u = np.sqrt((1.0 - q) * (1.0 + q))
    q2 = q * q
    x2 = xp * xp
    y2 = yp * yp
    r2e = q2 * x2 + y2
    psi1 = np.sqrt(r2e + q2 * s1 * s1)
    psi2 = np.sqrt(r2e + q2 * s2 * s2)
    dpsi = q2 * (s2 - s1) * (s2 + s1) / (psi1 + psi2)
    tx = xp * (dpsi + (s2 - s1)) / ((psi1 + s1) * (psi2 + s2) + u * u * x2)
    ty = yp * (dpsi + q2 * (s2 - s1)) / ((psi1 + q2 * s1) * (psi2 + q2 * s2) - u * u * y2)
    return bq * arctan_over(u, tx), bq * arctanh_over(u, ty)


def deflection(x, y, center_x, center_y, b0, r_core, r_cut, q, angle):
    """Deflection (alpha_x, alpha_y) in arcsec at D_LS/D_S = 1 (Kassiola & Kovner 1993 closed form)."""
    bq, s1, s2 = keeton_parameters(b0, r_core, r_cut, q)
    xp, yp, cos, sin = to_profile_frame(x, y, center_x, center_y, angle)
    ax_p, ay_p = frame_deflection(xp, yp, bq, s1, s2, q)
    return vector_to_sky(ax_p, ay_p, cos, sin)


def hessian(x, y, center_x, center_y, b0, r_core, r_cut, q, angle):
    """Second derivatives (psi_xx, psi_xy, psi_yy), dimensionless (difference of two Keeton 2001 Hessians)."""
    bq, s1, s2 = keeton_parameters(b0, r_core, r_cut, q)
    xp, yp, cos, sin = to_profile_frame(x, y, center_x, center_y, angle)
    hxx1, hxy1, hyy1 = keeton_hessian(xp, yp, bq, s1, q)
    hxx2, hxy2, hyy2 = keeton_hessian(xp, yp, bq, s2, q)
    return hessian_to_sky(hxx1 - hxx2, hxy1 - hxy2, hyy1 - hyy2, cos, sin)


def convergence(x, y, center_x, center_y, b0, r_core, r_cut, q, angle):
    """kappa of the definition above, dimensionless; the bracket is evaluated without cancellation."""
    check_parameters(b0, r_core, r_cut, q)
    r_core = np.maximum(r_core, CORE_FLOOR)
    xp, yp, _, _ = to_profile_frame(x, y, center_x, center_y, angle)
    rho2 = ((1.0 + q) / 2.0) ** 2 * (xp * xp + yp * yp / (q * q))
    root1 = np.sqrt(r_core * r_core + rho2)
    root2 = np.sqrt(r_cut * r_cut + rho2)
    bracket = (r_cut - r_core) * (r_cut + r_core) / (root1 * root2 * (root1 + root2))
    return 0.5 * b0 * r_cut / (r_cut - r_core) * bracket


def potential(x, y, center_x, center_y, b0, r_core, r_cut, q, angle):
    """Lensing potential in arcsec^2, zero at the centre (difference of two Keeton 2001 potentials)."""
    bq, s1, s2 = keeton_parameters(b0, r_core, r_cut, q)
    xp, yp, _, _ = to_profile_frame(x, y, center_x, center_y, angle)
    ax, ay = frame_deflection(xp, yp, bq, s1, s2, q)
    logs = keeton_potential_log_term(xp, yp, bq, s1, q) - keeton_potential_log_term(xp, yp, bq, s2, q)
    return xp * ax + yp * ay - logs
