"""Lenstool interoperability: read a Lenstool model (``.par`` + catalogues) and write one.

- :func:`read_par` / :func:`import_lenstool`: ``.par`` (+ multiple-image catalogue, + ``values`` from
  a Lenstool result such as best.par) -> ClusterModel / model folder (:mod:`.importer` lists what
  becomes what; :mod:`.values` how a result's values are matched; :mod:`.sources` where the sources go).
- :func:`write_par` / :func:`export_lenstool`: ClusterModel / model folder -> ``.par`` + catalogues
  (:mod:`.exporter`); ``read_par(write_par(model))`` reproduces the model exactly.
- :func:`image_plane_chi2`: Lenstool's image-plane chi2 (``forme -2``) of a model's multiple images.
- :mod:`.parfile` is the syntax, :mod:`.keywords` the keyword table, :mod:`.catalogues` the
  catalogue formats and coordinates; each block kind has its reader (:mod:`.reference`,
  :mod:`.potentials`, :mod:`.potfiles`, :mod:`.images`, :mod:`.directives`). What is specific to a
  mass profile is its Lenstool codec in :mod:`clusterlens.registry`.
"""
from .chi2 import ImagePlaneChi2, image_plane_chi2
from .exporter import export_lenstool, write_par
from .importer import (
           HOST_MIN_CORE,
           HOST_MIN_SIGMA,
           LenstoolImport,
           import_lenstool,
           par_records,
           read_par,
)
from .parfile import LenstoolError, LenstoolWarning

__all__ = [
           "HOST_MIN_CORE",
           "HOST_MIN_SIGMA",
           "ImagePlaneChi2",
           "LenstoolError",
           "LenstoolImport",
           "LenstoolWarning",
           "export_lenstool",
           "image_plane_chi2",
           "import_lenstool",
           "par_records",
           "read_par",
           "write_par",
]
