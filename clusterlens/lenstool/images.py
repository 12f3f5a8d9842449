"""The multiple-image catalogue -> ``point_datasets.csv`` and one ``source_point.csv`` row per system.

The catalogue is the ``images`` argument or the ``image multfile``; point_datasets rows have name =
system, image = the Lenstool id, sigma = ``sigposArcsec`` (or ``position_sigma``); each system's
source row has galaxy = name = system, x, y = the mean of its images (the starting point of a fit)
and the redshift from the catalogue or from ``z_m_limit``: the best value of a result file's
``#ID z:Z`` header, and a prior when the redshift is free.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from .catalogues import Catalogue, image_system, read_catalogue
from .parfile import Block, Entry, LenstoolError
from .reading import ParReader


def read_images(reader: ParReader, lens_names: set[str], images_path: Path | None, position_sigma: float | None):
    """(source_point rows, point_datasets rows) of the multiple-image catalogue ``images_path``, else of the
    ``image multfile``; ([], []) without one. A system named like a lens galaxy gets ``source_<system>``."""
    block = reader.par.single("image")
    path = images_path
    if path is None and block is not None:
        entry = block.last("multfile")
        if entry is not None:
            path = reader.path.parent / entry.word(1, "the catalogue file", reader.path)
    if path is None:
        return [], []
    catalogue = read_catalogue(path, "multiple-image catalogue")
    x, y = catalogue.relative_to(reader.reference.ra, reader.reference.dec)
    sigma = image_sigma(reader, block, position_sigma)
    systems: dict[str, list[int]] = {}
    for k, image in enumerate(catalogue.ids):
        systems.setdefault(image_system(image), []).append(k)
    redshifts = system_redshifts(reader, block, catalogue, systems)
    sources, images = [], []
    for system, rows in systems.items():
        galaxy = system
        if galaxy in lens_names:
            galaxy = f"source_{system}"
            reader.warn(f"image system {system!r} has the name of a lens galaxy: its source galaxy is named "
                        f"{galaxy!r}")
        sources.append({"galaxy": galaxy, "name": system, "x": float(np.mean(x[rows])),
                        "y": float(np.mean(y[rows])), "redshift": redshifts[system]})
        for k in rows:
            images.append({"name": system, "image": catalogue.ids[k], "x": float(x[k]), "y": float(y[k]),
                           "sigma": sigma})
    for prior in reader.priors:
        if prior["family"] == "source_point":
            prior["galaxy"] = next(s["galaxy"] for s in sources if s["name"] == prior["galaxy"])
    return sources, images


def image_sigma(reader: ParReader, block: Block | None, position_sigma: float | None) -> float:
    """The images' positional error [arcsec]: ``position_sigma``, else the fixed ``sigposArcsec``."""
    if position_sigma is not None:
        if not position_sigma > 0:
            raise LenstoolError(f"position_sigma must be > 0 [arcsec], got {position_sigma!r}")
        return float(position_sigma)
    entry = block.last("sigposArcsec") if block is not None else None
    if entry is None:
        raise LenstoolError(f"{reader.path}: no 'sigposArcsec' in an 'image' block: give the images' positional "
                            "error [arcsec] (position_sigma, CLI --position-sigma)")
    if len(entry.values) >= 3:
        flag = entry.integer(0, "the prior flag", reader.path)
        value = entry.number(1, "the value", reader.path)
        if flag != 0:
            reader.warn(f"line {entry.line}: a free 'sigposArcsec' is not supported: the fixed value {value!r} is used")
        return value
    return entry.number(0, "the positional error", reader.path)


def system_redshifts(reader: ParReader, block: Block | None, catalogue: Catalogue, systems: dict[str, list[int]]):
    """System -> redshift: a ``z_m_limit`` (fixed value, or the best value of a result file's header /
    the catalogue / the prior's centre when free, with a prior), else the catalogue's one redshift."""
    best = {}
    for text, _ in reader.par.header:
        match = re.match(r"#(\S+)\s+z:\s*([-+0-9.eE]+)\s+dlsds:", text)
        if match:
            best[match.group(1)] = float(match.group(2))
    limits: dict[str, tuple] = {}
    for entry in (block.entries if block is not None else []):
        if entry.keyword != "z_m_limit":
            continue
        if entry.integer(0, "the on/off flag", reader.path) == 0:
            continue
        ids = entry.word(1, "the image id", reader.path)
        flag = entry.integer(2, "the prior flag", reader.path)
        v1, v2 = entry.number(3, "the first value", reader.path), entry.number(4, "the second value", reader.path)
        names = [system_of(reader, part, systems, entry) for part in ids.split(",")]
        if flag != 0 and len(set(names)) > 1:
            raise LenstoolError(f"{reader.where(entry.line)}: a free redshift shared by systems {', '.join(names)} "
                                "is not supported: expected one system per free z_m_limit")
        for name in names:
            limits[name] = (flag, v1, v2, entry, best.get(ids))
    redshifts = {}
    for system, rows in systems.items():
        values = {float(catalogue.col7[k]) for k in rows}
        if system in limits:
            flag, v1, v2, entry, best_z = limits[system]
            if flag == 0:
                redshifts[system] = v1
                continue
            z = best_z
            if z is None:
                z = values.pop() if len(values) == 1 else None
                inside = z is not None and (flag == 3 or min(v1, v2) <= z <= max(v1, v2))
                if not inside or z <= 0:
                    z = v1 if flag == 3 else 0.5 * (v1 + v2)
            redshifts[system] = z
            reader.add_prior("source_point", system, "redshift", flag, v1, v2, entry)
            continue
        if len(values) != 1:
            lines = ", ".join(str(catalogue.lines[k]) for k in rows)
            raise LenstoolError(f"{catalogue.path}: images of system {system!r} (lines {lines}) have different "
                                f"redshifts {sorted(values)}: expected one redshift per system")
        z = values.pop()
        if z <= 0:
            raise LenstoolError(f"{catalogue.path}:{catalogue.lines[rows[0]]}: system {system!r} has redshift "
                                f"{z!r} and no z_m_limit: expected a redshift > 0")
        redshifts[system] = z
    return redshifts


def system_of(reader: ParReader, text: str, systems: dict, entry: Entry) -> str:
    """The image system a ``z_m_limit`` id (``4.1`` or ``4``) names."""
    if text in systems:
        return text
    if len(text) >= 2 and image_system(text) in systems:
        return image_system(text)
    raise LenstoolError(f"{reader.where(entry.line)}: z_m_limit names {text!r}, which matches no image system of the "
                        f"catalogue (systems: {', '.join(systems)})")
