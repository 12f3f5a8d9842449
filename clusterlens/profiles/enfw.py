"""Pseudo-elliptical NFW halo: the ellipticity is put in the lensing potential (Lenstool profile 12).

Golse & Kneib 2002 (A&A 390, 821; "GK02") make a circular lens elliptical by evaluating its
potential at an elliptical radius. With (x', y') the frame rotated counter-clockwise by ``angle``
(degrees) about (``center_x``, ``center_y``) and epsilon the potential ellipticity::

    X1 = sqrt(1 - epsilon) x',   X2 = sqrt(1 + epsilon) y',   R = sqrt(X1^2 + X2^2),
    cos 2phi = (X1^2 - X2^2) / R^2,   sin 2phi = 2 X1 X2 / R^2,

    psi(x, y)  = psi_NFW(R)                                              [arcsec^2]
    alpha_x'   = kappa_bar(R) (1 - epsilon) x',   alpha_y' = kappa_bar(R) (1 + epsilon) y'   [arcsec]
    psi_x'x'   = (1 - epsilon) (kappa(R) - gamma(R) cos 2phi)
    psi_y'y'   = (1 + epsilon) (kappa(R) + gamma(R) cos 2phi)
    psi_x'y'   = -sqrt(1 - epsilon^2) gamma(R) sin 2phi
    kappa_eps  = (psi_x'x' + psi_y'y') / 2 = kappa(R) + epsilon cos 2phi gamma(R)     (GK02 eq. 17)

where kappa, kappa_bar = alpha/R and gamma = kappa_bar - kappa are the spherical NFW's of
:mod:`clusterlens.profiles.nfw` (same kappa_s, r_s) at radius R; the Hessian follows from
d kappa_bar / dR = -2 gamma / R (GK02 eq. 18 is the squared shear of this Hessian). The iso-potential
contours have axis ratio sqrt((1 - epsilon)/(1 + epsilon)), major axis along x'. ``epsilon = 0`` is
the spherical NFW. Positions, ``r_s`` and deflections in arcsec; ``kappa_s`` dimensionless at
D_LS/D_S = 1; ``angle`` in degrees counter-clockwise from +x (x positive West).

Lenstool 6.8 (``e_grad.c`` and ``e_grad2.c``, case 12, with ``nfw_kappa_eps``/``nfw_gamma_eps`` of
``e_nfw.c``) lenses profile 12 with these formulas and epsilon = the ``ellipticite`` it reads (its
``emass``), in the frame rotated by ``angle_pos`` as here (``rotation.c``);
the ``epot = emass / 3`` that ``set_lens.c`` also computes for this profile is not used by them,
and a profile 12 given only ``ellip_pot`` lenses with epsilon = 3 ``ellip_pot``.

lenstronomy's 'NFW_ELLIPSE_POTENTIAL' (Rs, alpha_Rs, e1, e2) is this profile with Rs = r_s,
alpha_Rs = 4 kappa_s r_s (1 - ln 2) and e1 + i e2 = c exp(2i angle), c = epsilon / (1 + sqrt(1 -
epsilon^2)), since it uses epsilon = 2c/(1 + c^2) (verified in tests/test_profiles_enfw.py).

Numerics: the radial functions are nfw's (series near R = r_s, R below ``nfw.X_FLOOR`` r_s evaluated
there, so the centre is finite and its deflection is 0).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from . import nfw
from .sie import hessian_to_sky, to_profile_frame, vector_to_sky

PARAMETERS = ("center_x", "center_y", "kappa_s", "r_s", "epsilon", "angle")


def check_parameters(kappa_s, r_s, epsilon) -> None:
    """Raise ValueError unless kappa_s >= 0, r_s > 0 and 0 <= epsilon < 1 (all finite)."""
    nfw.check_parameters(kappa_s, r_s)
    epsilon = np.asarray(epsilon, dtype=float)
    bad = ~((epsilon >= 0.0) & (epsilon < 1.0))
    if np.any(bad):
        raise ValueError(f"epsilon must satisfy 0 <= epsilon < 1, got {epsilon[bad].ravel()[:5]}")


class _Frame(NamedTuple):
    """Points in the profile frame: x', y' [arcsec], 1 - epsilon, 1 + epsilon, R/r_s, R^2 [arcsec^2],
    and cos, sin of ``angle`` (to rotate results back to the sky)."""

    xp: np.ndarray
    yp: np.ndarray
    minor: np.ndarray
    major: np.ndarray
    scaled: np.ndarray
    r2: np.ndarray
    cos: np.ndarray
    sin: np.ndarray


def _frame(x, y, center_x, center_y, kappa_s, r_s, epsilon, angle) -> _Frame:
    """Check the parameters and place the points in the profile frame.

    Every array is broadcast against all the parameters, so parameters of shape (1, M) against
    points (N, 1) give (N, M).
    """
    check_parameters(kappa_s, r_s, epsilon)
    xp, yp, cos, sin = to_profile_frame(x, y, center_x, center_y, angle)
    xp, yp, kappa_s, r_s, epsilon = np.broadcast_arrays(
        xp, yp, *(np.asarray(value, dtype=float) for value in (kappa_s, r_s, epsilon))
    )
    minor, major = 1.0 - epsilon, 1.0 + epsilon
    r2 = minor * xp * xp + major * yp * yp
    scaled = np.maximum(np.sqrt(r2) / r_s, nfw.X_FLOOR)
    return _Frame(xp, yp, minor, major, scaled, r2, cos, sin)


def _sky_deflection(frame: _Frame, mean_kappa):
    """(alpha_x, alpha_y) on the sky from alpha_x' = kappa_bar (1 - eps) x', alpha_y' = kappa_bar (1 + eps) y'."""
    return vector_to_sky(mean_kappa * frame.minor * frame.xp, mean_kappa * frame.major * frame.yp, frame.cos, frame.sin)


def _profile_hessian(frame: _Frame, kappa_s, mean_kappa):
    """(psi_x'x', psi_x'y', psi_y'y') in the profile frame from the radial kappa and kappa_bar at R.

    With X1 X2 = sqrt(1 - epsilon^2) x' y': psi_x'y' = -2 gamma (1 - epsilon^2) x' y' / R^2.
    """
    xp, yp, minor, major = frame.xp, frame.yp, frame.minor, frame.major
    kappa = 2.0 * kappa_s * nfw.scaled_convergence(frame.scaled)
    gamma = mean_kappa - kappa
    r2 = np.maximum(frame.r2, np.finfo(float).tiny)
    cos2 = (minor * xp * xp - major * yp * yp) / r2
    return (
        minor * (kappa - gamma * cos2),
        -2.0 * gamma * (minor * major) * xp * yp / r2,
        major * (kappa + gamma * cos2),
    )


def deflection(x, y, center_x, center_y, kappa_s, r_s, epsilon, angle):
    """Deflection (alpha_x, alpha_y) in arcsec at D_LS/D_S = 1: the gradient of psi_NFW(R)."""
    frame = _frame(x, y, center_x, center_y, kappa_s, r_s, epsilon, angle)
    return _sky_deflection(frame, nfw.mean_convergence(frame.scaled, kappa_s))


def hessian(x, y, center_x, center_y, kappa_s, r_s, epsilon, angle):
    """(psi_xx, psi_xy, psi_yy), dimensionless, analytic (GK02 eqs. 17-18)."""
    frame = _frame(x, y, center_x, center_y, kappa_s, r_s, epsilon, angle)
    mean_kappa = nfw.mean_convergence(frame.scaled, kappa_s)
    hxx_p, hxy_p, hyy_p = _profile_hessian(frame, kappa_s, mean_kappa)
    return hessian_to_sky(hxx_p, hxy_p, hyy_p, frame.cos, frame.sin)


def deflection_and_hessian(x, y, center_x, center_y, kappa_s, r_s, epsilon, angle):
    """(alpha_x, alpha_y, psi_xx, psi_xy, psi_yy) in one pass (frame, R and kappa_bar shared)."""
    frame = _frame(x, y, center_x, center_y, kappa_s, r_s, epsilon, angle)
    mean_kappa = nfw.mean_convergence(frame.scaled, kappa_s)
    hxx_p, hxy_p, hyy_p = _profile_hessian(frame, kappa_s, mean_kappa)
    hxx, hxy, hyy = hessian_to_sky(hxx_p, hxy_p, hyy_p, frame.cos, frame.sin)
    return (*_sky_deflection(frame, mean_kappa), hxx, hxy, hyy)


def convergence(x, y, center_x, center_y, kappa_s, r_s, epsilon, angle):
    """kappa = (psi_xx + psi_yy)/2 = kappa(R) + epsilon cos 2phi gamma(R), dimensionless (GK02 eq. 17)."""
    frame = _frame(x, y, center_x, center_y, kappa_s, r_s, epsilon, angle)
    hxx, _, hyy = _profile_hessian(frame, kappa_s, nfw.mean_convergence(frame.scaled, kappa_s))
    return 0.5 * (hxx + hyy)


def potential(x, y, center_x, center_y, kappa_s, r_s, epsilon, angle):
    """Lensing potential psi_NFW(R) in arcsec^2, zero at the centre (Golse & Kneib 2002)."""
    frame = _frame(x, y, center_x, center_y, kappa_s, r_s, epsilon, angle)
    return 2.0 * kappa_s * r_s * r_s * nfw.scaled_potential(frame.scaled)
