"""clusterlens: galaxy-cluster strong-lens modelling where CSV files are the model.

Follow the flow one module per step: ``rows`` (typed CSV rows) -> ``csvio`` (read/write a family)
-> ``model`` (ClusterModel, load/save a folder) -> ``lens_builder`` + ``profiles`` + ``lens``
(physics) -> ``solver`` (multiple images) -> ``simulate`` -> ``fit`` (priors, likelihood, sampler).
"""
from .csvio import read_family, write_family
from .errors import ModelError, Problem
from .model import ClusterModel, load_model, save_model
from .simulation import ensure_dataset, simulate
from .solver import ImageFinder
from .solver import find_images
from .fit.prior_rules import prior_problems as _prior_problems
from .model import MODEL_CHECKS as _MODEL_CHECKS

_MODEL_CHECKS.append(_prior_problems)  # check_model reports the priors the fit cannot use (fit.prior_rules)

__version__ = "0.1.0"

__all__ = ["ClusterModel", "ImageFinder", "ModelError", "Problem", "ensure_dataset", "find_images", "load_model",
           "save_model", "read_family", "simulate", "write_family", "__version__"]
