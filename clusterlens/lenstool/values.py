"""Cell values from a Lenstool result file (``best.par``, ``bestopt.par``) for an imported optimisation file.

This is how Lenstool users restart: the optimisation file gives the model and its priors, the result
file the values (:func:`read_result`, :func:`apply_result`).

- Potentials. Lenstool names the clump at position k (0-based, potfile members before it counted)
  ``O{k+1}`` when it is individually optimised (k < ``nlens_opt``) and ``{k+1}`` otherwise
  (init_grille), whatever its label in the optimisation file; so the result's potentiel with that name
  gives the values of the optimisation file's potential at position k (only when the result has no
  such name, the one with the potential's own label). Every column of its row is taken, read by the
  same profile codec; the family (host or main) and the priors stay the optimisation file's. A
  potential without a counterpart keeps its value, with a warning; another profile is an error.
- Tiers. A result file lists every potfile member as a potentiel named by its catalogue id
  (best.par): the tier's sigma_ref, r_core_ref and r_cut_ref are the medians over its members of
  sigma / L^sigma_slope, r_core / L^(1/2) and r_cut / L^r_cut_slope, with L = 10^(0.4 (mag_ref - mag)),
  the inverse of the scaling relation (:mod:`clusterlens.scaling`). Without them the result's n-th
  potfile block gives the n-th tier's values (bestopt.par); otherwise they are kept, with a warning.
- Source redshifts. The result's ``#ID z:Z dlsds:D`` header lines (:mod:`.images`).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .images import header_dlsds
from .parfile import LenstoolError, parse_par
from .potentials import Potential, read_potential
from .potfiles import potfile_relation
from .reading import ParReader

#: The scaling_relations columns a result file gives (the slopes and mag_ref stay the optimisation file's).
TIER_VALUES = ("sigma_ref", "r_core_ref", "r_cut_ref")


@dataclass
class LenstoolResult:
    """A result file: its reader, potentials and potfile relations in file order, and header dlsds."""

    reader: ParReader
    potentials: list[Potential]
    relations: list[dict]
    dlsds: dict[str, float]


def read_result(path: str | Path) -> LenstoolResult:
    """Read a Lenstool result file (best.par, bestopt.par): potentiel and potfile blocks and the header."""
    reader = ParReader(parse_par(path))
    potentials = [read_potential(reader, block) for block in reader.par.of_kind("potentiel")]
    relations = []
    for block in reader.par.of_kind("potfile"):
        found = potfile_relation(reader, block, set())
        if found is not None:
            relations.append(found[0])
    return LenstoolResult(reader, potentials, relations, header_dlsds(reader.par.header))


def apply_result(reader: ParReader, result: LenstoolResult, potentials: list[Potential], tiers: list[dict],
                 members: list[dict]) -> None:
    """Replace the values of the optimisation file's ``potentials`` and ``tiers`` by the result's (module
    docstring); ``reader`` is the optimisation file's."""
    if result.reader.cosmology_spec != reader.cosmology_spec:
        reader.warn(f"the result file {result.reader.path} has another cosmology ({result.reader.cosmology_spec}) "
                    f"than the optimisation file ({reader.cosmology_spec}): the optimisation file's is used")
    by_name: dict[str, Potential] = {}
    for potential in result.potentials:
        by_name.setdefault(potential.name, potential)
    positional = any(f"O{p.index + 1}" in by_name or f"{p.index + 1}" in by_name for p in potentials)
    for potential in potentials:
        names = (f"O{potential.index + 1}", f"{potential.index + 1}") if positional else (potential.block.label,)
        match = next((by_name[n] for n in names if n in by_name), None)
        if match is None:
            reader.warn(f"line {potential.block.line}: potentiel {potential.name}: the result file has no "
                        f"potentiel {' or '.join(names)}: its values are kept")
            continue
        if match.row["profile"] != potential.row["profile"]:
            raise LenstoolError(f"{result.reader.where(match.block.line)}: potentiel {match.name} is a "
                                f"{match.row['profile']}, but potentiel {potential.name} of the optimisation file "
                                f"(line {potential.block.line}) is a {potential.row['profile']}")
        potential.row.update({k: v for k, v in match.row.items() if k != "galaxy"})
    for number, relation in enumerate(tiers):
        estimates = _member_estimates(relation, [m for m in members if m["tier"] == relation["tier"]], by_name)
        if estimates is None and number < len(result.relations):
            estimates = {column: result.relations[number][column] for column in TIER_VALUES}
        if estimates is None:
            reader.warn(f"tier {relation['tier']!r}: the result file has neither its members nor a potfile "
                        "block: its values are kept")
            continue
        relation.update(estimates)


def _member_estimates(relation: dict, members: list[dict], by_name: dict[str, Potential]) -> dict | None:
    """sigma_ref, r_core_ref, r_cut_ref: medians of the inverted scaling relation over the members found."""
    found = [(by_name[m["galaxy"]].row, by_name[m["galaxy"]].fields.get("mag", m["mag"]))
             for m in members if m["galaxy"] in by_name]
    if not found:
        return None
    rows = [row for row, _ in found]
    luminosity = 10.0 ** (0.4 * (relation["mag_ref"] - np.array([mag for _, mag in found], dtype=float)))
    columns = {"sigma_ref": ("sigma", relation["sigma_slope"]), "r_core_ref": ("r_core", relation["r_core_slope"]),
               "r_cut_ref": ("r_cut", relation["r_cut_slope"])}
    return {column: float(np.median(np.array([row[name] for row in rows]) / luminosity**slope))
            for column, (name, slope) in columns.items()}
