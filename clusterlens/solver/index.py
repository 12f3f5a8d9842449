"""Source-plane index and candidate triangles (steps 3 and 4 of :mod:`clusterlens.solver`).

Each mapped triangle goes into a loose multi-level grid (:class:`SourcePlaneIndex`): the level
whose bin size is at least the triangle's bounding-box size, into the (at most four) bins its box
touches.  A query is one binary search per level.

For a source, every triangle whose source-plane image contains it (barycentric sign test,
tolerance 1e-9) gives the piecewise-linear pre-image as a start for the Newton polish
(:mod:`clusterlens.solver.newton`).  Fold triangles (a vertex shared with a triangle of the other
orientation: a critical curve passes) also accept sources within a quarter of their longest
mapped edge, starting from the nearest point: their piecewise-linear image misplaces the caustic
by O(h^2), which would lose image pairs of sources just inside a caustic
(:func:`fold_padding`, :func:`accept_candidates`).  Angles in arcsec.
"""

from __future__ import annotations

import numpy as np

from .geometry import barycentric

CONTAINMENT_TOLERANCE = 1e-9      # barycentric slack of the containment test
FOLD_TOLERANCE = 0.25             # source-plane slack of fold triangles, in units of their longest edge


def _expand(starts: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Flatten ranges [start, start + count): (owner of each item, item)."""
    owner = np.repeat(np.arange(counts.size), counts)
    first = np.cumsum(counts) - counts
    return owner, starts[owner] + np.arange(owner.size) - first[owner]


_KEY_OFFSET = 2**31


def _bin_keys(ix: np.ndarray, iy: np.ndarray) -> np.ndarray:
    return (ix + _KEY_OFFSET) * (2 * _KEY_OFFSET) + (iy + _KEY_OFFSET)


class SourcePlaneIndex:
    """Loose multi-level grid of triangle bounding boxes in the source plane.

    A triangle whose box (widened by ``pad``, arcsec, scalar or per triangle) is at most
    ``base * 2**k`` on a side is filed at level k in each bin (of that side) its box touches
    (1 to 4 bins); ``candidates`` returns, per point, the triangles filed in the bin holding
    the point at every level: a superset of the triangles whose box contains it.
    """

    def __init__(self, x0, y0, x1, y1, x2, y2, pad=0.0):
        xmin = np.minimum(np.minimum(x0, x1), x2) - pad
        xmax = np.maximum(np.maximum(x0, x1), x2) + pad
        ymin = np.minimum(np.minimum(y0, y1), y2) - pad
        ymax = np.maximum(np.maximum(y0, y1), y2) + pad
        extent = np.maximum(xmax - xmin, ymax - ymin)
        finite = np.isfinite(extent)
        positive = extent[finite & (extent > 0)]
        self.base = float(np.median(positive)) if positive.size else 1.0
        level = np.zeros(extent.shape, dtype=np.int64)
        big = finite & (extent > self.base)
        level[big] = np.ceil(np.log2(extent[big] / self.base) - 1e-12).astype(np.int64)
        self.levels = []
        for k in np.unique(level[finite]):
            sel = np.flatnonzero(finite & (level == k))
            size = self.base * 2.0**k
            ix0 = np.floor(xmin[sel] / size).astype(np.int64)
            ix1 = np.floor(xmax[sel] / size).astype(np.int64)
            iy0 = np.floor(ymin[sel] / size).astype(np.int64)
            iy1 = np.floor(ymax[sel] / size).astype(np.int64)
            ix1 = np.minimum(ix1, ix0 + 1)
            iy1 = np.minimum(iy1, iy0 + 1)
            key_parts, tri_parts = [], []
            for bx_, by_, use in (
                (ix0, iy0, np.ones(sel.size, bool)),
                (ix1, iy0, ix1 > ix0),
                (ix0, iy1, iy1 > iy0),
                (ix1, iy1, (ix1 > ix0) & (iy1 > iy0)),
            ):
                key_parts.append(_bin_keys(bx_[use], by_[use]))
                tri_parts.append(sel[use])
            keys = np.concatenate(key_parts)
            tris = np.concatenate(tri_parts)
            order = np.argsort(keys, kind="stable")
            self.levels.append((size, keys[order], tris[order]))

    def candidates(self, xs: np.ndarray, ys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(point index, triangle index) pairs whose bin holds the point, over all levels."""
        owners, tris = [], []
        for size, keys, tri in self.levels:
            qk = _bin_keys(np.floor(xs / size).astype(np.int64), np.floor(ys / size).astype(np.int64))
            lo = np.searchsorted(keys, qk, side="left")
            hi = np.searchsorted(keys, qk, side="right")
            owner, item = _expand(lo, hi - lo)
            owners.append(owner)
            tris.append(tri[item])
        return np.concatenate(owners), np.concatenate(tris)


def fold_padding(wx, wy, fold):
    """Source-plane slack (arcsec) of each triangle: FOLD_TOLERANCE times its longest mapped
    edge for fold triangles, 0 for the others."""
    edges = np.hypot(wx - np.roll(wx, 1, axis=1), wy - np.roll(wy, 1, axis=1)).max(axis=1)
    return np.where(fold & np.isfinite(edges), FOLD_TOLERANCE * edges, 0.0)


def accept_candidates(px, py, vx, vy, wx, wy, pad):
    """Which candidate triangles hold the source (px, py), and where to start Newton.

    A triangle is accepted when its source-plane image contains the source (barycentric
    slack CONTAINMENT_TOLERANCE) or, where ``pad`` > 0 (fold triangles, whose piecewise-linear
    image misplaces the caustic), when the source lies within ``pad`` of it; the start is the
    image-plane point with the barycentric coordinates of the source or of the nearest point.
    Returns (accepted mask, x0, y0).
    """
    l0, l1, l2 = barycentric(px, py, wx[:, 0], wy[:, 0], wx[:, 1], wy[:, 1], wx[:, 2], wy[:, 2])
    w = np.stack([l0, l1, l2], axis=1)
    inside = np.all(w >= -CONTAINMENT_TOLERANCE, axis=1)
    near = ~inside & (pad > 0)
    if np.any(near):
        idx = np.flatnonzero(near)
        best_d = np.full(idx.size, np.inf)
        best_w = np.zeros((idx.size, 3))
        for i, j in ((0, 1), (1, 2), (2, 0)):
            ex, ey = wx[idx, j] - wx[idx, i], wy[idx, j] - wy[idx, i]
            length2 = ex * ex + ey * ey
            with np.errstate(divide="ignore", invalid="ignore"):
                t = np.clip(((px[idx] - wx[idx, i]) * ex + (py[idx] - wy[idx, i]) * ey) / length2, 0.0, 1.0)
            t = np.where(length2 > 0, t, 0.0)
            d = np.hypot(wx[idx, i] + t * ex - px[idx], wy[idx, i] + t * ey - py[idx])
            better = d < best_d
            best_d[better] = d[better]
            best_w[better] = 0.0
            best_w[better, i] = 1.0 - t[better]
            best_w[better, j] = t[better]
        close = best_d <= pad[idx]
        w[idx[close]] = best_w[close]
        inside[idx[close]] = True
    return inside, np.sum(w * vx, axis=1), np.sum(w * vy, axis=1)
