"""The image finder: steps 1-4 put together, then steps 5 and 6 of :mod:`clusterlens.solver`.

**Verification.**  An image is kept only if ``|beta(theta) - beta_s| < precision`` (1e-8 arcsec
by default).  Two solutions are one image when they have the same parity and are closer than u_i + u_j with
u = ``duplicate_tolerance`` + residual * |mu| (how far a solution with that residual can lie from
the exact root); the one with the smaller residual is kept.  Opposite parities are never merged:
the two images of a source just inside a fold caustic straddle the critical curve, as close as
the source is to the caustic allows.

**Observables.**  Magnification ``mu = 1/det A`` (signed), parity ``sign(det A)``, arrival order
from the Fermat potential ``phi = |theta - beta|^2 / 2 - psi(theta)`` (psi at the source's
``scale``), and the time delay ``dt = D_dt / c * (phi - phi_first)`` with angles in radians and
``D_dt = (1 + z_l) D_L D_S / D_LS`` (Narayan & Bartelmann 1996), which already holds the
(1 + z_l) factor.
"""

from __future__ import annotations

import math
import warnings
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from .. import cosmology
from ..units import DAYS_PER_MPC_ARCSEC2, as_arcsec
from .geometry import signed_areas
from .index import SourcePlaneIndex, accept_candidates, fold_padding
from .mesh import build_mesh
from .newton import polish
from .region import (
    check_positive,
    check_region,
    check_scale,
    default_region,
    source_coverage,
)

DEFAULT_BASE_CELLS = 128          # base cells along the longer side of the region
DEFAULT_CRITICAL_REFINEMENT = 8   # critical_cell_size = cell_size / this
DEFAULT_MIN_REFINEMENT = 64       # min_cell_size = cell_size / this


def _as_source_arrays(x_source, y_source) -> tuple[np.ndarray, np.ndarray]:
    xs = np.asarray(x_source, dtype=float).ravel()
    ys = np.asarray(y_source, dtype=float).ravel()
    if xs.shape != ys.shape:
        raise ValueError(f"x_source and y_source must have the same length, got {xs.size} and {ys.size}")
    if not (np.all(np.isfinite(xs)) and np.all(np.isfinite(ys))):
        raise ValueError("source positions must be finite numbers (arcsec)")
    return xs, ys


class ImageFinder:
    """Reusable image search for one lens at one source redshift (``scale`` = D_LS/D_S).

    Builds the image-plane mesh once (algorithm: :mod:`clusterlens.solver`); ``find`` and
    ``find_many`` then solve for any number of sources.

    Parameters
    ----------
    lens: object with ``deflection(x, y, scale)``, ``hessian(x, y, scale)``,
        ``potential(x, y, scale)`` (arcsec, dimensionless, arcsec^2) and optionally ``groups``
        (clusterlens.lens.MassComponents, used for the default region and centre refinement).
    scale: D_LS/D_S of the sources.
    region: (xmin, xmax, ymin, ymax) arcsec searched; default :func:`default_region`.
    cell_size: base cell side (arcsec); default: the longer region side / 128.
    critical_cell_size: finest cell near critical curves (arcsec); default cell_size / 8.
    min_cell_size: finest cell at component centres (arcsec); default cell_size / 64.
    precision: largest accepted |beta(theta) - beta_s| (arcsec).
    duplicate_tolerance: solutions closer than this (arcsec) are one image.
    """

    def __init__(
        self,
        lens,
        scale: float,
        region=None,
        *,
        cell_size: float | None = None,
        critical_cell_size: float | None = None,
        min_cell_size: float | None = None,
        precision: float = 1e-8,
        duplicate_tolerance: float = 1e-6,
    ):
        self.lens = lens
        self.scale = check_scale(scale)
        self.region = check_region(default_region(lens, self.scale) if region is None else region)
        xmin, xmax, ymin, ymax = self.region
        h0 = (max(xmax - xmin, ymax - ymin) / DEFAULT_BASE_CELLS) if cell_size is None else cell_size
        h0 = check_positive("cell_size", h0)
        self.precision = check_positive("precision", precision)
        self.duplicate_tolerance = check_positive("duplicate_tolerance", duplicate_tolerance)
        self.critical_cell_size = check_positive(
            "critical_cell_size", h0 / DEFAULT_CRITICAL_REFINEMENT if critical_cell_size is None else critical_cell_size
        )
        self.mesh = build_mesh(
            lens,
            self.scale,
            self.region,
            cell_size=h0,
            critical_cell_size=self.critical_cell_size,
            min_cell_size=h0 / DEFAULT_MIN_REFINEMENT if min_cell_size is None else min_cell_size,
        )
        m = self.mesh
        t = m.triangles
        bx, by = m.beta_x[t], m.beta_y[t]
        # fold triangles: a vertex shared by triangles of both orientations (a critical curve)
        sign = np.nan_to_num(np.sign(signed_areas(bx, by)))
        low = np.full(m.x.size, 2.0)
        high = np.full(m.x.size, -2.0)
        np.minimum.at(low, t.ravel(), np.repeat(sign, 3))
        np.maximum.at(high, t.ravel(), np.repeat(sign, 3))
        fold = np.any((low < high)[t], axis=1) | (sign == 0)
        self._pad = fold_padding(bx, by, fold)
        self.index = SourcePlaneIndex(bx[:, 0], by[:, 0], bx[:, 1], by[:, 1], bx[:, 2], by[:, 2], pad=self._pad)
        del bx, by

    # --- public ---------------------------------------------------------------------------
    @cached_property
    def coverage(self) -> tuple[float, float, float, float] | None:
        """Source-plane box (arcsec) whose sources have every image inside the region
        (:func:`clusterlens.solver.region.source_coverage`), None when there is none; computed on
        first use."""
        return source_coverage(self.lens, self.scale, self.region)

    def positions(self, x_source, y_source) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The verified, deduplicated images inside the region of many sources (1-D arrays,
        arcsec), without the coverage check and the arrival times of :meth:`find_many` (for a
        search of a small window, where images outside it are expected).  Returns (index of the
        source, x, y in arcsec, signed magnification), in no particular order."""
        xs, ys = _as_source_arrays(x_source, y_source)
        src, x, y, det, _ = self._deduplicate(*self._solve(xs, ys))
        with np.errstate(divide="ignore"):
            return src, x, y, 1.0 / det

    def covers(self, x_source, y_source) -> np.ndarray:
        """True where a source (arcsec) lies where all its images are inside the region."""
        xs, ys = _as_source_arrays(x_source, y_source)
        if self.coverage is None:
            return np.zeros(xs.shape, dtype=bool)
        xmin, xmax, ymin, ymax = self.coverage
        return (xs >= xmin) & (xs <= xmax) & (ys >= ymin) & (ys <= ymax)

    def find(self, x_source: float, y_source: float, *, min_abs_magnification: float | None = None,
             time_delay_distance: float | None = None) -> pd.DataFrame:
        """Images of one source at (x_source, y_source) arcsec.

        Returns a DataFrame sorted by arrival time with columns x, y (arcsec), magnification
        (signed 1/det A), parity (+1/-1), time_delay (days after the first image of the table;
        NaN without ``time_delay_distance``, the time-delay distance D_dt in Mpc).  Images with
        |mu| below ``min_abs_magnification`` are dropped, when it is given, before the delays
        are referred to the first image.
        """
        if np.ndim(x_source) or np.ndim(y_source):
            raise ValueError("find takes one source (two scalars); use find_many for arrays")
        table = self.find_many([x_source], [y_source], min_abs_magnification=min_abs_magnification,
                               time_delay_distance=time_delay_distance)
        return table.drop(columns="source").reset_index(drop=True)

    def find_many(self, x_source, y_source, *, min_abs_magnification: float | None = None,
                  time_delay_distance: float | None = None) -> pd.DataFrame:
        """Images of many sources (1-D arrays, arcsec) with the same mesh.

        Returns one DataFrame with a ``source`` column (position of the source in the inputs)
        followed by the columns of :meth:`find`, sorted by source then arrival time.
        """
        xs, ys = _as_source_arrays(x_source, y_source)
        if time_delay_distance is not None:
            time_delay_distance = check_positive("time_delay_distance", time_delay_distance)
        if min_abs_magnification is not None and not (float(min_abs_magnification) >= 0):
            raise ValueError(f"min_abs_magnification must be >= 0, got {min_abs_magnification!r}")
        outside = ~self.covers(xs, ys)
        if np.any(outside):
            warnings.warn(
                f"{int(outside.sum())} source(s) lie outside the region where all images are guaranteed "
                f"to fall inside the search region {self.region}; give a larger region",
                RuntimeWarning,
                stacklevel=2,
            )
        src, x, y, det, _ = self._deduplicate(*self._solve(xs, ys))
        with np.errstate(divide="ignore"):
            mu = 1.0 / det
        if min_abs_magnification is not None:
            bright = np.abs(mu) >= float(min_abs_magnification)
            src, x, y, det, mu = src[bright], x[bright], y[bright], det[bright], mu[bright]
        psi = self.lens.potential(x, y, scale=self.scale)
        fermat = 0.5 * ((x - xs[src]) ** 2 + (y - ys[src]) ** 2) - psi
        order = np.lexsort((fermat, src))
        src, x, y, det, mu, fermat = (a[order] for a in (src, x, y, det, mu, fermat))
        if time_delay_distance is None:
            delay = np.full(src.size, np.nan)
        else:
            first = np.full(xs.size, np.inf)
            np.minimum.at(first, src, fermat)
            delay = time_delay_distance * DAYS_PER_MPC_ARCSEC2 * (fermat - first[src])
        return pd.DataFrame({"source": src, "x": x, "y": y, "magnification": mu,
                             "parity": np.sign(det).astype(np.int64), "time_delay": delay})

    # --- internals ------------------------------------------------------------------------
    def _solve(self, xs, ys):
        """All converged solutions (source index, x, y, det A, residual), duplicates included."""
        src, tri = self.index.candidates(xs, ys)
        m = self.mesh
        t = m.triangles[tri]
        accepted, x0, y0 = accept_candidates(xs[src], ys[src], m.x[t], m.y[t], m.beta_x[t], m.beta_y[t], self._pad[tri])
        src, tri, x0, y0 = src[accepted], tri[accepted], x0[accepted], y0[accepted]
        x, y, res, det = polish(self.lens, self.scale, x0, y0, xs[src], ys[src], 2.0 * self.mesh.triangle_size[tri])
        ok = res < self.precision
        return src[ok], x[ok], y[ok], det[ok], res[ok]

    def _deduplicate(self, src, x, y, det, res):
        """Merge solutions of one source that are one image: same parity, closer than u_i + u_j with
        u = duplicate_tolerance + residual * min(|mu|, 1e6) (how far a solution with that
        residual can sit from the exact image); the smallest residual is kept."""
        if src.size < 2:
            return src, x, y, det, res
        order = np.argsort(res, kind="stable")
        src, x, y, det, res = (a[order] for a in (src, x, y, det, res))
        with np.errstate(divide="ignore"):
            reach = self.duplicate_tolerance + res * np.minimum(1.0 / np.abs(det), 1e6)
        # the source index on a third axis keeps sources apart
        offset = 1e3 * (1.0 + np.max(np.abs(np.concatenate([x, y]))) + np.max(reach))
        points = np.column_stack([x, y, src * offset])
        pairs = cKDTree(points).query_pairs(2 * np.max(reach), output_type="ndarray")
        if pairs.size:
            i, j = pairs[:, 0], pairs[:, 1]
            close = np.hypot(x[i] - x[j], y[i] - y[j]) <= reach[i] + reach[j]
            pairs = pairs[close & (src[i] == src[j]) & (np.sign(det[i]) == np.sign(det[j]))]
        graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(src.size, src.size))
        _, label = connected_components(graph, directed=False)
        _, keep = np.unique(label, return_index=True)
        return src[keep], x[keep], y[keep], det[keep], res[keep]


def find_lens_images(
    lens,
    x_source,
    y_source,
    scale: float,
    *,
    region=None,
    min_abs_magnification: float | None = None,
    time_delay_distance: float | None = None,
    **mesh_options: Any,
) -> pd.DataFrame:
    """Every image of a point source at (x_source, y_source) arcsec behind ``lens``.

    scale: D_LS/D_S of the source; region: (xmin, xmax, ymin, ymax) arcsec searched (default
    derived from the lens); min_abs_magnification: drop images with |mu| below it (none dropped
    by default; 0.1 is a common choice); time_delay_distance: D_dt in Mpc for time delays (days);
    mesh_options: cell_size, critical_cell_size, min_cell_size, precision, duplicate_tolerance
    of :class:`ImageFinder`.  Scalars give the table of :meth:`ImageFinder.find`, arrays the
    table of :meth:`ImageFinder.find_many`.  Build an :class:`ImageFinder` to reuse the mesh.
    """
    finder = ImageFinder(lens, scale, region, **mesh_options)
    if np.ndim(x_source) == 0 and np.ndim(y_source) == 0:
        return finder.find(x_source, y_source, min_abs_magnification=min_abs_magnification,
                           time_delay_distance=time_delay_distance)
    return finder.find_many(x_source, y_source, min_abs_magnification=min_abs_magnification,
                            time_delay_distance=time_delay_distance)


def find_images(model, x_source, y_source, z_source: float, **options: Any) -> pd.DataFrame:
    """Images of a source at (x_source, y_source) arcsec and redshift ``z_source`` behind a model.

    ``model`` is any object with ``lens`` (clusterlens.lens.Lens), ``z_lens`` and ``cosmology``;
    the deflection scale D_LS/D_S and the time-delay distance come from clusterlens.cosmology. A
    multi-plane :class:`~clusterlens.model.ClusterModel` is searched through its ``lens_toward(z_source)``
    (:class:`clusterlens.multiplane.TracedLens`), time delays from the multi-plane arrival time.
    options: as :func:`find_lens_images` (region, min_abs_magnification, mesh options).
    The source position and ``region`` may also be astropy Quantities in any angle unit.
    """
    x_source, y_source = as_arcsec(x_source, "x_source"), as_arcsec(y_source, "y_source")
    if options.get("region") is not None:
        options["region"] = as_arcsec(options["region"], "region")
    z_source = float(z_source)
    if model.z_lens is None:
        raise ValueError("the model has no lens rows (host_halo, main_lens_mass or scaling_galaxies)")
    if not math.isfinite(z_source):
        raise ValueError(f"z_source must be a finite redshift, got {z_source}")
    if getattr(model, "is_multiplane", False):
        lens, scale = model.lens_toward(z_source)
        return find_lens_images(lens, x_source, y_source, scale, time_delay_distance=lens.time_delay_distance,
                                **options)
    if not z_source > model.z_lens:
        raise ValueError(f"z_source must exceed the lens redshift {model.z_lens}, got {z_source}")
    scale = cosmology.distance_ratio(model.cosmology, model.z_lens, z_source)
    d_dt = cosmology.time_delay_distance(model.cosmology, model.z_lens, z_source)
    return find_lens_images(model.lens, x_source, y_source, scale, time_delay_distance=float(d_dt), **options)
