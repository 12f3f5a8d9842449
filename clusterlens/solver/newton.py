"""Damped Newton polish of image positions (step 4 of the algorithm in :mod:`clusterlens.solver`).

From each start, Newton iterations on beta(theta) = beta_s with the analytic Hessian of the lens:
the step is capped (the finder uses twice the cell size), halved while the residual does not
decrease, and the start is abandoned once the damping falls below 1/256 or an accepted step
lowers the residual by less than ``NEWTON_STALL`` of it (stalled: an iteration stuck against a
critical curve, on the side of a caustic where its source has no image, creeps along at ever
smaller det A); vectorised over all starts, each iteration evaluating the lens once at the
unfinished starts only, where a start whose last trial was rejected also tries its next halvings
(``BACKTRACK_TRIALS`` in all): the iterates of one trial per evaluation, in fewer evaluations (a
start beside a critical curve halves its step five to eight times per accepted one).  Angles in arcsec.

**Guarded polish** (:func:`polish_in_basin`).  Started at an observed image, plain Newton may
converge to a different image of the source: near a critical curve (|mu| >> 1) the first step
is large and can jump across it, and a critical curve passing beside the start puts the other
image of a fold pair nearer than the one reached.  The guard reports, per start, ``CONVERGED``
only when the solution is certified to be the image of the start's basin:

* the residual is below ``accept`` (arcsec);
* the parity sign(det A) of the start is kept at every accepted iterate and at the solution
  (the path never crossed a critical curve);
* no critical curve is near (the cheap test, three Hessian samples per start): d the distance
  from the start to the solution, det A is sampled at ``CALM_RADIUS`` x d behind the start and
  on both sides, perpendicular to the move; with det A at the start (det_0) and at the solution,
  no sample may bring det A nearer to zero than (1 - ``CALM_CHANGE``) |det_0| (with det_0's
  sign).  Where det A is locally linear, det A = g s at a distance s from a straight critical
  curve, a curve nearer than d (|det_0| = g c, c < d) fails the test: one of these four
  directions (90 degrees apart) lies within 45 degrees of the normal towards the curve, and its
  sample, at least d away, brings |det A| down by at least g d cos 45 > 0.7 |det_0|;
* a start failing the cheap test must pass the full one: det A is sampled at ``BASIN_ANGLES``
  points on each of the circles of radius ``BASIN_RADII`` x d around the start (a straight
  critical curve nearer than d cuts the outer circle on an arc of more than 49 degrees, so 12
  angles, 30 degrees apart, always sample beyond it); from every sample of the other parity
  (beyond a critical curve, where the other image of a fold pair lies) Newton runs to the
  source (``BASIN_PROBE_ITERATIONS`` evaluations at most: a probe is within 2.1 d of any image
  nearer to the start than d), and none of these solutions may be nearer to the start than the
  solution.

A converged solution failing a check is ``WRONG_BASIN`` (still a true image of the source, but
perhaps not the start's); a start that does not converge is ``FAILED``.  Callers then search
for the images with :mod:`clusterlens.solver.finder` (:func:`clusterlens.solver.match_images`).

Cost: the caller may pass the lens at the starts (``start``: an observed image's deflection and
Hessian are known from the fit's fast path), so each iteration evaluates the lens once, at the
unconverged points only; the cheap test one Hessian evaluation at 3 points per start.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numpy.typing import ArrayLike

NEWTON_MAX_ITERATIONS = 40
NEWTON_MIN_DAMPING = 2.0**-8     # a start is abandoned once its step is halved below this
NEWTON_STALL = 1e-3              # ... or once an accepted step lowers the residual by less than this fraction
CONVERGED, WRONG_BASIN, FAILED = 0, 1, 2   # status of polish_in_basin
STATUS_NAMES = ("converged", "wrong-basin", "failed")
BASIN_RADII = (0.5, 1.1)         # circles checked for a parity change, in units of the distance moved
BASIN_ANGLES = 12
BASIN_PROBE_ITERATIONS = 16      # lens evaluations of a probe's Newton run (an image within d is near)
BASIN_SAME_IMAGE = 1e-4          # arcsec: a probe solution nearer than the solution by less is the same image
CALM_RADIUS = 1.1                # cheap test's samples, in units of the distance moved
CALM_CHANGE = 0.5                # largest change of det A at those samples, in units of |det A| at the start
BACKTRACK_TRIALS = 4             # trials of a backtracking start per lens evaluation (its next halvings together)

#: the iteration's per-point bookkeeping, compiled: one call per iteration instead of some thirty array operations
_jit = numba.jit(nopython=True, nogil=True, cache=True, fastmath=False, error_model="numpy")


def _lens_at(lens, scale, x, y):
    """The lens at (x, y) as (alpha_x, alpha_y, m0, m1, m2, m3, jacobian): a multi-plane lens
    (:class:`clusterlens.multiplane.TracedLens`) gives the Jacobian entries a11, a12, a21, a22 of A
    (``jacobian`` True); a single plane its Hessian psi_xx, psi_xy, psi_yy and psi_xy again (False), all
    scaled by ``scale``."""
    if hasattr(lens, "deflection_and_jacobian"):
        return (*lens.deflection_and_jacobian(x, y, scale=scale), True)
    if hasattr(lens, "deflection_and_hessian"):
        return _single_plane(*lens.deflection_and_hessian(x, y, scale=scale))
    return _single_plane(*lens.deflection(x, y, scale=scale), *lens.hessian(x, y, scale=scale))


def _single_plane(ax, ay, hxx, hxy, hyy):
    """A single plane's deflection and Hessian in :func:`_lens_at`'s form (psi_xy twice, ``jacobian`` False)."""
    return ax, ay, hxx, hxy, hyy, hxy, False


def _contiguous(arrays) -> tuple:
    """The arrays as contiguous float64 (the compiled bookkeeping's argument types)."""
    return tuple(np.ascontiguousarray(a, dtype=float) for a in arrays)


@numba.njit(inline="always")
def _residual_and_jacobian(x, y, xs, ys, ax, ay, m0, m1, m2, m3, jacobian):
    """Residual beta(theta) - beta_s and (a11, a12, a21, a22) of A at one point from :func:`_lens_at`'s
    values there (a single plane: A = I - Hessian, symmetric)."""
    if jacobian:
        return x - ax - xs, y - ay - ys, m0, m1, m2, m3
    return x - ax - xs, y - ay - ys, 1.0 - m0, -m1, -m1, 1.0 - m2


@_jit
def _lens_state(x, y, xs, ys, lens_values, jacobian):
    """Residuals (rx, ry) and A's entries (a11, a12, a21, a22) at the points from :func:`_lens_at`'s six arrays."""
    ax, ay, m0, m1, m2, m3 = lens_values
    n = x.size
    out = np.empty((6, n))
    for i in range(n):
        out[0, i], out[1, i], out[2, i], out[3, i], out[4, i], out[5, i] = _residual_and_jacobian(
            x[i], y[i], xs[i], ys[i], ax[i], ay[i], m0[i], m1[i], m2[i], m3[i], jacobian)
    return out


@numba.njit(inline="always")
def _step(rx, ry, a11, a12, a21, a22, cap):
    """The Newton step -A^-1 r of one point, shortened to length ``cap`` (arcsec) if longer."""
    det = a11 * a22 - a12 * a21
    dx = -(a22 * rx - a12 * ry) / det
    dy = -(-a21 * rx + a11 * ry) / det
    length = math.hypot(dx, dy)
    shrink = cap / length if length > cap else 1.0
    return dx * shrink, dy * shrink


@_jit
def _newton_steps(rx, ry, a11, a12, a21, a22, cap):
    dx, dy = np.empty(rx.size), np.empty(rx.size)
    for i in range(rx.size):
        dx[i], dy[i] = _step(rx[i], ry[i], a11[i], a12[i], a21[i], a22[i], cap[i])
    return dx, dy


@_jit
def _trials(idx, state, used, iterations):
    """The trial points of the active points ``idx`` (module docstring of the iteration): one at a point's
    damping; a point backtracking (damping < 1, its last trial rejected) also the next halvings, up to
    ``BACKTRACK_TRIALS`` in all, while the damping stays above NEWTON_MIN_DAMPING and the point has trials
    left of its ``iterations``. Returns (tx, ty, owner: index of each trial's point, trials per point)."""
    counts = np.ones(idx.size, dtype=np.int64)
    for j in range(idx.size):
        i = idx[j]
        if state[9, i] < 1.0:
            while (counts[j] < BACKTRACK_TRIALS and used[i] + counts[j] < iterations
                   and state[9, i] * 0.5 ** counts[j] > NEWTON_MIN_DAMPING):
                counts[j] += 1
    total = counts.sum()
    tx, ty, owner = np.empty(total), np.empty(total), np.empty(total, dtype=np.int64)
    t = 0
    for j in range(idx.size):
        i = idx[j]
        lam = state[9, i]
        for _ in range(counts[j]):
            tx[t] = state[0, i] + lam * state[10, i]
            ty[t] = state[1, i] + lam * state[11, i]
            owner[t] = i
            lam *= 0.5
            t += 1
    return tx, ty, owner, counts


@_jit
def _update(idx, counts, tx, ty, xs, ys, lens_values, jacobian, state, flipped, parity, active, used, cap, tol,
            stop_flipped):
    """One lens evaluation's bookkeeping for the points ``idx`` tried at (tx, ty), ``counts[j]`` trials each in
    order of halving damping (:func:`_trials`): the first trial that lowers the residual is accepted (new step,
    stalled or converged points stop), each rejected one halves the damping, exactly as one trial per
    evaluation would. ``lens_values``: :func:`_lens_at`'s six arrays at the trials; ``state`` rows: x, y, res,
    rx, ry, a11, a12, a21, a22, lam, dx, dy; ``stop_flipped``: a point stops once an accepted iterate changes
    its parity."""
    ax, ay, m0, m1, m2, m3 = lens_values
    t = 0
    for j in range(idx.size):
        i = idx[j]
        first = t
        t += counts[j]
        for k in range(first, t):
            used[i] += 1
            trx, try_, t11, t12, t21, t22 = _residual_and_jacobian(tx[k], ty[k], xs[i], ys[i], ax[k], ay[k], m0[k],
                                                                   m1[k], m2[k], m3[k], jacobian)
            tres = math.hypot(trx, try_)
            if np.isfinite(tres) and tres < state[2, i]:
                old = state[2, i]
                state[0, i], state[1, i], state[2, i] = tx[k], ty[k], tres
                state[3, i], state[4, i] = trx, try_
                state[5, i], state[6, i], state[7, i], state[8, i] = t11, t12, t21, t22
                flipped[i] |= np.sign(t11 * t22 - t12 * t21) != parity[i]
                state[9, i] = 1.0
                dx, dy = _step(trx, try_, t11, t12, t21, t22, cap[i])
                state[10, i], state[11, i] = dx, dy
                moved = tres < (1.0 - NEWTON_STALL) * old  # else stalled (at a critical curve)
                active[i] = (tres > tol[i]) and np.isfinite(dx) and np.isfinite(dy) and moved
                if stop_flipped and flipped[i]:
                    active[i] = False
                break
            state[9, i] *= 0.5
            active[i] = state[9, i] > NEWTON_MIN_DAMPING


def polish(lens, scale, x, y, xs, ys, step_cap, *, tolerance=1e-12):
    """Damped Newton solution of beta(theta) = (xs, ys), vectorised over starting points.

    x, y: starting points (arcsec); xs, ys: source of each start (arcsec); scale: D_LS/D_S, one
    value or one per start; step_cap: largest step per iteration (arcsec), one per start.  Steps
    are halved while the residual does not decrease.  Nothing checks which image is reached:
    from an observed image use :func:`polish_in_basin`.
    Returns (x, y, residual |beta - beta_s| in arcsec, det A) at the last accepted point.
    """
    x, y, res, det, _, _ = _polish(lens, scale, x, y, xs, ys, step_cap, tolerance)
    return x, y, res, det


def _polish(lens, scale, x, y, xs, ys, step_cap, tolerance, start=None, iterations=NEWTON_MAX_ITERATIONS,
            stop_flipped=False):
    """:func:`polish`, also returning whether the start's parity is 0 or an accepted iterate
    changed it and det A at the start; ``start``: the lens at the starts, (alpha_x, alpha_y, psi_xx,
    psi_xy, psi_yy) of a single plane; ``iterations``: trials per start at most (lens evaluations, were
    it not for the backtracking trials evaluated together); ``stop_flipped``: a start stops where its
    iteration changes parity (or at once if its parity is 0)."""
    x = np.array(x, dtype=float)
    y = np.array(y, dtype=float)
    scale = np.broadcast_to(np.asarray(scale, dtype=float), x.shape)
    xs, ys = np.ascontiguousarray(xs, dtype=float), np.ascontiguousarray(ys, dtype=float)
    cap = np.ascontiguousarray(np.broadcast_to(np.asarray(step_cap, dtype=float), x.shape))
    multi_plane = hasattr(lens, "deflection_and_jacobian")  # its Jacobian is not symmetric: start is ignored
    known = _single_plane(*start) if start is not None and not multi_plane else _lens_at(lens, scale, x, y)
    rx, ry, a11, a12, a21, a22 = _lens_state(x, y, xs, ys, _contiguous(known[:6]), known[6])
    det0 = a11 * a22 - a12 * a21
    res = np.hypot(rx, ry)
    res = np.where(np.isfinite(res), res, np.inf)
    parity = np.sign(det0)
    flipped = ~(parity != 0)
    dx, dy = _newton_steps(rx, ry, a11, a12, a21, a22, cap)
    # x, y, res, rx, ry, a11, a12, a21, a22, lam, dx, dy of every start, updated in place by _update
    state = np.array(np.broadcast_arrays(x, y, res, rx, ry, a11, a12, a21, a22, 1.0, dx, dy), dtype=float)
    tol = tolerance * (1.0 + np.hypot(x, y))
    active = (res > tol) & np.isfinite(dx) & np.isfinite(dy) & ~(stop_flipped & flipped)
    used = np.zeros(x.size, dtype=np.int64)  # trials made by each start
    for _ in range(iterations):  # each evaluation gives every active start one trial or more
        active &= used < iterations
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        tx, ty, owner, counts = _trials(idx, state, used, iterations)
        at_trials = _lens_at(lens, scale[owner], tx, ty)
        _update(idx, counts, tx, ty, xs, ys, _contiguous(at_trials[:6]), at_trials[6], state, flipped, parity, active,
                used, cap, tol, stop_flipped)
    x, y, res, a11, a12, a21, a22 = state[0], state[1], state[2], state[5], state[6], state[7], state[8]
    return x, y, res, a11 * a22 - a12 * a21, flipped, det0


def polish_in_basin(lens, scale: ArrayLike, x: ArrayLike, y: ArrayLike, xs: ArrayLike, ys: ArrayLike,
                    step_cap: ArrayLike, *, accept: float = 1e-9, tolerance: float = 1e-12, start=None,
                    other_basins: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`polish` from observed images, with the basin guard of the module docstring.

    x, y: starts, (n,) arcsec (the observed images); xs, ys: (n,) source of each start
    (arcsec); scale: D_LS/D_S, scalar or (n,); step_cap: (n,) largest Newton step (arcsec);
    accept: largest residual |beta - beta_s| (arcsec) of a converged start; start: optional
    (alpha_x, alpha_y, psi_xx, psi_xy, psi_yy) of the lens at the starts, scaled, each (n,)
    (saves the first lens evaluation); other_basins: False when only CONVERGED starts matter to the
    caller: a start whose iteration crosses a critical curve (it cannot be CONVERGED) stops there, saving
    the iterations of a start creeping along a critical curve (WRONG_BASIN if it had converged, else FAILED).
    Returns (x, y, residual in arcsec, det A, status) at the last accepted point; status (n,)
    int: CONVERGED, WRONG_BASIN or FAILED (names in STATUS_NAMES).  A WRONG_BASIN solution
    is a true image of its source, though perhaps not the start's.
    """
    x0 = np.array(x, dtype=float)
    y0 = np.array(y, dtype=float)
    xs = np.asarray(xs, dtype=float)
    ys = np.asarray(ys, dtype=float)
    scale = np.broadcast_to(np.asarray(scale, dtype=float), x0.shape)
    px, py, res, det, flipped, det0 = _polish(lens, scale, x0, y0, xs, ys, step_cap, tolerance, start,
                                              stop_flipped=not other_basins)
    status = np.full(x0.shape, FAILED)
    converged = res <= accept
    status[converged] = WRONG_BASIN
    check = np.flatnonzero(converged & ~flipped)  # ~flipped: the solution has the start's parity
    calm = _calm(lens, scale[check], x0[check], y0[check], px[check], py[check], det0[check], det[check])
    status[check[calm]] = CONVERGED
    check = check[~calm]
    if check.size:
        status[check[_ring_clear(lens, scale, x0, y0, xs, ys, px, py, det, step_cap, check, accept,
                                 tolerance)]] = CONVERGED
    return px, py, res, det, status


def _calm(lens, scale, x0, y0, px, py, det0, det):
    """The cheap test of the module docstring: True where |det A| falls by at most CALM_CHANGE x
    |det_0| (keeping its sign) at the solution and at CALM_RADIUS x d behind the start and on both
    sides of the move."""
    if x0.size == 0:
        return np.zeros(0, dtype=bool)
    dx, dy = CALM_RADIUS * (px - x0), CALM_RADIUS * (py - y0)
    sx = np.concatenate([x0 - dx, x0 - dy, x0 + dy])
    sy = np.concatenate([y0 - dy, y0 + dx, y0 - dx])
    sample = _determinant(lens, np.tile(scale, 3), sx, sy).reshape(3, -1)
    toward_zero = np.max(np.sign(det0) * (det0 - np.vstack([sample, det[None, :]])), axis=0)
    return toward_zero <= CALM_CHANGE * np.abs(det0)


def _ring_clear(lens, scale, x0, y0, xs, ys, px, py, det, step_cap, check, accept, tolerance):
    """The full test of the module docstring for the starts ``check``: True where no Newton
    solution from a ring sample of the other parity is nearer to the start than its solution."""
    distance = np.hypot(px[check] - x0[check], py[check] - y0[check])
    owner, qx, qy, qres = ring_solutions(lens, scale[check], x0[check], y0[check], xs[check], ys[check], distance,
                                         np.asarray(step_cap)[check], tolerance, np.sign(det[check]))
    nearer = (qres <= accept) & (np.hypot(qx - x0[check][owner], qy - y0[check][owner])
                                 < distance[owner] - BASIN_SAME_IMAGE)
    return np.bincount(owner[nearer], minlength=check.size) == 0


def ring_solutions(lens, scale, x0, y0, xs, ys, distance, step_cap, tolerance, parity=None):
    """Newton probes of the full test (module docstring) around the points (x0, y0) (arcsec, (n,) each):
    det A sampled on the circles of radii ``BASIN_RADII`` x ``distance`` (arcsec, (n,)), ``BASIN_ANGLES``
    points each; from every sample (only those whose sign of det A differs from ``parity``, (n,), where
    given) Newton runs towards the point's source (xs, ys) for ``BASIN_PROBE_ITERATIONS`` evaluations.
    Returns (owner: index of each probe's point, x, y, residual) of the probes' last accepted iterates."""
    angle = 2 * np.pi * np.arange(BASIN_ANGLES) / BASIN_ANGLES
    ring = (np.asarray(BASIN_RADII)[:, None] * np.exp(1j * angle)[None, :]).ravel()
    cx = (x0[:, None] + distance[:, None] * ring.real).ravel()
    cy = (y0[:, None] + distance[:, None] * ring.imag).ravel()
    ring_scale = np.repeat(scale, ring.size)
    owner = np.repeat(np.arange(x0.size), ring.size)
    if parity is not None:  # where the other parity is near, Newton from those points finds the nearby images there
        other = np.sign(_determinant(lens, ring_scale, cx, cy)) != np.repeat(parity, ring.size)
        owner, cx, cy, ring_scale = owner[other], cx[other], cy[other], ring_scale[other]
    qx, qy, qres, _, _, _ = _polish(lens, ring_scale, cx, cy, xs[owner], ys[owner], step_cap[owner], tolerance,
                                    iterations=BASIN_PROBE_ITERATIONS)
    return owner, qx, qy, qres


def _determinant(lens, scale, x, y):
    """det A = (1 - h_xx)(1 - h_yy) - h_xy^2 at (x, y) arcsec (a multi-plane lens's own ``determinant``)."""
    if hasattr(lens, "determinant"):
        return lens.determinant(x, y, scale=scale)
    hxx, hxy, hyy = lens.hessian(x, y, scale=scale)
    return (1.0 - hxx) * (1.0 - hyy) - hxy * hxy
