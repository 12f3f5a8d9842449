"""Critical curves and caustics per source redshift as a table of polylines with sky positions.

The curves are traced by :func:`clusterlens.maps.critical_curves` (det A = 0, vertices polished to
the exact root on the grid edges) on the regular model (x, y) grid of a map (:class:`.sky.SkyGrid`)
and mapped to the source plane by :func:`clusterlens.maps.caustics`; RA, Dec come from
:func:`.sky.to_sky`. CSV columns: ``z`` (source redshift), ``kind`` (critical or caustic), ``curve``
(1, 2, ... per redshift and kind; a caustic has the number of its critical curve), ``closed``
(True when the polyline returns to its first point; an open one leaves the grid), ``x``, ``y``
[arcsec], ``ra``, ``dec`` [deg], one row per vertex in order.
"""
from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import pandas as pd

from .. import atomic, csvio
from ..maps import PixelGrid, caustics, critical_curves
from ..model import ClusterModel
from .map_grid import SkyGrid
from .sky import to_sky

COLUMNS = ["z", "kind", "curve", "closed", "x", "y", "ra", "dec"]


def curve_grid(grid: SkyGrid) -> PixelGrid:
    """The regular model-coordinate grid of a map's pixels (same centre, shape and pixel side)."""
    return PixelGrid(grid.center_x, grid.center_y, grid.shape, grid.pixel_scale)


def curve_table(model: ClusterModel, grid: SkyGrid | PixelGrid, redshifts: Sequence[float]) -> pd.DataFrame:
    """Critical curves and caustics of ``model`` for each source redshift (module docstring) on ``grid``."""
    pixels = curve_grid(grid) if isinstance(grid, SkyGrid) else grid
    frames = []
    for z in redshifts:
        scale = model.distance_ratio(z)
        critical = critical_curves(model.lens, pixels, scale)
        for kind, lines in (("critical", critical), ("caustic", caustics(model.lens, critical, scale))):
            for number, line in enumerate(lines, start=1):
                line = np.asarray(line, float)
                closed = bool(len(line) > 2 and np.array_equal(line[0], line[-1]))
                ra, dec = to_sky(line[:, 0], line[:, 1], model.reference, skycoord=False)
                frames.append(pd.DataFrame({"z": float(z), "kind": kind, "curve": number, "closed": closed,
                                            "x": line[:, 0], "y": line[:, 1], "ra": ra, "dec": dec}))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=COLUMNS)


def polylines(table: pd.DataFrame, kind: str = "critical") -> dict[float, list[np.ndarray]]:
    """``{z: [(N, 2) arrays of x, y]}`` of one ``kind`` from a :func:`curve_table` (for plots)."""
    out: dict[float, list[np.ndarray]] = {}
    chosen = table[table["kind"] == kind]
    for (z, _), part in chosen.groupby([chosen["z"].astype(float), "curve"], sort=True):
        out.setdefault(float(z), []).append(  # type: ignore[arg-type]  # z: the float column
part[["x", "y"]].to_numpy(float))
    return out


def write_curves(table: pd.DataFrame, path: str | os.PathLike) -> None:
    """Write a :func:`curve_table` as CSV (atomically)."""
    atomic.write_text(path, csvio.frame_text(table[COLUMNS]))
