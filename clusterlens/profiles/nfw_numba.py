"""Compiled sums over many spherical NFW halos: deflection, Hessian and potential at many points.

The same formulas and branches as :mod:`clusterlens.profiles.nfw` (Bartelmann 1996; Wright &
Brainerd 2000 eqs. 11 and 13; Golse & Kneib 2002 for the potential), one point and one halo at a
time: x = max(R / r_s, X_FLOOR), w = 1 - x^2; for w >= 0.1 the arccosh forms without cancellation,
for w <= -0.1 the arccos (arctan) forms, in between the power series of (F - 1) / w. numpy's
masked array expressions cost ~100 array operations per evaluation, which dominate a likelihood
call at tens of images; here each (point, halo) pair is a few scalar operations. Agrees with the
numpy functions to ~1e-15 relative (libm's log1p and atan against numpy's).

Units: x, y, centres and r_s in arcsec, kappa_s dimensionless (at D_LS/D_S = 1); deflections in
arcsec, the Hessian dimensionless, the potential in arcsec^2 (zero at each centre).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np

from .nfw import _SERIES_DENOMINATORS, _SERIES_HALF_WIDTH, X_FLOOR, check_parameters

_jit = numba.jit(nopython=True, nogil=True, cache=True, fastmath=False, error_model="numpy")
_INVERSE_DENOMINATORS = 1.0 / _SERIES_DENOMINATORS
_TINY = float(np.finfo(float).tiny)


@dataclass(frozen=True)
class MemberTable:
    """Per-halo constants, rows centre x, centre y, kappa_s, r_s [arcsec]."""

    constants: np.ndarray

    @property
    def size(self) -> int:
        return self.constants.shape[1]


def member_table(center_x, center_y, kappa_s, r_s) -> MemberTable:
    """The kernels' table of NFW halos (1-D arrays; ValueError unless kappa_s >= 0 and r_s > 0, finite)."""
    check_parameters(kappa_s, r_s)
    arrays = np.broadcast_arrays(*(np.asarray(v, dtype=float).ravel() for v in (center_x, center_y, kappa_s, r_s)))
    return MemberTable(np.ascontiguousarray(np.stack(arrays)))


@numba.njit(inline="always")
def _series(w, inverse):
    """sum_k w^k / (2k + 3) (Horner, the numpy function's order)."""
    out = inverse[-1]
    for k in range(inverse.size - 2, -1, -1):
        out = out * w + inverse[k]
    return out


@numba.njit(inline="always")
def _g_and_h(x, inverse):
    """(kappa / (2 kappa_s), h(x)) at x = R / r_s (nfw.scaled_convergence and nfw.bartelmann_h)."""
    w = (1.0 - x) * (1.0 + x)
    if w >= _SERIES_HALF_WIDTH:
        u = math.sqrt(w)
        one_minus_u = x * x / (1.0 + u)
        g = (math.log1p(((1.0 - x) + u) / x) / u - 1.0) / w
        h = (math.log1p(-0.5 * one_minus_u) - math.log(0.5 * x) * one_minus_u) / u
    elif w <= -_SERIES_HALF_WIDTH:
        u = math.sqrt(-w)
        g = (math.atan(u) / u - 1.0) / w
        h = math.log(0.5 * x) + math.atan(u) / u
    else:
        series = _series(w, inverse)
        g = series
        h = math.log(0.5 * x) + 1.0 + w * series
    return g, h


@numba.njit(inline="always")
def _potential(x):
    """psi / (2 kappa_s r_s^2) (nfw.scaled_potential)."""
    w = (1.0 - x) * (1.0 + x)
    if w > 0.0:
        p = math.log1p(-0.5 * x * x / (1.0 + math.sqrt(w)))
        return p * (2.0 * math.log(0.5 * x) - p)
    return math.log(0.5 * x) ** 2 + math.atan(math.sqrt(-w)) ** 2


@numba.njit(inline="always")
def _pair(dx, dy, kappa_s, r_s, inverse):
    """(alpha_x, alpha_y, hxx, hxy, hyy, scaled radius) of one halo at offset (dx, dy) from its centre."""
    r2 = dx * dx + dy * dy
    scaled = max(math.sqrt(r2) / r_s, X_FLOOR)
    g, h = _g_and_h(scaled, inverse)
    mean_kappa = 4.0 * kappa_s * h / (scaled * scaled)
    kappa = 2.0 * kappa_s * g
    gamma = mean_kappa - kappa
    r2 = max(r2, _TINY)
    cos2 = (dx * dx - dy * dy) / r2
    sin2 = 2.0 * dx * dy / r2
    return (mean_kappa * dx, mean_kappa * dy, kappa - gamma * cos2, -gamma * sin2, kappa + gamma * cos2,
            scaled)


@_jit
def _add(x, y, c, inverse, potential, ax, ay, hxx, hxy, hyy, psi):
    for m in range(c.shape[1]):
        cx, cy, kappa_s, r_s = c[0, m], c[1, m], c[2, m], c[3, m]
        for i in range(x.size):
            a_x, a_y, h_xx, h_xy, h_yy, scaled = _pair(x[i] - cx, y[i] - cy, kappa_s, r_s, inverse)
            ax[i] += a_x
            ay[i] += a_y
            hxx[i] += h_xx
            hxy[i] += h_xy
            hyy[i] += h_yy
            if potential:
                psi[i] += 2.0 * kappa_s * r_s * r_s * _potential(scaled)


@_jit
def _add_groups(x, y, c, count, inverse, out):
    size = c.shape[1] // count
    for b in range(count):
        for m in range(b * size, (b + 1) * size):
            cx, cy, kappa_s, r_s = c[0, m], c[1, m], c[2, m], c[3, m]
            for i in range(x.size):
                a_x, a_y, h_xx, h_xy, h_yy, _ = _pair(x[i] - cx, y[i] - cy, kappa_s, r_s, inverse)
                out[b, 0, i] += a_x
                out[b, 1, i] += a_y
                out[b, 2, i] += h_xx
                out[b, 3, i] += h_xy
                out[b, 4, i] += h_yy


@_jit
def _add_potential(x, y, c, out):
    for m in range(c.shape[1]):
        cx, cy, kappa_s, r_s = c[0, m], c[1, m], c[2, m], c[3, m]
        for i in range(x.size):
            dx = x[i] - cx
            dy = y[i] - cy
            scaled = max(math.sqrt(dx * dx + dy * dy) / r_s, X_FLOOR)
            out[i] += 2.0 * kappa_s * r_s * r_s * _potential(scaled)


def add(x, y, table: MemberTable, deflection=None, hessian=None) -> None:
    """Add the halos' deflection (ax, ay) and/or Hessian (hxx, hxy, hyy) at 1-D points x, y in place
    (contiguous float64 arrays of x's size; a tuple left None is not computed)."""
    if table.size == 0 or (deflection is None and hessian is None):
        return
    scratch = np.empty(x.size)
    ax, ay = deflection if deflection is not None else (scratch, scratch)
    hxx, hxy, hyy = hessian if hessian is not None else (scratch, scratch, scratch)
    _add(x, y, table.constants, _INVERSE_DENOMINATORS, False, ax, ay, hxx, hxy, hyy, scratch)


def add_groups(x, y, table: MemberTable, count: int, out) -> None:
    """Add ``count`` equal consecutive groups of ``table``'s halos, group b to ``out[b]`` ((count, 5, N): ax, ay
    [arcsec], hxx, hxy, hyy at 1-D points x, y [arcsec]) in place: a likelihood batch's vectors, the table
    built and checked once for all of them; each group's sums as :func:`add`'s, bit for bit."""
    if table.size:
        _add_groups(x, y, table.constants, count, _INVERSE_DENOMINATORS, out)


def add_potential(x, y, table: MemberTable, out, deflection=None, hessian=None) -> None:
    """Add the halos' potential [arcsec^2] to ``out`` in place and, given both ``deflection`` and ``hessian``,
    those too in the same pass (contiguous float64 arrays of x's size)."""
    if (deflection is None) != (hessian is None):
        raise ValueError("add_potential: give both deflection and hessian, or neither")
    if table.size == 0:
        return
    if deflection is None:
        _add_potential(x, y, table.constants, out)
    else:
        (ax, ay), (hxx, hxy, hyy) = deflection, hessian
        _add(x, y, table.constants, _INVERSE_DENOMINATORS, True, ax, ay, hxx, hxy, hyy, out)
