"""Damped Newton polish of image positions (step 4 of the algorithm in :mod:`clusterlens.solver`).

From each start, Newton iterations on beta(theta) = beta_s with the analytic Hessian of the lens:
the step is capped (the finder uses twice the cell size), halved while the residual does not
decrease, and the start is abandoned once the damping falls below 1/256; vectorised over all
starts.  The likelihood and the Lenstool chi2 polish observed images with the same
:func:`polish`.  Angles in arcsec.
"""

from __future__ import annotations

import numpy as np

NEWTON_MAX_ITERATIONS = 40
NEWTON_MIN_DAMPING = 2.0**-8     # a start is abandoned once its step is halved below this


def _lens_state(lens, scale, x, y, xs, ys):
    """Residual beta(theta) - beta_s and the Jacobian entries (a11, a12, a22) of A."""
    if hasattr(lens, "deflection_and_hessian"):
        ax, ay, hxx, hxy, hyy = lens.deflection_and_hessian(x, y, scale=scale)
    else:
        ax, ay = lens.deflection(x, y, scale=scale)
        hxx, hxy, hyy = lens.hessian(x, y, scale=scale)
    return x - ax - xs, y - ay - ys, 1.0 - hxx, -hxy, 1.0 - hyy


def _newton_step(rx, ry, a11, a12, a22, cap):
    det = a11 * a22 - a12 * a12
    with np.errstate(divide="ignore", invalid="ignore"):
        dx = -(a22 * rx - a12 * ry) / det
        dy = -(-a12 * rx + a11 * ry) / det
    length = np.hypot(dx, dy)
    with np.errstate(divide="ignore", invalid="ignore"):
        shrink = np.where(length > cap, cap / length, 1.0)
        return dx * shrink, dy * shrink


def polish(lens, scale, x, y, xs, ys, step_cap, *, tolerance=1e-12):
    """Damped Newton solution of beta(theta) = (xs, ys), vectorised over starting points.

    x, y: starting points (arcsec); xs, ys: source of each start (arcsec); scale: D_LS/D_S, one
    value or one per start; step_cap: largest step per iteration (arcsec), one per start.  Steps
    are halved while the residual does not decrease.
    Returns (x, y, residual |beta - beta_s| in arcsec, det A) at the last accepted point.
    """
    x = np.array(x, dtype=float)
    y = np.array(y, dtype=float)
    scale = np.broadcast_to(np.asarray(scale, dtype=float), x.shape)
    rx, ry, a11, a12, a22 = _lens_state(lens, scale, x, y, xs, ys)
    res = np.hypot(rx, ry)
    res = np.where(np.isfinite(res), res, np.inf)
    lam = np.ones_like(x)
    dx, dy = _newton_step(rx, ry, a11, a12, a22, step_cap)
    tol = tolerance * (1.0 + np.hypot(x, y))
    active = (res > tol) & np.isfinite(dx) & np.isfinite(dy)
    for _ in range(NEWTON_MAX_ITERATIONS):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        tx = x[idx] + lam[idx] * dx[idx]
        ty = y[idx] + lam[idx] * dy[idx]
        trx, try_, t11, t12, t22 = _lens_state(lens, scale[idx], tx, ty, xs[idx], ys[idx])
        tres = np.hypot(trx, try_)
        better = np.isfinite(tres) & (tres < res[idx])
        acc = idx[better]
        x[acc], y[acc], res[acc] = tx[better], ty[better], tres[better]
        rx[acc], ry[acc] = trx[better], try_[better]
        a11[acc], a12[acc], a22[acc] = t11[better], t12[better], t22[better]
        lam[acc] = 1.0
        dx[acc], dy[acc] = _newton_step(rx[acc], ry[acc], a11[acc], a12[acc], a22[acc], step_cap[acc])
        rej = idx[~better]
        lam[rej] *= 0.5
        active[acc] = (res[acc] > tol[acc]) & np.isfinite(dx[acc]) & np.isfinite(dy[acc])
        active[rej] = lam[rej] > NEWTON_MIN_DAMPING
    return x, y, res, a11 * a22 - a12 * a12
