"""Closed-form chi2 terms of the point likelihood (pure numpy functions, no model objects).

Flux term: image i of system k is observed with flux f_i +- sigma_i and predicted as |mu_i| F_k, with
F_k the system's unknown intrinsic (unlensed) flux. The chi2 is quadratic in F_k, so its minimum is
the weighted least-squares solution (e.g. Press et al., Numerical Recipes, 3rd ed., section 15.2, the
straight line through the origin)::

    F_k      = sum_i w_i f_i |mu_i| / sum_i w_i |mu_i|^2,   w_i = 1 / sigma_i^2   (i in system k)
    chi2_flux = sum_i w_i (f_i - |mu_i| F_k)^2

Images without a measured flux (NaN) take no part; a system with no measured flux contributes 0.
"""
from __future__ import annotations

import numpy as np


def chi2_flux(observed_flux, flux_sigma, magnification, system) -> float:
    """Flux chi2 at the analytic best intrinsic flux of every system (module docstring).

    observed_flux: observed image fluxes (any flux unit; NaN = not measured); flux_sigma: their
    errors (same unit; read only where the flux is measured); magnification: the model's signed
    magnification at each image (dimensionless, its modulus is used); system: the non-negative
    integer index of each image's system. All four are 1-D arrays of one length. Returns the
    dimensionless chi2.
    """
    f_obs, sigma, mu = (np.asarray(a, dtype=float) for a in (observed_flux, flux_sigma, magnification))
    system = np.asarray(system)
    if not (f_obs.ndim == 1 and f_obs.shape == sigma.shape == mu.shape == system.shape):
        raise ValueError(f"chi2_flux needs 1-D arrays of one length, got shapes {f_obs.shape}, {sigma.shape}, "
                         f"{mu.shape}, {system.shape}")
    ok = np.isfinite(f_obs)
    w = np.where(ok, 1.0 / np.where(ok, sigma, 1.0) ** 2, 0.0)
    amu = np.abs(mu)
    f = np.where(ok, f_obs, 0.0)
    numerator = np.bincount(system, weights=w * f * amu)
    denominator = np.bincount(system, weights=w * amu * amu)
    intrinsic = numerator / np.maximum(denominator, 1e-300)
    return float(np.sum(w * (f - amu * intrinsic[system]) ** 2))
