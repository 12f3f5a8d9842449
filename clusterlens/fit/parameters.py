"""Free parameters: ``priors.csv`` rows turned into the sampler's parameter vector.

Each prior names a family, a row (its key, or ``*`` for every row) and a numeric column; each
matched cell becomes one free parameter. ``Parameters.transform`` maps the unit hypercube to
parameter values (dynesty's prior transform), ``Parameters.apply`` writes a parameter vector into
the model's rows. Every other cell keeps its CSV value.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Protocol

import numpy as np
from pydantic import ValidationError
from scipy import special, stats

from ..columns import Row
from ..errors import InvalidParameters
from ..families import FAMILIES
from ..model import ClusterModel
from ..rows import Prior
from .prior_rules import prior_targets


class Distribution(Protocol):
    """A frozen scipy distribution, as the fit uses it: log density and inverse CDF."""

    def logpdf(self, x: float) -> float: ...

    def ppf(self, q: float) -> float: ...


def distribution(prior: Prior) -> Distribution:
    """The scipy distribution of a prior row (uniform, loguniform, normal, truncated normal)."""
    if prior.prior == "uniform":
        lower, upper = prior.bounds
        return stats.uniform(lower, upper - lower)
    if prior.prior == "loguniform":
        lower, upper = prior.bounds
        return stats.loguniform(lower, upper)
    mean, sigma = prior.mean_sigma
    if prior.prior == "normal":
        return stats.norm(mean, sigma)
    lower, upper = prior.bounds
    a, b = (lower - mean) / sigma, (upper - mean) / sigma
    return stats.truncnorm(a, b, loc=mean, scale=sigma)


def quantile(prior: Prior, u: float | np.ndarray) -> float | np.ndarray:
    """Inverse CDF of a prior row at ``u`` in [0, 1] (closed forms; dynesty calls this per proposal)."""
    if prior.prior == "uniform":
        lower, upper = prior.bounds
        return lower + u * (upper - lower)
    if prior.prior == "loguniform":
        lower, upper = prior.bounds
        return lower * (upper / lower) ** u
    mean, sigma = prior.mean_sigma
    if prior.prior == "normal":
        return mean + sigma * special.ndtri(u)
    lower, upper = prior.bounds
    a, b = (lower - mean) / sigma, (upper - mean) / sigma
    if a > 0:  # upper tail: work with the mirrored lower tail, where ndtr keeps its precision
        lo, hi = special.ndtr(-b), special.ndtr(-a)
        value = mean - sigma * special.ndtri(hi - u * (hi - lo))
    else:
        lo, hi = special.ndtr(a), special.ndtr(b)
        value = mean + sigma * special.ndtri(lo + u * (hi - lo))
    return np.clip(value, lower, upper)


@dataclass(frozen=True)
class FreeParameter:
    """One free cell: ``family`` row ``index`` column ``column``, with its prior row."""

    family: str
    index: int
    key: str
    column: str
    prior: Prior

    @property
    def label(self) -> str:
        return f"{self.family}.{self.key}.{self.column}"


@dataclass(frozen=True)
class Parameters:
    """The ordered free parameters of a model (priors.csv order, then row order for wildcards)."""

    free: tuple[FreeParameter, ...]

    @classmethod
    def from_model(cls, model: ClusterModel) -> Parameters:
        free = []
        for prior in model.priors:
            key = FAMILIES[prior.family].key[0]
            for index, row in prior_targets(model, prior):
                free.append(FreeParameter(prior.family, index, getattr(row, key), prior.parameter, prior))
        return cls(tuple(free))

    def __len__(self) -> int:
        return len(self.free)

    @property
    def labels(self) -> list[str]:
        return [p.label for p in self.free]

    def transform(self, unit: Sequence[float]) -> np.ndarray:
        """Map a point of the unit hypercube to parameter values (inverse CDF of each prior)."""
        return np.array([quantile(p.prior, u) for p, u in zip(self.free, unit, strict=True)], dtype=float)

    def log_prior(self, values: Sequence[float]) -> float:
        return float(sum(d.logpdf(v) for d, v in zip(self._dists, values, strict=True)))

    @cached_property
    def _dists(self) -> list[Distribution]:
        return [distribution(p.prior) for p in self.free]

    def values(self, model: ClusterModel) -> np.ndarray:
        """The current cell values of every free parameter in ``model`` (the CSV starting point)."""
        return np.array([getattr(model.rows(p.family)[p.index], p.column) for p in self.free], dtype=float)

    def affected_rows(self) -> dict[str, set[int]]:
        """Row indices touched by the free parameters, by family."""
        out: dict[str, set[int]] = {}
        for p in self.free:
            out.setdefault(p.family, set()).add(p.index)
        return out

    def updated_rows(self, model: ClusterModel, values: Sequence[float]) -> dict[str, dict[int, Row]]:
        """Validated new rows holding ``values``: ``{family: {index: row}}``.

        Raises :class:`~clusterlens.errors.InvalidParameters` when the values make a row invalid
        (e.g. r_core >= r_cut)."""
        changes: dict[str, dict[int, dict[str, Any]]] = {}
        for p, value in zip(self.free, values, strict=True):
            changes.setdefault(p.family, {}).setdefault(p.index, {})[p.column] = float(value)
        out: dict[str, dict[int, Row]] = {}
        for family, rows in changes.items():
            current = model.rows(family)
            out[family] = {}
            for index, update in rows.items():
                row = current[index]
                try:
                    out[family][index] = type(row).model_validate({**row.model_dump(exclude_none=True), **update})
                except ValidationError as err:
                    raise InvalidParameters(f"{family} row {index + 1}: {err.errors()[0]['msg']}") from None
        return out

    def apply(self, model: ClusterModel, values: Sequence[float]) -> ClusterModel:
        """A copy of ``model`` with the free cells set to ``values`` (priors.csv kept)."""
        for family, changed in self.updated_rows(model, values).items():
            rows = list(model.rows(family))
            for index, row in changed.items():
                rows[index] = row
            model = model.with_rows(family, rows)
        return model
