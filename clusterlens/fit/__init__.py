"""Fitting: priors.csv -> free parameters, point-image likelihoods, dynesty nested sampling, results.

    import clusterlens.fit
    result = clusterlens.fit.fit("results/example_cluster/dataset", nlive=100, cores=2)
    result = clusterlens.fit.run("datasets/example_cluster")        # simulate (or reuse) + fit
    model = clusterlens.fit.with_priors(model, [dict(family="main_lens_mass", galaxy="BCG",
                                                     parameter="sigma", prior="uniform", lower=200, upper=500)])
    L = clusterlens.fit.likelihood(model, kind="source")        # or "image", "lenstool"
    log_l = L(L.parameters.values(model)); many = L.batch(L.parameters.transform(unit_cube_rows))

Modules: ``prior_rules`` (which cells a prior may free), ``parameters`` (free cells, prior
transform), ``lens_at_images`` (the fixed lens cached at the images), ``point_likelihood`` (source/image-plane
and Lenstool's chi2; ``clusterlens.fit.likelihood`` is its public entry point), ``lenstool_statistic``
(Lenstool's ``forme`` statistic), ``chi2_report`` (a model scored image by image: ``clusterlens chi2``,
``chires.csv``), ``sampler`` (dynesty: seeded, checkpointed, pools), ``results`` (files of a finished
fit), ``priors`` (priors in Python), ``pipeline`` (``fit`` and ``run``, the orchestration above).

The public names are imported on first use (PEP 562): importing one submodule (e.g.
``clusterlens.fit.prior_rules``, which :mod:`clusterlens.model` uses) does not load the sampler.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import lazy_exports

#: public name -> the submodule defining it
_PUBLIC = {"FreeParameter": "parameters", "Parameters": "parameters", "read_priors": "priors",
           "replace_priors": "priors", "with_priors": "priors", "FitResult": "results", "read_results": "results",
           "fit": "pipeline", "run": "pipeline", "SamplerSettings": "sampler", "likelihood": "point_likelihood"}

__all__ = ["FitResult", "FreeParameter", "Parameters", "SamplerSettings", "fit", "likelihood", "read_priors",
           "read_results", "replace_priors", "run", "with_priors"]

if TYPE_CHECKING:
    from .parameters import FreeParameter, Parameters
    from .pipeline import fit, run
    from .point_likelihood import likelihood
    from .priors import read_priors, replace_priors, with_priors
    from .results import FitResult, read_results
    from .sampler import SamplerSettings


__getattr__, __dir__ = lazy_exports(__name__, _PUBLIC, globals())
