"""Free parameters: ``priors.csv`` rows turned into the sampler's parameter vector.

Each prior names a family, a row (its key, or ``*`` for every row) and a numeric column; each
matched cell becomes one free parameter. ``Parameters.names`` labels them, ``Parameters.transform``
maps the unit hypercube to parameter values (dynesty's prior transform; one point or one per row),
``Parameters.values`` reads them from a model, ``Parameters.apply`` writes a parameter vector into
the model's rows and ``Parameters.row_updater`` gives a likelihood's parameter -> updated-rows step.
Every other cell keeps its CSV value.
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
    """A frozen scipy distribution, as the fit uses it: log density, CDF and inverse CDF."""

    def logpdf(self, x: float) -> float: ...

    def cdf(self, x: float) -> float: ...

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
    """Inverse CDF of a prior row at ``u`` in [0, 1] (a number or an array of them; :class:`ColumnQuantiles`'
    closed forms)."""
    values = ColumnQuantiles([prior])(np.reshape(np.asarray(u, dtype=float), (-1, 1)))[:, 0]
    return values.reshape(np.shape(u)) if np.ndim(u) else float(values[0])


def prior_range(prior: Prior) -> tuple[float, float]:
    """The interval a fit draws a prior's values from: its bounds, or mean -+ 10 sigma for a normal prior."""
    if prior.prior == "normal":
        mean, sigma = prior.mean_sigma
        return mean - 10.0 * sigma, mean + 10.0 * sigma
    return float(quantile(prior, 0.0)), float(quantile(prior, 1.0))


class ColumnQuantiles:
    """The inverse CDFs of a list of priors, one per column, applied to (n, columns) unit-cube rows in one
    array operation per kind of prior, element by element, so a row's values do not depend on the other
    rows: uniform, loguniform (lower (upper / lower)^u), normal (mean + sigma ndtri(u)) and truncated normal
    (ndtri between the truncation's CDF values, an upper tail through its mirrored lower tail)."""

    def __init__(self, priors: Sequence[Prior]):
        kinds = np.array([p.prior for p in priors])
        self.uniform = np.flatnonzero(kinds == "uniform")
        self.loguniform = np.flatnonzero(kinds == "loguniform")
        self.normal = np.flatnonzero(kinds == "normal")
        self.truncated = np.flatnonzero(kinds == "truncnormal")
        bounds = np.array([p.bounds if p.prior != "normal" else (np.nan, np.nan) for p in priors], float)
        moments = np.array([p.mean_sigma if p.prior in ("normal", "truncnormal") else (np.nan, np.nan)
                            for p in priors], float).reshape(-1, 2)
        self.lower, self.upper = bounds.reshape(-1, 2).T
        self.mean, self.sigma = moments.T
        t = self.truncated
        a, b = (self.lower[t] - self.mean[t]) / self.sigma[t], (self.upper[t] - self.mean[t]) / self.sigma[t]
        self.mirrored = a > 0  # upper tail: the mirrored lower tail, where ndtr keeps its precision
        self.tail_low = np.where(self.mirrored, special.ndtr(-b), special.ndtr(a))
        self.tail_high = np.where(self.mirrored, special.ndtr(-a), special.ndtr(b))

    def __call__(self, cube: np.ndarray) -> np.ndarray:
        out = np.empty_like(cube)
        i = self.uniform
        out[:, i] = self.lower[i] + cube[:, i] * (self.upper[i] - self.lower[i])
        i = self.loguniform
        out[:, i] = self.lower[i] * (self.upper[i] / self.lower[i]) ** cube[:, i]
        i = self.normal
        out[:, i] = self.mean[i] + self.sigma[i] * special.ndtri(cube[:, i])
        i = self.truncated
        if len(i):
            lo, hi = self.tail_low, self.tail_high
            z = special.ndtri(np.where(self.mirrored, hi - cube[:, i] * (hi - lo), lo + cube[:, i] * (hi - lo)))
            value = np.where(self.mirrored, self.mean[i] - self.sigma[i] * z, self.mean[i] + self.sigma[i] * z)
            out[:, i] = np.clip(value, self.lower[i], self.upper[i])
        return out


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

    @property
    def names(self) -> tuple[str, ...]:
        """The parameters' labels (``family.key.column``), in parameter-vector order."""
        return tuple(self.labels)

    def transform(self, unit: Sequence[float] | np.ndarray) -> np.ndarray:
        """Map a point of the unit hypercube to parameter values (inverse CDF of each prior).

        ``unit``: one point (length ``len(self)``) or an (n, ``len(self)``) array of points. The rows are
        mapped in one array operation per kind of prior, and each row exactly as the same point alone."""
        cube = np.asarray(unit, dtype=float)
        if cube.ndim == 2 and cube.shape[1] == len(self):
            return self._quantiles(cube)
        if cube.ndim == 1 and len(cube) == len(self):
            return self._quantiles(cube[None, :])[0]
        raise ValueError(f"unit cube of shape {cube.shape}: expected ({len(self)},) or (n, {len(self)}), one "
                         "column per free parameter")

    @cached_property
    def _quantiles(self) -> ColumnQuantiles:
        return ColumnQuantiles([p.prior for p in self.free])

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
        return self.row_updater(model)(values)

    def row_updater(self, model: ClusterModel) -> RowUpdater:
        """:meth:`updated_rows` for ``model`` with its per-model work done once: which free cells
        belong to which row, and each touched row's current cells (for a likelihood called many times)."""
        return RowUpdater(self, model)

    def apply(self, model: ClusterModel, values: Sequence[float]) -> ClusterModel:
        """A copy of ``model`` with the free cells set to ``values`` (priors.csv kept)."""
        for family, changed in self.updated_rows(model, values).items():
            rows = list(model.rows(family))
            for index, row in changed.items():
                rows[index] = row
            model = model.with_rows(family, rows)
        return model


class RowUpdater:
    """Parameter vectors -> validated updated rows of one model (:meth:`Parameters.row_updater`).

    Built once: the free cells grouped by row (positions in the parameter vector) and each touched
    row's current cells; a call merges a vector's values into them and validates each row, giving
    exactly the rows of :meth:`Parameters.updated_rows`."""

    def __init__(self, parameters: Parameters, model: ClusterModel):
        self.length = len(parameters)
        #: (family, index, row type, current cells, ((column, position in the vector), ...)) per touched row
        self.rows: list[tuple[str, int, type[Row], dict[str, Any], tuple[tuple[str, int], ...]]] = []
        positions: dict[str, dict[int, list[tuple[str, int]]]] = {}  # family -> row -> cells, first-seen order
        for position, p in enumerate(parameters.free):
            positions.setdefault(p.family, {}).setdefault(p.index, []).append((p.column, position))
        for family, rows in positions.items():
            current = model.rows(family)
            for index, cells in rows.items():
                row = current[index]
                self.rows.append((family, index, type(row), row.model_dump(exclude_none=True), tuple(cells)))

    def __call__(self, values: Sequence[float]) -> dict[str, dict[int, Row]]:
        """``{family: {index: row}}`` holding ``values`` (length: one per free parameter); raises
        :class:`~clusterlens.errors.InvalidParameters` when they make a row invalid."""
        values = [float(v) for v in values]
        if len(values) != self.length:
            raise ValueError(f"{len(values)} parameter values for {self.length} free parameters")
        out: dict[str, dict[int, Row]] = {}
        for family, index, row_type, cells, columns in self.rows:
            update = {column: values[position] for column, position in columns}
            try:
                out.setdefault(family, {})[index] = row_type.model_validate({**cells, **update})
            except ValidationError as err:
                raise InvalidParameters(f"{family} row {index + 1}: {err.errors()[0]['msg']}") from None
        return out
