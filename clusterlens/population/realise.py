"""One realisation of a population: its seeds, its drawn rows and labels, its validated model.

A population is a model folder plus ``population.csv`` (:mod:`.distributions`) and the ``[population]``
section of dataset.toml (:class:`clusterlens.dataset.PopulationSettings`). Realisation ``i`` of base
seed ``s`` draws everything from ``np.random.SeedSequence([s, i])``: its first child drives the draws
(spawning, in order, the member generator, the source generator and one stream per population.csv
row), its second gives the simulation seed (:func:`simulation_seed`). So realisation i is the same
made alone or among any number of others, on any number of workers, and adding a population.csv row
at the end leaves the draws of the rows above it unchanged.

Draws apply in order: generated members replace their tier's scaling_galaxies rows, generated sources
are added, then each population.csv row sets its target cells. A drawn x, y or redshift of a source
sets it in both source_light and source_point rows of that galaxy; a drawn x or y of a main galaxy in
both main_lens_mass and main_lens_light rows (light and mass stay together).
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..dataset import PopulationSettings
from ..errors import ModelError, Problem
from ..families import FAMILIES
from ..model import ClusterModel, load_model
from . import generators
from .distributions import FILENAME, Distribution, draw, read_distributions

#: Families whose numeric cells population.csv may draw.
DRAWABLE = ("host_halo", "main_lens_mass", "main_lens_light", "scaling_relations", "scaling_galaxies",
            "source_light", "source_point")
#: Cells a draw also sets in the partner family's rows of the same galaxy.
JOINED = {("source_light", "x"): "source_point", ("source_light", "y"): "source_point",
          ("source_light", "redshift"): "source_point", ("source_point", "x"): "source_light",
          ("source_point", "y"): "source_light", ("source_point", "redshift"): "source_light",
          ("main_lens_mass", "x"): "main_lens_light", ("main_lens_mass", "y"): "main_lens_light",
          ("main_lens_light", "x"): "main_lens_mass", ("main_lens_light", "y"): "main_lens_mass"}
LENS_PLANE = ("host_halo", "main_lens_mass", "main_lens_light", "scaling_galaxies")
SOURCE_PREFIX = "pop_src"
MEMBER_PREFIX = "pop_m"

Records = dict[str, list[dict[str, Any]]]


@dataclass(frozen=True, eq=False)
class Population:
    """A model, the distributions of its cells and the [population] settings (:func:`load_population`)."""

    model: ClusterModel
    settings: PopulationSettings
    distributions: tuple[Distribution, ...] = ()
    lines: tuple[int | None, ...] = ()
    source: str = f"<{FILENAME}>"

    @property
    def dataset(self) -> dict[str, Any]:
        """dataset.toml of every realisation: the model's, without [population]."""
        return self.model.dataset.model_dump(exclude_none=True, exclude={"population"})


def realisation_seeds(base_seed: int, index: int) -> tuple[np.random.SeedSequence, np.random.SeedSequence]:
    """(draws, simulation) seed sequences of realisation ``index``: SeedSequence([base_seed, index]).spawn(2)."""
    if not (0 <= int(base_seed) <= 2**63 - 1 and int(index) >= 0):
        raise ValueError(f"expected a base seed in [0, 2**63 - 1] and an index >= 0, got {base_seed!r}, {index!r}")
    draws, simulation = np.random.SeedSequence([int(base_seed), int(index)]).spawn(2)
    return draws, simulation


def simulation_seed(base_seed: int, index: int) -> int:
    """The integer seed (0 ... 2**63 - 1) realisation ``index`` is simulated with, as by ``clusterlens
    simulate --seed`` (so a --folders realisation can be re-simulated alone from its manifest's seed)."""
    return int(realisation_seeds(base_seed, index)[1].generate_state(1, np.uint64)[0] >> np.uint64(1))


def _records(model: ClusterModel) -> Records:
    return {name: [row.model_dump(exclude_none=True) for row in table.rows]
            for name, table in model.tables.items() if name != "point_datasets"}


def _generate_members(records: Records, settings: PopulationSettings, model: ClusterModel,
                      rng: np.random.Generator) -> int:
    spec = settings.members
    assert spec is not None
    tier = spec.tier or model.scaling_relations[0].tier
    count = int(rng.poisson(spec.richness))
    mags = generators.schechter_magnitudes(rng, count, spec.mag_star, spec.alpha, spec.mag_min, spec.mag_max)
    x, y = generators.positions_in_profile(rng, count, spec.core_radius, spec.max_radius, spec.center_x,
                                           spec.center_y)
    q = rng.uniform(spec.q_min, 1.0, count)
    angle = rng.uniform(-90.0, 90.0, count)
    only = len(model.scaling_relations) == 1
    kept = [r for r in records.get("scaling_galaxies", []) if (r.get("tier") or (tier if only else None)) != tier]
    records["scaling_galaxies"] = kept + [
        {"galaxy": f"{MEMBER_PREFIX}{k + 1:05d}", "tier": tier, "x": float(x[k]), "y": float(y[k]),
         "mag": float(mags[k]), "q": float(q[k]), "angle": float(angle[k])} for k in range(count)]
    return count


def _generate_sources(records: Records, settings: PopulationSettings, labels: dict[str, float | int],
                      rng: np.random.Generator) -> None:
    spec = settings.sources
    assert spec is not None
    z = generators.smail_redshifts(rng, spec.n, spec.z0, spec.z_min, spec.z_max)
    x, y = generators.positions_in_disc(rng, spec.n, spec.radius, spec.center_x, spec.center_y)
    q = rng.uniform(spec.q_min, 1.0, spec.n)
    angle = rng.uniform(-90.0, 90.0, spec.n)
    for k in range(spec.n):
        galaxy = f"{SOURCE_PREFIX}{k + 1}"
        cells = {"x": float(x[k]), "y": float(y[k]), "redshift": float(z[k])}
        light = {**cells, "q": float(q[k]), "angle": float(angle[k])}
        records.setdefault("source_light", []).append(
            {"galaxy": galaxy, "profile": "Sersic", **light, "intensity": spec.intensity,
             "effective_radius": spec.effective_radius, "sersic_index": spec.sersic_index})
        labels.update({f"source_light.{galaxy}.{k_}": v for k_, v in light.items()})
        if spec.point_flux is not None:
            records.setdefault("source_point", []).append(
                {"galaxy": galaxy, "name": f"{galaxy}_p", **cells, "flux": spec.point_flux})


def _targets(records: Records, row: Distribution) -> list[int]:
    key = FAMILIES[row.family].key[0]
    return [i for i, r in enumerate(records.get(row.family, [])) if row.galaxy == "*" or r.get(key) == row.galaxy]


def draw_records(population: Population, index: int) -> tuple[Records, dict[str, float | int]]:
    """The rows ({family: [row dicts]}) and labels ({name: value}) of realisation ``index`` (module docstring).

    Labels: ``n_members`` when members are generated, each generated source's ``source_light.<galaxy>.<cell>``
    and each drawn cell as ``<family>.<row key>.<parameter>``.
    """
    settings = population.settings
    draws, _ = realisation_seeds(settings.seed, index)
    member_seed, source_seed, csv_seed = draws.spawn(3)
    records = _records(population.model)
    labels: dict[str, float | int] = {}
    if settings.members is not None:
        labels["n_members"] = _generate_members(records, settings, population.model, np.random.default_rng(member_seed))
    if settings.sources is not None:
        _generate_sources(records, settings, labels, np.random.default_rng(source_seed))
    streams = csv_seed.spawn(len(population.distributions))
    for row, stream in zip(population.distributions, streams, strict=True):
        rows = records.get(row.family, [])
        key = FAMILIES[row.family].key[0]
        targets = _targets(records, row)
        values = draw(row, np.random.default_rng(stream), len(targets))
        partner = JOINED.get((row.family, row.parameter))
        for target, value in zip(targets, values, strict=True):
            rows[target][row.parameter] = float(value)
            galaxy = rows[target][key]
            labels[f"{row.family}.{galaxy}.{row.parameter}"] = float(value)
            for other in records.get(partner, []) if partner else []:
                if other["galaxy"] == galaxy:
                    other[row.parameter] = float(value)
    return records, labels


def realise(population: Population, index: int) -> tuple[ClusterModel, dict[str, float | int]]:
    """(validated model, labels) of realisation ``index``; a ModelError names the realisation's problems."""
    records, labels = draw_records(population, index)
    try:
        model = ClusterModel.from_records(records, population.dataset)
    except ModelError as err:
        raise ModelError([Problem(f"realisation {index}", str(p)) for p in err.problems]) from None
    return model, labels


def _target_problems(population: Population) -> list[Problem]:
    """population.csv rows that target no row, a non-numeric or fixed cell, or a cell drawn twice."""
    records, _ = draw_records(Population(population.model, population.settings), 0)
    problems = []
    claimed: dict[tuple[str, str, str], int | None] = {}
    for row, line in zip(population.distributions, population.lines, strict=True):
        def problem(message: str, column: str, value: str, line: int | None = line) -> Problem:
            return Problem(population.source, message, line=line, column=column, value=value)

        if row.family not in DRAWABLE:
            problems.append(problem(f"unknown family: expected one of {', '.join(DRAWABLE)}", "family", row.family))
            continue
        if row.family == "scaling_galaxies" and population.settings.members is not None:
            problems.append(problem("members are drawn by [population.members]: vary them there", "family",
                                    row.family))
            continue
        if row.parameter == "redshift" and row.family in LENS_PLANE:
            problems.append(problem("cannot be drawn: the lens redshift is one plane for every lens row",
                                    "parameter", row.parameter))
            continue
        family = FAMILIES[row.family]
        targets = _targets(records, row)
        if not targets:
            problems.append(problem(f"matches no row of {family.filename}", "galaxy", row.galaxy))
            continue
        for target in targets:
            cells = records[row.family][target]
            numeric = family.numeric_columns(cells.get("profile"))
            if row.parameter not in numeric:
                problems.append(problem(f"not a numeric parameter of {row.family} {cells.get('profile', '')} rows: "
                                        f"expected one of {', '.join(numeric)}", "parameter", row.parameter))
                break
            partner = JOINED.get((row.family, row.parameter))
            cell_keys = [(row.family, cells[family.key[0]], row.parameter)]
            cell_keys += [(partner, cells["galaxy"], row.parameter)] if partner else []
            twice = next((c for c in cell_keys if c in claimed), None)
            if twice:
                problems.append(problem(f"{twice[0]} {twice[1]!r} {twice[2]} is drawn twice (first at line "
                                        f"{claimed[twice]})", "parameter", row.parameter))
                break
            claimed.update(dict.fromkeys(cell_keys, line))
    return problems


def make_population(model: ClusterModel, distributions: Mapping | list | tuple = (),
                    settings: PopulationSettings | Mapping | None = None) -> Population:
    """A checked population from a model, population.csv rows (Distribution rows or dicts) and settings
    (default: the model's [population], else the defaults); ModelError lists every problem."""
    rows = tuple(d if isinstance(d, Distribution) else Distribution.model_validate(d) for d in distributions)
    if settings is None:
        settings = model.dataset.population or PopulationSettings()
    elif not isinstance(settings, PopulationSettings):
        settings = PopulationSettings.model_validate(settings)
    population = Population(model, settings, rows, (None,) * len(rows))
    return _checked(population)


def _checked(population: Population) -> Population:
    problems = _target_problems(population)
    if problems:
        raise ModelError(problems)
    realise(population, 0)
    return population


def load_population(folder: str | os.PathLike) -> Population:
    """The population of a model folder: its model, population.csv (optional) and [population] settings."""
    folder = Path(folder)
    model = load_model(folder)
    settings = model.dataset.population or PopulationSettings()
    path = folder / FILENAME
    if not path.is_file():
        return _checked(Population(model, settings))
    table, problems = read_distributions(path)
    if problems:
        raise ModelError(problems)
    return _checked(Population(model, settings, table.rows, table.lines, str(path)))
