"""The ``[imaging]`` field of an imported Lenstool model: a square that shows the whole cluster.

The default field (200 pixels of 0.2 arcsec, 40 arcsec) shows a fraction of a cluster-scale model, so
the importer sizes it to the model (:func:`imported_imaging`): a square centred on the middle of the
observed images and the host and main lens centres, with a side of their largest extent plus
:data:`MARGIN_FRACTION` of it on each side (at least :data:`MIN_SIDE`), at the default pixel scale
while that needs at most :data:`MAX_PIXELS` pixels a side, else at the 1-2-2.5-5 scale that fits in them.

It is derived from the records alone, the same way for an optimisation file and for the ``.par`` that
:func:`clusterlens.lenstool.write_par` writes from the imported model, so exporting a plain import
writes no ``#clusterlens-dataset`` directive for it (a changed field is one).
"""
from __future__ import annotations

import math

from ..dataset import Imaging

#: Margin around the images and lens centres on each side, as a fraction of their largest extent.
MARGIN_FRACTION = 0.15
#: The smallest side of a derived field [arcsec].
MIN_SIDE = 40.0
#: The most pixels a side of a derived field has.
MAX_PIXELS = 1000
#: The largest pixel scale [arcsec/pixel] (the dataset's limit).
MAX_SCALE = 100.0
#: Field centres are rounded to this step [arcsec].
CENTRE_STEP = 0.1

_LENS_FAMILIES = ("host_halo", "main_lens_mass")


def imported_imaging(records: dict[str, list[dict]]) -> dict | None:
    """The ``[imaging]`` settings (shape, pixel_scale, center_x, center_y) covering the observed images
    (``point_datasets`` x, y [arcsec]) and the centres of the ``host_halo`` and ``main_lens_mass`` rows;
    None when the records place nothing (rows without x, y, e.g. an external shear, are left out) or
    spread over more than :data:`MAX_PIXELS` pixels of :data:`MAX_SCALE`."""
    points = [(row["x"], row["y"]) for family in ("point_datasets", *_LENS_FAMILIES)
              for row in records.get(family, []) if row.get("x") is not None and row.get("y") is not None]
    if not points:
        return None
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    extent = max(max(xs) - min(xs), max(ys) - min(ys))
    side = max(extent * (1 + 2 * MARGIN_FRACTION), MIN_SIDE)
    default = Imaging()
    scale = default.pixel_scale
    if side / scale > MAX_PIXELS:
        scale = min(_nice_scale(side / MAX_PIXELS), MAX_SCALE)
    pixels = math.ceil(side / scale)
    if pixels > MAX_PIXELS:  # positions over more than a degree: no field shows them all, keep the default
        return None
    return {"shape": [pixels, pixels], "pixel_scale": scale,
            "center_x": _rounded((max(xs) + min(xs)) / 2), "center_y": _rounded((max(ys) + min(ys)) / 2)}


def _nice_scale(least: float) -> float:
    """The smallest of 1, 2, 2.5, 5 times a power of ten that is at least ``least`` [arcsec/pixel]."""
    power = 10.0 ** math.floor(math.log10(least))
    return next(round(m * power, 12) for m in (1.0, 2.0, 2.5, 5.0, 10.0) if m * power >= least * (1 - 1e-12))


def _rounded(value: float) -> float:
    return round(round(value / CENTRE_STEP) * CENTRE_STEP, 6) + 0.0
