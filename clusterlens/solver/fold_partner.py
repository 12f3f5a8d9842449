"""The other image of a fold pair, from the image already found (used by :func:`clusterlens.solver.match_images`).

Where two observed images of a merging pair both converge to one model image A (both lie on A's side of
the model's critical curve), the nearer keeps A and the other needs its nearest remaining model image: in
a fold, A's partner B beyond the critical curve.  Near a fold the lens map is, in the coordinate u along
the eigenvector e_0 of the amplification matrix A whose eigenvalue vanishes on the critical curve, quadratic
(the fold normal form: e.g. Schneider, Ehlers & Falco 1992, sect. 6.2; Petters, Levine & Wambsganss 2001,
ch. 9): beta_0(u) = beta_0(A) + lambda_0 u + (c / 2) u^2 with lambda_0 = det A / lambda_1 and c = (d det A /
du) / lambda_1, so the pair's other image lies at u = -2 lambda_0 / c:

    theta_B = theta_A - 2 det A(theta_A) / (grad(det A) . e_0) e_0

(the gradient by central differences, ``GRADIENT_STEP``; e_0 at theta_A; a guess farther than
``PARTNER_REACH`` is not tried), and B is polished from there with the damped Newton iteration, stopped if it
crosses back to A's parity.  B is accepted (``found``) when it converges (residual <= ``accept``) no farther
from the guess than the guess lies from A, has the other parity, and is certified the nearest model image to the
observed image apart from A: the Newton probes of the basin test's full check (:func:`clusterlens.solver.
newton.ring_solutions`), from the det A samples of the parity other than the observed image's on the circles
of 0.5 and 1.1 x |theta_B - theta_obs| around it, find no solution other than A nearer than B.

The same certifies the nearest model image of an observed image whose guarded iteration crossed a critical
curve to an image W of the other parity (``WRONG_BASIN``): the nearer of W and its certified partner, which
has the observed image's parity.  Elsewhere the caller searches with the image finder.
Angles in arcsec.
"""

from __future__ import annotations

import numpy as np

from .newton import BASIN_SAME_IMAGE, _contiguous, _lens_at, _lens_state, _polish, ring_solutions

GRADIENT_STEP = 1e-4   # arcsec: central-difference step of grad(det A) at the known image
PARTNER_REACH = 1.0    # arcsec: farthest guess from the known image (the fold's quadratic form is local)


def fold_partners(lens, scale, x, y, xs, ys, ax, ay, parity, step_cap, *, accept: float = 1e-9,
                  tolerance: float = 1e-12):
    """The fold partner of the model image (ax, ay) for the observed images (x, y) (module docstring).

    lens: a lens with ``hessian`` (or ``determinant``) and ``deflection``; scale: (n,) D_LS/D_S; x, y: (n,)
    observed images (arcsec); xs, ys: (n,) their sources (arcsec); ax, ay: (n,) the model image each
    observed image reached (arcsec); parity: (n,) sign of det A at the observed images
    (the certificate's probes start where det A has the other sign); step_cap: (n,) largest Newton step
    (arcsec).
    Returns (bx, by, det_b, found), (n,) each: the partner (arcsec), det A there and whether it is
    accepted (where not, bx, by are the last iterate)."""
    n = x.size
    if n == 0:
        return np.zeros(0), np.zeros(0), np.zeros(0), np.zeros(0, dtype=bool)
    h = GRADIENT_STEP
    offsets = np.array([[0.0, 0.0], [h, 0.0], [-h, 0.0], [0.0, h], [0.0, -h]])
    px, py = (ax[None, :] + offsets[:, :1]).ravel(), (ay[None, :] + offsets[:, 1:]).ravel()
    at = _lens_at(lens, np.tile(scale, 5), px, py)
    a = _lens_state(px, py, np.zeros(5 * n), np.zeros(5 * n), _contiguous(at[:6]), at[6])[2:].reshape(4, 5, n)
    a11, a12, a21, a22 = a[:, 0]
    det = a[0] * a[3] - a[1] * a[2]
    det_a = det[0]
    gx, gy = (det[1] - det[2]) / (2 * h), (det[3] - det[4]) / (2 * h)
    ex, ey = _null_direction(a11, a12, a21, a22)
    with np.errstate(divide="ignore", invalid="ignore"):
        shift = -2.0 * det_a / (gx * ex + gy * ey)
    sx, sy = ax + shift * ex, ay + shift * ey
    usable = np.isfinite(sx) & np.isfinite(sy) & (np.abs(shift) <= PARTNER_REACH)
    sx, sy = np.where(usable, sx, ax), np.where(usable, sy, ay)
    bx, by, res, det_b, flipped, det0 = _polish(lens, scale, sx, sy, xs, ys, step_cap, tolerance,
                                                stop_flipped=True)
    # a partner: converged on the other side, not A, and no farther from the guess than the guess from A
    found = usable & (res <= accept) & ~flipped & (np.sign(det0) == -np.sign(det_a)) \
        & (np.hypot(bx - ax, by - ay) >= BASIN_SAME_IMAGE) & (np.hypot(bx - sx, by - sy) <= np.abs(shift))
    check = np.flatnonzero(found)
    if check.size:
        distance = np.hypot(bx[check] - x[check], by[check] - y[check])
        owner, qx, qy, qres = ring_solutions(lens, scale[check], x[check], y[check], xs[check], ys[check], distance,
                                             step_cap[check], tolerance, parity[check])
        other = (qres <= accept) & (np.hypot(qx - ax[check][owner], qy - ay[check][owner]) >= BASIN_SAME_IMAGE)
        nearer = other & (np.hypot(qx - x[check][owner], qy - y[check][owner]) < distance[owner] - BASIN_SAME_IMAGE)
        found[check[np.bincount(owner[nearer], minlength=check.size) > 0]] = False
    return bx, by, det_b, found


def _null_direction(a11, a12, a21, a22):
    """Unit eigenvector (ex, ey) of the 2x2 matrices [[a11, a12], [a21, a22]] (arrays) for their eigenvalue
    of the smaller modulus (real where det A is small against the trace, as near a fold)."""
    half_trace = 0.5 * (a11 + a22)
    root = np.sqrt(np.maximum(half_trace**2 - (a11 * a22 - a12 * a21), 0.0))
    lam = np.where(half_trace >= 0, half_trace - root, half_trace + root)
    # (A - lam I) e = 0: e = (a12, lam - a11) or (lam - a22, a21), whichever is the better conditioned
    ux, uy, vx, vy = a12, lam - a11, lam - a22, a21
    first = np.hypot(ux, uy) >= np.hypot(vx, vy)
    ex, ey = np.where(first, ux, vx), np.where(first, uy, vy)
    norm = np.hypot(ex, ey)
    with np.errstate(divide="ignore", invalid="ignore"):
        return ex / norm, ey / norm
