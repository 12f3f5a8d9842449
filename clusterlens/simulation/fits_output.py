"""FITS images with a celestial WCS that matches the model's x, y convention, written deterministically.

Sky convention (:func:`clusterlens.units.sky_offsets`, docs/conventions.md#positions-on-the-sky):
x = -(RA - RA0) cos(Dec0) 3600 (positive to the West), y = (Dec - Dec0) 3600 (positive to the North),
arcsec. The WCS is a gnomonic (TAN) projection about the reference point
(CRVAL = RA0, Dec0) with CDELT1 = -pixel_scale/3600 (RA increases to the East, i.e. towards lower
column index, as x increases with it) and CDELT2 = +pixel_scale/3600, so the intermediate world
coordinates are exactly (-x, y)/3600 deg. CRPIX puts x = y = 0 where the model grid has it:
column j (0-based) has x = center_x + (j - (nx-1)/2) pixel_scale, so the FITS (1-based) pixel of x = 0
is CRPIX1 = (nx + 1)/2 - center_x/pixel_scale, and likewise CRPIX2 with ny and center_y.
TAN and the flat-sky relation above agree to second order in the offset (about 1e-4 arcsec at 10 arcsec).

The headers hold no date or time (astropy adds none here), so the same data give the same bytes.
"""
from __future__ import annotations

import io
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from ..units import ARCSEC_PER_DEG

if TYPE_CHECKING:
    from astropy.wcs import WCS


def celestial_wcs(reference: tuple[float, float], shape: Sequence[int], pixel_scale: float,
                  center_x: float = 0.0, center_y: float = 0.0) -> WCS:
    """TAN WCS of an image of ``shape = (ny, nx)`` pixels of ``pixel_scale`` arcsec (module docstring)."""
    from astropy.wcs import WCS  # astropy.wcs and astropy.io.fits load only when a FITS file is made

    ny, nx = (int(n) for n in shape)
    ra0, dec0 = (float(v) for v in reference)
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.cunit = ["deg", "deg"]
    wcs.wcs.crval = [ra0, dec0]
    wcs.wcs.cdelt = [-pixel_scale / ARCSEC_PER_DEG, pixel_scale / ARCSEC_PER_DEG]
    wcs.wcs.crpix = [(nx + 1) / 2.0 - center_x / pixel_scale, (ny + 1) / 2.0 - center_y / pixel_scale]
    wcs.wcs.radesys = "ICRS"
    wcs.wcs.set()
    return wcs


def offset_wcs(shape: Sequence[int], pixel_scale: float) -> WCS:
    """A linear WCS in arcsec from the stamp's centre, for a PSF stamp: no sky position, since a PSF has
    none (a celestial WCS would place it at the reference point)."""
    from astropy.wcs import WCS

    ny, nx = shape
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["LINEAR", "LINEAR"]
    wcs.wcs.cunit = ["arcsec", "arcsec"]
    wcs.wcs.crval = [0.0, 0.0]
    wcs.wcs.cdelt = [pixel_scale, pixel_scale]
    wcs.wcs.crpix = [(nx + 1) / 2.0, (ny + 1) / 2.0]
    wcs.wcs.set()
    return wcs


def fits_bytes(data: np.ndarray, wcs: WCS, cards: Sequence[tuple[str, object, str]]) -> bytes:
    """A single-HDU FITS file (float64 data) with the WCS and the extra ``(keyword, value, comment)`` cards."""
    from astropy.io import fits

    header = wcs.to_header()
    for key, value, comment in cards:
        header[key] = (value, comment)
    hdu = fits.PrimaryHDU(np.ascontiguousarray(data, dtype=np.float64), header=header)
    buffer = io.BytesIO()
    hdu.writeto(buffer)
    return buffer.getvalue()
