"""The pixels of the maps: a celestial TAN WCS and the model (x, y) of every pixel centre.

The maps' pixels are defined by a FITS TAN WCS built exactly as the simulated ``data.fits`` builds
its own (:func:`clusterlens.simulation.fits_output.celestial_wcs`: CRVAL at the reference, North up,
East left). Each map pixel is evaluated at the model (x, y) of its centre's sky position (WCS pixel
-> RA, Dec -> :func:`clusterlens.units.sky_offsets`), so a map value is the model at that pixel's place
on the sky, exactly.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..simulation.fits_output import celestial_wcs
from ..units import sky_offsets

if TYPE_CHECKING:
    from astropy.wcs import WCS


@dataclass(frozen=True)
class SkyGrid:
    """The pixels of a map: ``wcs`` (FITS TAN, North up, East left), ``shape`` = (ny, nx), and the
    model offsets ``x``, ``y`` [arcsec] of every pixel centre (arrays of ``shape``, row 0 at the bottom).

    ``center_x``, ``center_y`` [arcsec] and ``pixel_scale`` [arcsec] are the grid's nominal centre and
    pixel side (the regular x, y grid of :class:`clusterlens.maps.PixelGrid` that the critical curves
    are traced on)."""

    wcs: WCS
    shape: tuple[int, int]
    pixel_scale: float
    center_x: float
    center_y: float
    x: np.ndarray
    y: np.ndarray


def sky_grid(reference: tuple[float, float], size: int | tuple[int, int], pixel_scale: float,
             center_x: float = 0.0, center_y: float = 0.0) -> SkyGrid:
    """Map pixels: ``size`` pixels a side (or (ny, nx)) of ``pixel_scale`` arcsec centred on model
    offsets (center_x, center_y) [arcsec], the WCS of ``data.fits`` (module docstring)."""
    ny, nx = (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))
    if ny < 2 or nx < 2:
        raise ValueError(f"map size must be at least 2 pixels a side, got {size!r}")
    if not (np.isfinite(pixel_scale) and pixel_scale > 0):
        raise ValueError(f"pixel scale must be a positive number of arcsec, got {pixel_scale!r}")
    wcs = celestial_wcs(reference, (ny, nx), float(pixel_scale), float(center_x), float(center_y))
    columns, rows = np.meshgrid(np.arange(nx, dtype=float), np.arange(ny, dtype=float))
    ra, dec = wcs.wcs_pix2world(columns, rows, 0)
    x, y = sky_offsets(ra, dec, *reference)
    return SkyGrid(wcs, (ny, nx), float(pixel_scale), float(center_x), float(center_y), x, y)
