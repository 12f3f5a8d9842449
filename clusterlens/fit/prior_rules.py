"""Which cells a ``priors.csv`` row may free, and the problems of one that may not.

A prior names a family, a row key (``galaxy``, ``tier`` or ``name``; ``*`` for every row) and a
numeric column; :func:`prior_targets` finds its rows. :func:`prior_problems` reports, with the
prior's file and line: a family without free cells, a key matching no row, a cell the fit solves
itself or keeps fixed (``FIXED_CELLS``), a non-numeric column, a blank cell whose row would be
invalid once filled (e.g. ``mag`` of a member given by luminosity), a bounded prior (uniform,
loguniform, truncnormal) reaching outside the values the row schema allows in its cell
(:func:`support`: ``q`` uniform in [-1, 3]; a bound equal to an open end of the support, e.g. sigma
uniform from 0, is accepted: it is drawn with probability 0), and a cell freed twice. A normal prior is unbounded: its
draws outside the cell's values are invalid parameters (likelihood -inf).

:func:`clusterlens.model_checks.check_model` runs :func:`prior_problems` with the model's own checks, so
``load_model`` and ``ClusterModel.from_records`` report them. This module reads the model only through
its ``rows``/``tables`` (no import of :mod:`clusterlens.model` at run time), so the model can import it.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

from pydantic import ValidationError

from ..columns import Row
from ..errors import Problem
from ..families import FAMILIES
from ..rows import Prior
from ..suggest import did_you_mean

if TYPE_CHECKING:
    from ..model import ClusterModel

#: Families whose numeric cells a prior may free.
PARAMETER_FAMILIES = ("host_halo", "main_lens_mass", "scaling_relations", "scaling_galaxies",
                      "source_light", "source_point")

#: Cells no prior may free, by family: what the fit solves itself or cannot vary.
FIXED_CELLS = {
    "host_halo": {"redshift": "the lens redshift is fixed (one lens plane)"},
    "main_lens_mass": {"redshift": "the lens redshift is fixed (one lens plane)"},
    "scaling_galaxies": {"redshift": "the lens redshift is fixed (one lens plane)"},
    "source_point": {"x": "source positions are solved analytically for each system",
                     "y": "source positions are solved analytically for each system",
                     "flux": "intrinsic fluxes are solved analytically for each system"},
}


def prior_targets(model: ClusterModel, prior: Prior) -> list[tuple[int, Row]]:
    """The (row index, row) pairs of ``prior.family`` that ``prior`` applies to."""
    key = FAMILIES[prior.family].key[0]
    return [(i, r) for i, r in enumerate(model.rows(prior.family))
            if prior.galaxy == "*" or getattr(r, key) == prior.galaxy]


def _representative(prior: Prior) -> float:
    """A value inside the prior's support (its mean or the middle of its bounds)."""
    if prior.prior == "loguniform":
        lower, upper = prior.bounds
        return (lower * upper) ** 0.5
    if prior.prior == "truncnormal":
        lower, upper = prior.bounds
        return min(max(prior.mean_sigma[0], lower), upper)
    if prior.mean is not None:
        return prior.mean
    lower, upper = prior.bounds
    return 0.5 * (lower + upper)


def _freed_row_problem(row: Row, prior: Prior) -> str | None:
    """Why ``row`` cannot take values of ``prior`` in its blank cell (e.g. mag on a luminosity member,
    q of a spherical NFW), or None. A filled cell is valid at its CSV value, so it is not checked."""
    try:
        type(row).model_validate({**row.model_dump(exclude_none=True), prior.parameter: _representative(prior)})
    except ValidationError as err:
        return err.errors()[0]["msg"].removeprefix("Value error, ")
    return None


def support(row_type: type[Row], column: str) -> tuple[float, bool, float, bool]:
    """(low, low included, high, high included): the values the row schema allows in ``column``."""
    low, low_in, high, high_in = -math.inf, False, math.inf, False
    for rule in row_type.model_fields[column].metadata:
        if getattr(rule, "ge", None) is not None and rule.ge >= low:
            low, low_in = rule.ge, True
        if getattr(rule, "gt", None) is not None and rule.gt >= low:
            low, low_in = rule.gt, False
        if getattr(rule, "le", None) is not None and rule.le <= high:
            high, high_in = rule.le, True
        if getattr(rule, "lt", None) is not None and rule.lt <= high:
            high, high_in = rule.lt, False
    return low, low_in, high, high_in


def _outside_support(row: Row, prior: Prior) -> tuple[str, float, str] | None:
    """(bound column, its value, why) when a bounded prior reaches outside the values its cell may take."""
    if prior.prior == "normal" or prior.parameter not in type(row).model_fields:
        return None
    low, low_in, high, high_in = support(type(row), prior.parameter)
    lower, upper = prior.bounds  # touching an open bound (sigma uniform from 0) is drawn with probability 0
    if lower < low:
        return "lower", lower, f"below the values {prior.parameter} may take ({'>=' if low_in else '>'} {low:g})"
    if upper > high:
        return "upper", upper, f"above the values {prior.parameter} may take ({'<=' if high_in else '<'} {high:g})"
    return None


def prior_problems(model: ClusterModel) -> list[Problem]:
    """Every problem of the model's priors (module docstring); empty when the fit can use them all."""
    table = model.tables.get("priors")
    if table is None:
        return []
    file = table.source
    problems = []
    claimed: dict[tuple[str, int, str], int | None] = {}
    for prior, line in zip(model.priors, table.lines, strict=True):
        if prior.family not in PARAMETER_FAMILIES:
            problems.append(Problem(file, f"unknown family{did_you_mean(prior.family, PARAMETER_FAMILIES)}: "
                                          f"expected one of {', '.join(PARAMETER_FAMILIES)}",
                                    line=line, column="family", value=prior.family))
            continue
        family = FAMILIES[prior.family]
        targets = prior_targets(model, prior)
        if not targets:
            keys = [str(getattr(r, family.key[0])) for r in model.rows(prior.family)]
            what = ("matches no row" if prior.galaxy == "*" else
                    f"is not a {family.key[0]} of {family.filename}{did_you_mean(prior.galaxy, keys)}")
            problems.append(Problem(file, f"{prior.galaxy!r} {what}", line=line, column="galaxy", value=prior.galaxy))
            continue
        reason = FIXED_CELLS.get(prior.family, {}).get(prior.parameter)
        if reason:
            problems.append(Problem(file, f"cannot be free: {reason}", line=line, column="parameter",
                                    value=prior.parameter))
            continue
        for index, row in targets:
            numeric = family.numeric_columns(getattr(row, "profile", None))
            blank = prior.parameter in numeric and getattr(row, prior.parameter) is None
            if blank and (why := _freed_row_problem(row, prior)):
                problems.append(Problem(file, f"{prior.parameter} is blank in {family.name} row "
                                              f"{getattr(row, family.key[0])!r} and filling it makes the row "
                                              f"invalid: {why}", line=line, column="parameter",
                                        value=prior.parameter))
                break
            if prior.parameter not in numeric:
                problems.append(Problem(file, f"not a numeric parameter of {family.name} "
                                              f"{getattr(row, 'profile', '') or ''} rows"
                                              f"{did_you_mean(prior.parameter, numeric)}: "
                                              f"expected one of {', '.join(numeric)}",
                                        line=line, column="parameter", value=prior.parameter))
                break
            outside = _outside_support(row, prior)
            if outside is not None:
                bound, value, why = outside
                problems.append(Problem(file, f"the prior reaches {why}: keep it inside", line=line, column=bound,
                                        value=repr(value)))
                break
            cell = (prior.family, index, prior.parameter)
            if cell in claimed:
                problems.append(Problem(file, f"a second prior for {prior.family} row {getattr(row, family.key[0])!r} "
                                              f"{prior.parameter} (first at line {claimed[cell]})",
                                        line=line, column="parameter", value=prior.parameter))
                break
            claimed[cell] = line
    return problems
