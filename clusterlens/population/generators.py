"""Population-level draws a cluster needs: member counts, magnitudes and positions, and background sources.

Pure vectorised functions of a numpy Generator (every draw takes one):

- :func:`schechter_magnitudes`: magnitudes from a Schechter (1976, ApJ 203, 297, eq. 2) luminosity
  function written in magnitudes, n(m) ~ 10^(0.4 (alpha + 1)(m* - m)) exp(-10^(0.4 (m* - m))), by
  inverse-CDF sampling of its cumulative integral on a fine grid;
- :func:`cored_isothermal_radii`: projected radii for a cored isothermal surface density
  Sigma(R) ~ (R^2 + r_c^2)^(-1/2), whose enclosed count N(<R) ~ sqrt(R^2 + r_c^2) - r_c inverts in
  closed form (the rule of ``datasets/make_example_cluster.py``);
- :func:`smail_redshifts`: redshifts from n(z) ~ z^2 exp(-(z/z0)^1.5) (Smail et al. 1994, MNRAS 270,
  245): with u = (z/z0)^1.5, n(u) du ~ u e^(-u) du, a Gamma(2) law, so the CDF is the regularised
  incomplete gamma function P(2, u), inverted exactly.
"""
from __future__ import annotations

import numpy as np
from scipy.special import gammainc, gammaincinv

#: Points of the magnitude grid the Schechter CDF is tabulated on.
SCHECHTER_GRID = 4097


def schechter_magnitudes(rng: np.random.Generator, n: int, mag_star: float, alpha: float,
                         mag_min: float, mag_max: float) -> np.ndarray:
    """``n`` magnitudes [mag] between mag_min and mag_max from a Schechter function (module docstring),
    sorted brightest first; one uniform draw per magnitude."""
    if not mag_min < mag_max:
        raise ValueError(f"expected mag_min < mag_max, got {mag_min!r}, {mag_max!r}")
    grid = np.linspace(mag_min, mag_max, SCHECHTER_GRID)
    luminosity = 10.0 ** (0.4 * (mag_star - grid))
    density = luminosity ** (alpha + 1.0) * np.exp(-luminosity)
    cumulative = np.concatenate([[0.0], np.cumsum(0.5 * (density[1:] + density[:-1]) * np.diff(grid))])
    return np.sort(np.interp(rng.uniform(0.0, 1.0, int(n)) * cumulative[-1], cumulative, grid))


def cored_isothermal_radii(rng: np.random.Generator, n: int, core_radius: float, max_radius: float) -> np.ndarray:
    """``n`` projected radii [arcsec] in [0, max_radius] for Sigma ~ (R^2 + r_c^2)^(-1/2); r_c = core_radius."""
    if not (core_radius > 0 and max_radius > 0):
        raise ValueError(f"expected core_radius > 0 and max_radius > 0, got {core_radius!r}, {max_radius!r}")
    u = rng.uniform(0, 1, int(n))
    return np.sqrt((u * (np.hypot(max_radius, core_radius) - core_radius) + core_radius) ** 2 - core_radius**2)


def positions_in_profile(rng: np.random.Generator, n: int, core_radius: float, max_radius: float,
                         center_x: float = 0.0, center_y: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) [arcsec] of ``n`` points with cored isothermal radii and uniform position angles."""
    radius = cored_isothermal_radii(rng, n, core_radius, max_radius)
    phi = rng.uniform(0, 2 * np.pi, int(n))
    return center_x + radius * np.cos(phi), center_y + radius * np.sin(phi)


def positions_in_disc(rng: np.random.Generator, n: int, radius: float, center_x: float = 0.0,
                      center_y: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) [arcsec] of ``n`` points uniform in the disc of ``radius`` [arcsec] (R = radius sqrt(u))."""
    r = radius * np.sqrt(rng.uniform(0.0, 1.0, int(n)))
    phi = rng.uniform(0, 2 * np.pi, int(n))
    return center_x + r * np.cos(phi), center_y + r * np.sin(phi)


def smail_cdf(z, z0: float):
    """P(< z) of n(z) ~ z^2 exp(-(z/z0)^1.5) on [0, infinity): P(2, (z/z0)^1.5)."""
    return gammainc(2.0, (np.asarray(z, dtype=float) / z0) ** 1.5)


def smail_redshifts(rng: np.random.Generator, n: int, z0: float, z_min: float, z_max: float) -> np.ndarray:
    """``n`` redshifts from the Smail n(z) restricted to [z_min, z_max] (exact inverse CDF)."""
    if not 0 <= z_min < z_max:
        raise ValueError(f"expected 0 <= z_min < z_max, got {z_min!r}, {z_max!r}")
    low, high = smail_cdf(z_min, z0), smail_cdf(z_max, z0)
    u = low + (high - low) * rng.uniform(0.0, 1.0, int(n))
    return np.clip(z0 * gammaincinv(2.0, u) ** (1.0 / 1.5), z_min, z_max)
