"""Observed images matched to the model images of their system's source (the image-plane chi2).

Rule (Lenstool's): each observed image belongs to the model image of its system's source found
nearest to it; two observed images never share one model image; an observed image left without
one is *unmatched* and reports its nearest model image and distance.

Fast path: every observed image is polished towards its source with the guarded Newton iteration
(:func:`clusterlens.solver.newton.polish_in_basin`), all images of all systems together.  A
converged solution is the model image nearest to its observed image; where several observed
images of a system reach one model image, the nearest of them keeps it.  A system whose images all
converge in their own basin, each to a different model image, is matched by those solutions.  An
image that lost its solution to a nearer observed image (two images of a merging pair on one side of
the model's critical curve) is given that solution's certified fold partner, the nearest model image
left to it (:mod:`clusterlens.solver.fold_partner`); its system is then matched as above.

Every other system is searched, first locally: a small finder window around each of its observed
images without a solution of its own (half-side ``LOCAL_RADIUS``; for an image whose iteration
reached a true image in another basin, just beyond that image), together with every converged
Newton solution, matched greedily, the closest (observed, model) pair first.  The local answer is
the full one when every windowed image is matched within its window's half-side and every
certified image to its own solution: any model image the windows miss is farther from each
observed image than the one it was given, so the greedy order never reaches it.  Otherwise the
system is solved in full: :func:`clusterlens.solver.find_lens_images` over the box of its observed images widened
by ``margin`` (the whole default region if that box holds no image), with the Newton solutions,
matched greedily.  With ``reach`` (the image-plane likelihood's missing distance) only model images
within ``reach`` of an observed image count: the full search is windows of half-side ``reach`` around
every image of the system, and the greedy order stops at pairs farther apart.  ``finder=False``
keeps to the Newton solutions (Lenstool's statistic).  Angles in arcsec.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numba
import numpy as np
from numpy.typing import ArrayLike

from .finder import ImageFinder, find_lens_images
from .fold_partner import fold_partners
from .newton import CONVERGED, WRONG_BASIN, _determinant, polish_in_basin

SAME_IMAGE_DISTANCE = 1e-4   # arcsec: two solutions closer than this are one model image
SEARCH_MARGIN = 20.0         # arcsec around a system's observed images searched by the finder
ACCEPT_RESIDUAL = 1e-9       # arcsec: largest |beta(theta) - beta_s| of a converged Newton solution
LOCAL_RADIUS = 2.0           # arcsec: half-side of the window searched around an observed image first
LOCAL_CELLS = 4              # base cells along the half-side of a window
WINDOW_REACH = 1.1           # a wrong-basin image's window: this x the distance to its solution ...
WINDOW_SLACK = 0.1           # ... plus this (arcsec), at most LOCAL_RADIUS


@dataclass(frozen=True)
class ImageMatch:
    """The model image of every observed image (arrays of shape (n_images,)).

    x, y: the matched model image (arcsec); for an unmatched image its nearest model image
    (NaN when the source has no image at all); distance: |model - observed| (arcsec, inf when
    none); magnification: signed 1/det A at the model image (NaN when none); matched: False for
    an observed image left without a model image of its own; finder: True where the image's
    system needed the image finder (False: matched by its own Newton solution); local: True where
    the finder's local windows settled it (a subset of finder).
    """

    x: np.ndarray
    y: np.ndarray
    distance: np.ndarray
    magnification: np.ndarray
    matched: np.ndarray
    finder: np.ndarray
    local: np.ndarray


def match_images(lens, scale: ArrayLike, source_x: ArrayLike, source_y: ArrayLike, x: ArrayLike, y: ArrayLike,
                 system: ArrayLike, *, step_cap: float = 0.5, margin: float = SEARCH_MARGIN,
                 finder: bool = True, start=None, local_radius: float = LOCAL_RADIUS,
                 reach: float | None = None) -> ImageMatch:
    """Match each observed image to its predicted image (module docstring for the rule).

    lens: object with ``deflection``, ``hessian`` and ``potential`` (clusterlens.lens.Lens);
    scale: (n_systems,) D_LS/D_S of each system; source_x, source_y: (n_systems,) model source
    of each system (arcsec); x, y: (n_images,) observed images (arcsec); system: (n_images,)
    integer index of each image's system; step_cap: largest Newton step (arcsec); margin:
    widening (arcsec) of a system's observed-image box searched by the full finder; finder: False to keep
    to the Newton search from each observed image, as Lenstool's own statistic does (an image whose
    guarded iteration does not converge in its own basin, or whose solution a nearer observed image
    keeps, is then unmatched, reporting its Newton solution or NaN, NaN too where its iteration crossed a
    critical curve, which stops it there; no image-plane search: a fit's speed);
    start: optional (alpha_x, alpha_y, psi_xx, psi_xy, psi_yy) of the lens at the observed images,
    each scaled by its system's D_LS/D_S, (n_images,) each (saves one lens evaluation);
    local_radius: half-side (arcsec) of the window searched first around an image (module docstring);
    reach: None, or the farthest (arcsec) an observed image's model image may lie: a system the local
    windows do not settle is then searched in windows of half-side ``reach`` around each of its images
    instead of its whole box, and an image with no model image of its own within ``reach`` is unmatched.
    """
    scale = np.atleast_1d(np.asarray(scale, dtype=float))
    source_x = np.atleast_1d(np.asarray(source_x, dtype=float))
    source_y = np.atleast_1d(np.asarray(source_y, dtype=float))
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    system = np.asarray(system)
    if not (scale.shape == source_x.shape == source_y.shape) or not (x.shape == y.shape == system.shape):
        raise ValueError("scale, source_x, source_y need one value per system and x, y, system one per image; "
                         f"got {scale.shape}, {source_x.shape}, {source_y.shape} and {x.shape}, {y.shape}, "
                         f"{system.shape}")
    if system.size and not (np.issubdtype(system.dtype, np.integer) and system.min() >= 0
                            and system.max() < scale.size):
        raise ValueError(f"system must hold integer indices into the {scale.size} systems")
    scale_i, sx_i, sy_i = scale[system], source_x[system], source_y[system]  # per image
    px, py, residual, det, status = polish_in_basin(lens, scale_i, x, y, sx_i, sy_i, np.full(x.shape, float(step_cap)),
                                                    accept=ACCEPT_RESIDUAL, start=start, other_basins=finder)
    if finder:
        px, py, det, status = _own_basins(lens, scale_i, sx_i, sy_i, x, y, px, py, det, status, float(step_cap))
    with np.errstate(divide="ignore"):
        mu = 1.0 / det
    good = status == CONVERGED
    _, keeps = _sharing(system, x, y, px, py, good)
    out_x, out_y, out_mu = px.copy(), py.copy(), mu.copy()
    matched = keeps.copy()
    searched = np.zeros(x.shape, dtype=bool)
    settled = np.zeros(x.shape, dtype=bool)
    if not finder:
        has = residual <= ACCEPT_RESIDUAL
        out_x, out_y = np.where(has, out_x, np.nan), np.where(has, out_y, np.nan)
        distance = np.hypot(out_x - x, out_y - y)
        return ImageMatch(out_x, out_y, np.where(np.isfinite(distance), distance, np.inf), out_mu, matched,
                          searched, settled)
    out_x, out_y, out_mu, matched, open_systems = _with_fold_partners(
        lens, scale_i, sx_i, sy_i, x, y, system, px, py, mu, det, good, keeps, float(step_cap))
    moved = np.hypot(px - x, py - y)
    # how far around each image the model images must be known: to its own certified solution; a window
    # reaching just beyond a true image its iteration found in another basin; else local_radius
    radius = np.where(status == WRONG_BASIN, np.minimum(WINDOW_REACH * moved + WINDOW_SLACK, local_radius),
                      local_radius)
    radius = np.where(keeps, moved + SAME_IMAGE_DISTANCE, radius)
    for k in open_systems:
        rows = np.flatnonzero(system == k)
        solved = rows[residual[rows] <= ACCEPT_RESIDUAL]
        windows = rows[~keeps[rows]]
        mx, my, mmu = _local_images(lens, scale[k], source_x[k], source_y[k], x[windows], y[windows],
                                    radius[windows], px[solved], py[solved], mu[solved])
        pick, own = _greedy_nearest(x[rows], y[rows], mx, my)
        got = np.hypot(mx[pick] - x[rows], my[pick] - y[rows]) if mx.size else np.full(rows.size, np.inf)
        local = bool(np.all(own & (got <= radius[rows])))
        if not local and reach is not None:
            mx, my, mmu = _local_images(lens, scale[k], source_x[k], source_y[k], x[rows], y[rows],
                                        np.full(rows.size, reach), px[solved], py[solved], mu[solved])
            pick, own = _greedy_nearest(x[rows], y[rows], mx, my, reach)
        elif not local:
            mx, my, mmu = _model_images(lens, scale[k], source_x[k], source_y[k], x[rows], y[rows], margin,
                                        px[solved], py[solved], mu[solved])
            pick, own = _greedy_nearest(x[rows], y[rows], mx, my)
        out_x[rows], out_y[rows], out_mu[rows] = np.nan, np.nan, np.nan
        some = pick >= 0
        out_x[rows[some]], out_y[rows[some]], out_mu[rows[some]] = mx[pick[some]], my[pick[some]], mmu[pick[some]]
        matched[rows], searched[rows], settled[rows] = own, True, local
    distance = np.hypot(out_x - x, out_y - y)
    if reach is not None:
        matched &= distance <= reach
    return ImageMatch(out_x, out_y, np.where(np.isfinite(distance), distance, np.inf), out_mu, matched, searched,
                      settled)


def _own_basins(lens, scale, sx, sy, x, y, px, py, det, status, step_cap):
    """The Newton solutions with each WRONG_BASIN image whose solution W has the other parity certified where W's
    fold partner P is (:mod:`clusterlens.solver.fold_partner`: no model image but W nearer to the observed image
    than P): the nearer of P and W becomes its CONVERGED solution. Per-image scale and source sx, sy; returns
    (px, py, det, status)."""
    px, py, det, status = px.copy(), py.copy(), det.copy(), status.copy()
    wrong = np.flatnonzero(status == WRONG_BASIN)
    parity = np.sign(_determinant(lens, scale[wrong], x[wrong], y[wrong]))
    crossed = np.sign(det[wrong]) == -parity
    wrong, parity = wrong[crossed], parity[crossed]
    bx, by, det_b, found = fold_partners(lens, scale[wrong], x[wrong], y[wrong], sx[wrong], sy[wrong], px[wrong],
                                         py[wrong], parity, np.full(wrong.size, step_cap),
                                         accept=ACCEPT_RESIDUAL)
    # certified: no image but W nearer than P; the nearer of the two is the observed image's nearest model image
    nearer = found & (np.hypot(bx - x[wrong], by - y[wrong]) < np.hypot(px[wrong] - x[wrong], py[wrong] - y[wrong]))
    own = wrong[nearer]
    px[own], py[own], det[own] = bx[nearer], by[nearer], det_b[nearer]
    status[wrong[found]] = CONVERGED
    return px, py, det, status


def _with_fold_partners(lens, scale, sx, sy, x, y, system, px, py, mu, det, good, keeps, step_cap):
    """The Newton matching with each observed image that lost its solution to a nearer one given that
    solution's certified fold partner (:func:`clusterlens.solver.fold_partner.fold_partners`; per-image
    scale and source sx, sy). Returns (x, y, mu, matched) of every image and the systems still to search:
    those with an image neither keeping its solution nor given a partner, or given one another image holds."""
    out_x, out_y, out_mu = px.copy(), py.copy(), mu.copy()
    losers = np.flatnonzero(good & ~keeps)
    bx, by, det_b, found = fold_partners(lens, scale[losers], x[losers], y[losers], sx[losers], sy[losers], px[losers],
                                         py[losers], np.sign(det[losers]), np.full(losers.size, step_cap),
                                         accept=ACCEPT_RESIDUAL)
    partnered = losers[found]
    out_x[partnered], out_y[partnered], out_mu[partnered] = bx[found], by[found], 1.0 / det_b[found]
    has = keeps.copy()
    has[partnered] = True
    unshared, matched = _sharing(system, x, y, out_x, out_y, has)
    return out_x, out_y, out_mu, matched, np.unique(system[~(matched & unshared)])


@numba.jit(nopython=True, nogil=True, cache=True, error_model="numpy")
def _sharing(system, x, y, px, py, good):
    """Per image (unshared, keeps): ``unshared``, no other converged image of its system reached its solution
    (within SAME_IMAGE_DISTANCE); ``keeps``, it converged and none of the other images of the system that
    reached its solution is nearer to it (ties: the first image). Pairs of one system only, compiled."""
    n = x.size
    unshared, keeps = np.ones(n, dtype=np.bool_), good.copy()
    for i in range(n):
        if not good[i]:
            continue
        d_i = math.hypot(px[i] - x[i], py[i] - y[i])
        for j in range(n):
            if j == i or not good[j] or system[j] != system[i]:
                continue
            if math.hypot(px[i] - px[j], py[i] - py[j]) < SAME_IMAGE_DISTANCE:
                unshared[i] = False
                d_j = math.hypot(px[j] - x[j], py[j] - y[j])
                if d_j < d_i or (d_j == d_i and j < i):
                    keeps[i] = False
    return unshared, keeps


def _local_images(lens, scale, sx, sy, x, y, radius, nx, ny, nmu):
    """Model images of the source (sx, sy) in windows of half-sides ``radius`` (arcsec, one per image)
    around the observed images (x, y) (overlapping windows joined into their bounding box), merged with
    the Newton solutions (nx, ny; magnifications nmu)."""
    fx, fy, fmu = [np.zeros(0)], [np.zeros(0)], [np.zeros(0)]
    for box, half in _joined_boxes(x, y, radius):
        window = ImageFinder(lens, float(scale), box, cell_size=half / LOCAL_CELLS)
        _, wx, wy, wmu = window.positions([float(sx)], [float(sy)])
        fx.append(wx)
        fy.append(wy)
        fmu.append(wmu)
    return _merged(np.concatenate(fx), np.concatenate(fy), np.concatenate(fmu), nx, ny, nmu)


def _joined_boxes(x, y, radius):
    """Boxes (xmin, xmax, ymin, ymax) of half-sides ``radius`` around the points (x, y), those that
    overlap joined into their bounding box until none overlap (a system's handful of images); each
    with the smallest half-side joined into it."""
    boxes = [[cx - r, cx + r, cy - r, cy + r, r] for cx, cy, r in zip(x, y, radius, strict=True)]
    joined = True
    while joined:
        joined = False
        for i in range(len(boxes)):
            for j in range(i + 1, len(boxes)):
                a, b = boxes[i], boxes[j]
                if a[0] <= b[1] and b[0] <= a[1] and a[2] <= b[3] and b[2] <= a[3]:
                    boxes[i] = [min(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), max(a[3], b[3]), min(a[4], b[4])]
                    del boxes[j]
                    joined = True
                    break
            if joined:
                break
    return [(tuple(b[:4]), b[4]) for b in boxes]


def _merged(fx, fy, fmu, nx, ny, nmu):
    """The finder's images (fx, fy; fmu) with each Newton solution (nx, ny; nmu) added unless it is
    within SAME_IMAGE_DISTANCE of an image already there."""
    for i in range(nx.size):  # a handful per system
        if not np.any(np.hypot(fx - nx[i], fy - ny[i]) < SAME_IMAGE_DISTANCE):
            fx, fy, fmu = np.append(fx, nx[i]), np.append(fy, ny[i]), np.append(fmu, nmu[i])
    return fx, fy, fmu


def _model_images(lens, scale, sx, sy, x, y, margin, nx, ny, nmu):
    """Every model image of the source (sx, sy) near the observed images (x, y) of one system:
    the finder's images and the Newton solutions (nx, ny; magnifications nmu) merged."""
    region = (x.min() - margin, x.max() + margin, y.min() - margin, y.max() + margin)
    with warnings.catch_warnings():  # images outside the box may exist; only those near the observed ones matter
        warnings.filterwarnings("ignore", message=".*outside the region", category=RuntimeWarning)
        table = find_lens_images(lens, float(sx), float(sy), float(scale), region=region)
        if table.empty and nx.size == 0:
            table = find_lens_images(lens, float(sx), float(sy), float(scale))
    return _merged(table["x"].to_numpy(), table["y"].to_numpy(), table["magnification"].to_numpy(), nx, ny, nmu)


def _greedy_nearest(x, y, mx, my, reach: float = np.inf):
    """Assignment of observed images (x, y) to model images (mx, my), closest pair first, each
    model image used once, no pair farther apart than ``reach`` (arcsec).  Returns (index of the
    matched model image, or of the nearest one for an unmatched image, -1 when there is none;
    matched mask)."""
    if mx.size == 0:
        return np.full(x.size, -1), np.zeros(x.size, dtype=bool)
    d = np.hypot(x[:, None] - mx[None, :], y[:, None] - my[None, :])
    pick = np.argmin(d, axis=1)
    own = np.zeros(x.size, dtype=bool)
    free = np.where(d <= reach, d, np.inf)
    for _ in range(min(x.size, mx.size)):
        i, j = np.unravel_index(np.argmin(free), free.shape)
        if not np.isfinite(free[i, j]):
            break
        pick[i], own[i] = j, True
        free[i, :] = np.inf
        free[:, j] = np.inf
    return pick, own
