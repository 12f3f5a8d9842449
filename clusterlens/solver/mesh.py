"""Adaptive image-plane mesh (step 2 of the algorithm in :mod:`clusterlens.solver`).

Square cells of size ``cell_size`` tile the region; each cell is cut into two triangles.  Cells
are quadrisected, level after level, where (a) the source-plane orientation of the cell's corner
triangles is mixed or differs from an edge neighbour's (a critical curve, det A = 0, crosses or
is near; the flagged set is dilated by one cell), down to ``critical_cell_size``; (b) a component
centre lies within one cell size (compact members with small cores), down to
max(r_core / 2, ``min_cell_size``).  All cells of one level lie on one lattice, so the triangles
of a level form a conforming mesh of the refined area.  Levels overlap: a refined cell keeps its
triangles unless all its eight neighbours are refined too, so a band at least one cell wide is
covered by two levels wherever refinement stops and no source-plane gap opens between levels.
Vertices are shared between levels (integer keys on the finest lattice) and ray-traced once, in
chunks by the Lens.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .geometry import cross
from .region import check_positive, check_region, check_scale, component_centres

MAX_LEVELS = 14


def _source_position(lens, x, y, scale):
    """beta = theta - alpha(theta) at D_LS/D_S = scale (arcsec)."""
    ax, ay = lens.deflection(x, y, scale=scale)
    return x - ax, y - ay


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


def _corner_orientations(bx, by):
    """Signed source-plane areas (x2) of the four corner triangles of each cell, (n, 4);
    corners ordered 00, 10, 01, 11, each triangle counter-clockwise in the image plane."""
    # (corner, next, previous) counter-clockwise around the square 00 -> 10 -> 11 -> 01
    tri = np.array([(0, 1, 2), (1, 3, 0), (3, 2, 1), (2, 0, 3)])
    ex1 = bx[:, tri[:, 1]] - bx[:, tri[:, 0]]
    ey1 = by[:, tri[:, 1]] - by[:, tri[:, 0]]
    ex2 = bx[:, tri[:, 2]] - bx[:, tri[:, 0]]
    ey2 = by[:, tri[:, 2]] - by[:, tri[:, 0]]
    return cross(ex1, ey1, ex2, ey2)
def build_mesh(
    lens,
    scale: float,
    region,
    *,
    cell_size: float,
    critical_cell_size: float,
    min_cell_size: float,
) -> ImagePlaneMesh:
    """Adaptive image-plane triangle mesh (see the module docstring).

    cell_size: base cell side (arcsec); critical_cell_size: finest cell side near critical
    curves (arcsec); min_cell_size: finest cell side around component centres (arcsec); a
    component is refined down to max(r_core / 2, min_cell_size).
    """
    scale = check_scale(scale)
    xmin, xmax, ymin, ymax = check_region(region)
    h0 = check_positive("cell_size", cell_size)
    h_crit = check_positive("critical_cell_size", critical_cell_size)
    h_min = check_positive("min_cell_size", min_cell_size)
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
    columns, rows = np.arange(nx, dtype=np.int64), np.arange(ny, dtype=np.int64)
    ci, cj = (a.ravel() for a in np.meshgrid(columns, rows, indexing="ij"))
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

