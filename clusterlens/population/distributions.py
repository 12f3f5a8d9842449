"""``population.csv``: the distributions the cells of a model are drawn from, one row per cell or column.

Same shape as ``priors.csv`` (family, galaxy, parameter, then the distribution and its arguments)::

    family,galaxy,parameter,distribution,lower,upper,mean,sigma,values
    host_halo,halo,m200,loguniform,3e14,3e15,,,
    main_lens_mass,BCG,sigma,truncnormal,200,500,340,40,
    source_light,*,sersic_index,choice,,,,,1;1.5;4

``galaxy`` is the row key of the family (``tier`` for scaling_relations, ``*`` for every row; each row
gets its own draw). Distributions: uniform(lower, upper), normal(mean, sigma), loguniform(lower,
upper) (log x uniform), truncnormal(lower, upper, mean, sigma) (a normal restricted to [lower, upper]),
and choice(values): one of the ``;``-separated numbers, each equally likely.
"""
from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from pydantic import Field, field_validator, model_validator
from scipy.special import ndtr, ndtri

from .. import csvio
from ..columns import Name, Row
from ..families import Family

NEEDS = {
    "uniform": ("lower", "upper"),
    "loguniform": ("lower", "upper"),
    "normal": ("mean", "sigma"),
    "truncnormal": ("lower", "upper", "mean", "sigma"),
    "choice": ("values",),
}
ARGUMENTS = ("lower", "upper", "mean", "sigma", "values")


class Distribution(Row):
    """One row of population.csv: the distribution of a cell (or, with galaxy ``*``, of a column)."""

    family: Name
    galaxy: Name
    parameter: Name
    distribution: Literal["uniform", "normal", "loguniform", "truncnormal", "choice"]
    lower: float | None = None
    upper: float | None = None
    mean: float | None = None
    sigma: Annotated[float | None, Field(None, gt=0)]
    values: tuple[float, ...] | None = None

    @field_validator("values", mode="before")
    @classmethod
    def _split(cls, text):
        # each item is then validated as a number (a bad one is reported in the values column)
        return tuple(v.strip() for v in text.split(";") if v.strip()) if isinstance(text, str) else text

    @model_validator(mode="after")
    def _complete(self):
        needs = NEEDS[self.distribution]
        missing = [n for n in needs if getattr(self, n) is None]
        if missing:
            raise ValueError(f"{missing[0]} is blank: a {self.distribution} distribution needs {', '.join(needs)}")
        unused = [n for n in ARGUMENTS if n not in needs and getattr(self, n) is not None]
        if unused:
            raise ValueError(f"{unused[0]} must be blank: a {self.distribution} distribution does not use "
                             f"{', '.join(unused)}")
        if self.lower is not None and self.upper is not None and self.lower >= self.upper:
            raise ValueError(f"lower ({self.lower!r}) must be smaller than upper ({self.upper!r})")
        if self.distribution == "loguniform" and self.lower is not None and self.lower <= 0:
            raise ValueError(f"lower must be > 0 for a loguniform distribution, got {self.lower!r}")
        if self.values is not None and not self.values:
            raise ValueError("values is blank: a choice needs numbers separated by ';'")
        return self


#: population.csv as a CSV family (read with the family machinery; not a model family).
POPULATION = Family("population", Distribution, ("family", "galaxy", "parameter"),
                    "distributions of a model's cells for simulate-many")
FILENAME = POPULATION.filename


def read_distributions(path) -> tuple[csvio.FamilyTable, list]:
    """(table, problems) of a population.csv file, each problem with its file, line and column."""
    return csvio.parse_family(path, POPULATION)


def draw(row: Distribution, rng: np.random.Generator, size: int) -> np.ndarray:
    """``size`` independent draws of ``row``'s distribution (float array).

    truncnormal: inverse-CDF sampling, x = mean + sigma Phi^-1(u) with u uniform between Phi((lower -
    mean)/sigma) and Phi((upper - mean)/sigma); exactly one uniform draw per value for every kind.
    """
    kind = row.distribution
    if kind == "choice":
        assert row.values is not None  # checked by the row's validator
        options = np.asarray(row.values, dtype=float)
        return options[rng.integers(0, options.size, size)]
    if kind == "normal":
        assert row.mean is not None and row.sigma is not None
        return rng.normal(row.mean, row.sigma, size)
    assert row.lower is not None and row.upper is not None
    if kind == "uniform":
        return rng.uniform(row.lower, row.upper, size)
    if kind == "loguniform":
        return np.exp(rng.uniform(np.log(row.lower), np.log(row.upper), size))
    assert row.mean is not None and row.sigma is not None
    a, b = ndtr((row.lower - row.mean) / row.sigma), ndtr((row.upper - row.mean) / row.sigma)
    value = row.mean + row.sigma * ndtri(a + (b - a) * rng.uniform(0.0, 1.0, size))
    return np.clip(value, row.lower, row.upper)
