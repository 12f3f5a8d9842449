"""Fitting: priors.csv -> free parameters, point-image likelihoods, dynesty nested sampling, results.

    import clusterlens.fit
    result = clusterlens.fit.fit("results/example_cluster/dataset", nlive=100, cores=2)
    result = clusterlens.fit.run("datasets/example_cluster")        # simulate (or reuse) + fit
    model = clusterlens.fit.with_priors(model, [dict(family="main_lens_mass", galaxy="BCG",
                                                     parameter="sigma", prior="uniform", lower=200, upper=500)])

Modules: ``prior_rules`` (which cells a prior may free), ``parameters`` (free cells, prior
transform), ``likelihood`` (source/image-plane chi2), ``sampler`` (dynesty: seeded, checkpointed,
pools), ``results`` (files of a finished fit), ``priors`` (priors in Python), ``run`` (the
orchestration above).
"""
from .parameters import FreeParameter, Parameters
from .priors import read_priors, replace_priors, with_priors
from .results import FitResult, read_results
from .run import fit, run
from .sampler import SamplerSettings

__all__ = ["FitResult", "FreeParameter", "Parameters", "SamplerSettings", "fit", "read_priors", "read_results",
           "replace_priors", "run", "with_priors"]
