"""Lenstool's statistic of multiple images (its ``image forme``), the one implementation of it.

Used by the ``lenstool`` kind of :class:`~clusterlens.fit.point_likelihood.PointLikelihood` and by
:func:`clusterlens.lenstool.chi2.image_plane_chi2`. Notation (angles in arcsec): observed image i of
system k at theta_i with positional error sigma_i (``point_datasets.csv``; an imported Lenstool model
holds ``sigposArcsec`` there for every image); s_k = D_LS/D_S of the system; the lens at D_LS/D_S = 1
gives deflection alpha_i and Hessian H_i at theta_i; back-traced source beta_i = theta_i - s_k alpha_i,
amplification matrix A_i = I - s_k H_i and magnification mu_i = 1 / det A_i at the observed image.

Lenstool computes (``o_chi.c``: ``chi2_img`` for ``forme < 0``, ``chi2_src`` for ``forme >= 0``;
``unlens_bc.c``, ``sig2posS.c``; read in the copy of Lenstool kept in the cerschae/Lenstool-HPC
repository, ``ChiBenchmark/lenstoolchi/src/``):

**forme -1** (image plane). Model source beta_k = mean_i beta_i (``bcentlist``). Each observed image
is matched to the model image of beta_k found from it (:func:`clusterlens.solver.match_images`), theta'_i
(two observed images of a system never share one: where both reach it, the nearer keeps it and the
other is unmatched), and

    chi2 = sum_i |theta'_i - theta_i|^2 / sigma_i^2.

**forme -2** (image plane). The same with beta_k = sum_i |mu_i| beta_i / sum_i |mu_i| and, as in
``chi2_img`` for every image-plane forme but -1, the positional error of the system's first image,
sigma_k0, for all of its images. The |mu| weights are not in that copy of ``o_chi.c`` (it averages
plainly for every negative forme); they are the rule that reproduces the Chi2pos of Lenstool's own
Abell 2744 result (best.par, ``forme -2``: 149.66 against Lenstool's 150.08; the plain mean gives 1168,
sqrt|mu| weights 174).

**An observed image without a model image** (``unlens_bc_single`` does not reach the source): Lenstool
puts the predicted image at the observed one, so its term is 0, and counts it as a warning
(``n_Warning`` of a best.par header); during an optimisation (``inverse`` >= 3) such a model is
rejected (``chi2_img`` returns an error, BayeSys drops the sample). Here: term 0, ``matched`` False,
and the likelihood gives log L = -inf. Like Lenstool, the likelihood searches for each image only from
the observed position (the guarded Newton iteration; ``image_search="newton"``), so one call costs a few
lens evaluations at the images; a report (``clusterlens chi2``) also searches the whole image plane
for an image that iteration misses (``image_search="finder"``) and flags it.

**forme 0** (source plane). beta_k = mean_i beta_i and, per system, the source-plane variance of
Lenstool's "etendue" rule (``sig2posS``; Kneib 1993): sigma_s,k^2 = sigma_k0^2 x mean_i |det A_i|,

    chi2 = sum_i |beta_i - beta_k|^2 / sigma_s,k^2;

the predicted image is the linear one, theta_i + A_i^-1 (beta_k - beta_i). It needs the lens only at
the observed images.

Lenstool scores a one-image system by the extra images its source would have (``chi2SglImage``); that
needs the whole image plane and is not reproduced: a one-image system is refused.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..solver import match_images

FORMES = (-2, -1, 0)
NEWTON_STEP_CAP = 0.5     # arcsec: largest Newton step from an observed image


def check_forme(forme: int) -> int:
    """``forme`` if it is one this module computes (-2, -1, 0), else one clear ValueError."""
    if isinstance(forme, bool) or forme not in FORMES:
        raise ValueError(f"Lenstool forme must be one of {', '.join(map(str, FORMES))} (-2, -1: image-plane chi2 "
                         f"with the |mu|-weighted or plain mean source; 0: source-plane chi2), got {forme!r}")
    return int(forme)


def check_systems(system: np.ndarray, n_systems: int, names) -> None:
    """Refuse one-image systems (module docstring): one ValueError naming them."""
    single = np.flatnonzero(np.bincount(system, minlength=n_systems) < 2)
    if single.size:
        listed = ", ".join(names[k] for k in single)
        raise ValueError(f"Lenstool's statistic needs two or more images per system; {listed} has one (Lenstool "
                         "scores single images by their extra predicted images, not done here)")


def model_sources(beta_x, beta_y, magnification, system, n_systems: int, forme: int):
    """Model source of every system [arcsec]: the |mu|-weighted (forme -2) or plain (-1, 0) mean of the
    back-traced images ``beta_x, beta_y`` [arcsec]; ``magnification``: signed mu at each observed image;
    ``system``: integer system index of each image. Returns (source_x, source_y), one per system."""
    weight = np.abs(magnification) if forme == -2 else np.ones(np.shape(beta_x))
    total = np.bincount(system, weight, minlength=n_systems)
    return (np.bincount(system, weight * beta_x, minlength=n_systems) / total,
            np.bincount(system, weight * beta_y, minlength=n_systems) / total)


def position_variance(sigma, system, forme: int) -> np.ndarray:
    """Image-plane variance [arcsec^2] Lenstool gives each image: its own sigma^2 for forme -1, the
    first image of its system's for -2 and 0 (``sigma`` [arcsec], one per image)."""
    sigma = np.asarray(sigma, dtype=float)
    if forme == -1:
        return sigma**2
    first = np.unique(system, return_index=True)[1]
    first_sigma = np.empty(int(system.max()) + 1)
    first_sigma[system[first]] = sigma[first]
    return first_sigma[system] ** 2


def image_plane_terms(x, y, x_model, y_model, matched, variance):
    """Per-image chi2 of forme -1/-2 and the predicted positions [arcsec]: |theta' - theta|^2 / variance
    for a matched image; an unmatched one is predicted at its observed position (term 0)."""
    x_pred, y_pred = np.where(matched, x_model, x), np.where(matched, y_model, y)
    return ((x_pred - x) ** 2 + (y_pred - y) ** 2) / variance, x_pred, y_pred


def source_plane_terms(beta_x, beta_y, source_x, source_y, det, system, n_systems: int, variance):
    """Per-image chi2 of forme 0: |beta_i - beta_k|^2 / (variance_i x mean_k |det A|) (module docstring);
    ``det``: det A_i at each observed image; ``variance`` from :func:`position_variance`."""
    count = np.bincount(system, minlength=n_systems)
    mean_det = np.bincount(system, np.abs(det), minlength=n_systems) / count
    dx, dy = beta_x - source_x[system], beta_y - source_y[system]
    return (dx * dx + dy * dy) / (variance * mean_det[system])


@dataclass(frozen=True)
class LenstoolTerms:
    """Lenstool's statistic at one lens: per system source_x, source_y [arcsec]; per image chi2, the
    predicted x_pred, y_pred [arcsec], matched and finder (see :class:`ImageMatch`)."""

    source_x: np.ndarray
    source_y: np.ndarray
    chi2: np.ndarray
    x_pred: np.ndarray
    y_pred: np.ndarray
    matched: np.ndarray
    finder: np.ndarray


def lenstool_terms(q, x, y, sigma, system, scale, forme: int, full_lens: Callable[[], object],
                   finder: bool = True) -> LenstoolTerms:
    """Every term of Lenstool's statistic (module docstring).

    q: (5, n) ax, ay [arcsec], hxx, hxy, hyy of the lens at the observed images at D_LS/D_S = 1; x, y,
    sigma: observed images and their errors [arcsec]; system: integer system index per image; scale:
    D_LS/D_S per system; forme: -2, -1 or 0; full_lens: returns the whole lens (called for forme -1/-2);
    finder: whether an image the Newton search from it does not match is searched for in the whole
    region (:func:`clusterlens.solver.match_images`; False: it is unmatched, as in Lenstool)."""
    n = scale.size
    s = scale[system]
    beta_x, beta_y = x - s * q[0], y - s * q[1]
    a11, a12, a22 = 1.0 - s * q[2], -s * q[3], 1.0 - s * q[4]
    det = a11 * a22 - a12 * a12
    source_x, source_y = model_sources(beta_x, beta_y, 1.0 / det, system, n, forme)
    variance = position_variance(sigma, system, forme)
    if forme == 0:
        chi2 = source_plane_terms(beta_x, beta_y, source_x, source_y, det, system, n, variance)
        dx, dy = source_x[system] - beta_x, source_y[system] - beta_y
        x_pred, y_pred = x + (a22 * dx - a12 * dy) / det, y + (a11 * dy - a12 * dx) / det
        everywhere = np.ones(x.size, dtype=bool)
        return LenstoolTerms(source_x, source_y, chi2, x_pred, y_pred, everywhere, ~everywhere)
    match = match_images(full_lens(), scale, source_x, source_y, x, y, system, step_cap=NEWTON_STEP_CAP,
                         finder=finder, start=tuple(s * q[j] for j in range(5)))
    chi2, x_pred, y_pred = image_plane_terms(x, y, match.x, match.y, match.matched, variance)
    return LenstoolTerms(source_x, source_y, chi2, x_pred, y_pred, match.matched, match.finder)
