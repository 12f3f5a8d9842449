"""Compiled (numba) sums of many dPIE members: deflection and Hessian.

The same closed forms as :mod:`clusterlens.profiles.dpie` (Keeton-form difference
of two cored isothermal ellipsoids, one arctan and one arctanh per pair), written
as loops: parallel over points, serial over members, accumulating in registers,
so memory stays O(points) whatever the number of members. ``fastmath`` is off,
so results agree with the numpy path to rounding (tested to 1e-12 relative).
Importing this module requires numba; :mod:`clusterlens.lens` falls back to the
numpy path without it.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from .dpie import keeton_parameters

def member_table(center_x, center_y, b0, r_core, r_cut, q, angle) -> np.ndarray:
    """(11, M) float64 table of per-member constants for the kernel.

    Rows: centre x, centre y, cos(angle), sin(angle), Keeton b q, (b q)/u, core s1,
    cut s2, q^2, u = sqrt(1 - q^2), u^2 (see ``dpie.keeton_parameters``).
    """
    center_x, center_y, b0, r_core, r_cut, q, angle = np.broadcast_arrays(
        *(np.asarray(v, dtype=float).ravel() for v in (center_x, center_y, b0, r_core, r_cut, q, angle))
    )
    bq, s1, s2 = keeton_parameters(b0, r_core, r_cut, q)
    phi = np.deg2rad(angle)
    u = np.sqrt((1.0 - q) * (1.0 + q))
    bq_over_u = np.where(u > 0.0, bq / np.where(u > 0.0, u, 1.0), 0.0)
    table = np.stack([center_x, center_y, np.cos(phi), np.sin(phi), bq, bq_over_u, s1, s2, q * q, u, u * u])
    return np.ascontiguousarray(table)


@numba.njit(parallel=True, fastmath=False, cache=True)
def _member_sum(x, y, table, want_deflection, want_hessian, ax, ay, hxx, hxy, hyy):  # pragma: no cover - compiled
    n_members = table.shape[1]
    for i in numba.prange(x.size):
        sum_x = 0.0
        sum_y = 0.0
        sum_xx = 0.0
        sum_xy = 0.0
        sum_yy = 0.0
        for m in range(n_members):
            cos = table[2, m]
            sin = table[3, m]
            bq = table[4, m]
            s1 = table[6, m]
            s2 = table[7, m]
            q2 = table[8, m]
            u = table[9, m]
            u2 = table[10, m]
            dx = x[i] - table[0, m]
            dy = y[i] - table[1, m]
            xp = cos * dx + sin * dy
            yp = cos * dy - sin * dx
            x2 = xp * xp
            y2 = yp * yp
            r2e = q2 * x2 + y2
            psi1 = math.sqrt(r2e + q2 * s1 * s1)
            psi2 = math.sqrt(r2e + q2 * s2 * s2)
            if want_deflection:
                dpsi = q2 * (s2 - s1) * (s2 + s1) / (psi1 + psi2)
                tx = xp * (dpsi + (s2 - s1)) / ((psi1 + s1) * (psi2 + s2) + u2 * x2)
                ty = yp * (dpsi + q2 * (s2 - s1)) / ((psi1 + q2 * s1) * (psi2 + q2 * s2) - u2 * y2)
                if u > 0.0:
                    z = u * ty
                    axp = table[5, m] * math.atan(u * tx)
                    ayp = table[5, m] * 0.5 * math.log1p(2.0 * z / (1.0 - z))
                else:
                    axp = bq * tx
                    ayp = bq * ty
                sum_x += cos * axp - sin * ayp
                sum_y += sin * axp + cos * ayp
            if want_hessian:
                # profile frame: difference of the two Keeton Hessians
                w1 = bq / (psi1 * ((psi1 + s1) * (psi1 + s1) + u2 * x2))
                w2 = bq / (psi2 * ((psi2 + s2) * (psi2 + s2) + u2 * x2))
                sp1 = s1 * psi1
                sp2 = s2 * psi2
                hxx_p = w1 * (q2 * s1 * s1 + y2 + sp1) - w2 * (q2 * s2 * s2 + y2 + sp2)
                hyy_p = w1 * (s1 * s1 + x2 + sp1) - w2 * (s2 * s2 + x2 + sp2)
                hxy_p = -(w1 - w2) * xp * yp
                # sky frame: H = R^T H' R
                cos2 = cos * cos - sin * sin
                sin2 = 2.0 * sin * cos
                kappa = 0.5 * (hxx_p + hyy_p)
                g1_p = 0.5 * (hxx_p - hyy_p)
                g1 = cos2 * g1_p - sin2 * hxy_p
                sum_xx += kappa + g1
                sum_yy += kappa - g1
                sum_xy += sin2 * g1_p + cos2 * hxy_p
        if want_deflection:
            ax[i] += sum_x
            ay[i] += sum_y
        if want_hessian:
            hxx[i] += sum_xx
            hxy[i] += sum_xy
            hyy[i] += sum_yy


def add(x, y, table, deflection=None, hessian=None) -> None:
    """Add the members' deflection (ax, ay) and/or Hessian (hxx, hxy, hyy) at the 1-D points in place.

    ``deflection`` and ``hessian`` are tuples of contiguous float64 arrays of x's size, or None.
    """
    empty = np.empty(0)
    ax, ay = deflection if deflection is not None else (empty, empty)
    hxx, hxy, hyy = hessian if hessian is not None else (empty, empty, empty)
    _member_sum(x, y, table, deflection is not None, hessian is not None, ax, ay, hxx, hxy, hyy)
