"""Lenstool's image-plane chi2 of multiple images (``image forme -2`` / ``-1``) for a clusterlens model.

For each system (the images sharing a ``point_datasets.csv`` name):

1. back-trace every observed image theta_i to the source plane, beta_i = theta_i - s alpha(theta_i)
   with s = D_LS/D_S of the system's redshift (Schneider, Ehlers & Falco 1992, eq. 5.9);
2. the model source is the barycentre of the beta_i weighted by |mu_i|, the magnification at the
   observed image (``barycentre="magnification"``, Lenstool's ``forme -2``; this reproduces the
   Chi2pos of Lenstool's Abell 2744 best.par), or their plain mean (``barycentre="mean"``, ``forme -1``);
3. each observed image is matched to the predicted image of that source it leads to (a damped
   Newton iteration from the observed position; the image finder where it does not converge); an
   image left without one is flagged (``matched`` False) and, as Lenstool does, predicted at its
   observed position;
4. chi2 = sum_i |theta_pred,i - theta_obs,i|^2 / sigma^2 with sigma the positional error of
   ``point_datasets.csv`` (forme -2: that of the system's first image, as Lenstool).

The statistic is :mod:`clusterlens.fit.lenstool_statistic` (shared with the ``lenstool`` likelihood);
angles in arcsec.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..fit.lenstool_statistic import check_systems, lenstool_terms
from ..fit.multiplane_at_images import multiplane_at_images
from ..fit.point_likelihood import ObservedImages


@dataclass(frozen=True)
class ImagePlaneChi2:
    """Per-image residuals, per-system summary and the total image-plane chi2."""

    images: pd.DataFrame   # name, image, x, y, sigma, x_model, y_model, offset, chi2, magnification, method,
                           # matched
    systems: pd.DataFrame  # name, redshift, n_images, x_source, y_source, rms, chi2
    chi2: float


def image_plane_chi2(model, barycentre: str = "magnification") -> ImagePlaneChi2:
    """Image-plane chi2 of ``model``'s point_datasets.csv images (module docstring)."""
    if barycentre not in ("magnification", "mean"):
        raise ValueError(f"barycentre must be 'magnification' (Lenstool forme -2) or 'mean', got {barycentre!r}")
    points = model.point_datasets
    if not points:
        raise ValueError("the model has no point_datasets.csv images: nothing to compute a chi2 for")
    observed = ObservedImages.from_model(model)
    x, y, sigma, system, names = observed.x, observed.y, observed.sigma, observed.system, list(observed.names)
    check_systems(system, len(names), names)
    redshift = {s.name: s.redshift for s in model.source_points}
    z = np.array([redshift[n] for n in names])
    if model.is_multiplane:  # reference scales name the source redshifts (fit/multiplane_at_images.py)
        planes, _ = multiplane_at_images(model, x, y, z[system])
        lens, scale_of_system, q = planes.full_lens({}), planes.scales(z), planes.evaluate({})
    else:
        lens = model.lens
        scale_of_system = np.array([model.distance_ratio(value) for value in z])
        q = np.array(lens.deflection_and_hessian(x, y))
    terms = lenstool_terms(q, x, y, sigma, system, scale_of_system, -2 if barycentre == "magnification" else -1,
                           lambda: lens)
    s = scale_of_system[system]
    magnification = 1.0 / ((1.0 - s * q[2]) * (1.0 - s * q[4]) - (s * q[3]) ** 2)
    offset = np.hypot(terms.x_pred - x, terms.y_pred - y)
    images = pd.DataFrame({"name": [p.name for p in points], "image": [p.image for p in points], "x": x, "y": y,
                           "sigma": sigma, "x_model": terms.x_pred, "y_model": terms.y_pred, "offset": offset,
                           "chi2": terms.chi2, "magnification": magnification,
                           "method": np.where(terms.finder, "finder", "newton"), "matched": terms.matched})
    count = np.bincount(system)
    systems = pd.DataFrame({"name": names, "redshift": z, "n_images": count, "x_source": terms.source_x,
                            "y_source": terms.source_y, "rms": np.sqrt(np.bincount(system, offset**2) / count),
                            "chi2": np.bincount(system, terms.chi2)})
    return ImagePlaneChi2(images, systems, float(terms.chi2.sum()))
