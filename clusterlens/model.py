"""ClusterModel: the families of a folder stitched into one lens + sources model.

``load_model(folder)`` reads every family CSV present plus ``dataset.toml``, validates each file,
then checks the model as a whole (:mod:`clusterlens.model_checks`: sources behind the nearest lens
plane, tiers that exist, names that join, priors that match cells) and raises one :class:`ModelError`
listing every problem.
``save_model`` writes the same files back byte-for-byte.
"""
from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar, cast

import numpy as np
import pandas as pd

from . import atomic, csvio
from .columns import Row
from .cosmology import distance_ratio, make_cosmology
from .csvio import FamilyTable
from .dataset import FILENAME as DATASET_FILENAME
from .dataset import DatasetConfig, dataset_text, read_dataset, validate_dataset
from .display import model_renderable, model_summary, print_model, render_html, render_text
from .errors import ModelError, Problem
from .families import FAMILIES, LENS_FAMILIES, MASS_FAMILIES, SOURCE_FAMILIES
from .lens import Lens
from .lens_builder import build_lens, member_redshift, plane_groups
from .model_checks import check_model
from .multiplane import TracedLens, traced_lens
from .products import sky
from .rows import GalaxyRow, LightRow, MassRow, PointImage, Prior, ScalingGalaxy, ScalingRelation, SourcePoint
from .units import as_arcsec

_RowT = TypeVar("_RowT", bound=Row)


@dataclass(frozen=True)
class Tier:
    """One scaling-relation tier and its member galaxies (rows of scaling_galaxies.csv)."""

    relation: ScalingRelation
    members: tuple[ScalingGalaxy, ...]

    @property
    def name(self) -> str:
        return self.relation.tier


@dataclass(frozen=True, eq=False, repr=False)
class ClusterModel:
    """A validated cluster lens model: every family's rows plus the dataset settings.

    ``tables`` holds the families that exist (a family absent from the folder is absent here);
    the accessors (``host_halo``, ``main_galaxies``, ``tiers``, ...) return empty tuples for them.
    """

    tables: dict[str, FamilyTable[Row]]
    dataset: DatasetConfig
    folder: Path | None = field(default=None, compare=False)

    # ------------------------------------------------------------ construction
    @classmethod
    def from_records(cls, records: Mapping[str, Sequence[Mapping[str, Any]]],
                     dataset: Mapping[str, Any] | DatasetConfig) -> ClusterModel:
        """Build a model in Python from ``{family: [{column: value}, ...]}`` and the dataset.toml settings
        (a dict or a DatasetConfig); validated like CSV files: every problem in one :class:`ModelError`."""
        lists, problems = _record_lists(records)
        config: DatasetConfig | None = None
        if isinstance(dataset, DatasetConfig):
            config = dataset
        else:
            try:
                config = validate_dataset(dataset, "<dataset>")
            except ModelError as err:
                problems += err.problems
        tables: dict[str, FamilyTable[Row]] = {}
        for name, recs in lists.items():
            tables[name], found = csvio.validate_table(FAMILIES[name], enumerate(recs, start=1), f"<{name}>")
            problems += found
        if problems:
            raise ModelError(problems)
        assert config is not None  # validate_dataset returned it (a failure is one of the problems)
        model = cls(tables, config)
        problems += check_model(model)
        if problems:
            raise ModelError(problems)
        return model

    def with_rows(self, family: str, rows: Iterable[Row]) -> ClusterModel:
        """A copy with ``family``'s rows replaced (line numbers are kept where the count matches)."""
        new = tuple(rows)
        old = self.tables.get(family)
        lines = old.lines if old is not None and len(old.lines) == len(new) else (None,) * len(new)
        source = old.source if old is not None else f"<{family}>"
        tables = {**self.tables, family: FamilyTable(FAMILIES[family], new, lines, source)}
        return replace(self, tables=tables)

    # ------------------------------------------------------------ accessors
    def rows(self, family: str) -> tuple[Row, ...]:
        """The rows of ``family`` (empty for a family the model does not have)."""
        table = self.tables.get(family)
        return () if table is None else table.rows

    def _rows_of(self, family: str, row_type: type[_RowT]) -> tuple[_RowT, ...]:
        """``rows(family)`` for a family whose rows are all of class ``row_type``."""
        # the family's rows were validated into its row class (FAMILIES[family].row_type is row_type)
        return cast("tuple[_RowT, ...]", self.rows(family))

    def mass_rows(self, family: str) -> tuple[MassRow, ...]:
        """The rows of a mass family (one of :data:`MASS_FAMILIES`: host_halo or main_lens_mass)."""
        if family not in MASS_FAMILIES:
            raise ValueError(f"not a mass family: {family!r}; expected one of {', '.join(MASS_FAMILIES)}")
        # the family's rows were validated into registered mass profiles' rows (rows.LensMassRow)
        return cast("tuple[MassRow, ...]", self.rows(family))

    def galaxy_rows(self, family: str) -> tuple[GalaxyRow, ...]:
        """The rows of a lens or source family (one of :data:`LENS_FAMILIES` or :data:`SOURCE_FAMILIES`)."""
        if family not in (*LENS_FAMILIES, *SOURCE_FAMILIES):
            raise ValueError(f"not a lens or source family: {family!r}; expected one of "
                             f"{', '.join((*LENS_FAMILIES, *SOURCE_FAMILIES))}")
        # every lens and source row class has a galaxy and a (float or optional) redshift column
        return cast("tuple[GalaxyRow, ...]", self.rows(family))

    @property
    def host_halo(self) -> tuple[MassRow, ...]:
        return self.mass_rows("host_halo")

    @property
    def main_galaxies(self) -> tuple[MassRow, ...]:
        return self.mass_rows("main_lens_mass")

    @property
    def scaling_relations(self) -> tuple[ScalingRelation, ...]:
        return self._rows_of("scaling_relations", ScalingRelation)

    @property
    def scaling_galaxies(self) -> tuple[ScalingGalaxy, ...]:
        return self._rows_of("scaling_galaxies", ScalingGalaxy)

    @property
    def source_light(self) -> tuple[LightRow, ...]:
        # the family's rows were validated into registered light profiles' rows (rows.SourceLightRow)
        return cast("tuple[LightRow, ...]", self.rows("source_light"))

    @property
    def main_lens_light(self) -> tuple[LightRow, ...]:
        """The light of main lens galaxies (main_lens_light.csv rows; registered light profiles)."""
        return cast("tuple[LightRow, ...]", self.rows("main_lens_light"))

    @property
    def source_points(self) -> tuple[SourcePoint, ...]:
        return self._rows_of("source_point", SourcePoint)

    @property
    def point_datasets(self) -> tuple[PointImage, ...]:
        return self._rows_of("point_datasets", PointImage)

    @property
    def priors(self) -> tuple[Prior, ...]:
        return self._rows_of("priors", Prior)

    @cached_property
    def tiers(self) -> tuple[Tier, ...]:
        """Tiers in scaling_relations.csv order; a blank member tier means the only tier."""
        relations = self.scaling_relations
        members = self.scaling_galaxies
        return tuple(
            Tier(rel, tuple(m for m in members if (m.tier or relations[0].tier) == rel.tier)) for rel in relations
        )

    @cached_property
    def galaxies(self) -> dict[str, dict[str, tuple[GalaxyRow, ...]]]:
        """Every galaxy name with its rows by family: the join of the families."""
        joined: dict[str, dict[str, list[GalaxyRow]]] = {}
        for name in (*LENS_FAMILIES, *SOURCE_FAMILIES):
            for row in self.galaxy_rows(name):
                joined.setdefault(row.galaxy, {}).setdefault(name, []).append(row)
        return {g: {f: tuple(r) for f, r in fams.items()} for g, fams in joined.items()}

    @property
    def reference(self) -> tuple[float, float]:
        """(RA, Dec) in degrees of the x = y = 0 point."""
        return (self.dataset.reference.ra, self.dataset.reference.dec)

    @cached_property
    def cosmology(self):
        """The dataset's astropy cosmology."""
        return make_cosmology(self.dataset.cosmology.model_dump(exclude_none=True))

    @property
    def z_lens(self) -> float | None:
        """The lens redshift: of the first lens row (host halo first) that gives one, the main plane of a
        multi-plane model (None for a model without lens rows)."""
        for name in LENS_FAMILIES:
            for row in self.galaxy_rows(name):
                if row.redshift is not None:
                    return row.redshift
        return None

    # ------------------------------------------------------------ tables
    def to_dataframes(self) -> dict[str, pd.DataFrame]:
        """One DataFrame per family present, columns in the CSV order, blank cells as NaN/None."""
        frames = {}
        for name, table in self.tables.items():
            columns = csvio.used_columns(table.family, table.rows)
            frames[name] = pd.DataFrame([r.model_dump() for r in table.rows], columns=columns)
        return frames

    def __repr__(self) -> str:
        """A one-screen summary: families with row counts, z_lens, the free cells (``str`` has the tables)."""
        return model_summary(self)

    def __str__(self) -> str:
        """The tables as plain text (returned, not printed)."""
        return render_text(self)

    def __rich__(self):
        return model_renderable(self)

    def _repr_html_(self) -> str:
        """An HTML fragment of the tables: what a notebook shows for ``model`` (nothing is printed)."""
        return render_html(self)

    def show(self, all: bool = False, *, all_rows: bool = False) -> None:
        """Print the model's tables; ``all`` (or ``all_rows``) lists every member instead of a tier summary."""
        print_model(self, all_rows=all or all_rows)

    # ------------------------------------------------------------ lensing
    @cached_property
    def lens_redshifts(self) -> tuple[float, ...]:
        """The distinct redshifts of the lens planes, increasing (a member's blank redshift is ``z_lens``)."""
        redshifts: set[float | None] = {row.redshift for family in MASS_FAMILIES for row in self.mass_rows(family)}
        redshifts |= {member_redshift(m, self.z_lens) for t in self.tiers for m in t.members}
        return tuple(sorted(z for z in redshifts if z is not None))

    @property
    def is_multiplane(self) -> bool:
        """Whether the lens rows lie on more than one lens plane (:mod:`clusterlens.multiplane`)."""
        return len(self.lens_redshifts) > 1

    @cached_property
    def planes(self) -> tuple[tuple[float, Lens], ...]:
        """The lens planes, ((z, Lens), ...) with z increasing, amplitudes at D_LS/D_S = 1 of each plane;
        a single-plane model's one plane is :attr:`lens`."""
        if not self.is_multiplane:
            return () if self.z_lens is None else ((self.lens_redshifts[0], self.lens),)
        return tuple((z, Lens(groups)) for z, groups in plane_groups(self))

    @cached_property
    def lens(self) -> Lens:
        """The whole lens as a :class:`clusterlens.lens.Lens` (amplitudes at D_LS/D_S = 1); a multi-plane
        model has no single lens (ValueError): use :meth:`lens_toward`."""
        if self.is_multiplane:
            raise ValueError(f"this model has lens planes at z = {', '.join(f'{z:g}' for z in self.lens_redshifts)}: "
                             "it has no single-plane lens; use model.lens_toward(z_source)")
        return build_lens(self)

    def lens_toward(self, z_source: float) -> tuple[Lens | TracedLens, float]:
        """(lens, scale) mapping image-plane points to a source at ``z_source``, for the functions that take
        a lens and a scale (solver, maps): a single-plane model gives (:attr:`lens`, D_LS/D_S); a
        multi-plane one gives the :class:`~clusterlens.multiplane.TracedLens` through every plane in front
        of the source (scale 1)."""
        if not self.is_multiplane:
            return self.lens, self.distance_ratio(z_source)
        return self._traced(float(z_source)), 1.0

    def _traced(self, z_source: float) -> TracedLens:
        cache = self._traced_lenses
        if z_source not in cache:
            cache[z_source] = traced_lens(self.planes, self.cosmology, z_source)
        return cache[z_source]

    @cached_property
    def _traced_lenses(self) -> dict[float, TracedLens]:
        return {}

    def distance_ratio(self, z_source: float) -> float:
        """D_LS/D_S for a source at ``z_source`` behind the lens plane at ``z_lens`` (ValueError for
        z_source <= z_lens)."""
        if self.z_lens is None:
            raise ValueError("the model has no lens rows, so no lens redshift")
        return distance_ratio(self.cosmology, self.z_lens, float(z_source))

    def deflections(self, x, y, z_source: float):
        """Deflection (alpha_x, alpha_y) [arcsec] at image-plane points x, y for a source at z_source
        (multi-plane: the effective deflection theta - beta).

        Here and in the other lensing methods x, y are arcsec, or astropy Quantities in any angle unit.
        """
        lens, scale = self.lens_toward(z_source)
        return lens.deflection(*_image_points(x, y), scale=scale)

    def hessian(self, x, y, z_source: float):
        """(psi_xx, psi_xy, psi_yy) of the lensing potential for a source at z_source (multi-plane: the
        symmetric part of I - A, A = d beta / d theta)."""
        lens, scale = self.lens_toward(z_source)
        return lens.hessian(*_image_points(x, y), scale=scale)

    def convergence(self, x, y, z_source: float):
        """Convergence kappa for a source at z_source (multi-plane: the effective 1 - (A11 + A22)/2)."""
        lens, scale = self.lens_toward(z_source)
        return lens.convergence(*_image_points(x, y), scale=scale)

    def shear(self, x, y, z_source: float):
        """Shear components (gamma_1, gamma_2) for a source at z_source (multi-plane: effective)."""
        lens, scale = self.lens_toward(z_source)
        return lens.shear(*_image_points(x, y), scale=scale)

    def magnification(self, x, y, z_source: float):
        """Signed magnification 1/det(A) for a source at z_source."""
        lens, scale = self.lens_toward(z_source)
        return lens.magnification(*_image_points(x, y), scale=scale)

    def potential(self, x, y, z_source: float):
        """Lensing potential psi [arcsec^2] for a source at z_source (multi-plane: the effective potential
        of :class:`~clusterlens.multiplane.TracedLens`, whose Fermat potential gives the arrival time)."""
        lens, scale = self.lens_toward(z_source)
        return lens.potential(*_image_points(x, y), scale=scale)

    # ------------------------------------------------------------ sky coordinates
    def to_sky(self, x, y, *, skycoord: bool = True):
        """Sky position of model offsets x, y [arcsec, or angle Quantities] from the dataset's reference:
        an ICRS astropy ``SkyCoord``, or (ra, dec) in degrees with ``skycoord=False``
        (:func:`clusterlens.products.sky.to_sky`)."""
        return sky.to_sky(x, y, self.reference, skycoord=skycoord)

    def from_sky(self, ra, dec=None) -> tuple[np.ndarray, np.ndarray]:
        """Model offsets (x, y) [arcsec] of a ``SkyCoord`` (``dec`` omitted) or of RA, Dec [deg, or angle
        Quantities] (:func:`clusterlens.products.sky.from_sky`)."""
        return sky.from_sky(ra, dec, reference=self.reference)


def _image_points(x, y) -> tuple[np.ndarray, np.ndarray]:
    """Image-plane x, y as float arrays in arcsec (angle Quantities converted, other units refused)."""
    return np.asarray(as_arcsec(x, "x"), float), np.asarray(as_arcsec(y, "y"), float)


def _record_lists(records: object) -> tuple[dict[str, list[Mapping[str, Any]]], list[Problem]]:
    """``from_records``' families as lists of row dicts, with a problem for every other shape."""
    if not isinstance(records, Mapping):
        return {}, [Problem("<records>", f"expected a dict {{family: [row dicts]}}, got {type(records).__name__}")]
    lists: dict[str, list[Mapping[str, Any]]] = {}
    problems: list[Problem] = []
    for name, recs in records.items():
        if name not in FAMILIES:
            problems.append(Problem("<records>", f"unknown family {name!r}: expected one of {', '.join(FAMILIES)}"))
        elif isinstance(recs, (str, bytes, Mapping)) or not isinstance(recs, Iterable):
            problems.append(Problem(f"<{name}>", f"expected a list of row dicts, got {type(recs).__name__}"))
        else:
            lists[name] = list(recs)
            problems += [Problem(f"<{name}>", f"expected a dict of column values, got {type(r).__name__}", line=i)
                         for i, r in enumerate(lists[name], start=1) if not isinstance(r, Mapping)]
            if any(not isinstance(r, Mapping) for r in lists[name]):
                del lists[name]
    return lists, problems


# ---------------------------------------------------------------- folders
def load_model(folder: str | os.PathLike) -> ClusterModel:
    """Read every family CSV present in ``folder`` and ``dataset.toml``; validate everything together."""
    folder = Path(folder)
    if folder.is_file():
        raise ModelError([Problem(str(folder), f"is a file: expected the model folder that holds it with dataset.toml "
                                               f"and the other family CSVs (e.g. {folder.parent})")])
    if not folder.is_dir():
        raise ModelError([Problem(str(folder), "no such folder: expected a model folder with dataset.toml "
                                               "and family CSVs")])
    problems: list[Problem] = []
    dataset = None
    dataset_path = folder / DATASET_FILENAME
    if not os.path.lexists(dataset_path):
        problems.append(Problem(str(dataset_path), "missing: every model folder needs dataset.toml "
                                                   "([reference] ra, dec and [cosmology])"))
    else:
        try:
            dataset = read_dataset(dataset_path)
        except ModelError as err:
            problems += err.problems
    tables: dict[str, FamilyTable[Row]] = {}
    for family in FAMILIES.values():
        path = folder / family.filename
        if os.path.lexists(path):
            table, found = csvio.parse_family(path, family)
            tables[family.name] = table
            problems += found
    if not problems:
        assert dataset is not None  # read_dataset returned it (a missing or bad dataset.toml is a problem)
        model = ClusterModel(tables, dataset, folder)
        problems += check_model(model)
        if not problems:
            return model
    elif dataset is not None:
        problems += _checks_of_valid_rows(ClusterModel(tables, dataset, folder))
    raise ModelError(problems)


def _checks_of_valid_rows(model: ClusterModel) -> list[Problem]:
    """The whole-model problems of the rows that are valid, when some rows of the folder are not: all
    problems are reported at once. A problem that names a key (galaxy, tier, name) of an invalid row
    may be caused by that row and is left out, as are the problems naming no value (a blank tier, ...);
    every check is left out when a file could not be read as rows."""
    rejected: set[str] = set()
    for table in model.tables.values():
        keys = csvio.rejected_keys(table, table.source)
        if keys is None:
            return []
        if table.family.name not in ("priors", "point_datasets"):  # no other file names their rows
            rejected |= keys
    if not rejected:
        return check_model(model)
    return [p for p in check_model(model) if p.value is not None and p.value not in rejected | {"*"}]


def model_files(model: ClusterModel) -> dict[str, bytes]:
    """The exact bytes ``save_model`` writes, by file name."""
    files = {DATASET_FILENAME: dataset_text(model.dataset).encode()}
    for table in model.tables.values():
        files[table.family.filename] = csvio.family_text(table.family, table.rows).encode()
    return files


def save_model(model: ClusterModel, folder: str | os.PathLike, overwrite: bool = False) -> Path:
    """Write the model's family CSVs and ``dataset.toml`` to ``folder`` (each file atomically).

    An existing file whose content would change, or a family file the model does not have (it would
    load with the model), is refused unless ``overwrite=True``, which replaces and removes them: a
    user's edited CSVs are never replaced silently.
    """
    folder = Path(folder)
    files = model_files(model)
    stale = [f.filename for f in FAMILIES.values() if f.filename not in files and (folder / f.filename).exists()]
    if not overwrite:
        changed = [n for n, data in files.items() if (folder / n).exists() and (folder / n).read_bytes() != data]
        if changed or stale:
            what = ", ".join([*(f"overwrite {n}" for n in changed), *(f"remove {n}" for n in stale)])
            raise FileExistsError(f"{folder}: saving this model would {what} (a family this model does not "
                                  "have would otherwise load with it); pass overwrite=True (CLI: --overwrite)")
    atomic.write_files(folder, files)
    for name in stale:
        (folder / name).unlink()
    return folder
