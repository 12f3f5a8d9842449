"""Planar triangle geometry shared by the image-plane mesh and the source-plane index.

Coordinates in arcsec; every function is vectorised over triangles.
"""

from __future__ import annotations

import numpy as np


def cross(ax, ay, bx, by):
    """z component of the cross product of vectors (ax, ay) and (bx, by)."""
    return ax * by - ay * bx


def signed_areas(wx, wy):
    """Twice the signed source-plane area of triangles (n, 3): > 0 where det A > 0."""
    return cross(wx[:, 1] - wx[:, 0], wy[:, 1] - wy[:, 0], wx[:, 2] - wx[:, 0], wy[:, 2] - wy[:, 0])


def barycentric(px, py, x0, y0, x1, y1, x2, y2):
    """Barycentric coordinates (l0, l1, l2) of p in triangle (0, 1, 2); NaN if degenerate."""
    det = cross(x1 - x0, y1 - y0, x2 - x0, y2 - y0)
    with np.errstate(divide="ignore", invalid="ignore"):
        l1 = cross(px - x0, py - y0, x2 - x0, y2 - y0) / det
        l2 = cross(x1 - x0, y1 - y0, px - x0, py - y0) / det
    l1 = np.where(det != 0, l1, np.nan)
    l2 = np.where(det != 0, l2, np.nan)
    return 1.0 - l1 - l2, l1, l2

