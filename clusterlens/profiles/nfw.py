"""Spherical Navarro-Frenk-White halo (NFW), lensing by its projected mass.

rho(r) = rho_s / ((r/r_s)(1 + r/r_s)^2); in projection, with x = R / r_s
(Bartelmann 1996, A&A 313, 697; Wright & Brainerd 2000, ApJ 534, 34, eqs. 11 and 13)::

    kappa(x)     = 2 kappa_s (1 - F(x)) / (x^2 - 1)
    kappa_bar(x) = 4 kappa_s h(x) / x^2          (mean convergence inside x)
    alpha        = kappa_bar(x) (x - x_c, y - y_c)            [arcsec]
    psi          = 2 kappa_s r_s^2 [ln^2(x/2) - arccosh^2(1/x)]   (x < 1)
                 = 2 kappa_s r_s^2 [ln^2(x/2) + arccos^2(1/x)]    (x >= 1)
                   (Golse & Kneib 2002, A&A 390, 821; zero at the centre)

with F(x) = arccosh(1/x)/sqrt(1-x^2) (x < 1), arccos(1/x)/sqrt(x^2-1) (x > 1),
F(1) = 1, and h(x) = ln(x/2) + F(x) (Bartelmann's g(x)).
kappa_s = rho_s r_s / Sigma_crit at D_LS/D_S = 1; r_s in arcsec (see
``clusterlens.cosmology.nfw_lensing_parameters``). Spherical only.

Numerics: near x = 1 (|1 - x^2| < 0.1) (F - 1)/(1 - x^2) is its power series
sum_k (1-x^2)^k / (2k+3); for x < 1 the arccosh and h are written without
cancellation (arccosh(1/x) = log1p((1 - x + sqrt(1-x^2))/x), h = [P - ln(x/2)
x^2/(1+u)]/u with u = sqrt(1-x^2), P = ln((1+u)/2)); x below ``X_FLOOR`` is
evaluated at ``X_FLOOR`` so the centre stays finite (deflection 0 there).

lenstronomy's 'NFW' (Rs, alpha_Rs) is this profile with Rs = r_s and
alpha_Rs = 4 kappa_s r_s (1 - ln 2), the deflection at r_s.
"""

from __future__ import annotations

import numpy as np

from .sie import check_nonnegative

PARAMETERS = ("center_x", "center_y", "kappa_s", "r_s")

X_FLOOR = 1e-50
"""Smallest r / r_s used in evaluation."""

_SERIES_HALF_WIDTH = 0.1
_SERIES_DENOMINATORS = 2.0 * np.arange(16) + 3.0


def check_parameters(kappa_s, r_s) -> None:
    """Raise ValueError unless kappa_s >= 0 and r_s > 0 (finite)."""
    check_nonnegative("kappa_s", kappa_s)
    r_s = np.asarray(r_s, dtype=float)
    bad = ~(np.isfinite(r_s) & (r_s > 0.0))
    if np.any(bad):
        raise ValueError(f"r_s must be finite and > 0 arcsec, got {r_s[bad].ravel()[:5]}")


def _series_g(w):
    """(F - 1)/w = sum_k w^k/(2k+3) for w = 1 - x^2, |w| < 0.1 (Horner)."""
    out = np.full_like(w, 1.0 / _SERIES_DENOMINATORS[-1])
    for denominator in _SERIES_DENOMINATORS[-2::-1]:
        out = out * w + 1.0 / denominator
    return out


def _branches(x):
    """Boolean masks (inner, middle, outer) for x < 1 - ..., |1-x^2| < 0.1, x > 1 + ..."""
    w = (1.0 - x) * (1.0 + x)
    inner = w >= _SERIES_HALF_WIDTH
    outer = w <= -_SERIES_HALF_WIDTH
    return w, inner, ~(inner | outer), outer


def scaled_convergence(x):
    """kappa / (2 kappa_s) = (F(x) - 1)/(1 - x^2) for dimensionless x = R/r_s > 0."""
    x = np.asarray(x, dtype=float)
    w, inner, middle, outer = _branches(x)
    out = np.empty_like(x)
    xi, wi = x[inner], w[inner]
    ui = np.sqrt(wi)
    out[inner] = (np.log1p(((1.0 - xi) + ui) / xi) / ui - 1.0) / wi
    wo = w[outer]
    uo = np.sqrt(-wo)
    out[outer] = (np.arctan(uo) / uo - 1.0) / wo
    out[middle] = _series_g(w[middle])
    return out


def bartelmann_h(x):
    """h(x) = ln(x/2) + F(x) (Bartelmann 1996 g(x)); the mass inside x is 4 pi kappa_s r_s^2 h(x)."""
    x = np.asarray(x, dtype=float)
    w, inner, middle, outer = _branches(x)
    out = np.empty_like(x)
    xi, wi = x[inner], w[inner]
    ui = np.sqrt(wi)
    one_minus_u = xi * xi / (1.0 + ui)
    p = np.log1p(-0.5 * one_minus_u)
    out[inner] = (p - np.log(0.5 * xi) * one_minus_u) / ui
    xo, wo = x[outer], w[outer]
    uo = np.sqrt(-wo)
    out[outer] = np.log(0.5 * xo) + np.arctan(uo) / uo
    xm, wm = x[middle], w[middle]
    out[middle] = np.log(0.5 * xm) + 1.0 + wm * _series_g(wm)
    return out


def mean_convergence(scaled, kappa_s):
    """kappa_bar = 4 kappa_s h(x)/x^2, the mean convergence inside x = R/r_s; alpha(R) = kappa_bar R."""
    return 4.0 * kappa_s * bartelmann_h(scaled) / (scaled * scaled)


def scaled_potential(x):
    """psi / (2 kappa_s r_s^2): P (2 ln(x/2) - P) for x < 1, ln^2(x/2) + arctan^2(sqrt(x^2-1)) for x >= 1."""
    x = np.asarray(x, dtype=float)
    w = (1.0 - x) * (1.0 + x)
    inner = w > 0.0
    out = np.empty_like(x)
    xi, wi = x[inner], w[inner]
    p = np.log1p(-0.5 * xi * xi / (1.0 + np.sqrt(wi)))
    out[inner] = p * (2.0 * np.log(0.5 * xi) - p)
    xo, wo = x[~inner], w[~inner]
    out[~inner] = np.log(0.5 * xo) ** 2 + np.arctan(np.sqrt(-wo)) ** 2
    return out


def _offsets(x, y, center_x, center_y, kappa_s, r_s):
    check_parameters(kappa_s, r_s)
    dx = np.subtract(x, center_x)
    dy = np.subtract(y, center_y)
    dx, dy = np.broadcast_arrays(dx, dy, np.asarray(kappa_s, dtype=float), np.asarray(r_s, dtype=float))[:2]
    r2 = dx * dx + dy * dy
    scaled = np.maximum(np.sqrt(r2) / r_s, X_FLOOR)
    return dx, dy, r2, scaled


def deflection(x, y, center_x, center_y, kappa_s, r_s):
    """Deflection (alpha_x, alpha_y) in arcsec at D_LS/D_S = 1: kappa_bar(x) times the offset."""
    dx, dy, _, scaled = _offsets(x, y, center_x, center_y, kappa_s, r_s)
    mean_kappa = mean_convergence(scaled, kappa_s)
    return mean_kappa * dx, mean_kappa * dy


def deflection_and_hessian(x, y, center_x, center_y, kappa_s, r_s):
    """(alpha_x, alpha_y, psi_xx, psi_xy, psi_yy) in one pass (offsets and h(x) shared)."""
    dx, dy, r2, scaled = _offsets(x, y, center_x, center_y, kappa_s, r_s)
    mean_kappa = mean_convergence(scaled, kappa_s)
    kappa = 2.0 * kappa_s * scaled_convergence(scaled)
    gamma = mean_kappa - kappa
    r2 = np.maximum(r2, np.finfo(float).tiny)
    cos2 = (dx * dx - dy * dy) / r2
    sin2 = 2.0 * dx * dy / r2
    return mean_kappa * dx, mean_kappa * dy, kappa - gamma * cos2, -gamma * sin2, kappa + gamma * cos2


def convergence(x, y, center_x, center_y, kappa_s, r_s):
    """kappa = 2 kappa_s (1 - F(x))/(x^2 - 1), dimensionless (Wright & Brainerd 2000 eq. 11)."""
    _, _, _, scaled = _offsets(x, y, center_x, center_y, kappa_s, r_s)
    return 2.0 * kappa_s * scaled_convergence(scaled)


def hessian(x, y, center_x, center_y, kappa_s, r_s):
    """(psi_xx, psi_xy, psi_yy): kappa +- gamma with gamma = kappa_bar - kappa (spherical lens)."""
    dx, dy, r2, scaled = _offsets(x, y, center_x, center_y, kappa_s, r_s)
    kappa = 2.0 * kappa_s * scaled_convergence(scaled)
    gamma = mean_convergence(scaled, kappa_s) - kappa
    r2 = np.maximum(r2, np.finfo(float).tiny)
    cos2 = (dx * dx - dy * dy) / r2
    sin2 = 2.0 * dx * dy / r2
    return kappa - gamma * cos2, -gamma * sin2, kappa + gamma * cos2


def potential(x, y, center_x, center_y, kappa_s, r_s):
    """Lensing potential in arcsec^2, zero at the centre (Golse & Kneib 2002)."""
    _, _, _, scaled = _offsets(x, y, center_x, center_y, kappa_s, r_s)
    return 2.0 * kappa_s * r_s * r_s * scaled_potential(scaled)
