"""The likelihood installed in this process: what the samplers' module-level functions evaluate.

dynesty and nautilus are given functions of this module (and pool processes run them), not the
likelihood object: a checkpoint then holds no copy of the data, and each process installs its own
copy of the likelihood once (:func:`install`).
"""
from __future__ import annotations

import numpy as np

_INSTALLED: dict = {}


def install(likelihood) -> None:
    """Make ``likelihood`` the one :func:`log_likelihood` and :func:`prior_transform` evaluate in this process."""
    _INSTALLED["likelihood"] = likelihood


def installed():
    """The likelihood :func:`install` made current in this process."""
    try:
        return _INSTALLED["likelihood"]
    except KeyError:
        raise RuntimeError("no likelihood installed in this process: call "
                           "clusterlens.fit.installed.install(L)") from None


def log_likelihood(values: np.ndarray) -> float:
    """log L of the installed likelihood at parameter ``values`` (-inf for invalid parameters)."""
    return float(installed()(values))


def installed_batch(rows: np.ndarray) -> np.ndarray:
    """log L of the installed likelihood at each row of ``rows`` (its ``batch`` when it has one)."""
    likelihood = installed()
    rows = np.atleast_2d(np.asarray(rows, float))
    if len(rows) == 0:
        return np.zeros(0)
    batch = getattr(likelihood, "batch", None)
    if batch is not None:
        return np.asarray(batch(rows), float)
    return np.array([float(likelihood(v)) for v in rows])


def prior_transform(unit: np.ndarray) -> np.ndarray:
    """Unit hypercube -> parameter values through the installed likelihood's priors."""
    return installed().parameters.transform(unit)
