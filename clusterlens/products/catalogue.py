"""Bring your own catalogue: an RA/Dec table (CSV or FITS) into scaling_galaxies.csv or point_datasets.csv.

``import_catalogue(table, folder, kind)`` reads the table (CSV, or the first table HDU of a FITS file;
column names are matched case-insensitively), converts RA, Dec [deg] to the model's x, y [arcsec] with
the folder's dataset.toml reference (:func:`.sky.from_sky`) and writes the family file:

- ``kind="members"`` -> scaling_galaxies.csv: columns ``id`` (galaxy name), ``ra``, ``dec``, ``mag``,
  optional ``q``, ``angle`` [deg], ``tier`` (or the ``tier`` argument);
- ``kind="images"`` -> point_datasets.csv: columns ``id`` (source name, e.g. ``1``) and ``image``
  (e.g. ``a``), or a single ``id`` such as ``1.1`` split at its first dot, ``ra``, ``dec``, optional
  ``sigma`` [arcsec] (else the ``sigma`` argument); a redshift column is not read (redshifts belong
  to source_point.csv).

Every row is validated as the family's CSV rows are; all problems are raised together (file, line,
column). An existing family file is replaced only with ``overwrite=True``.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import atomic, csvio
from ..dataset import FILENAME as DATASET_FILENAME
from ..dataset import read_dataset
from ..errors import ModelError, Problem
from ..families import FAMILIES
from .sky import from_sky

KINDS = {"members": "scaling_galaxies", "images": "point_datasets"}
REQUIRED = {"members": ("id", "ra", "dec", "mag"), "images": ("id", "ra", "dec")}
OPTIONAL = {"members": ("q", "angle", "tier"), "images": ("image", "sigma")}


def read_table(path: str | os.PathLike) -> pd.DataFrame:
    """A CSV or FITS table with lower-case column names (FITS: the first HDU holding a table)."""
    path = Path(path)
    if not path.is_file():
        raise ModelError([Problem(str(path), "no such file: expected a CSV or FITS table")])
    if path.suffix.lower() in (".fits", ".fit", ".fts") or path.name.lower().endswith(".fits.gz"):
        from astropy.table import Table

        frame = Table.read(path).to_pandas()
        for column in frame.columns:  # FITS strings arrive as bytes
            if frame[column].dtype == object:
                frame[column] = [v.decode().strip() if isinstance(v, bytes) else v for v in frame[column]]
    else:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    return frame


def catalogue_records(frame: pd.DataFrame, kind: str, reference: tuple[float, float], name: str,
                      tier: str | None = None, sigma: float | None = None) -> list[tuple[int, dict[str, Any]]]:
    """(line, row dict) records of the family of ``kind`` from a catalogue table (module docstring)."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    missing = [c for c in REQUIRED[kind] if c not in frame.columns]
    if missing:
        raise ModelError([Problem(name, f"missing column(s) {', '.join(missing)}: a {kind} catalogue needs "
                                        f"{', '.join(REQUIRED[kind])} (optional {', '.join(OPTIONAL[kind])})")])
    problems = []
    ra = pd.to_numeric(frame["ra"], errors="coerce").to_numpy(float)
    dec = pd.to_numeric(frame["dec"], errors="coerce").to_numpy(float)
    for column, values in (("ra", ra), ("dec", dec)):
        for bad in np.flatnonzero(~np.isfinite(values)):
            problems.append(Problem(name, "expected a number of degrees", line=int(bad) + 2, column=column,
                                    value=str(frame[column].iloc[bad])))
    if problems:
        raise ModelError(problems)
    x, y = from_sky(ra, dec, reference=reference)
    records: list[tuple[int, dict[str, Any]]] = []
    for i, row in enumerate(frame.to_dict("records")):
        line = i + 2  # the header is line 1
        position = {"x": round(float(x[i]), 6), "y": round(float(y[i]), 6)}
        if kind == "members":
            record = {"galaxy": str(row["id"]).strip(), "mag": row["mag"], **position,
                      **{c: row.get(c) for c in ("q", "angle")}, "tier": row.get("tier") or tier}
        else:
            source, image = str(row["id"]).strip(), str(row.get("image", "")).strip()
            if not image:
                source, _, image = source.partition(".")
            record = {"name": source, "image": image, **position, "sigma": row.get("sigma") or sigma}
        records.append((line, record))
    return records


def import_catalogue(table: str | os.PathLike, folder: str | os.PathLike, kind: str = "members", *,
                     tier: str | None = None, sigma: float | None = None, overwrite: bool = False) -> Path:
    """Write ``table``'s rows as ``folder``'s scaling_galaxies.csv (members) or point_datasets.csv
    (images) with positions relative to ``folder/dataset.toml``'s reference; returns the file written."""
    folder = Path(folder)
    dataset = read_dataset(folder / DATASET_FILENAME)
    reference = (dataset.reference.ra, dataset.reference.dec)
    frame = read_table(table)
    records = catalogue_records(frame, kind, reference, str(table), tier, sigma)
    family = FAMILIES[KINDS[kind]]
    parsed, problems = csvio.validate_table(family, records, str(table))
    if problems:
        raise ModelError(problems)
    target = folder / family.filename
    text = csvio.family_text(family, parsed.rows)
    if target.exists() and target.read_text() != text and not overwrite:
        raise FileExistsError(f"{target} exists: pass overwrite=True (CLI: --overwrite) to replace it")
    return atomic.write_text(target, text)
