"""clusterlens: galaxy-cluster strong-lens modelling where CSV files are the model.

Follow the flow one module per step: ``rows`` (typed CSV rows) -> ``csvio`` (read/write a family)
-> ``model`` (ClusterModel, load/save a folder) -> ``lens_builder`` + ``profiles`` + ``lens``
(physics) -> ``solver`` (multiple images) -> ``simulate`` -> ``fit`` (priors, likelihood, sampler).

The public names below are imported on first use (PEP 562), so ``import clusterlens`` and the
command line start fast; ``clusterlens.load_model`` etc. work as plain attributes.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from ._version import __version__
from .lazy import lazy_exports

#: public name -> the submodule defining it
_PUBLIC = {"read_family": "csvio", "write_family": "csvio", "ModelError": "errors", "Problem": "errors",
           "ClusterModel": "model", "load_model": "model", "save_model": "model", "ensure_dataset": "simulation",
           "simulate": "simulation", "ImageFinder": "solver", "find_images": "solver"}

__all__ = ["ClusterModel", "ImageFinder", "ModelError", "Problem", "ensure_dataset", "find_images", "load_model",
           "save_model", "read_family", "simulate", "write_family", "__version__"]

if TYPE_CHECKING:
    from .csvio import read_family, write_family
    from .errors import ModelError, Problem
    from .model import ClusterModel, load_model, save_model
    from .simulation import ensure_dataset, simulate
    from .solver import ImageFinder, find_images


__getattr__, __dir__ = lazy_exports(__name__, _PUBLIC, globals())
