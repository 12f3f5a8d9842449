"""Luminosity scaling relations for cluster members (Lenstool potfile style).

L / L_ref = 10^(0.4 (mag_ref - mag)) and, for X in (sigma, r_core, r_cut),
X = X_ref (L / L_ref)^X_slope (docs/conventions.md#scaling-relations). Lenstool's potfile keywords map to
sigma_slope = 1/vdslope, r_cut_slope = 2/slope, r_core_slope = 1/2 (Lenstool's
documentation; the conversion lives in the Lenstool module). sigma in km/s, radii
in arcsec.
"""

from __future__ import annotations

import numpy as np


def member_parameters(mag, mag_ref, sigma_ref, r_core_ref, r_cut_ref, sigma_slope, r_core_slope, r_cut_slope):
    """(sigma, r_core, r_cut) of members with magnitudes ``mag`` (vectorised; inputs broadcast).

    Raises ValueError for non-finite magnitudes, non-positive reference sigma or r_cut,
    or a negative reference r_core.
    """
    mag = np.asarray(mag, dtype=float)
    if not np.all(np.isfinite(mag)):
        raise ValueError(f"magnitudes must be finite, got {mag[~np.isfinite(mag)][:5]}")
    for name, value, allow_zero in (
        ("sigma_ref", sigma_ref, False),
        ("r_cut_ref", r_cut_ref, False),
        ("r_core_ref", r_core_ref, True),
    ):
        value = np.asarray(value, dtype=float)
        ok = np.isfinite(value) & ((value >= 0) if allow_zero else (value > 0))
        if not np.all(ok):
            raise ValueError(f"{name} must be finite and {'>= 0' if allow_zero else '> 0'}, got {value}")
    for name, value in (("sigma_slope", sigma_slope), ("r_core_slope", r_core_slope), ("r_cut_slope", r_cut_slope)):
        if not np.all(np.isfinite(value)):
            raise ValueError(f"{name} must be finite, got {value}")
    log_luminosity = 0.4 * np.log(10.0) * (np.asarray(mag_ref, dtype=float) - mag)
    return (
        sigma_ref * np.exp(sigma_slope * log_luminosity),
        r_core_ref * np.exp(r_core_slope * log_luminosity),
        r_cut_ref * np.exp(r_cut_slope * log_luminosity),
    )
