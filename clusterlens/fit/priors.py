"""Priors in Python: the ``priors.csv`` rows of a model, added or replaced without writing files.

    model = clusterlens.load_model("datasets/example_cluster")
    model = with_priors(model, [
        dict(family="main_lens_mass", galaxy="BCG", parameter="sigma", prior="uniform", lower=250, upper=450),
        dict(family="host_halo", galaxy="halo", parameter="m200", prior="loguniform", lower=5e14, upper=3e15),
    ])

Each dict has the columns of ``priors.csv`` (family, galaxy, parameter, prior, lower, upper, mean,
sigma); it is validated exactly like a CSV row, and the resulting model is checked as a whole
(the galaxy exists, the parameter is a numeric column of its rows), raising one
:class:`~clusterlens.errors.ModelError` listing every problem.

:func:`narrowed_priors` restricts each free parameter's prior to a box around a posterior (a second fit,
e.g. with the image-plane likelihood, inside the first one's posterior): the same prior density truncated to
the box, so the second fit's posterior is the full prior's restricted to it, and its log-evidence plus the
box's log prior mass is the full prior's log-evidence wherever the likelihood outside the box is negligible.
"""
from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

import numpy as np

from .. import csvio
from ..errors import ModelError
from ..families import FAMILIES
from ..model import ClusterModel
from ..model_checks import check_model
from .parameters import Parameters, distribution, quantile

PRIORS = FAMILIES["priors"]


def prior_rows(priors: Iterable[Mapping], where: str = "<priors>") -> list:
    """Validated priors rows from ``{column: value}`` dicts (blank/None cells omitted)."""
    table, problems = csvio.validate_table(PRIORS, enumerate(priors, start=1), where)
    if problems:
        raise ModelError(problems)
    return list(table.rows)


def read_priors(path: str | os.PathLike) -> list:
    """The rows of a priors CSV file (any file name; columns of priors.csv)."""
    return list(csvio.read_family(path, PRIORS).rows)


def replace_priors(model: ClusterModel, rows: Iterable) -> ClusterModel:
    """A copy of ``model`` whose priors table is exactly ``rows``, checked against the model."""
    new = model.with_rows("priors", rows)
    problems = check_model(new)
    if problems:
        raise ModelError(problems)
    return new


def with_priors(model: ClusterModel, priors: Iterable[Mapping], replace: bool = False) -> ClusterModel:
    """A copy of ``model`` with the priors ``priors`` (dicts of priors.csv columns) added.

    A new prior on the same (family, galaxy, parameter) as an existing one replaces it;
    ``replace=True`` drops every existing prior first."""
    new = prior_rows(priors)
    keys = {(r.family, r.galaxy, r.parameter) for r in new}
    kept = [] if replace else [r for r in model.priors if (r.family, r.galaxy, r.parameter) not in keys]
    return replace_priors(model, kept + new)


def narrowed_priors(parameters: Parameters, samples: np.ndarray, weights: np.ndarray,
                    width: float = 6.0) -> tuple[list[dict], float]:
    """Every free parameter's prior restricted to its posterior's weighted median -+ ``width`` x its weighted
    standard deviation, clipped to the prior's own bounds (module docstring).

    parameters: the fit's free parameters; samples: (n, n_parameters) posterior samples, weights: (n,) their
    weights (any normalisation). Returns (one priors.csv dict per free parameter, keyed by its row: a uniform,
    loguniform or truncated-normal prior as before, a normal one becomes truncated; the log prior mass of the
    box under the original priors, which are independent)."""
    samples, weights = np.asarray(samples, dtype=float), np.asarray(weights, dtype=float)
    if samples.ndim != 2 or samples.shape != (weights.size, len(parameters)) or not width > 0:
        raise ValueError(f"samples of shape (n, {len(parameters)}), n weights and width > 0 needed; got "
                         f"{samples.shape}, {weights.shape}, {width!r}")
    weights = weights / weights.sum()
    mean = weights @ samples
    spread = np.sqrt(weights @ (samples - mean) ** 2)
    rows, log_mass = [], 0.0
    for j, p in enumerate(parameters.free):
        order = np.argsort(samples[:, j])
        median = float(np.interp(0.5, np.cumsum(weights[order]), samples[order, j]))
        dist = distribution(p.prior)
        lower, upper = float(quantile(p.prior, 0.0)), float(quantile(p.prior, 1.0))
        lower, upper = max(lower, median - width * spread[j]), min(upper, median + width * spread[j])
        if not lower < upper:
            raise ValueError(f"{p.label}: the posterior has no width (sd {spread[j]!r}) inside its prior")
        log_mass += float(np.log(dist.cdf(upper) - dist.cdf(lower)))
        row = dict(family=p.family, galaxy=p.key, parameter=p.column, lower=lower, upper=upper)
        if p.prior.prior in ("uniform", "loguniform"):
            rows.append(dict(row, prior=p.prior.prior))
        else:
            mean_, sigma = p.prior.mean_sigma
            rows.append(dict(row, prior="truncnormal", mean=mean_, sigma=sigma))
    return rows, log_mass
