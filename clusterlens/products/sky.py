"""Sky coordinates of model positions: x, y [arcsec] <-> RA, Dec [deg] or astropy SkyCoord.

Model positions are offsets (x, y) in arcsec from the dataset's reference (RA0, Dec0) with the
convention of :func:`clusterlens.units.sky_offsets` (x = -(RA - RA0) cos(Dec0) 3600, positive to
the West; y = (Dec - Dec0) 3600, positive to the North). :func:`to_sky` and :func:`from_sky` are
that convention and its inverse, taking and giving degrees or astropy ``SkyCoord`` (ICRS).
"""
from __future__ import annotations

import numpy as np

from ..units import as_arcsec, sky_offsets, sky_positions


def to_sky(x, y, reference: tuple[float, float], *, skycoord: bool = True):
    """Sky position of model offsets x, y [arcsec, or angle Quantities] from ``reference`` = (RA0, Dec0) [deg].

    Returns an ICRS ``SkyCoord`` (``skycoord=True``), else (ra, dec) float arrays in degrees with
    RA reduced into [0, 360)."""
    ra, dec = sky_positions(as_arcsec(x, "x"), as_arcsec(y, "y"), *reference)
    ra = np.remainder(ra, 360.0)
    if not skycoord:
        return ra, dec
    from astropy.coordinates import SkyCoord

    return SkyCoord(ra=ra, dec=dec, unit="deg", frame="icrs")


def from_sky(ra, dec=None, *, reference: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """Model offsets (x, y) [arcsec] from ``reference`` = (RA0, Dec0) [deg] of sky positions.

    ``ra`` is a ``SkyCoord`` (any frame; converted to ICRS) with ``dec`` omitted, or RA and Dec in
    degrees (numbers, arrays, or astropy angle Quantities)."""
    if dec is None:
        if not _is_skycoord(ra):
            raise ValueError("from_sky: give a SkyCoord, or both ra and dec (degrees or angle Quantities)")
        icrs = ra.icrs
        ra_deg, dec_deg = icrs.ra.deg, icrs.dec.deg
    else:
        ra_deg, dec_deg = _degrees(ra, "ra"), _degrees(dec, "dec")
    x, y = sky_offsets(ra_deg, dec_deg, *reference)
    return np.asarray(x, float), np.asarray(y, float)


def _is_skycoord(value) -> bool:
    return type(value).__name__ == "SkyCoord" and type(value).__module__.startswith("astropy")


def _degrees(value, name: str) -> np.ndarray:
    """Degrees of a number/array (degrees already) or of an angle Quantity (any angle unit)."""
    converted = as_arcsec(value, name)  # Quantities -> arcsec; plain numbers come back as they are
    return np.asarray(value, float) if converted is value else np.asarray(converted, float) / 3600.0


def parse_sky(text: str, what: str = "position") -> tuple[float, float]:
    """(RA, Dec) [deg] from ``"RA,DEC"``: decimal degrees (``64.0381,-24.0675``) or sexagesimal
    (``04:16:09.1,-24:04:03``, RA in hours). ValueError naming ``what`` otherwise."""
    parts = [p.strip() for p in str(text).split(",")]
    if len(parts) != 2 or not all(parts):
        raise ValueError(f"{what}: expected RA,DEC (degrees, or hh:mm:ss,dd:mm:ss), got {text!r}")
    try:
        return float(parts[0]), float(parts[1])
    except ValueError:
        pass
    from astropy.coordinates import SkyCoord

    try:
        coord = SkyCoord(parts[0], parts[1], unit=("hourangle", "deg"), frame="icrs")
    except ValueError as err:
        raise ValueError(f"{what}: cannot read {text!r} as RA,DEC ({err})") from None
    return float(coord.ra.deg), float(coord.dec.deg)


def parse_sky_redshift(text: str, what: str) -> tuple[float, float, float]:
    """(RA [deg], Dec [deg], z) from ``"RA,DEC,Z"`` (RA, Dec as :func:`parse_sky`)."""
    head, _, z = str(text).rpartition(",")
    if str(text).count(",") != 2:
        raise ValueError(f"{what}: expected RA,DEC,Z (degrees or hh:mm:ss,dd:mm:ss, then a redshift), got {text!r}")
    try:
        redshift = float(z)
    except ValueError:
        raise ValueError(f"{what}: expected RA,DEC,Z (the last a redshift), got {text!r}") from None
    ra, dec = parse_sky(head, what)
    return ra, dec, redshift
