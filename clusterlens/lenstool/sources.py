"""Source-plane positions of a model's multiple-image systems, combined as Lenstool's ``forme`` does.

Each observed image theta_i of a system at D_LS/D_S = s is traced back to the source plane,
beta_i = theta_i - s alpha(theta_i) (the lens equation; Schneider, Ehlers & Falco 1992, eq. 5.9), and
the system's source is their mean weighted by w_i = |mu_i| = 1 / |det A(theta_i)|, the magnification
at the observed image, for ``forme -2`` (the barycentre of Lenstool's image-plane chi2), or their
plain mean (w_i = 1) for ``forme -1`` and ``0``. Angles in arcsec.
"""
from __future__ import annotations

import numpy as np


def source_positions(model, forme: int) -> dict[str, tuple[float, float]]:
    """System name -> (x, y) [arcsec] of its source for ``model``'s lens and point_datasets.csv images."""
    if forme not in (-2, -1, 0):
        raise ValueError(f"forme must be -2, -1 or 0 (Lenstool's image forme), got {forme!r}")
    points = model.point_datasets
    if not points:
        return {}
    names = list(dict.fromkeys(p.name for p in points))
    system = np.array([names.index(p.name) for p in points])
    redshift = {s.name: s.redshift for s in model.source_points}
    scale = np.array([model.distance_ratio(redshift[n]) for n in names])[system]
    x = np.array([p.x for p in points])
    y = np.array([p.y for p in points])
    ax, ay, hxx, hxy, hyy = model.lens.deflection_and_hessian(x, y, scale=scale)
    weight = np.ones_like(x)
    if forme == -2:
        weight = 1.0 / np.abs((1.0 - hxx) * (1.0 - hyy) - hxy * hxy)
    total = np.bincount(system, weight)
    source_x = np.bincount(system, weight * (x - ax)) / total
    source_y = np.bincount(system, weight * (y - ay)) / total
    return {name: (float(source_x[k]), float(source_y[k])) for k, name in enumerate(names)}
