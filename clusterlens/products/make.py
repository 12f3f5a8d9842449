"""Every product of a model or a fit in one folder: curves, regions, images, plots, mass profile.

:func:`make_curves` writes ``curves.csv`` (:mod:`.curves`) and ``curves_z<z>.reg`` (DS9, needs the
``regions`` extra); :func:`make_images` writes ``images.csv`` and ``images.reg``: the observed images
of the dataset (``point_datasets.csv``) and the images the reference model predicts for each of its
point sources (``source_point.csv``; a fit's maximum-likelihood model holds the fitted source
positions); :func:`make_plots` draws ``magnification_z<z>.png`` and, with a dataset, ``data.png`` (its
critical curves traced over the whole data image);
:func:`make_mass_profile` writes ``mass_profile.csv``, ``einstein_radii.csv`` and ``mass_profile.png``.
The FITS maps are :func:`.fits_maps.make_maps`.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import cast

import numpy as np
import pandas as pd

from .. import atomic, csvio
from ..maps import PixelGrid
from ..plot import png_bytes
from ..rows import PointImage
from . import regions_files
from .curves import curve_table, polylines, write_curves
from .fits_maps import check_redshifts, lens_maps, magnification_name
from .map_grid import SkyGrid
from .mass_profile import DEFAULT_RADII, einstein_radii, mass_profile
from .plots import data_figure, magnification_figure, mass_profile_figure
from .posterior import DEFAULT_SAMPLES, ProductInput
from .predict import predict_images
from .sky import from_sky, to_sky

#: largest side (pixels) of the grid the critical curves drawn on data.png are traced on
DATA_CURVE_PIXELS = 300
IMAGE_COLUMNS = ["kind", "name", "image", "x", "y", "ra", "dec", "sigma", "magnification", "parity", "time_delay"]


def make_curves(product: ProductInput, grid: SkyGrid, redshifts: Sequence[float], out: str | os.PathLike,
                regions: bool = True) -> pd.DataFrame:
    """``curves.csv`` and (``regions``) ``curves_z<z>.reg`` of the reference model on the map grid."""
    table = curve_table(product.model, grid, check_redshifts(product.model, redshifts))
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    write_curves(table, out / "curves.csv")
    if regions:
        for z, part in table.groupby("z"):
            both = regions_files.curve_regions(part, "critical")
            both.extend(regions_files.curve_regions(part, "caustic"))
            regions_files.write_regions(both, out / f"curves_z{z:g}.reg")
    return table


def observed_images(product: ProductInput) -> pd.DataFrame:
    """The dataset's point_datasets.csv rows with RA, Dec (empty without a dataset)."""
    path = None if product.dataset is None else product.dataset / "point_datasets.csv"
    if path is None or not path.exists():
        return pd.DataFrame(columns=IMAGE_COLUMNS)
    rows = cast("tuple[PointImage, ...]", csvio.read_family(path, "point_datasets").rows)
    frame = pd.DataFrame([{"name": r.name, "image": r.image, "x": r.x, "y": r.y, "sigma": r.sigma} for r in rows])
    ra, dec = to_sky(frame["x"].to_numpy(float), frame["y"].to_numpy(float), product.model.reference, skycoord=False)
    return frame.assign(kind="observed", ra=ra, dec=dec).reindex(columns=IMAGE_COLUMNS)


def predicted_images(product: ProductInput) -> pd.DataFrame:
    """Images the reference model predicts for each of its point sources (``predict_images``)."""
    model = product.model
    frames = []
    for row in model.source_points:
        ra, dec = to_sky(row.x, row.y, model.reference, skycoord=False)
        found = predict_images(model, float(ra), float(dec), row.redshift)
        frames.append(found.assign(kind="predicted", name=row.name, image=found["image"].astype(str)))
    if not frames:
        return pd.DataFrame(columns=IMAGE_COLUMNS)
    return pd.concat(frames, ignore_index=True).reindex(columns=IMAGE_COLUMNS)


def make_images(product: ProductInput, out: str | os.PathLike, regions: bool = True) -> pd.DataFrame:
    """``images.csv`` (observed and predicted images) and (``regions``) ``images.reg``."""
    observed, predicted = observed_images(product), predicted_images(product)
    table = pd.concat([t for t in (observed, predicted) if len(t)] or [observed], ignore_index=True)
    out = Path(out)
    atomic.write_text(out / "images.csv", csvio.frame_text(table))
    if regions:
        both = regions_files.image_regions(observed, "observed")
        both.extend(regions_files.image_regions(predicted, "predicted"))
        regions_files.write_regions(both, out / "images.reg")
    return table


def data_grid(product: ProductInput) -> PixelGrid:
    """The pixels of the dataset's data.fits in model coordinates ([imaging] of dataset.toml)."""
    s = product.model.dataset.imaging
    return PixelGrid(s.center_x, s.center_y, s.shape, s.pixel_scale)


def make_plots(product: ProductInput, grid: SkyGrid, redshifts: Sequence[float], curves: pd.DataFrame,
               images: pd.DataFrame, out: str | os.PathLike) -> list[Path]:
    """``magnification_z<z>.png`` of the reference model and ``data.png`` when the dataset has data.fits."""
    out = Path(out)
    model = product.model
    written = []
    maps = lens_maps(model, grid.x, grid.y, check_redshifts(model, redshifts), potential=False)
    critical = polylines(curves, "critical")
    pixels = PixelGrid(grid.center_x, grid.center_y, grid.shape, grid.pixel_scale)
    for z in redshifts:
        name = magnification_name(z)
        figure = magnification_figure(maps[name], pixels.extent, float(z), {float(z): critical.get(float(z), [])},
                                      title=f"{model.dataset.name or 'model'}: magnification, source at z = {z:g}")
        written.append(atomic.write_bytes(out / f"{name}.png", png_bytes(figure)))
    if product.dataset is not None and (product.dataset / "data.fits").exists():
        data_path = product.dataset / "data.fits"
        from astropy.io import fits

        data = fits.getdata(data_path).astype(float)
        noise_path = product.dataset / "noise_map.fits"
        noise = float(np.median(fits.getdata(noise_path))) if noise_path.exists() else float(np.std(data))
        softening = 3.0 * noise  # the stretch turns logarithmic at 3 sigma: arcs stand out of the noise
        observed = images[images["kind"] == "observed"]
        predicted = images[images["kind"] == "predicted"]
        extent = data_grid(product).extent
        side = max(extent[1] - extent[0], extent[3] - extent[2])
        step = max(model.dataset.imaging.pixel_scale, side / DATA_CURVE_PIXELS)
        on_data = polylines(curve_table(model, PixelGrid.covering(extent, step), list(redshifts)), "critical")
        figure = data_figure(data, extent, softening or 1.0, on_data, observed, predicted,
                             title=f"{model.dataset.name or 'data'}: data, critical curves, images")
        written.append(atomic.write_bytes(out / "data.png", png_bytes(figure)))
    return written


def make_mass_profile(product: ProductInput, out: str | os.PathLike, redshifts: Sequence[float],
                      center: tuple[float, float] | None = None, radii=DEFAULT_RADII,
                      samples: int = DEFAULT_SAMPLES, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``mass_profile.csv``, ``einstein_radii.csv`` and ``mass_profile.png`` around ``center`` (RA, Dec)
    [deg] (default: the reference, x = y = 0); posterior bands from ``samples`` draws of a fit."""
    model = product.model
    zs = check_redshifts(model, redshifts)
    xy = (0.0, 0.0) if center is None else tuple(float(v) for v in from_sky(*center, reference=model.reference))
    centre = (xy[0], xy[1])
    draws = list(product.draws(samples, seed)) if product.is_posterior else None
    profile = mass_profile(model, radii, centre, draws)
    radii_table = einstein_radii(model, zs, centre, draws)
    out = Path(out)
    atomic.write_text(out / "mass_profile.csv", csvio.frame_text(profile))
    atomic.write_text(out / "einstein_radii.csv", csvio.frame_text(radii_table))
    figure = mass_profile_figure(profile, radii_table, title=f"{model.dataset.name or 'model'}: enclosed mass "
                                                             f"around x = {centre[0]:g}\", y = {centre[1]:g}\"")
    atomic.write_bytes(out / "mass_profile.png", png_bytes(figure))
    return profile, radii_table
