"""Sersic and core-Sersic surface brightness, and sub-pixel integration.

Elliptical radius (docs/conventions.md#sersic-and-sersiccore): r = sqrt(q x'^2 + y'^2 / q), with (x', y') the frame
rotated counter-clockwise by ``angle`` degrees about the centre and q = b/a of the
isophotes (major axis along x'). The ellipse r = R has area pi R^2, so fluxes do
not depend on q. Positions and radii in arcsec; ``intensity`` in the caller's
surface-brightness unit (e.g. flux per arcsec^2).

Sersic (Sersic 1968; Graham & Driver 2005, PASA 22, 118, section 2)::

    I(r) = intensity exp(-b_n [(r / effective_radius)^(1/n) - 1])

b_n solves Gamma(2n) = 2 gamma(2n, b_n), i.e. b_n = gammaincinv(2n, 1/2) exactly
(Graham & Driver 2005 section 2), so ``effective_radius`` encloses half the light.

Core-Sersic (Graham, Erwin, Trujillo & Asensio Ramos 2003, AJ 125, 2951, the
core-Sersic model and its normalisation I')::

    I(r) = I' [1 + (r_b/r)^alpha]^(gamma/alpha) exp(-b_n [(r^alpha + r_b^alpha)/R_e^alpha]^(1/(alpha n)))
    I'   = intensity 2^(-gamma/alpha) exp(b_n (2^(1/alpha) r_b / R_e)^(1/n))

with r_b = ``radius_break``, gamma = ``inner_slope``, alpha = ``transition``,
R_e = ``effective_radius`` and n = ``sersic_index``. Here ``intensity`` is the
surface brightness AT THE BREAK RADIUS, I(r_b) (Graham et al.'s normalisation),
and b_n is the Sersic b_n above, so R_e is the half-light radius of the outer
Sersic part. Inside r_b the profile tends to r^-gamma (infinite at the centre
when gamma > 0).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.special import gammaincinv, gammaln

from .sie import check_axis_ratio, check_nonnegative, to_profile_frame

PARAMETERS = ("center_x", "center_y", "intensity", "effective_radius", "sersic_index", "q", "angle")
CORE_PARAMETERS = PARAMETERS + ("radius_break", "inner_slope", "transition")


def _check_positive(name: str, value) -> None:
    value = np.asarray(value, dtype=float)
    bad = ~(np.isfinite(value) & (value > 0.0))
    if np.any(bad):
        raise ValueError(f"{name} must be finite and > 0, got {value[bad].ravel()[:5]}")


def sersic_b(sersic_index):
    """b_n = gammaincinv(2n, 1/2): the exact half-light constant (Graham & Driver 2005)."""
    _check_positive("sersic_index", sersic_index)
    return gammaincinv(2.0 * np.asarray(sersic_index, dtype=float), 0.5)


def elliptical_radius(x, y, center_x, center_y, q, angle):
    """r = sqrt(q x'^2 + y'^2/q) in arcsec."""
    check_axis_ratio(q)
    xp, yp, _, _ = to_profile_frame(x, y, center_x, center_y, angle)
    return np.sqrt(q * xp * xp + yp * yp / q)


def surface_brightness(x, y, center_x, center_y, intensity, effective_radius, sersic_index, q, angle):
    """Sersic I(r) = intensity exp(-b_n[(r/R_e)^(1/n) - 1]); ``intensity`` is I at r = R_e."""
    check_nonnegative("intensity", intensity)
    _check_positive("effective_radius", effective_radius)
    b_n = sersic_b(sersic_index)
    r = elliptical_radius(x, y, center_x, center_y, q, angle)
    return intensity * np.exp(-b_n * ((r / effective_radius) ** (1.0 / sersic_index) - 1.0))


def total_flux(intensity, effective_radius, sersic_index):
    """Total Sersic flux 2 pi n R_e^2 e^(b_n) b_n^(-2n) Gamma(2n) intensity (Graham & Driver 2005).

    Independent of q because the ellipse of elliptical radius r has area pi r^2.
    """
    check_nonnegative("intensity", intensity)
    _check_positive("effective_radius", effective_radius)
    n = np.asarray(sersic_index, dtype=float)
    b_n = sersic_b(n)
    log_factor = b_n - 2.0 * n * np.log(b_n) + gammaln(2.0 * n)
    return 2.0 * np.pi * n * effective_radius**2 * np.exp(log_factor) * intensity


def core_sersic_surface_brightness(
    x,
    y,
    center_x,
    center_y,
    intensity,
    effective_radius,
    sersic_index,
    q,
    angle,
    radius_break,
    inner_slope,
    transition,
):
    """Core-Sersic I(r) (Graham et al. 2003); ``intensity`` is I at r = radius_break.

    radius_break (arcsec) > 0, inner_slope (gamma) >= 0, transition (alpha) > 0.
    """
    check_nonnegative("intensity", intensity)
    _check_positive("effective_radius", effective_radius)
    _check_positive("radius_break", radius_break)
    check_nonnegative("inner_slope", inner_slope)
    _check_positive("transition", transition)
    b_n = sersic_b(sersic_index)
    r = elliptical_radius(x, y, center_x, center_y, q, angle)
    alpha, gamma, n = transition, inner_slope, sersic_index
    with np.errstate(divide="ignore"):
        inner = (gamma / alpha) * np.log1p((radius_break / r) ** alpha)
    outer = -b_n * ((r**alpha + radius_break**alpha) / effective_radius**alpha) ** (1.0 / (alpha * n))
    log_norm = -(gamma / alpha) * np.log(2.0) + b_n * (2.0 ** (1.0 / alpha) * radius_break / effective_radius) ** (
        1.0 / n
    )
    return intensity * np.exp(log_norm + inner + outer)


def integrate_pixels(
    func: Callable[[np.ndarray, np.ndarray], np.ndarray],
    x,
    y,
    pixel_scale: float,
    oversampling: int,
    max_points_per_chunk: int = 4_000_000,
):
    """Mean of func over an oversampling x oversampling grid inside each square pixel.

    x, y: pixel centres (arcsec, any shape); pixel_scale: pixel side (arcsec);
    sub-pixel points sit at the centres of the oversampling^2 equal sub-pixels.
    func(xs, ys) must be vectorised (called on 2-D arrays of sub-pixel points).
    Work is split over pixels so at most ``max_points_per_chunk`` sub-points exist
    at once. Returns an array of x's shape.
    """
    if not (isinstance(oversampling, (int, np.integer)) and oversampling >= 1):
        raise ValueError(f"oversampling must be an integer >= 1, got {oversampling!r}")
    _check_positive("pixel_scale", pixel_scale)
    x, y = np.broadcast_arrays(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
    steps = ((np.arange(oversampling) + 0.5) / oversampling - 0.5) * pixel_scale
    dx, dy = (a.ravel() for a in np.meshgrid(steps, steps, indexing="xy"))
    flat_x, flat_y = x.ravel(), y.ravel()
    out = np.empty(flat_x.size)
    chunk = max(1, int(max_points_per_chunk) // dx.size)
    for start in range(0, flat_x.size, chunk):
        stop = start + chunk
        values = func(flat_x[start:stop, None] + dx[None, :], flat_y[start:stop, None] + dy[None, :])
        out[start:stop] = np.mean(values, axis=1)
    return out.reshape(x.shape)
