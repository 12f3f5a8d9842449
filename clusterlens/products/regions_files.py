"""DS9 region files of critical curves, caustics and images, written with astropy ``regions``.

``regions`` is an optional extra (``pip install "clusterlens[regions]"``); it is imported only here,
when a region file is made. Regions are in ICRS sky coordinates, so DS9 places them on any image
with a celestial WCS (``data.fits``, the maps). A closed curve is a ``polygon``; a curve that leaves
the map's grid is a chain of ``line`` segments (DS9 and ``regions`` have no sky polyline). Images are
``circle`` regions (radius: the positional error, or 0.3 arcsec) for observed images and ``x``
points for predicted ones, labelled ``<name>.<image>``.
"""
from __future__ import annotations

import importlib.util
import os

import numpy as np
import pandas as pd

from .. import atomic

EXTRA = 'pip install "clusterlens[regions]"'
DEFAULT_RADIUS = 0.3  # arcsec, for an image without a positional error
COLOURS = {"critical": "red", "caustic": "cyan", "observed": "green", "predicted": "magenta"}


def available() -> bool:
    """True when the ``regions`` package can be imported."""
    return importlib.util.find_spec("regions") is not None


def _regions():
    try:
        import regions
    except ImportError:
        raise ImportError(f"DS9 region files need the astropy 'regions' package: {EXTRA}") from None
    return regions


def curve_regions(table: pd.DataFrame, kind: str = "critical"):
    """``regions.Regions`` of one ``kind`` (critical or caustic) of a :func:`.curves.curve_table`, each
    tagged with its kind and labelled with its redshift (module docstring)."""
    from astropy.coordinates import SkyCoord

    rg = _regions()
    out = []
    for (z, _), part in table[table["kind"] == kind].groupby(["z", "curve"], sort=True):
        coords = SkyCoord(part["ra"].to_numpy(float), part["dec"].to_numpy(float), unit="deg", frame="icrs")
        meta = {"tag": [kind], "text": f"z={z:g}"}
        visual = {"color": COLOURS[kind]}
        if bool(part["closed"].iloc[0]):
            out.append(rg.PolygonSkyRegion(coords[:-1], meta=rg.RegionMeta(meta), visual=rg.RegionVisual(visual)))
        else:
            for i in range(len(coords) - 1):
                first = {**meta} if i == 0 else {"tag": [kind]}
                out.append(rg.LineSkyRegion(coords[i], coords[i + 1], meta=rg.RegionMeta(first),
                                            visual=rg.RegionVisual(visual)))
    return rg.Regions(out)


def image_regions(images: pd.DataFrame, kind: str = "observed"):
    """``regions.Regions`` of images: a table with ``name``, ``image``, ``ra``, ``dec`` [deg] and
    optionally ``sigma`` [arcsec]; ``kind`` observed (circles) or predicted (x points)."""
    import astropy.units as u
    from astropy.coordinates import SkyCoord

    rg = _regions()
    out = []
    sigma = images["sigma"].to_numpy(float) if "sigma" in images else np.full(len(images), DEFAULT_RADIUS)
    for (name, image, ra, dec), radius in zip(images[["name", "image", "ra", "dec"]].itertuples(index=False),
                                              sigma, strict=True):
        centre = SkyCoord(float(ra), float(dec), unit="deg", frame="icrs")
        meta = rg.RegionMeta({"text": f"{name}.{image}", "tag": [kind]})
        if kind == "observed":
            visual = rg.RegionVisual({"color": COLOURS[kind]})
            out.append(rg.CircleSkyRegion(centre, float(radius) * u.arcsec, meta=meta, visual=visual))
        else:
            visual = rg.RegionVisual({"color": COLOURS[kind], "marker": "x"})
            out.append(rg.PointSkyRegion(centre, meta=meta, visual=visual))
    return rg.Regions(out)


def write_regions(regions, path: str | os.PathLike) -> None:
    """Write ``regions.Regions`` as a DS9 region file (atomically)."""
    atomic.write_text(path, regions.serialize(format="ds9"))
