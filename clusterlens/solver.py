"""Multiple-image finder: every image of a point source behind a single-plane lens.

Lens equation (thin lens; e.g. Narayan & Bartelmann 1996, arXiv:astro-ph/9606001)::

    beta = theta - scale * alpha_inf(theta)

with angles in arcsec, ``alpha_inf`` the deflection of the lens for D_LS/D_S = 1 and
``scale = D_LS/D_S`` of the source redshift.  A ``Lens`` (clusterlens.lens) applies ``scale``
itself: ``lens.deflection(x, y, scale=scale)`` is already the scaled deflection.

Algorithm
---------
1. **Search region** (:func:`default_region`).  Images of a source at beta lie at
   ``|theta - beta| = |alpha(theta)|``, so the box spanned by the component centres (half-size R),
   widened by max(1.2 a, 2.2 a - R) with ``a`` the largest deflection found on a coarse grid
   (iterated until the box stops growing), holds the images of the sources that can be
   multiply imaged.  The *source coverage* is the region shrunk by
   the largest deflection sampled on the region border (and on the border of the doubled
   region): for a source inside it an image outside the region would need a deflection larger
   than anywhere on the border.  ``find`` warns for sources outside the coverage.
2. **Image-plane mesh** (:func:`build_mesh`).  Square cells of size ``cell_size`` tile the
   region; each cell is cut into two triangles.  Cells are quadrisected, level after level, where
   (a) the source-plane orientation of the cell's corner triangles is mixed or differs from an
   edge neighbour's (a critical curve, det A = 0, crosses or is near; the flagged set is dilated
   by one cell), down to ``critical_cell_size``; (b) a component centre lies within one cell
   size (compact members with small cores), down to max(r_core / 2, ``min_cell_size``).
   All cells of one level lie on one lattice, so the triangles of a level form a conforming mesh
   of the refined area.  Levels overlap: a refined cell keeps its triangles unless all its
   eight neighbours are refined too, so a band at least one cell wide is covered by two levels
   wherever refinement stops and no source-plane gap opens between levels.  Vertices are shared
   between levels (integer keys on the finest lattice) and ray-traced once, in chunks by the Lens.
3. **Source-plane index** (:class:`SourcePlaneIndex`).  Each mapped triangle goes into a loose
   multi-level grid: the level whose bin size is at least the triangle's bounding-box size, into
   the (at most four) bins its box touches.  A query is one binary search per level.
4. **Candidates and polishing.**  For a source, every triangle whose source-plane image contains
   it (barycentric sign test, tolerance 1e-9) gives the piecewise-linear pre-image as a start
   for a damped Newton iteration with the analytic Hessian (step capped at twice the cell size,
   halved while the residual does not decrease, abandoned below 1/256), vectorised over all
   candidates.  Fold triangles (a vertex shared with a triangle of the other orientation: a
   critical curve passes) also accept sources within a quarter of their longest mapped edge,
   starting from the nearest point: their piecewise-linear image misplaces the caustic by
   O(h^2), which would lose image pairs of sources just inside a caustic.
5. **Verification.**  An image is kept only if ``|beta(theta) - beta_s| < precision``
   (1e-8 arcsec by default).  Two solutions are one image when closer than u_i + u_j with
   u = ``duplicate_tolerance`` + residual * |mu| (how far a solution with that residual can lie
   from the exact root); the one with the smaller residual is kept.
6. **Observables.**  Magnification ``mu = 1/det A`` (signed), parity ``sign(det A)``, arrival order
   from the Fermat potential ``phi = |theta - beta|^2 / 2 - psi(theta)`` (psi at the source's
   ``scale``), and the time delay ``dt = D_dt / c * (phi - phi_first)`` with angles in radians and
   ``D_dt = (1 + z_l) D_L D_S / D_LS`` (Narayan & Bartelmann 1996), which already
   holds the (1 + z_l) factor.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from .cosmology import DAYS_PER_MPC_ARCSEC2


DEFAULT_BASE_CELLS = 128          # base cells along the longer side of the region
DEFAULT_CRITICAL_REFINEMENT = 8   # critical_cell_size = cell_size / this
DEFAULT_MIN_REFINEMENT = 64       # min_cell_size = cell_size / this
MAX_LEVELS = 14
NEWTON_MAX_ITERATIONS = 40
NEWTON_MIN_DAMPING = 2.0**-8     # a start is abandoned once its step is halved below this
CONTAINMENT_TOLERANCE = 1e-9      # barycentric slack of the containment test
FOLD_TOLERANCE = 0.25             # source-plane slack of fold triangles, in units of their longest edge

# ----------------------------------------------------------------------------------------
# Input checks
# ----------------------------------------------------------------------------------------
def _check_scale(scale: float) -> float:
    scale = float(scale)
    if not (np.isfinite(scale) and scale > 0):
        raise ValueError(f"scale (D_LS/D_S) must be a finite positive number, got {scale!r}")
    return scale


def _check_region(region) -> tuple[float, float, float, float]:
    try:
        xmin, xmax, ymin, ymax = (float(v) for v in region)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"region must be (xmin, xmax, ymin, ymax) in arcsec, got {region!r}") from exc
    if not all(np.isfinite([xmin, xmax, ymin, ymax])) or xmin >= xmax or ymin >= ymax:
        raise ValueError(
            f"region must be finite (xmin, xmax, ymin, ymax) with xmin < xmax and ymin < ymax, got {region!r}"
        )
    return xmin, xmax, ymin, ymax


def _check_positive(name: str, value: float) -> float:
    value = float(value)
    if not (np.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a finite positive number (arcsec), got {value!r}")
    return value


def _as_source_arrays(x_source, y_source) -> tuple[np.ndarray, np.ndarray]:
    xs = np.asarray(x_source, dtype=float).ravel()
    ys = np.asarray(y_source, dtype=float).ravel()
    if xs.shape != ys.shape:
        raise ValueError(f"x_source and y_source must have the same length, got {xs.size} and {ys.size}")
    if not (np.all(np.isfinite(xs)) and np.all(np.isfinite(ys))):
        raise ValueError("source positions must be finite numbers (arcsec)")
    return xs, ys


# ----------------------------------------------------------------------------------------
# Lens queries
# ----------------------------------------------------------------------------------------
def _source_position(lens, x, y, scale):
    """beta = theta - alpha(theta) at D_LS/D_S = scale (arcsec)."""
    ax, ay = lens.deflection(x, y, scale=scale)
    return x - ax, y - ay


def component_centres(lens) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Centres (arcsec) and core radii (arcsec, 0 where the profile has none) of every
    component of ``lens.groups`` that has a centre (external shear has none)."""
    cx, cy, rc = [], [], []
    for group in getattr(lens, "groups", ()):
        params = group.params
        if "center_x" not in params:
            continue
        x = np.asarray(params["center_x"], dtype=float).ravel()
        y = np.asarray(params["center_y"], dtype=float).ravel()
        core = np.broadcast_to(np.asarray(params.get("r_core", 0.0), dtype=float), x.shape)
        cx.append(x)
        cy.append(y)
        rc.append(core.ravel())
    if not cx:
        return np.zeros(0), np.zeros(0), np.zeros(0)
    return np.concatenate(cx), np.concatenate(cy), np.concatenate(rc)


def _max_deflection(lens, scale, box, n=48) -> float:
    xmin, xmax, ymin, ymax = box
    gx, gy = np.meshgrid(np.linspace(xmin, xmax, n), np.linspace(ymin, ymax, n))
    ax, ay = lens.deflection(gx, gy, scale=scale)
    amp = np.hypot(ax, ay)
    return float(np.max(amp[np.isfinite(amp)], initial=0.0))


def _border_points(box, n=256) -> tuple[np.ndarray, np.ndarray]:
    xmin, xmax, ymin, ymax = box
    t = np.linspace(0.0, 1.0, n, endpoint=False)
    x = np.concatenate([xmin + t * (xmax - xmin), np.full(n, xmax), xmax - t * (xmax - xmin), np.full(n, xmin)])
    y = np.concatenate([np.full(n, ymin), ymin + t * (ymax - ymin), np.full(n, ymax), ymax - t * (ymax - ymin)])
    return x, y


def _grow(box, margin):
    xmin, xmax, ymin, ymax = box
    return (xmin - margin, xmax + margin, ymin - margin, ymax + margin)


def default_region(lens, scale: float) -> tuple[float, float, float, float]:
    """Search box (xmin, xmax, ymin, ymax) in arcsec for every image of the sources that can be
    multiply imaged: the box of the component centres (half-size R) widened by
    max(1.2 a, 2.2 a - R) + 0.02 max(2R, a), with ``a`` the largest deflection (arcsec, at this
    ``scale``) on a 48x48 grid over the widened box, iterated until the box stops growing.

    An isolated lens (R = 0) then reaches 2.2 Einstein radii: a singular isothermal sphere
    multiply images sources out to one Einstein radius, whose images lie out to two.
    """
    scale = _check_scale(scale)
    cx, cy, _ = component_centres(lens)
    if cx.size == 0:
        raise ValueError("the lens has no component with a centre; give region=(xmin, xmax, ymin, ymax)")
    centres = (cx.min(), cx.max(), cy.min(), cy.max())
    half = max(centres[1] - centres[0], centres[3] - centres[2]) / 2
    margin = max(2 * half, 1.0)
    for _ in range(6):
        amax = _max_deflection(lens, scale, _grow(centres, margin))
        new_margin = max(1.2 * amax, 2.2 * amax - half) + 0.02 * max(2 * half, amax)
        grew = new_margin > margin
        margin = new_margin
        if not grew:
            break
    if not margin > 0:
        raise ValueError("the lens deflects nothing around its centres; give region=(xmin, xmax, ymin, ymax)")
    return _grow(centres, margin)


def source_coverage(lens, scale: float, region) -> tuple[float, float, float, float] | None:
    """Source-plane box (arcsec) whose sources have all their images inside ``region``: the
    region shrunk by the largest deflection on its border and on the border of the region
    doubled about its centre.  None when that shrinks the box to nothing."""
    xmin, xmax, ymin, ymax = _check_region(region)
    half_w, half_h = (xmax - xmin) / 2, (ymax - ymin) / 2
    bx1, by1 = _border_points(region)
    bx2, by2 = _border_points((xmin - half_w, xmax + half_w, ymin - half_h, ymax + half_h))
    ax, ay = lens.deflection(np.concatenate([bx1, bx2]), np.concatenate([by1, by2]), scale=scale)
    amax = float(np.max(np.hypot(ax, ay)))
    if 2 * amax >= min(xmax - xmin, ymax - ymin):
        return None
    return _grow(region, -amax)


# ----------------------------------------------------------------------------------------
# Mesh
# ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ImagePlaneMesh:
    """Image-plane triangles and their source-plane images.

    x, y: vertex positions (arcsec); beta_x, beta_y: the vertices mapped to the source plane
    (arcsec); triangles: (n, 3) vertex indices, counter-clockwise in the image plane;
    triangle_size: (n,) side (arcsec) of the square cell each triangle halves; region: the box
    (xmin, xmax, ymin, ymax) the mesh tiles (arcsec); n_levels: refinement levels used.
    """

    x: np.ndarray
    y: np.ndarray
    beta_x: np.ndarray
    beta_y: np.ndarray
    triangles: np.ndarray
    triangle_size: np.ndarray
    region: tuple[float, float, float, float]
    n_levels: int


class _VertexStore:
    """Lattice vertices ray-traced once: key = I * (NY + 1) + J on the finest lattice."""

    def __init__(self, lens, scale, xmin, ymin, cell_size, n_levels, ny):
        self.lens, self.scale = lens, scale
        self.xmin, self.ymin = xmin, ymin
        self.n_levels = n_levels
        self.fine = cell_size / 2**n_levels
        self.stride = ny * 2**n_levels + 1
        self.keys = np.zeros(0, dtype=np.int64)
        self.order = np.zeros(0, dtype=np.int64)
        self.x = np.zeros(0)
        self.y = np.zeros(0)
        self.bx = np.zeros(0)
        self.by = np.zeros(0)

    def indices(self, level, ci, cj):
        """Vertex indices (n, 4) of cells (ci, cj) of ``level``: corners 00, 10, 01, 11."""
        factor = 2 ** (self.n_levels - level)
        di = np.array([0, 1, 0, 1])
        dj = np.array([0, 0, 1, 1])
        big_i = (ci[:, None] + di) * factor
        big_j = (cj[:, None] + dj) * factor
        keys = big_i * self.stride + big_j
        unique, inverse = np.unique(keys, return_inverse=True)
        index = np.empty(unique.size, dtype=np.int64)
        known = np.zeros(unique.size, dtype=bool)
        if self.keys.size:
            pos = np.minimum(np.searchsorted(self.keys, unique, sorter=self.order), self.keys.size - 1)
            known = self.keys[self.order[pos]] == unique
            index[known] = self.order[pos[known]]
        new_keys = unique[~known]
        if new_keys.size:
            nx_ = (new_keys // self.stride).astype(float)
            ny_ = (new_keys % self.stride).astype(float)
            x = self.xmin + nx_ * self.fine
            y = self.ymin + ny_ * self.fine
            bx, by = _source_position(self.lens, x, y, self.scale)
            start = self.keys.size
            index[~known] = start + np.arange(new_keys.size)
            self.keys = np.concatenate([self.keys, new_keys])
            self.x = np.concatenate([self.x, x])
            self.y = np.concatenate([self.y, y])
            self.bx = np.concatenate([self.bx, bx])
            self.by = np.concatenate([self.by, by])
            self.order = np.argsort(self.keys, kind="stable")
        return index[inverse].reshape(keys.shape)


def _member(sorted_keys: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Boolean: is each query key in ``sorted_keys``."""
    if sorted_keys.size == 0:
        return np.zeros(query.shape, dtype=bool)
    pos = np.minimum(np.searchsorted(sorted_keys, query), sorted_keys.size - 1)
    return sorted_keys[pos] == query


_NEIGHBOURS_8 = np.array([(-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1)])
_NEIGHBOURS_4 = np.array([(-1, 0), (1, 0), (0, -1), (0, 1)])


def _cross(ax, ay, bx, by):
    return ax * by - ay * bx


def _corner_orientations(bx, by):
    """Signed source-plane areas (x2) of the four corner triangles of each cell, (n, 4);
    corners ordered 00, 10, 01, 11, each triangle counter-clockwise in the image plane."""
    # (corner, next, previous) counter-clockwise around the square 00 -> 10 -> 11 -> 01
    tri = np.array([(0, 1, 2), (1, 3, 0), (3, 2, 1), (2, 0, 3)])
    ex1 = bx[:, tri[:, 1]] - bx[:, tri[:, 0]]
    ey1 = by[:, tri[:, 1]] - by[:, tri[:, 0]]
    ex2 = bx[:, tri[:, 2]] - bx[:, tri[:, 0]]
    ey2 = by[:, tri[:, 2]] - by[:, tri[:, 0]]
    return _cross(ex1, ey1, ex2, ey2)


def build_mesh(
    lens,
    scale: float,
    region,
    *,
    cell_size: float,
    critical_cell_size: float,
    min_cell_size: float,
) -> ImagePlaneMesh:
    """Adaptive image-plane triangle mesh (see the module docstring, step 2).

    cell_size: base cell side (arcsec); critical_cell_size: finest cell side near critical
    curves (arcsec); min_cell_size: finest cell side around component centres (arcsec); a
    component is refined down to max(r_core / 2, min_cell_size).
    """
    scale = _check_scale(scale)
    xmin, xmax, ymin, ymax = _check_region(region)
    h0 = _check_positive("cell_size", cell_size)
    h_crit = _check_positive("critical_cell_size", critical_cell_size)
    h_min = _check_positive("min_cell_size", min_cell_size)
    nx = max(1, math.ceil((xmax - xmin) / h0 - 1e-9))
    ny = max(1, math.ceil((ymax - ymin) / h0 - 1e-9))
    if (nx + 1) * (ny + 1) > 50_000_000:
        raise ValueError(f"cell_size={h0} gives {nx}x{ny} base cells; use a larger cell_size or a smaller region")
    xmax, ymax = xmin + nx * h0, ymin + ny * h0

    cx, cy, core = component_centres(lens)
    inside = (cx >= xmin) & (cx <= xmax) & (cy >= ymin) & (cy <= ymax)
    cx, cy = cx[inside], cy[inside]
    centre_target = np.maximum(core[inside] / 2, h_min)
    finest = min(h_crit, float(centre_target.min(initial=np.inf)))
    n_levels = min(MAX_LEVELS, max(0, math.ceil(math.log2(h0 / finest) - 1e-9)))

    store = _VertexStore(lens, scale, xmin, ymin, h0, n_levels, ny)
    ci, cj = (a.ravel() for a in np.meshgrid(np.arange(nx, dtype=np.int64), np.arange(ny, dtype=np.int64), indexing="ij"))
    triangles, sizes = [], []
    for level in range(n_levels + 1):
        h = h0 / 2**level
        nx_l, ny_l = nx * 2**level, ny * 2**level
        corners = store.indices(level, ci, cj)
        keys = ci * ny_l + cj
        order = np.argsort(keys)
        sorted_keys = keys[order]

        flagged = np.zeros(0, dtype=np.int64)
        if level < n_levels:
            parts = []
            if h > h_crit * (1 + 1e-9):
                orient = _corner_orientations(store.bx[corners], store.by[corners])
                signs = np.sign(orient)
                critical = np.any(signs != signs[:, :1], axis=1)
                cell_sign = np.sign(orient.sum(axis=1))
                for di, dj in _NEIGHBOURS_4:
                    nkey = (ci + di) * ny_l + (cj + dj)
                    valid = (ci + di >= 0) & (ci + di < nx_l) & (cj + dj >= 0) & (cj + dj < ny_l)
                    pos = np.minimum(np.searchsorted(sorted_keys, nkey), sorted_keys.size - 1)
                    exists = valid & (sorted_keys[pos] == nkey)
                    critical |= exists & (cell_sign[order[pos]] != cell_sign)
                ki, kj = ci[critical], cj[critical]
                offsets = np.vstack([[(0, 0)], _NEIGHBOURS_8])
                parts.append((ki[:, None] + offsets[:, 0]).ravel())
                parts.append((kj[:, None] + offsets[:, 1]).ravel())
            wanted = centre_target < h * (1 - 1e-9)
            if np.any(wanted):
                i0 = np.floor((cx[wanted] - h / 2 - xmin) / h).astype(np.int64)
                i1 = np.floor((cx[wanted] + h / 2 - xmin) / h).astype(np.int64)
                j0 = np.floor((cy[wanted] - h / 2 - ymin) / h).astype(np.int64)
                j1 = np.floor((cy[wanted] + h / 2 - ymin) / h).astype(np.int64)
                span = np.arange(2)
                ii = i0[:, None, None] + span[None, :, None]
                jj = j0[:, None, None] + span[None, None, :]
                ok = (ii <= i1[:, None, None]) & (jj <= j1[:, None, None])
                ii, jj = np.broadcast_arrays(ii, jj)
                parts.append(ii[ok])
                parts.append(jj[ok])
            if parts:
                fi = np.concatenate(parts[0::2])
                fj = np.concatenate(parts[1::2])
                ok = (fi >= 0) & (fi < nx_l) & (fj >= 0) & (fj < ny_l)
                flagged = np.unique(fi[ok] * ny_l + fj[ok])

        # keep the triangles of every cell that is not refined on all sides
        interior = _member(flagged, keys)
        for di, dj in _NEIGHBOURS_8:
            if not np.any(interior):
                break
            ni, nj = ci + di, cj + dj
            in_domain = (ni >= 0) & (ni < nx_l) & (nj >= 0) & (nj < ny_l)
            interior &= in_domain & _member(flagged, ni * ny_l + nj)
        kept = corners[~interior]
        triangles.append(np.concatenate([kept[:, [0, 1, 3]], kept[:, [0, 3, 2]]]))
        sizes.append(np.full(2 * kept.shape[0], h))

        if flagged.size == 0:
            break
        fi, fj = flagged // ny_l, flagged % ny_l
        ci = (2 * fi[:, None] + np.array([0, 1, 0, 1])).ravel()
        cj = (2 * fj[:, None] + np.array([0, 0, 1, 1])).ravel()

    return ImagePlaneMesh(
        x=store.x,
        y=store.y,
        beta_x=store.bx,
        beta_y=store.by,
        triangles=np.concatenate(triangles),
        triangle_size=np.concatenate(sizes),
        region=(xmin, xmax, ymin, ymax),
        n_levels=n_levels,
    )


# ----------------------------------------------------------------------------------------
# Source-plane index
# ----------------------------------------------------------------------------------------
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
            keys, tris = [], []
            for bx_, by_, use in (
                (ix0, iy0, np.ones(sel.size, bool)),
                (ix1, iy0, ix1 > ix0),
                (ix0, iy1, iy1 > iy0),
                (ix1, iy1, (ix1 > ix0) & (iy1 > iy0)),
            ):
                keys.append(_bin_keys(bx_[use], by_[use]))
                tris.append(sel[use])
            keys = np.concatenate(keys)
            tris = np.concatenate(tris)
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


def _barycentric(px, py, x0, y0, x1, y1, x2, y2):
    """Barycentric coordinates (l0, l1, l2) of p in triangle (0, 1, 2); NaN if degenerate."""
    det = _cross(x1 - x0, y1 - y0, x2 - x0, y2 - y0)
    with np.errstate(divide="ignore", invalid="ignore"):
        l1 = _cross(px - x0, py - y0, x2 - x0, y2 - y0) / det
        l2 = _cross(x1 - x0, y1 - y0, px - x0, py - y0) / det
    l1 = np.where(det != 0, l1, np.nan)
    l2 = np.where(det != 0, l2, np.nan)
    return 1.0 - l1 - l2, l1, l2


def _signed_areas(wx, wy):
    """Twice the signed source-plane area of triangles (n, 3): > 0 where det A > 0."""
    return _cross(wx[:, 1] - wx[:, 0], wy[:, 1] - wy[:, 0], wx[:, 2] - wx[:, 0], wy[:, 2] - wy[:, 0])


def _fold_padding(wx, wy, fold):
    """Source-plane slack (arcsec) of each triangle: FOLD_TOLERANCE times its longest mapped
    edge for fold triangles, 0 for the others."""
    edges = np.hypot(wx - np.roll(wx, 1, axis=1), wy - np.roll(wy, 1, axis=1)).max(axis=1)
    return np.where(fold & np.isfinite(edges), FOLD_TOLERANCE * edges, 0.0)


def _accept(px, py, vx, vy, wx, wy, pad):
    """Which candidate triangles hold the source (px, py), and where to start Newton.

    A triangle is accepted when its source-plane image contains the source (barycentric
    slack CONTAINMENT_TOLERANCE) or, where ``pad`` > 0 (fold triangles, whose piecewise-linear
    image misplaces the caustic), when the source lies within ``pad`` of it; the start is the
    image-plane point with the barycentric coordinates of the source or of the nearest point.
    Returns (accepted mask, x0, y0).
    """
    l0, l1, l2 = _barycentric(px, py, wx[:, 0], wy[:, 0], wx[:, 1], wy[:, 1], wx[:, 2], wy[:, 2])
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


# ----------------------------------------------------------------------------------------
# Newton polishing
# ----------------------------------------------------------------------------------------
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


# ----------------------------------------------------------------------------------------
# Finder
# ----------------------------------------------------------------------------------------
class ImageFinder:
    """Reusable image search for one lens at one source redshift (``scale`` = D_LS/D_S).

    Builds the image-plane mesh once (module docstring); ``find`` and ``find_many`` then solve
    for any number of sources.

    Parameters
    ----------
    lens: object with ``deflection(x, y, scale)``, ``hessian(x, y, scale)``,
        ``potential(x, y, scale)`` (arcsec, dimensionless, arcsec^2) and optionally ``groups``
        (clusterlens.lens.MassComponents, used for the default region and centre refinement).
    scale: D_LS/D_S of the sources.
    region: (xmin, xmax, ymin, ymax) arcsec searched; default :func:`default_region`.
    cell_size: base cell side (arcsec); default: the longer region side / 128.
    critical_cell_size: finest cell near critical curves (arcsec); default cell_size / 8.
    min_cell_size: finest cell at component centres (arcsec); default cell_size / 64.
    precision: largest accepted |beta(theta) - beta_s| (arcsec).
    duplicate_tolerance: solutions closer than this (arcsec) are one image.
    """

    def __init__(
        self,
        lens,
        scale: float,
        region=None,
        *,
        cell_size: float | None = None,
        critical_cell_size: float | None = None,
        min_cell_size: float | None = None,
        precision: float = 1e-8,
        duplicate_tolerance: float = 1e-6,
    ):
        self.lens = lens
        self.scale = _check_scale(scale)
        self.region = _check_region(default_region(lens, self.scale) if region is None else region)
        xmin, xmax, ymin, ymax = self.region
        h0 = (max(xmax - xmin, ymax - ymin) / DEFAULT_BASE_CELLS) if cell_size is None else cell_size
        h0 = _check_positive("cell_size", h0)
        self.precision = _check_positive("precision", precision)
        self.duplicate_tolerance = _check_positive("duplicate_tolerance", duplicate_tolerance)
        self.critical_cell_size = _check_positive(
            "critical_cell_size", h0 / DEFAULT_CRITICAL_REFINEMENT if critical_cell_size is None else critical_cell_size
        )
        self.mesh = build_mesh(
            lens,
            self.scale,
            self.region,
            cell_size=h0,
            critical_cell_size=self.critical_cell_size,
            min_cell_size=h0 / DEFAULT_MIN_REFINEMENT if min_cell_size is None else min_cell_size,
        )
        m = self.mesh
        t = m.triangles
        bx, by = m.beta_x[t], m.beta_y[t]
        # fold triangles: a vertex shared by triangles of both orientations (a critical curve)
        sign = np.nan_to_num(np.sign(_signed_areas(bx, by)))
        low = np.full(m.x.size, 2.0)
        high = np.full(m.x.size, -2.0)
        np.minimum.at(low, t.ravel(), np.repeat(sign, 3))
        np.maximum.at(high, t.ravel(), np.repeat(sign, 3))
        fold = np.any((low < high)[t], axis=1) | (sign == 0)
        self._pad = _fold_padding(bx, by, fold)
        self.index = SourcePlaneIndex(bx[:, 0], by[:, 0], bx[:, 1], by[:, 1], bx[:, 2], by[:, 2], pad=self._pad)
        del bx, by
        self.coverage = source_coverage(lens, self.scale, self.region)

    # --- public ---------------------------------------------------------------------------
    def covers(self, x_source, y_source) -> np.ndarray:
        """True where a source (arcsec) lies where all its images are inside the region."""
        xs, ys = _as_source_arrays(x_source, y_source)
        if self.coverage is None:
            return np.zeros(xs.shape, dtype=bool)
        xmin, xmax, ymin, ymax = self.coverage
        return (xs >= xmin) & (xs <= xmax) & (ys >= ymin) & (ys <= ymax)

    def find(self, x_source: float, y_source: float, *, min_abs_magnification: float | None = None,
             time_delay_distance: float | None = None) -> pd.DataFrame:
        """Images of one source at (x_source, y_source) arcsec.

        Returns a DataFrame sorted by arrival time with columns x, y (arcsec), magnification
        (signed 1/det A), parity (+1/-1), time_delay (days after the first image of the table;
        NaN without ``time_delay_distance``, the time-delay distance D_dt in Mpc).  Images with
        |mu| below ``min_abs_magnification`` are dropped, when it is given, before the delays
        are referred to the first image.
        """
        if np.ndim(x_source) or np.ndim(y_source):
            raise ValueError("find takes one source (two scalars); use find_many for arrays")
        table = self.find_many([x_source], [y_source], min_abs_magnification=min_abs_magnification,
                               time_delay_distance=time_delay_distance)
        return table.drop(columns="source").reset_index(drop=True)

    def find_many(self, x_source, y_source, *, min_abs_magnification: float | None = None,
                  time_delay_distance: float | None = None) -> pd.DataFrame:
        """Images of many sources (1-D arrays, arcsec) with the same mesh.

        Returns one DataFrame with a ``source`` column (position of the source in the inputs)
        followed by the columns of :meth:`find`, sorted by source then arrival time.
        """
        xs, ys = _as_source_arrays(x_source, y_source)
        if time_delay_distance is not None:
            time_delay_distance = _check_positive("time_delay_distance", time_delay_distance)
        if min_abs_magnification is not None and not (float(min_abs_magnification) >= 0):
            raise ValueError(f"min_abs_magnification must be >= 0, got {min_abs_magnification!r}")
        outside = ~self.covers(xs, ys)
        if np.any(outside):
            warnings.warn(
                f"{int(outside.sum())} source(s) lie outside the region where all images are guaranteed "
                f"to fall inside the search region {self.region}; give a larger region",
                RuntimeWarning,
                stacklevel=2,
            )
        src, x, y, det, _ = self._deduplicate(*self._solve(xs, ys))
        with np.errstate(divide="ignore"):
            mu = 1.0 / det
        if min_abs_magnification is not None:
            bright = np.abs(mu) >= float(min_abs_magnification)
            src, x, y, det, mu = src[bright], x[bright], y[bright], det[bright], mu[bright]
        psi = self.lens.potential(x, y, scale=self.scale)
        fermat = 0.5 * ((x - xs[src]) ** 2 + (y - ys[src]) ** 2) - psi
        order = np.lexsort((fermat, src))
        src, x, y, det, mu, fermat = (a[order] for a in (src, x, y, det, mu, fermat))
        if time_delay_distance is None:
            delay = np.full(src.size, np.nan)
        else:
            first = np.full(xs.size, np.inf)
            np.minimum.at(first, src, fermat)
            delay = time_delay_distance * DAYS_PER_MPC_ARCSEC2 * (fermat - first[src])
        return pd.DataFrame({"source": src, "x": x, "y": y, "magnification": mu,
                             "parity": np.sign(det).astype(np.int64), "time_delay": delay})

    # --- internals ------------------------------------------------------------------------
    def _solve(self, xs, ys):
        """All converged solutions (source index, x, y, det A, residual), duplicates included."""
        src, tri = self.index.candidates(xs, ys)
        m = self.mesh
        t = m.triangles[tri]
        accepted, x0, y0 = _accept(xs[src], ys[src], m.x[t], m.y[t], m.beta_x[t], m.beta_y[t], self._pad[tri])
        src, tri, x0, y0 = src[accepted], tri[accepted], x0[accepted], y0[accepted]
        x, y, res, det = polish(self.lens, self.scale, x0, y0, xs[src], ys[src], 2.0 * self.mesh.triangle_size[tri])
        ok = res < self.precision
        return src[ok], x[ok], y[ok], det[ok], res[ok]

    def _deduplicate(self, src, x, y, det, res):
        """Merge solutions of one source that are one image: closer than u_i + u_j with
        u = duplicate_tolerance + residual * min(|mu|, 1e6) (how far a solution with that
        residual can sit from the exact image); the smallest residual is kept."""
        if src.size < 2:
            return src, x, y, det, res
        order = np.argsort(res, kind="stable")
        src, x, y, det, res = (a[order] for a in (src, x, y, det, res))
        with np.errstate(divide="ignore"):
            reach = self.duplicate_tolerance + res * np.minimum(1.0 / np.abs(det), 1e6)
        # the source index on a third axis keeps sources apart
        offset = 1e3 * (1.0 + np.max(np.abs(np.concatenate([x, y]))) + np.max(reach))
        points = np.column_stack([x, y, src * offset])
        pairs = cKDTree(points).query_pairs(2 * np.max(reach), output_type="ndarray")
        if pairs.size:
            i, j = pairs[:, 0], pairs[:, 1]
            close = np.hypot(x[i] - x[j], y[i] - y[j]) <= reach[i] + reach[j]
            pairs = pairs[close & (src[i] == src[j])]
        graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(src.size, src.size))
        _, label = connected_components(graph, directed=False)
        _, keep = np.unique(label, return_index=True)
        return src[keep], x[keep], y[keep], det[keep], res[keep]


# ----------------------------------------------------------------------------------------
# Functional entry points
# ----------------------------------------------------------------------------------------
def find_lens_images(
    lens,
    x_source,
    y_source,
    scale: float,
    *,
    region=None,
    min_abs_magnification: float | None = None,
    time_delay_distance: float | None = None,
    **mesh_options: Any,
) -> pd.DataFrame:
    """Every image of a point source at (x_source, y_source) arcsec behind ``lens``.

    scale: D_LS/D_S of the source; region: (xmin, xmax, ymin, ymax) arcsec searched (default
    derived from the lens); min_abs_magnification: drop images with |mu| below it (none dropped
    by default; 0.1 is a common choice); time_delay_distance: D_dt in Mpc for time delays (days);
    mesh_options: cell_size, critical_cell_size, min_cell_size, precision, duplicate_tolerance
    of :class:`ImageFinder`.  Scalars give the table of :meth:`ImageFinder.find`, arrays the
    table of :meth:`ImageFinder.find_many`.  Build an :class:`ImageFinder` to reuse the mesh.
    """
    finder = ImageFinder(lens, scale, region, **mesh_options)
    if np.ndim(x_source) == 0 and np.ndim(y_source) == 0:
        return finder.find(x_source, y_source, min_abs_magnification=min_abs_magnification,
                           time_delay_distance=time_delay_distance)
    return finder.find_many(x_source, y_source, min_abs_magnification=min_abs_magnification,
                            time_delay_distance=time_delay_distance)


def find_images(model, x_source, y_source, z_source: float, **options: Any) -> pd.DataFrame:
    """Images of a source at (x_source, y_source) arcsec and redshift ``z_source`` behind a model.

    ``model`` is any object with ``lens`` (clusterlens.lens.Lens), ``z_lens`` and ``cosmology``;
    the deflection scale D_LS/D_S and the time-delay distance come from clusterlens.cosmology.
    options: as :func:`find_lens_images` (region, min_abs_magnification, mesh options).
    The source position and ``region`` may also be astropy Quantities in any angle unit.
    """
    from clusterlens.cosmology import distance_ratio, time_delay_distance
    from clusterlens.units import as_arcsec

    x_source, y_source = as_arcsec(x_source, "x_source"), as_arcsec(y_source, "y_source")
    if options.get("region") is not None:
        options["region"] = as_arcsec(options["region"], "region")
    z_source = float(z_source)
    if model.z_lens is None:
        raise ValueError("the model has no lens rows (host_halo, main_lens_mass or scaling_galaxies)")
    if not z_source > model.z_lens:
        raise ValueError(f"z_source must exceed the lens redshift {model.z_lens}, got {z_source}")
    scale = distance_ratio(model.cosmology, model.z_lens, z_source)
    d_dt = time_delay_distance(model.cosmology, model.z_lens, z_source)
    return find_lens_images(model.lens, x_source, y_source, scale, time_delay_distance=float(d_dt), **options)
