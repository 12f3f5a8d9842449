"""DS9 region files read back with astropy ``regions`` land on the right pixels of data.fits."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from astropy.io import fits
from astropy.wcs import WCS

import clusterlens
from clusterlens.products import open_input
from clusterlens.products.fits_maps import map_grid
from clusterlens.products.make import make_curves, make_images

regions = pytest.importorskip("regions")
pytestmark = pytest.mark.extras


def expected_pixel(model, x, y):
    """0-based (column, row) of model x, y [arcsec] in data.fits ([imaging] grid: column j has
    x = center_x + (j - (nx - 1)/2) pixel_scale, row i likewise)."""
    s = model.dataset.imaging
    ny, nx = s.shape
    return ((np.asarray(x) - s.center_x) / s.pixel_scale + (nx - 1) / 2,
            (np.asarray(y) - s.center_y) / s.pixel_scale + (ny - 1) / 2)


def test_image_and_curve_regions_land_on_the_data_pixels(products_inputs, tmp_path):
    dataset, _ = products_inputs
    model = clusterlens.load_model(dataset)
    wcs = WCS(fits.getheader(dataset / "data.fits"))
    product = open_input(dataset)
    images = make_images(product, tmp_path / "out")
    curves = make_curves(product, map_grid(model, 1.0, 60), [2.0], tmp_path / "out")

    read = regions.Regions.read(tmp_path / "out" / "images.reg", format="ds9")
    observed = pd.read_csv(dataset / "point_datasets.csv")
    circles = [r for r in read if "observed" in r.meta.get("tag", [])]
    points = [r for r in read if "predicted" in r.meta.get("tag", [])]
    assert [r.meta["text"] for r in circles] == [f"{n}.{i}" for n, i in zip(observed["name"], observed["image"],
                                                                            strict=True)]
    assert len(points) == len(images[images["kind"] == "predicted"]) > 0
    centres = np.array([r.to_pixel(wcs).center.xy for r in circles])
    np.testing.assert_allclose(centres, np.column_stack(expected_pixel(model, observed["x"], observed["y"])),
                               atol=1e-4)  # 1e-4 pixel: the TAN projection against flat-sky offsets
    np.testing.assert_allclose([r.radius.to_value("arcsec") for r in circles], observed["sigma"], rtol=1e-6)

    curve_read = regions.Regions.read(tmp_path / "out" / "curves_z2.reg", format="ds9")
    critical = curves[(curves["kind"] == "critical") & curves["closed"]]
    polygons = [r for r in curve_read if isinstance(r, regions.PolygonSkyRegion) and "critical" in r.meta["tag"]]
    assert len(polygons) == critical["curve"].nunique() > 0
    first = critical[critical["curve"] == critical["curve"].min()]
    vertices = polygons[0].to_pixel(wcs).vertices
    np.testing.assert_allclose(np.column_stack([vertices.x, vertices.y]),
                               np.column_stack(expected_pixel(model, first["x"][:-1], first["y"][:-1])), atol=1e-4)
