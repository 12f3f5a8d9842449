"""Whole-model checks: the problems of a model that no single family file shows.

:func:`check_model` runs every check of :data:`MODEL_CHECKS` in order: sources behind the nearest lens
plane (lens rows may lie on several planes, :mod:`clusterlens.multiplane`), one redshift per galaxy,
member tiers that exist, point-source names that join source_point.csv to point_datasets.csv, lens
light joined to main_lens_mass.csv, and the priors' rules (:mod:`clusterlens.fit.prior_rules`).
Each problem names its file, line and column. :func:`clusterlens.model.load_model` and
``ClusterModel.from_records`` raise them together.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .cosmology import distance_between
from .errors import Problem
from .families import LENS_FAMILIES, SOURCE_FAMILIES
from .fit.prior_rules import prior_problems
from .suggest import did_you_mean

if TYPE_CHECKING:
    from .model import ClusterModel


def _where(model: ClusterModel, family: str, index: int) -> tuple[str, int | None]:
    table = model.tables[family]
    return table.source, table.lines[index]


def check_model(model: ClusterModel) -> list[Problem]:
    """Cross-family problems: redshifts, tiers, joins and priors (every check of ``MODEL_CHECKS``, in
    order). Empty list when the model is coherent."""
    return [problem for check in MODEL_CHECKS for problem in check(model)]


def _redshift_problems(model: ClusterModel) -> list[Problem]:
    problems = []
    # lens rows may lie on several planes (clusterlens.multiplane): a source must lie behind the nearest
    lens_redshifts = [row.redshift for name in LENS_FAMILIES for row in model.galaxy_rows(name)
                      if row.redshift is not None]
    z_lens = min(lens_redshifts) if lens_redshifts else None
    seen: dict[str, tuple[float, str]] = {}
    for name in (*LENS_FAMILIES, *SOURCE_FAMILIES):
        for i, row in enumerate(model.galaxy_rows(name)):
            z = row.redshift
            if z is None:
                continue
            file, line = _where(model, name, i)
            if row.galaxy in seen and seen[row.galaxy][0] != z:
                problems.append(Problem(file, f"galaxy {row.galaxy!r} has redshift {seen[row.galaxy][0]!r} in "
                                              f"{seen[row.galaxy][1]}: a galaxy has one redshift",
                                        line=line, column="redshift", value=repr(z)))
            seen.setdefault(row.galaxy, (z, f"{Path(file).name}:{line}"))
            if name in SOURCE_FAMILIES and z_lens is not None and z <= z_lens:
                problems.append(Problem(file, f"a source must lie behind the lens (its nearest plane): expected "
                                              f"redshift > {z_lens!r}",
                                        line=line, column="redshift", value=repr(z)))
    if z_lens is not None and not problems:
        problems += _distance_problems(model, z_lens)
    return problems


def _distance_problems(model: ClusterModel, z_lens: float) -> list[Problem]:
    """The source redshifts to which the cosmology gives no positive, finite D_S and D_LS (a closed
    universe can turn distances negative)."""
    where = [(name, i, row.redshift) for name in SOURCE_FAMILIES for i, row in enumerate(model.galaxy_rows(name))
             if row.redshift is not None]
    if not where:
        return []
    cosmo = model.cosmology
    redshifts = np.array([z for _, _, z in where], float)
    all_d_s = np.asarray(cosmo.angular_diameter_distance(redshifts).value, float)
    all_d_ls = np.array([distance_between(cosmo, z_lens, z) for z in redshifts], float)
    problems = []
    for (name, i, z), d_s, d_ls in zip(where, all_d_s, all_d_ls, strict=True):
        if not (math.isfinite(d_s) and math.isfinite(d_ls) and d_s > 0 and d_ls > 0):
            file, line = _where(model, name, i)
            problems.append(Problem(file, f"the cosmology gives D_S = {d_s:.4g} Mpc and D_LS = {d_ls:.4g} Mpc "
                                          "at this redshift: expected positive distances (check [cosmology])",
                                    line=line, column="redshift", value=repr(z)))
    return problems


def _tier_problems(model: ClusterModel) -> list[Problem]:
    relations = model.scaling_relations
    tiers = {r.tier for r in relations}
    problems = []
    for i, member in enumerate(model.scaling_galaxies):
        file, line = _where(model, "scaling_galaxies", i)
        if member.tier is None:
            if len(relations) != 1:
                expected = "a tier from scaling_relations.csv" if relations else "a scaling_relations.csv with one tier"
                problems.append(Problem(file, f"blank tier needs exactly one tier: expected {expected} "
                                              f"({', '.join(sorted(tiers)) or 'none defined'})",
                                        line=line, column="tier"))
        elif member.tier not in tiers:
            problems.append(Problem(file, f"tier not in scaling_relations.csv{did_you_mean(member.tier, tiers)}: "
                                          "expected one of "
                                          f"{', '.join(sorted(tiers)) or '(none defined)'}",
                                    line=line, column="tier", value=member.tier))
    return problems


def _join_problems(model: ClusterModel) -> list[Problem]:
    names = {p.name for p in model.source_points}
    problems = []
    first: dict[str, int | None] = {}
    for i, point in enumerate(model.source_points):
        file, line = _where(model, "source_point", i)
        if point.name in first:
            problems.append(Problem(file, f"a second source_point with this name (first at line {first[point.name]}): "
                                          "a name joins one source to its images in point_datasets.csv",
                                    line=line, column="name", value=point.name))
        first.setdefault(point.name, line)
    for i, image in enumerate(model.point_datasets):
        if image.name not in names:
            file, line = _where(model, "point_datasets", i)
            problems.append(Problem(file, f"no source_point.csv row has this name{did_you_mean(image.name, names)}: "
                                          "expected one of "
                                          f"{', '.join(sorted(names)) or '(no source_point.csv rows)'}",
                                    line=line, column="name", value=image.name))
    return problems


def _lens_light_problems(model: ClusterModel) -> list[Problem]:
    """Every main_lens_light row names a galaxy of main_lens_mass.csv (its light joins its mass by name)."""
    names = {row.galaxy for row in model.main_galaxies}
    problems = []
    for i, light in enumerate(model.main_lens_light):
        if light.galaxy not in names:
            file, line = _where(model, "main_lens_light", i)
            problems.append(Problem(file, "no main_lens_mass.csv row has this galaxy: expected one of "
                                          f"{', '.join(sorted(names)) or '(no main_lens_mass.csv rows)'}",
                                    line=line, column="galaxy", value=light.galaxy))
    return problems


#: The checks of :func:`check_model`, in order; the prior rules are the fit's
#: (:mod:`clusterlens.fit.prior_rules`).
MODEL_CHECKS: tuple[Callable[[ClusterModel], list[Problem]], ...] = (_redshift_problems, _tier_problems,
                                                                     _join_problems, _lens_light_problems,
                                                                     prior_problems)
