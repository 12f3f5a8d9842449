"""Imaging simulator physics: ray-traced extended sources, a pixel-integrated Gaussian PSF and CCD noise.

Pure functions (arrays in, arrays out); no file I/O. Conventions (docs/conventions.md#positions-on-the-sky):
x positive to the West, y to the North, both in arcsec from the dataset reference point. An image of
``shape = (ny, nx)`` has pixel (row i, column j) centred at::

    x_j = center_x + (j - (nx - 1) / 2) * pixel_scale,   y_i = center_y + (i - (ny - 1) / 2) * pixel_scale

so x grows with the column index (West to the right, the usual North-up East-left view) and row 0 is
the southern edge (display with ``origin="lower"``).

Lens equation for a single lens plane (Schneider, Ehlers & Falco 1992, eq. 5.9)::

    beta = theta - s alpha_inf(theta),   s = D_LS/D_S(z_lens, z_source)

``alpha_inf`` is the deflection at D_LS/D_S = 1, so one deflection of the (oversampled) image-plane
grid serves every source redshift exactly: each source only rescales it. Surface brightness is
conserved by lensing, so the lensed brightness at theta is the source's brightness at beta.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr

from ..profiles import sersic
from ..registry import LIGHT_PROFILES, light_profile

#: Sub-pixel points evaluated at once (times the number of sources of a group) when rendering.
POINTS_PER_CHUNK = 1_000_000

FWHM_PER_SIGMA = 2.0 * np.sqrt(2.0 * np.log(2.0))

Deflection = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class LightGroup:
    """Extended sources of one light profile, evaluated as one broadcast operation.

    profile: a registered light profile name (:data:`clusterlens.registry.LIGHT_PROFILES`); params: its
    surface-brightness function's keyword parameters as 1-D arrays (one entry per source; intensity in
    electrons/s/arcsec^2, radii in arcsec); scale: (n,) D_LS/D_S of each source's redshift.
    """

    profile: str
    params: dict[str, np.ndarray]
    scale: np.ndarray

    def __post_init__(self):
        light_profile(self.profile)  # a ValueError naming the registered profiles otherwise
        n = np.shape(self.scale)
        if len(n) != 1 or any(np.shape(v) != n for v in self.params.values()):
            raise ValueError("LightGroup params and scale must be 1-D arrays of one length (one entry per source)")

    def __len__(self) -> int:
        return int(np.shape(self.scale)[0])


def pixel_centres(shape: Sequence[int], pixel_scale: float, center_x: float = 0.0, center_y: float = 0.0):
    """(x, y) arcsec of every pixel centre, two arrays of ``shape = (ny, nx)`` (module docstring)."""
    ny, nx = (int(n) for n in shape)
    if ny < 1 or nx < 1 or not pixel_scale > 0:
        raise ValueError(f"expected shape of two positive ints and pixel_scale > 0, got {shape!r}, {pixel_scale!r}")
    x = center_x + (np.arange(nx) - (nx - 1) / 2.0) * pixel_scale
    y = center_y + (np.arange(ny) - (ny - 1) / 2.0) * pixel_scale
    return np.meshgrid(x, y, indexing="xy")


def lensed_surface_brightness(x, y, deflection: Deflection, groups: Sequence[LightGroup]) -> np.ndarray:
    """Summed surface brightness of every source seen at image-plane points (x, y) [arcsec].

    I(theta) = sum_k I_k(theta - s_k alpha_inf(theta)) (conservation of surface brightness);
    ``deflection(x, y)`` returns alpha_inf [arcsec] at D_LS/D_S = 1 and is called once.
    Units of the result: those of the sources' ``intensity`` (electrons/s/arcsec^2).
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    total = np.zeros(np.broadcast_shapes(x.shape, y.shape))
    if not any(len(g) for g in groups):
        return total
    ax, ay = deflection(x, y)
    lead = (slice(None),) + (None,) * total.ndim
    for group in groups:
        if not len(group):
            continue
        scale = np.asarray(group.scale, dtype=float)[lead]
        params = {k: np.asarray(v, dtype=float)[lead] for k, v in group.params.items()}
        beta_x = x[None] - scale * ax[None]
        beta_y = y[None] - scale * ay[None]
        total += LIGHT_PROFILES[group.profile].surface_brightness(beta_x, beta_y, **params).sum(axis=0)
    return total


def render_sources(
    deflection: Deflection,
    groups: Sequence[LightGroup],
    shape: Sequence[int],
    pixel_scale: float,
    oversampling: int,
    center_x: float = 0.0,
    center_y: float = 0.0,
) -> np.ndarray:
    """Noise-free lensed image [electrons/s per pixel] before the PSF.

    Each pixel holds the mean surface brightness over ``oversampling`` x ``oversampling`` sub-pixel
    centres (:func:`clusterlens.profiles.sersic.integrate_pixels`) times the pixel area
    pixel_scale^2 [arcsec^2]; every sub-pixel is ray-traced once for all sources.
    """
    x, y = pixel_centres(shape, pixel_scale, center_x, center_y)
    n_sources = max(1, sum(len(g) for g in groups))
    per_chunk = max(oversampling**2, POINTS_PER_CHUNK // n_sources)
    mean = sersic.integrate_pixels(lambda xs, ys: lensed_surface_brightness(xs, ys, deflection, groups),
                                   x, y, pixel_scale, oversampling, max_points_per_chunk=per_chunk)
    return mean * pixel_scale**2


def gaussian_psf(fwhm: float, pixel_scale: float, size: int) -> np.ndarray:
    """Circular Gaussian PSF integrated over square pixels, a ``size`` x ``size`` stamp summing to 1.

    The pixel-integrated Gaussian is separable: P_ij = g_i g_j with
    g_k = Phi((k + 1/2)/s) - Phi((k - 1/2)/s), k = -(size-1)/2 ... (size-1)/2, s = sigma / pixel_scale,
    sigma = fwhm / (2 sqrt(2 ln 2)); renormalised to unit sum (the stamp truncates the wings).
    fwhm and pixel_scale in arcsec; size odd, in pixels.
    """
    if not (fwhm > 0 and pixel_scale > 0):
        raise ValueError(f"expected psf fwhm > 0 and pixel_scale > 0 (arcsec), got {fwhm!r}, {pixel_scale!r}")
    if int(size) != size or size < 1 or size % 2 == 0:
        raise ValueError(f"expected an odd positive psf size in pixels, got {size!r}")
    s = fwhm / FWHM_PER_SIGMA / pixel_scale
    k = np.arange(size) - (size - 1) / 2.0
    g = ndtr((k + 0.5) / s) - ndtr((k - 0.5) / s)
    psf = np.outer(g, g)
    return psf / psf.sum()


def convolve(image: np.ndarray, psf: np.ndarray) -> np.ndarray:
    """Image convolved with the PSF (scipy.signal.fftconvolve, same shape, zero padding outside).

    FFT round-off can leave values of order 1e-16 x max below zero; they are clipped to 0 so the
    result is a valid non-negative flux image (electrons/s per pixel).
    """
    from scipy.signal import fftconvolve  # imported here: scipy.signal takes a second to import

    return np.clip(fftconvolve(image, psf, mode="same"), 0.0, None)


def noise_sigma(model_image, background: float, exposure_time: float, read_noise: float) -> np.ndarray:
    """1-sigma noise per pixel [electrons/s]: sqrt((S + B) t + RN^2) / t.

    S: noise-free source image [electrons/s/pixel], B: sky [electrons/s/pixel], t: exposure [s],
    RN: read noise [electrons/pixel]; Poisson variance of the collected electrons plus read noise.
    """
    _check_noise_settings(background, exposure_time, read_noise)
    counts = (np.clip(model_image, 0.0, None) + background) * exposure_time
    return np.sqrt(counts + read_noise**2) / exposure_time


def observe(model_image, background: float, exposure_time: float, read_noise: float,
            rng: np.random.Generator) -> np.ndarray:
    """A noisy, sky-subtracted exposure [electrons/s per pixel] of the noise-free image S.

    data = (N + R) / t - B with N ~ Poisson((S + B) t) electrons and R ~ Normal(0, RN) electrons;
    its expectation is S and its standard deviation :func:`noise_sigma`. Draws: one Poisson array,
    then one normal array, from ``rng``.
    """
    _check_noise_settings(background, exposure_time, read_noise)
    expected = (np.clip(model_image, 0.0, None) + background) * exposure_time
    electrons = rng.poisson(expected).astype(float)
    electrons += rng.normal(0.0, 1.0, size=expected.shape) * read_noise
    return electrons / exposure_time - background


def _check_noise_settings(background, exposure_time, read_noise) -> None:
    if not (exposure_time > 0 and background >= 0 and read_noise >= 0):
        raise ValueError("expected exposure_time > 0 [s], background >= 0 [electrons/s/pixel] and read_noise >= 0 "
                         f"[electrons], got {exposure_time!r}, {background!r}, {read_noise!r}")
