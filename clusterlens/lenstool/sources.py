"""Source-plane positions of a model's multiple-image systems, combined as Lenstool's ``forme`` does.

Each observed image theta_i of a system at D_LS/D_S = s is traced back to the source plane,
beta_i = theta_i - s alpha(theta_i) (the lens equation; Schneider, Ehlers & Falco 1992, eq. 5.9), and
the system's source is their mean weighted by w_i = |mu_i| = 1 / |det A(theta_i)|, the magnification
at the observed image, for ``forme -2`` (the barycentre of Lenstool's image-plane chi2), or their
plain mean (w_i = 1) for ``forme -1`` and ``0``: the source rule of Lenstool's statistic
(:func:`clusterlens.fit.lenstool_statistic.model_sources`). Angles in arcsec.
"""
from __future__ import annotations

import numpy as np

from ..fit.lenstool_statistic import check_forme, model_sources
from ..fit.multiplane_at_images import multiplane_at_images
from ..fit.point_likelihood import ObservedImages


def source_positions(model, forme: int) -> dict[str, tuple[float, float]]:
    """System name -> (x, y) [arcsec] of its source for ``model``'s lens and point_datasets.csv images."""
    forme = check_forme(forme)
    points = model.point_datasets
    if not points:
        return {}
    observed = ObservedImages.from_model(model)
    names, system, x, y = observed.names, observed.system, observed.x, observed.y
    redshift = {s.name: s.redshift for s in model.source_points}
    if model.is_multiplane:  # effective quantities toward each source (fit/multiplane_at_images.py)
        planes, scale = multiplane_at_images(model, x, y, np.array([redshift[n] for n in names])[system])
        ax, ay, hxx, hxy, hyy = scale * planes.evaluate({})
    else:
        scale = np.array([model.distance_ratio(redshift[n]) for n in names])[system]
        ax, ay, hxx, hxy, hyy = model.lens.deflection_and_hessian(x, y, scale=scale)
    magnification = 1.0 / ((1.0 - hxx) * (1.0 - hyy) - hxy * hxy)
    source_x, source_y = model_sources(x - ax, y - ay, magnification, system, len(names), forme)
    return {name: (float(source_x[k]), float(source_y[k])) for k, name in enumerate(names)}
