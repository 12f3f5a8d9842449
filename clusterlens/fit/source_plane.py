"""The source-plane chi2 of many lens states at once, compiled: back-traced images, best sources, terms; the flux chi2.

For each row b of a batch (one parameter vector) and observed image i of system k (notation of
:mod:`clusterlens.fit.point_likelihood`): beta_i = theta_i - s_i alpha_i, A_i = I - s_i H_i (symmetric),
M_i = (A_i A_i)^-1 / sigma_i^2 = adj(A_i)^2 / (det A_i^2 sigma_i^2); the system's best source
beta_k = (sum_i M_i)^-1 sum_i M_i beta_i and the terms (beta_i - beta_k)^T M_i (beta_i - beta_k)
(Keeton 2001's source-plane chi2 with the full amplification matrix; Oguri 2010 eq. 8). Each row is
computed alone, its sums over a system's images in image order, so a batch gives its rows' single
results bit for bit. Angles in arcsec; the lens quantities at D_LS/D_S = 1, ``scale`` the images'
D_LS/D_S.
"""
from __future__ import annotations

import numba
import numpy as np


@numba.jit(nopython=True, nogil=True, cache=True, fastmath=False, error_model="numpy")
def _terms(x, y, sigma, system, n_systems, q, scale, src_x, src_y, det, chi2):
    n_rows, n_images = scale.shape
    sums = np.empty((n_systems, 5))
    for b in range(n_rows):
        sums[:] = 0.0
        for i in range(n_images):
            s = scale[b, i]
            bx, by = x[i] - s * q[b, 0, i], y[i] - s * q[b, 1, i]
            a11, a12, a22 = 1.0 - s * q[b, 2, i], -s * q[b, 3, i], 1.0 - s * q[b, 4, i]
            d = a11 * a22 - a12 * a12
            det[b, i] = d
            w = 1.0 / (d * d * sigma[i] ** 2)
            m11, m12, m22 = w * (a22 * a22 + a12 * a12), w * (-a22 * a12 - a12 * a11), w * (a12 * a12 + a11 * a11)
            k = system[i]
            sums[k, 0] += m11
            sums[k, 1] += m12
            sums[k, 2] += m22
            sums[k, 3] += m11 * bx + m12 * by
            sums[k, 4] += m12 * bx + m22 * by
        for k in range(n_systems):
            s11, s12, s22, r1, r2 = sums[k, 0], sums[k, 1], sums[k, 2], sums[k, 3], sums[k, 4]
            sdet = s11 * s22 - s12 * s12
            src_x[b, k] = (s22 * r1 - s12 * r2) / sdet
            src_y[b, k] = (s11 * r2 - s12 * r1) / sdet
        for i in range(n_images):
            s = scale[b, i]
            bx, by = x[i] - s * q[b, 0, i], y[i] - s * q[b, 1, i]
            a11, a12, a22 = 1.0 - s * q[b, 2, i], -s * q[b, 3, i], 1.0 - s * q[b, 4, i]
            d = det[b, i]
            w = 1.0 / (d * d * sigma[i] ** 2)
            m11, m12, m22 = w * (a22 * a22 + a12 * a12), w * (-a22 * a12 - a12 * a11), w * (a12 * a12 + a11 * a11)
            dx, dy = bx - src_x[b, system[i]], by - src_y[b, system[i]]
            chi2[b, i] = m11 * dx * dx + 2.0 * m12 * dx * dy + m22 * dy * dy


def source_plane_terms(x: np.ndarray, y: np.ndarray, sigma: np.ndarray, system: np.ndarray, n_systems: int,
                       q: np.ndarray, scale: np.ndarray):
    """(source x, source y, det A, chi2 terms) of the module docstring.

    x, y, sigma: (N,) observed images and their errors [arcsec]; system: (N,) system index of each image;
    q: lens quantities ax, ay, hxx, hxy, hyy at the images, (5, N) or a batch (B, 5, N); scale: D_LS/D_S
    of each image, (N,) or (B, N). Returns sources (S,) or (B, S) [arcsec], det A and chi2 (N,) or (B, N).
    """
    single = q.ndim == 2
    q3 = np.ascontiguousarray(q[None] if single else q, dtype=float)
    s2 = np.ascontiguousarray(np.broadcast_to(scale, q3.shape[:1] + q3.shape[2:]), dtype=float)
    rows, n = s2.shape
    src_x, src_y = np.empty((rows, n_systems)), np.empty((rows, n_systems))
    det, chi2 = np.empty((rows, n)), np.empty((rows, n))
    _terms(np.ascontiguousarray(x, dtype=float), np.ascontiguousarray(y, dtype=float),
           np.ascontiguousarray(sigma, dtype=float), np.ascontiguousarray(system, dtype=np.int64), int(n_systems),
           q3, s2, src_x, src_y, det, chi2)
    if single:
        return src_x[0], src_y[0], det[0], chi2[0]
    return src_x, src_y, det, chi2


@numba.jit(nopython=True, nogil=True, cache=True, fastmath=False, error_model="numpy")
def _flux(flux, weight, system, n_systems, det, out):
    n_rows, n_images = det.shape
    sums = np.empty((n_systems, 2))
    for b in range(n_rows):
        sums[:] = 0.0
        for i in range(n_images):
            amu = abs(1.0 / det[b, i])
            sums[system[i], 0] += weight[i] * flux[i] * amu
            sums[system[i], 1] += weight[i] * amu * amu
        total = 0.0
        for i in range(n_images):
            amu = abs(1.0 / det[b, i])
            k = system[i]
            r = flux[i] - amu * (sums[k, 0] / max(sums[k, 1], 1e-300))
            total += weight[i] * r * r
        out[b] = total


def flux_chi2_rows(flux: np.ndarray, flux_sigma: np.ndarray, system: np.ndarray, n_systems: int,
                   det: np.ndarray) -> np.ndarray:
    """The flux chi2 of :func:`clusterlens.fit.chi2.chi2_flux` for each row of ``det`` (B, N), the images'
    det A (magnification 1 / det A): sums in image order, each row alone (a batch equals its rows bit for bit).

    flux, flux_sigma: (N,) observed fluxes and errors (any one unit; NaN flux = not measured); system: (N,)
    system index of each image. Returns (B,) dimensionless chi2."""
    measured = np.isfinite(flux)
    weight = np.where(measured, 1.0 / np.where(measured, flux_sigma, 1.0) ** 2, 0.0)
    out = np.empty(det.shape[0])
    _flux(np.where(measured, flux, 0.0), weight, np.ascontiguousarray(system, dtype=np.int64), int(n_systems),
          np.ascontiguousarray(det, dtype=float), out)
    return out
