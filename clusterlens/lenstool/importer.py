"""Lenstool ``.par`` (+ catalogues) -> clusterlens family records, dataset settings and a ClusterModel.

What becomes what (each block kind has its module):

- ``runmode reference`` and ``cosmologie`` -> ``dataset.toml`` [reference] and [cosmology]
  (:mod:`.reference`).
- ``potentiel`` blocks -> ``host_halo.csv`` or ``main_lens_mass.csv`` rows named by the block label,
  through the Lenstool codec of the registered profile that reads the block's ``profil``
  (:mod:`.potentials`; any other profile is an error naming the block). Host or main: a potential is
  a cluster- or group-scale halo, written to ``host_halo.csv``, when its core radius is at least
  :data:`HOST_MIN_CORE` arcsec or its sigma at least :data:`HOST_MIN_SIGMA` km/s, or when it is an
  NFW halo; every other potential (galaxies, and an external shear) goes to ``main_lens_mass.csv``.
- ``potfile`` blocks -> ``scaling_relations.csv`` tiers and ``scaling_galaxies.csv`` members (:mod:`.potfiles`).
- ``limit`` blocks (applied, as by Lenstool, to the potentials in file order) and the potfile's
  ``flag v1 v2`` values -> ``priors.csv`` (:mod:`.reading`: flag 1 uniform, 3 normal, 0 fixed).
- The multiple-image catalogue -> ``point_datasets.csv`` and ``source_point.csv`` (:mod:`.images`); each
  source at its source-plane position in the imported lens (:mod:`.sources`, combined by ``forme``),
  so simulating the model reproduces the systems; ``forme`` -> ``dataset.toml`` [fit].
- ``values``: a Lenstool result file (best.par, bestopt.par) whose values replace the optimisation
  file's, its priors kept (:mod:`.values`).
- Every float computed from the blocks and catalogues is rounded to
  :func:`clusterlens.cell_text.import_digits` significant digits of the sources' most (values copied
  from the file keep their text; a converted one carries no binary noise); directives stay exact.
- The observed images and lens centres -> ``dataset.toml`` [imaging], a field showing the whole
  cluster (:mod:`.field`).
- ``#clusterlens`` directives written by :func:`clusterlens.lenstool.write_par` replace what they
  carry (:mod:`.directives`).
- Blocks that do not describe the model (grille, source, cline, grande, champ, cosmolimit, ...)
  are skipped quietly; an unknown keyword in a potentiel, limit or potfile block, a repeated
  potential name (made unique, e.g. ``O1`` -> ``O1_2``) or an ignored setting warns with its line.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..cell_text import import_digits, round_significant
from ..model import ClusterModel, save_model
from ..registry.lenstool_rules import HOST_MIN_CORE, HOST_MIN_SIGMA
from .directives import apply_directives
from .field import imported_imaging
from .images import fit_settings, header_dlsds, read_images
from .keywords import QUIET_BLOCKS
from .parfile import LenstoolError, ParFile, parse_par
from .potentials import Potential, make_names_unique, read_limit, read_potential
from .potfiles import make_member_names_unique, read_potfile
from .reading import ParReader
from .reference import read_header
from .sources import source_positions
from .values import LenstoolResult, apply_result, read_result

__all__ = ["HOST_MIN_CORE", "HOST_MIN_SIGMA", "LenstoolImport", "import_lenstool", "par_records", "read_blocks",
           "read_par"]


@dataclass
class LenstoolImport:
    """The outcome of reading a Lenstool model: family records and dataset settings for
    :meth:`clusterlens.model.ClusterModel.from_records`, and the ``#key: value`` comments of the
    file's header (a result file's ``Chi2pos``, ``Chi2tot(dof=87)``, ``log(Evidence)``, ...)."""

    records: dict[str, list[dict]]
    dataset: dict
    header: dict[str, str] = field(default_factory=dict)


def read_par(par_path, images=None, position_sigma: float | None = None, values=None):
    """Read a Lenstool ``.par`` file (and its catalogues) into a validated :class:`ClusterModel`.

    ``images``: a multiple-image catalogue to use instead of (or, for a result file such as
    ``best.par``, in the absence of) the ``image multfile`` of the ``.par``. ``position_sigma``
    [arcsec]: the positional error of every image, overriding ``sigposArcsec``. ``values``: a Lenstool
    result file (best.par or bestopt.par) whose values replace those of ``par_path`` (an optimisation
    file), whose priors are kept (:mod:`.values`). Raises :class:`LenstoolError` for unreadable
    Lenstool input and :class:`clusterlens.ModelError` when the converted rows are not a valid model;
    warns with :class:`LenstoolWarning` (see module docstring).
    """
    result = par_records(par_path, images=images, position_sigma=position_sigma, values=values)
    return ClusterModel.from_records(result.records, result.dataset)


def import_lenstool(par, images=None, out_folder=None, position_sigma: float | None = None,
                    overwrite: bool = False, values=None) -> Path:
    """``clusterlens import-lenstool``: read ``par`` (+ ``images``, ``values``) and write the model folder
    ``out_folder`` (:func:`read_par`)."""
    if out_folder is None:
        raise ValueError("import_lenstool needs out_folder: the folder to write the model CSVs and dataset.toml to")
    model = read_par(par, images=images, position_sigma=position_sigma, values=values)
    return save_model(model, out_folder, overwrite=overwrite)


def par_records(par_path, images=None, position_sigma: float | None = None, values=None) -> LenstoolImport:
    """The family records and dataset of a Lenstool model, before validation (see :func:`read_par`)."""
    par = parse_par(par_path)
    reader = ParReader(par)
    result = read_result(values) if values is not None else None
    found = _read(reader, None if images is None else Path(images), position_sigma, result)
    found.records, found.dataset = apply_directives(reader, found.records, found.dataset)
    return found


def read_blocks(par: ParFile, images=None, position_sigma: float | None = None) -> LenstoolImport:
    """What the Lenstool blocks of ``par`` alone describe: :func:`par_records` without the directives."""
    return _read(ParReader(par), None if images is None else Path(images), position_sigma, None)


def _read(reader: ParReader, images: Path | None, position_sigma: float | None,
          result: LenstoolResult | None) -> LenstoolImport:
    for block in reader.par.blocks:
        if block.kind not in ("potentiel", "limit", "potfile") and block.kind not in QUIET_BLOCKS:
            reader.warn(f"line {block.line}: block '{block.name}' is not part of a clusterlens model: skipped")
    potentials, tiers, members = read_lens(reader)
    if result is not None:
        apply_result(reader, result, potentials, tiers, members)
    records: dict[str, list[dict]] = {}
    for family in ("host_halo", "main_lens_mass"):
        rows = [p.row for p in potentials if p.family == family]
        if rows:
            records[family] = rows
    if tiers:
        records["scaling_relations"] = tiers
        records["scaling_galaxies"] = members
    lens_names = {p.name for p in potentials} | {m["galaxy"] for m in members}
    z_lens = next((row["redshift"] for row in [*(p.row for p in potentials), *members]), None)
    dlsds = {**header_dlsds(reader.par.header), **(result.dlsds if result is not None else {})}
    sources, points = read_images(reader, lens_names, images, position_sigma, z_lens, dlsds)
    if reader.priors:
        records["priors"] = reader.priors
    dataset = {"reference": {"ra": reader.reference.ra, "dec": reader.reference.dec},
               "cosmology": dict(reader.cosmology_spec)}
    digits = import_digits(max(reader.source_digits, result.reader.source_digits if result is not None else 0))
    if sources:
        records["source_point"] = sources
        records["point_datasets"] = points
    round_records(records, digits)
    if sources:
        fit = fit_settings(reader)
        if fit is not None:
            dataset["fit"] = fit
        place_sources(records, dataset)
        round_records({"source_point": sources}, digits)
    imaging = imported_imaging(records)
    if imaging is not None:
        dataset["imaging"] = imaging
    return LenstoolImport(records, dataset, read_header(reader.par))


def round_records(records: dict[str, list[dict]], digits: int) -> None:
    """Round every float cell of ``records`` to ``digits`` significant digits, in place."""
    for rows in records.values():
        for row in rows:
            for key, value in row.items():
                if isinstance(value, float):
                    row[key] = round_significant(value, digits)


def place_sources(records: dict, dataset: dict) -> None:
    """Move each source_point record to its source-plane position in the lens of ``records``
    (:func:`.sources.source_positions` with the dataset's forme, else -2); left at the mean of its images when
    the records are not a valid model (building it later reports why)."""
    try:
        model = ClusterModel.from_records(records, dataset)
    except ValueError:
        return
    positions = source_positions(model, dataset.get("fit", {}).get("forme", -2))
    for source in records["source_point"]:
        source["x"], source["y"] = positions[source["name"]]


def read_lens(reader: ParReader) -> tuple[list[Potential], list[dict], list[dict]]:
    """Potentials, tiers and members in file order, with the n-th limit block applied to the n-th clump."""
    potentials: list[Potential] = []
    tiers: list[dict] = []
    members: list[dict] = []
    lens_index = 0       # Lenstool's index of the next clump (potentials and potfile members)
    limit_index = 0      # Lenstool's index of the clump the next limit block applies to
    by_index: dict[int, Potential] = {}
    for block in reader.par.blocks:
        if block.kind == "potentiel":
            potential = read_potential(reader, block)
            potential.index = lens_index
            potentials.append(potential)
            by_index[lens_index] = potential
            lens_index += 1
        elif block.kind == "limit":
            target = by_index.get(limit_index)
            if target is None:
                raise LenstoolError(f"{reader.where(block.line)}: limit block number {limit_index + 1} has no "
                                    f"potentiel to apply to: Lenstool applies the n-th limit block to the n-th "
                                    "potential, and there is none at that position")
            if block.label and block.label != target.block.label:
                reader.warn(f"line {block.line}: 'limit {block.label}' applies to 'potentiel "
                            f"{target.block.label}' (line {target.block.line}): Lenstool matches limit blocks "
                            "to potentials by order, not by name")
            read_limit(reader, block, target)
            limit_index += 1
        elif block.kind == "potfile":
            tier = read_potfile(reader, block, {t["tier"] for t in tiers})
            if tier is not None:
                relation, tier_members = tier
                relation.pop("_z")
                tiers.append(relation)
                members.extend(tier_members)
                lens_index += len(tier_members)
                limit_index = lens_index
    make_names_unique(reader, potentials)
    make_member_names_unique(reader, members, {p.name for p in potentials})
    return potentials, tiers, members
