"""Lenstool's image-plane chi2 of multiple images (``image forme -2``) for a clusterlens model.

For each system (the images sharing a ``point_datasets.csv`` name):

1. back-trace every observed image theta_i to the source plane, beta_i = theta_i - s alpha(theta_i)
   with s = D_LS/D_S of the system's redshift (Schneider, Ehlers & Falco 1992, eq. 5.9);
2. the model source is the barycentre of the beta_i weighted by |mu_i|, the magnification at the
   observed image (``barycentre="magnification"``, Lenstool's ``forme -2``; this reproduces the
   Chi2pos of Lenstool's Abell 2744 best.par), or their plain mean (``barycentre="mean"``);
3. each observed image is matched to the predicted image of that source nearest to it, no two sharing
   one (:func:`clusterlens.solver.match_images`: a Newton polish from the observed position guarded
   against leaving its basin; the full image finder for the systems where that is not enough); an
   image left without one is flagged (``matched`` False) and scored at its nearest predicted image;
4. chi2 = sum_i |theta_pred,i - theta_obs,i|^2 / sigma_i^2 with sigma the positional error of
   ``point_datasets.csv``.

Everything is vectorised over all images of all systems at once (one lens evaluation per Newton
step); angles in arcsec.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..solver import match_images

NEWTON_STEP_CAP = 0.5     # arcsec: largest Newton step


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
    lens = model.lens
    x = np.array([p.x for p in points])
    y = np.array([p.y for p in points])
    sigma = np.array([p.sigma for p in points])
    names = list(dict.fromkeys(p.name for p in points))
    system = np.array([names.index(p.name) for p in points])
    redshift = {s.name: s.redshift for s in model.source_points}
    z = np.array([redshift[n] for n in names])
    scale_of_system = np.array([model.distance_ratio(value) for value in z])
    scale = scale_of_system[system]

    ax, ay, hxx, hxy, hyy = lens.deflection_and_hessian(x, y, scale=scale)
    beta_x, beta_y = x - ax, y - ay
    magnification = 1.0 / ((1.0 - hxx) * (1.0 - hyy) - hxy * hxy)
    weight = np.abs(magnification) if barycentre == "magnification" else np.ones_like(x)
    total = np.bincount(system, weight)
    source_x = np.bincount(system, weight * beta_x) / total
    source_y = np.bincount(system, weight * beta_y) / total

    match = match_images(lens, scale_of_system, source_x, source_y, x, y, system, step_cap=NEWTON_STEP_CAP)
    x_model, y_model = match.x, match.y
    method = np.where(match.finder, "finder", "newton")

    offset = match.distance
    chi2 = (offset / sigma) ** 2
    images = pd.DataFrame({"name": [p.name for p in points], "image": [p.image for p in points], "x": x, "y": y,
                           "sigma": sigma, "x_model": x_model, "y_model": y_model, "offset": offset, "chi2": chi2,
                           "magnification": magnification, "method": method,
                           "matched": match.matched})
    count = np.bincount(system)
    systems = pd.DataFrame({"name": names, "redshift": z, "n_images": count, "x_source": source_x,
                            "y_source": source_y, "rms": np.sqrt(np.bincount(system, offset**2) / count),
                            "chi2": np.bincount(system, chi2)})
    return ImagePlaneChi2(images, systems, float(chi2.sum()))

