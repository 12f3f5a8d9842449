"""Fast sums of many dPIE members: deflection and Hessian (numba + numpy SIMD), and potential.

The same closed forms as :mod:`clusterlens.profiles.dpie` (Keeton-form difference of
two cored isothermal ellipsoids, one arctan and one arctanh per member-point pair),
evaluated block by block over points:

1. a numba kernel computes, for every member and every point of the block, the two
   transcendental arguments of the deflection, and adds the (algebraic) Hessian
   directly to the outputs; its loops run over points innermost, so LLVM vectorises
   them (``error_model="numpy"`` removes the division checks, ``fastmath`` stays off);
2. numpy's SIMD ``arctan`` and ``log1p`` transform the argument buffers in place;
3. a second numba kernel adds each member's rotated, scaled deflection to the outputs;

or, at up to ``FEW_POINTS`` points, one kernel whose loop over members is innermost (vectorised over
members, :mod:`vector_math`'s arctan and arctanh inline).

Sums over members run in a fixed order (members sorted elliptical first), so results
are deterministic and agree with the numpy path to rounding (tested to 1e-12).
Members with q = 1 take the algebraic limit (no transcendental). Memory is one
buffer pair of ~``BLOCK_PAIRS`` pairs. Single-threaded; the kernels release the GIL.
Importing this module requires numba; :mod:`clusterlens.lens` falls back to the
numpy path without it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np

from . import vector_math
from .dpie import keeton_parameters

BLOCK_PAIRS = 65_536
"""Member x point pairs per block (two float64 buffers of this size, ~1 MB)."""
FEW_POINTS = 8
"""Up to this many points, one kernel per call with the loop over members innermost (LLVM vectorises it over
members; the batch kernels' closed forms and :mod:`vector_math`'s arctan and arctanh inline, no buffers): an
image solver's late iterations evaluate a handful of points, where the buffers and ufunc calls cost more than
the sums (M1149-like, 230 members: 1 point 4 us against 19 us, 5 points 17 us against 35 us). The numbers are
:func:`add_batch`'s bit for bit; the buffered path's (numpy's arctan and log1p) agree to ~1e-15 relative."""

#: the decorator of the outer kernels: compiled without the GIL, cached on disk, numpy error model
_jit = numba.jit(nopython=True, nogil=True, cache=True, fastmath=False, error_model="numpy")


@dataclass(frozen=True)
class MemberTable:
    """Per-member constants, elliptical members (q < 1) first, ``n_elliptical`` of them.

    ``constants`` rows: centre x, centre y, cos(angle), sin(angle), Keeton b q, core s1,
    cut s2, q^2, u = sqrt(1 - q^2), u^2 (see ``dpie.keeton_parameters``).
    ``weights`` rows: coefficients of the transformed arguments in alpha_x and alpha_y.
    """

    constants: np.ndarray
    weights: np.ndarray
    n_elliptical: int

    @property
    def size(self) -> int:
        return self.constants.shape[1]


def member_table(center_x, center_y, b0, r_core, r_cut, q, angle) -> MemberTable:
    """Precompute the kernels' per-member constants from dPIE parameters (1-D arrays)."""
    center_x, center_y, b0, r_core, r_cut, q, angle = np.broadcast_arrays(
        *(np.asarray(v, dtype=float).ravel() for v in (center_x, center_y, b0, r_core, r_cut, q, angle))
    )
    bq, s1, s2 = keeton_parameters(b0, r_core, r_cut, q)
    order = np.argsort(q >= 1.0, kind="stable")
    phi = np.deg2rad(angle)
    cos, sin = np.cos(phi), np.sin(phi)
    u = np.sqrt((1.0 - q) * (1.0 + q))
    elliptical = u > 0.0
    # alpha_x' = (bq/u) arctan(W0), alpha_y' = (bq/(2u)) log1p(W1) when u > 0; bq W0, bq W1 when u = 0
    amp_x = np.where(elliptical, bq / np.where(elliptical, u, 1.0), bq)
    amp_y = np.where(elliptical, 0.5 * amp_x, bq)
    constants = np.stack([center_x, center_y, cos, sin, bq, s1, s2, q * q, u, u * u])[:, order]
    weights = np.stack([cos * amp_x, -sin * amp_y, sin * amp_x, cos * amp_y])[:, order]
    return MemberTable(np.ascontiguousarray(constants), np.ascontiguousarray(weights), int(np.sum(elliptical)))


@numba.njit(inline="always")
def _frame(xi, yi, c, m):
    """Profile-frame coordinates of point (xi, yi) for member m, and the two roots psi1, psi2."""
    dx = xi - c[0, m]
    dy = yi - c[1, m]
    xp = c[2, m] * dx + c[3, m] * dy
    yp = c[2, m] * dy - c[3, m] * dx
    q2, s1, s2 = c[7, m], c[5, m], c[6, m]
    r2e = q2 * xp * xp + yp * yp
    return xp, yp, math.sqrt(r2e + q2 * s1 * s1), math.sqrt(r2e + q2 * s2 * s2)


@numba.njit(inline="always")
def _arguments(xp, yp, psi1, psi2, c, m):
    """The arctan and log1p arguments (or, for q = 1, the limits t_x, t_y) of the deflection."""
    s1, s2, q2, u, u2 = c[5, m], c[6, m], c[7, m], c[8, m], c[9, m]
    dpsi = q2 * (s2 - s1) * (s2 + s1) / (psi1 + psi2)
    tx = xp * (dpsi + (s2 - s1)) / ((psi1 + s1) * (psi2 + s2) + u2 * xp * xp)
    ty = yp * (dpsi + q2 * (s2 - s1)) / ((psi1 + q2 * s1) * (psi2 + q2 * s2) - u2 * yp * yp)
    if u > 0.0:
        z = u * ty
        return u * tx, 2.0 * z / (1.0 - z)
    return tx, ty


@numba.njit(inline="always")
def _hessian(xp, yp, psi1, psi2, c, m):
    """Sky-frame Hessian (hxx, hxy, hyy) of member m: difference of two Keeton Hessians, rotated."""
    cos, sin, bq, s1, s2, q2, u2 = c[2, m], c[3, m], c[4, m], c[5, m], c[6, m], c[7, m], c[9, m]
    x2 = xp * xp
    y2 = yp * yp
    w1 = bq / (psi1 * ((psi1 + s1) * (psi1 + s1) + u2 * x2))
    w2 = bq / (psi2 * ((psi2 + s2) * (psi2 + s2) + u2 * x2))
    sp1 = s1 * psi1
    sp2 = s2 * psi2
    hxx_p = w1 * (q2 * s1 * s1 + y2 + sp1) - w2 * (q2 * s2 * s2 + y2 + sp2)
    hyy_p = w1 * (s1 * s1 + x2 + sp1) - w2 * (s2 * s2 + x2 + sp2)
    hxy_p = (w2 - w1) * xp * yp
    # H = R^T H' R
    cos2 = cos * cos - sin * sin
    sin2 = 2.0 * sin * cos
    kappa = 0.5 * (hxx_p + hyy_p)
    g1_p = 0.5 * (hxx_p - hyy_p)
    g1 = cos2 * g1_p - sin2 * hxy_p
    return kappa + g1, sin2 * g1_p + cos2 * hxy_p, kappa - g1


@_jit
def _fill_arguments(x, y, c, w_atan, w_log):
    for m in range(c.shape[1]):
        for i in range(x.size):
            xp, yp, psi1, psi2 = _frame(x[i], y[i], c, m)
            w_atan[m, i], w_log[m, i] = _arguments(xp, yp, psi1, psi2, c, m)


@_jit
def _fill_arguments_add_hessian(x, y, c, w_atan, w_log, hxx, hxy, hyy):
    for m in range(c.shape[1]):
        for i in range(x.size):
            xp, yp, psi1, psi2 = _frame(x[i], y[i], c, m)
            w_atan[m, i], w_log[m, i] = _arguments(xp, yp, psi1, psi2, c, m)
            dxx, dxy, dyy = _hessian(xp, yp, psi1, psi2, c, m)
            hxx[i] += dxx
            hxy[i] += dxy
            hyy[i] += dyy


@_jit
def _add_hessian(x, y, c, hxx, hxy, hyy):
    for m in range(c.shape[1]):
        for i in range(x.size):
            xp, yp, psi1, psi2 = _frame(x[i], y[i], c, m)
            dxx, dxy, dyy = _hessian(xp, yp, psi1, psi2, c, m)
            hxx[i] += dxx
            hxy[i] += dxy
            hyy[i] += dyy


@_jit
def _add_deflection(weights, w_atan, w_log, ax, ay):
    n = ax.size
    for m in range(weights.shape[1]):
        a_x, l_x, a_y, l_y = weights[0, m], weights[1, m], weights[2, m], weights[3, m]
        for i in range(n):
            ax[i] += a_x * w_atan[m, i] + l_x * w_log[m, i]
            ay[i] += a_y * w_atan[m, i] + l_y * w_log[m, i]


def add(x, y, table: MemberTable, deflection=None, hessian=None) -> None:
    """Add the members' deflection (ax, ay) and/or Hessian (hxx, hxy, hyy) at 1-D points in place.

    x, y: contiguous float64 arrays (arcsec); ``deflection`` and ``hessian`` are tuples of
    contiguous float64 arrays of x's size, or None. Each point's sums run over the members in the
    table's order, whatever the number of points.
    """
    if table.size == 0:
        return
    if deflection is None:
        if hessian is not None:
            _add_hessian(x, y, table.constants, *hessian)
        return
    if x.size <= FEW_POINTS:
        hxx, hxy, hyy = hessian if hessian is not None else (deflection[0],) * 3  # unused without a Hessian
        _add_few(x, y, table.constants, deflection[0], deflection[1], hxx, hxy, hyy, hessian is not None)
        return
    block = max(8, BLOCK_PAIRS // table.size)
    w_atan = np.empty(table.size * min(block, x.size))
    w_log = np.empty_like(w_atan)
    ell = table.n_elliptical
    for start in range(0, x.size, block):
        stop = min(start + block, x.size)
        # contiguous (members, points) views on the buffers' leading part
        shape = (table.size, stop - start)
        wa, wl = w_atan[: shape[0] * shape[1]].reshape(shape), w_log[: shape[0] * shape[1]].reshape(shape)
        if hessian is None:
            _fill_arguments(x[start:stop], y[start:stop], table.constants, wa, wl)
        else:
            _fill_arguments_add_hessian(
                x[start:stop], y[start:stop], table.constants, wa, wl, *(h[start:stop] for h in hessian)
            )
        np.arctan(wa[:ell], out=wa[:ell])
        np.log1p(wl[:ell], out=wl[:ell])
        _add_deflection(table.weights, wa, wl, deflection[0][start:stop], deflection[1][start:stop])


# ---------------------------------------------------------------------- batches of parameter sets
# The kernels below evaluate B parameter sets at once (a likelihood's batch): outputs (B, 5, N) hold
# ax, ay, hxx, hxy, hyy of each set. Each set's sums run over its members in a fixed order whatever B,
# so a set gives the same numbers alone or in a batch, bit for bit. They need no argument buffers:
# arctan and arctanh come from clusterlens.profiles.vector_math, which LLVM vectorises in the loop
# (~2 ulp; the single-set kernels above use numpy's, so the two agree to ~1e-15 relative).


def batch_constants(center_x, center_y, b0, r_core, r_cut, q, angle, check: bool = True):
    """Per-member constants of B parameter sets, arrays of shape (B, M) -> (B, 10, M), rows as
    :class:`MemberTable`, members in the given order (``check=False``: parameters already checked)."""
    bq, s1, s2 = keeton_parameters(b0, r_core, r_cut, q, check)
    phi = np.deg2rad(angle)
    u = np.sqrt((1.0 - q) * (1.0 + q))
    constants = np.stack([center_x, center_y, np.cos(phi), np.sin(phi), bq, s1, s2, q * q, u, u * u], axis=1)
    return np.ascontiguousarray(constants)


@numba.njit(inline="always")
def _over_u(u, t_atan, t_atanh):
    """(arctan(u t_atan) / u, arctanh(u t_atanh) / u), their limits (t_atan, t_atanh) where u = 0."""
    if u > 0.0:
        return vector_math.arctan(u * t_atan) / u, vector_math.arctanh(u * t_atanh) / u
    return t_atan, t_atanh


@numba.njit(inline="always")
def _difference_arguments(xp, yp, psi1, psi2, c, m):
    """t_x, t_y of the deflection's closed-form difference: alpha' = bq (arctan(u t_x), arctanh(u t_y)) / u."""
    s1, s2, q2, u2 = c[5, m], c[6, m], c[7, m], c[9, m]
    dpsi = q2 * (s2 - s1) * (s2 + s1) / (psi1 + psi2)
    tx = xp * (dpsi + (s2 - s1)) / ((psi1 + s1) * (psi2 + s2) + u2 * xp * xp)
    ty = yp * (dpsi + q2 * (s2 - s1)) / ((psi1 + q2 * s1) * (psi2 + q2 * s2) - u2 * yp * yp)
    return tx, ty


@_jit
def _batch_add(x, y, c, out):
    for b in range(c.shape[0]):
        cb = c[b]
        for m in range(cb.shape[1]):
            bq, cos, sin, u = cb[4, m], cb[2, m], cb[3, m], cb[8, m]
            for i in range(x.size):
                xp, yp, psi1, psi2 = _frame(x[i], y[i], cb, m)
                tx, ty = _difference_arguments(xp, yp, psi1, psi2, cb, m)
                fx, fy = _over_u(u, tx, ty)
                dxx, dxy, dyy = _hessian(xp, yp, psi1, psi2, cb, m)
                out[b, 0, i] += bq * (cos * fx - sin * fy)
                out[b, 1, i] += bq * (sin * fx + cos * fy)
                out[b, 2, i] += dxx
                out[b, 3, i] += dxy
                out[b, 4, i] += dyy


def add_batch(x, y, constants, out) -> None:
    """Add B parameter sets' members (:func:`batch_constants`, (B, 10, M)) at 1-D points x, y [arcsec] to
    ``out`` (B, 5, N): deflection [arcsec] and Hessian, in place."""
    if constants.shape[2]:
        _batch_add(x, y, constants, out)


@_jit
def _add_few(x, y, c, ax, ay, hxx, hxy, hyy, hessian):
    """:func:`add` at a handful of points (``FEW_POINTS``): per point, every member's terms into a buffer in one
    vectorised loop, then summed in the members' order (the same order and terms as ``_batch_add``)."""
    n = c.shape[1]
    terms = np.empty((5, n))
    for i in range(x.size):
        for m in range(n):
            bq, cos, sin, u = c[4, m], c[2, m], c[3, m], c[8, m]
            xp, yp, psi1, psi2 = _frame(x[i], y[i], c, m)
            tx, ty = _difference_arguments(xp, yp, psi1, psi2, c, m)
            fx, fy = _over_u(u, tx, ty)
            terms[0, m] = bq * (cos * fx - sin * fy)
            terms[1, m] = bq * (sin * fx + cos * fy)
            if hessian:
                terms[2, m], terms[3, m], terms[4, m] = _hessian(xp, yp, psi1, psi2, c, m)
        outputs = (ax, ay, hxx, hxy, hyy)
        for k in range(5 if hessian else 2):
            out = outputs[k]
            total = out[i]
            for m in range(n):
                total += terms[k, m]
            out[i] = total


# ---------------------------------------------------------------------- a tier whose r_cut varies
# dPIE = bq [K(s1) - K(s2)] with K the unit-amplitude Keeton cored isothermal ellipsoid (module
# clusterlens.profiles.dpie; Kassiola & Kovner 1993, Eliasdottir et al. 2007 appendix A; Keeton 2001 for K):
# with the members' positions, shapes and cores fixed, K(s1) at the points is a constant ("core"
# table, shape (5, M, N)) and only the amplitude bq and the cut term K(s2) change.


def cut_constants(center_x, center_y, q, angle) -> np.ndarray:
    """Fixed per-member constants of the cut-term kernel (7, M): centre x, y, cos, sin, q^2, u, u^2."""
    phi = np.deg2rad(angle)
    u = np.sqrt((1.0 - q) * (1.0 + q))
    return np.ascontiguousarray(np.stack([center_x, center_y, np.cos(phi), np.sin(phi), q * q, u, u * u]))


@_jit
def _cut_add(x, y, c, core, bq, s_cut, out):
    for b in range(bq.shape[0]):
        for m in range(c.shape[1]):
            cx, cy, cos, sin, q2, u, u2 = c[0, m], c[1, m], c[2, m], c[3, m], c[4, m], c[5, m], c[6, m]
            amp, s = bq[b, m], s_cut[b, m]
            cos2 = cos * cos - sin * sin
            sin2 = 2.0 * sin * cos
            for i in range(x.size):
                dx = x[i] - cx
                dy = y[i] - cy
                xp = cos * dx + sin * dy
                yp = cos * dy - sin * dx
                x2 = xp * xp
                y2 = yp * yp
                psi = math.sqrt(q2 * x2 + y2 + q2 * s * s)
                # Keeton & Kochanek 1998 deflection and Keeton 2001 Hessian of K(s), negated, times amp
                fx, fy = _over_u(u, xp / (psi + s), yp / (psi + q2 * s))
                w = amp / (psi * ((psi + s) * (psi + s) + u2 * x2))
                sp = s * psi
                hxx_p = -w * (q2 * s * s + y2 + sp)
                hyy_p = -w * (s * s + x2 + sp)
                hxy_p = w * xp * yp
                kappa = 0.5 * (hxx_p + hyy_p)
                g1_p = 0.5 * (hxx_p - hyy_p)
                g1 = cos2 * g1_p - sin2 * hxy_p
                out[b, 0, i] += amp * (core[0, m, i] - (cos * fx - sin * fy))
                out[b, 1, i] += amp * (core[1, m, i] - (sin * fx + cos * fy))
                out[b, 2, i] += amp * core[2, m, i] + (kappa + g1)
                out[b, 3, i] += amp * core[3, m, i] + (sin2 * g1_p + cos2 * hxy_p)
                out[b, 4, i] += amp * core[4, m, i] + (kappa - g1)


def add_cut_batch(x, y, constants, core, bq, s_cut, out) -> None:
    """Add B parameter sets of a tier, bq [K(s1) - K(s2)] per member, to ``out`` (B, 5, N) in place.

    x, y: 1-D points [arcsec]; constants: :func:`cut_constants` (7, M); core: K(s1) at unit amplitude at the
    points, sky frame (ax, ay, hxx, hxy, hyy) x members x points; bq, s_cut: (B, M) Keeton amplitudes and
    cut cores [arcsec] (``dpie.keeton_parameters``)."""
    if bq.shape[1]:
        _cut_add(x, y, constants, core, bq, s_cut, out)


# ---------------------------------------------------------------------- potential
# psi' = x' alpha_x' + y' alpha_y' - bq [L(s1) - L(s2)] per member (clusterlens.profiles.dpie.potential: the
# difference of two cored isothermal ellipsoid potentials, Keeton 2001 eqs. 33-35 and 42),
# L(s) = (s/2) ln(1 + e(s)), e(s) = [x'^2 + y'^2 + 2 s (q^2 x'^2 + y'^2)/(psi + q s)] / ((1+q) s)^2
# (sie.keeton_potential_log_term). The deflection's difference is the closed form above; arctan, arctanh and
# log1p come from vector_math, inline in the loop as in the batch kernels (no argument buffers); a point's sum
# over members runs in the table's order.


@numba.njit(inline="always")
def _log_constants(c, m):
    """Member m's constants of the potential's log terms: s1, s2, q s1, q s2, 1/((1+q) s1)^2, 1/((1+q) s2)^2."""
    s1, s2 = c[5, m], c[6, m]
    q = math.sqrt(c[7, m])
    w1, w2 = (1.0 + q) * s1, (1.0 + q) * s2
    return s1, s2, q * s1, q * s2, 1.0 / (w1 * w1), 1.0 / (w2 * w2)


@numba.njit(inline="always")
def _potential(xp, yp, psi1, psi2, fx, fy, bq, q2, k):
    """A member's potential at profile-frame (xp, yp) from the roots psi1, psi2, the deflection's
    f = alpha' / bq (``_over_u``) and its ``_log_constants`` k."""
    s1, s2, qs1, qs2, inv1, inv2 = k
    r2 = xp * xp + yp * yp
    r2e = q2 * xp * xp + yp * yp
    e1 = (r2 + 2.0 * s1 * r2e / (psi1 + qs1)) * inv1
    e2 = (r2 + 2.0 * s2 * r2e / (psi2 + qs2)) * inv2
    logs = 0.5 * (s1 * vector_math.log1p(e1) - s2 * vector_math.log1p(e2))
    return bq * ((xp * fx + yp * fy) - logs)


@_jit
def _add_potential(x, y, c, out):
    for m in range(c.shape[1]):
        bq, q2, u = c[4, m], c[7, m], c[8, m]
        k = _log_constants(c, m)
        for i in range(x.size):
            xp, yp, psi1, psi2 = _frame(x[i], y[i], c, m)
            tx, ty = _difference_arguments(xp, yp, psi1, psi2, c, m)
            fx, fy = _over_u(u, tx, ty)
            out[i] += _potential(xp, yp, psi1, psi2, fx, fy, bq, q2, k)


@_jit
def _add_potential_deflection_hessian(x, y, c, out, ax, ay, hxx, hxy, hyy):
    for m in range(c.shape[1]):
        cos, sin, bq, q2, u = c[2, m], c[3, m], c[4, m], c[7, m], c[8, m]
        k = _log_constants(c, m)
        for i in range(x.size):
            xp, yp, psi1, psi2 = _frame(x[i], y[i], c, m)
            tx, ty = _difference_arguments(xp, yp, psi1, psi2, c, m)
            fx, fy = _over_u(u, tx, ty)
            out[i] += _potential(xp, yp, psi1, psi2, fx, fy, bq, q2, k)
            ax[i] += bq * (cos * fx - sin * fy)
            ay[i] += bq * (sin * fx + cos * fy)
            dxx, dxy, dyy = _hessian(xp, yp, psi1, psi2, c, m)
            hxx[i] += dxx
            hxy[i] += dxy
            hyy[i] += dyy


def add_potential(x, y, table: MemberTable, out, deflection=None, hessian=None) -> None:
    """Add the members' lensing potential [arcsec^2] (each 0 at its centre) at 1-D points x, y [arcsec] to
    ``out`` in place and, given both ``deflection`` (ax, ay) [arcsec] and ``hessian`` (hxx, hxy, hyy), those
    too in the same pass (one arctan and arctanh per pair for all three). x, y, out and the tuples' arrays:
    contiguous float64 of one size. Agrees with ``dpie.potential`` to ~1e-15 relative (vector_math's
    arctan, arctanh and log1p are within ~2 ulp of numpy's); the potential is the same, bit for bit, with or
    without the deflection and Hessian."""
    if (deflection is None) != (hessian is None):
        raise ValueError("add_potential: give both deflection and hessian, or neither")
    if not table.size:
        return
    if deflection is None:
        _add_potential(x, y, table.constants, out)
    else:
        _add_potential_deflection_hessian(x, y, table.constants, out, *deflection, *hessian)
