"""What astronomers deliver from a lens model: FITS maps (with posterior ranges), critical curves and
caustics, DS9 regions, predicted images, sky coordinates, catalogue import, mass profile and plots.

    from clusterlens.products import make_maps, predict_images, open_input
    make_maps("results/example_cluster/fit_source", "maps", redshifts=[1, 2, 9], samples=100, seed=0)

Modules: ``sky`` (x, y <-> RA, Dec; the maps' WCS), ``posterior`` (a model folder or a results folder
and its draws), ``fits_maps``, ``curves``, ``regions_files`` (needs the ``regions`` extra), ``predict``,
``mass_profile``, ``plots``, ``catalogue``, ``make`` (curves, regions, images, plots in one folder).
Public names are imported on first use (PEP 562).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import lazy_exports

_PUBLIC = {"to_sky": "sky", "from_sky": "sky", "sky_grid": "map_grid", "open_input": "posterior",
           "ProductInput": "posterior", "make_maps": "fits_maps", "lens_maps": "fits_maps",
           "curve_table": "curves", "predict_images": "predict", "predict_posterior": "predict",
           "enclosed_mass": "mass_profile", "einstein_radius": "mass_profile",
           "import_catalogue": "catalogue", "make_curves": "make", "make_images": "make", "make_plots": "make",
           "make_mass_profile": "make"}

__all__ = ["ProductInput", "curve_table", "einstein_radius", "enclosed_mass", "from_sky", "import_catalogue",
           "lens_maps", "make_curves", "make_images", "make_maps", "make_mass_profile", "make_plots", "open_input",
           "predict_images", "predict_posterior", "sky_grid", "to_sky"]

if TYPE_CHECKING:
    from .catalogue import import_catalogue
    from .curves import curve_table
    from .fits_maps import lens_maps, make_maps
    from .make import make_curves, make_images, make_mass_profile, make_plots
    from .map_grid import sky_grid
    from .mass_profile import einstein_radius, enclosed_mass
    from .posterior import ProductInput, open_input
    from .predict import predict_images, predict_posterior
    from .sky import from_sky, to_sky


__getattr__, __dir__ = lazy_exports(__name__, _PUBLIC, globals())
