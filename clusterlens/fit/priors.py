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
"""
from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

from .. import csvio
from ..errors import ModelError
from ..families import FAMILIES
from ..model import ClusterModel
from ..model_checks import check_model

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
