"""A fit inside a previous fit's posterior: the priors restricted to its box (``clusterlens fit --within``).

The usual way to an image-plane posterior at real-cluster size: a source-plane fit first (fast), then the
image-plane fit with each prior restricted to the first posterior's median -+ ``width`` standard deviations
(:func:`clusterlens.fit.priors.narrowed_priors`: the same prior density, truncated, so the second posterior is
the full prior's restricted to the box). The second fit's log-evidence is that of the box's prior; adding
the box's log prior mass (``within.log_prior_mass`` of summary.json) gives the full prior's wherever the
likelihood outside the box is negligible.
"""
from __future__ import annotations

import os

import numpy as np

from ..model import ClusterModel
from ..sampling_methods import WITHIN_WIDTH
from .parameters import Parameters
from .priors import narrowed_priors, with_priors
from .results import read_results


def within_posterior(model: ClusterModel, results_folder: str | os.PathLike,
                     width: float = WITHIN_WIDTH) -> tuple[ClusterModel, dict]:
    """``model`` with each free parameter's prior restricted to the posterior of the fit in ``results_folder``
    (its equal-weight samples.csv; the same free parameters): median -+ ``width`` sd, clipped to the prior.
    Returns (the model, the box's record: results folder, width and log prior mass under ``model``'s priors)."""
    result = read_results(results_folder)
    parameters = Parameters.from_model(model)
    missing = [label for label in parameters.labels if label not in result.samples.columns]
    if missing:
        raise ValueError(f"{results_folder}: its fit has no samples of {', '.join(missing)}; --within needs a fit "
                         "of the same free parameters")
    samples = result.samples[parameters.labels].to_numpy(dtype=float)
    rows, log_mass = narrowed_priors(parameters, samples, np.ones(len(samples)), width)
    record = dict(results=str(result.folder.resolve()), width=float(width), log_prior_mass=log_mass)
    return with_priors(model, rows, replace=True), record
