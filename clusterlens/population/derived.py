"""Derived labels of a realisation: the Einstein radius at a reference redshift, images per source.

Einstein radius: the radius of the largest circle about the lens centre inside which the mean
convergence is at least 1. For an axially symmetric lens this circle is the tangential critical
curve (Schneider, Ehlers & Falco 1992, eq. 8.4: mean kappa(<theta_E) = 1); for any lens it is the
usual effective definition. It is measured on the imaging grid's pixel centres (resolution one pixel),
0 when no circle qualifies.
"""
from __future__ import annotations

import numpy as np
import pandas as pd


def einstein_radius(kappa, x, y, center_x: float, center_y: float) -> float:
    """theta_E [arcsec] from convergence ``kappa`` at points x, y [arcsec] around (center_x, center_y)."""
    kappa = np.asarray(kappa, dtype=float).ravel()
    radius = np.hypot(np.asarray(x, dtype=float).ravel() - center_x, np.asarray(y, dtype=float).ravel() - center_y)
    order = np.argsort(radius, kind="stable")
    mean = np.cumsum(kappa[order]) / np.arange(1, kappa.size + 1)
    inside = np.flatnonzero(mean >= 1.0)
    return float(radius[order][inside[-1]]) if inside.size else 0.0


def lens_centre(model) -> tuple[float, float]:
    """(x, y) [arcsec] of the first host halo, else of the first main galaxy with a centre, else (0, 0)."""
    for row in (*model.host_halo, *model.main_galaxies):
        x, y = getattr(row, "x", None), getattr(row, "y", None)
        if x is not None and y is not None:
            return float(x), float(y)
    return 0.0, 0.0


def images_per_source(true_images: pd.DataFrame, names) -> dict[str, int]:
    """{``n_images.<name>``: number of images} for every source_point name (0 when none was found)."""
    counts = true_images.groupby("name").size() if len(true_images) else pd.Series(dtype=int)
    return {f"n_images.{n}": int(counts.get(n, 0)) for n in names}
