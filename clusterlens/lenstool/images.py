"""The multiple-image catalogue and the ``image`` block -> ``point_datasets.csv``, one ``source_point.csv``
row per system and the dataset's [fit] table.

The catalogue is the ``images`` argument or the ``image multfile``; point_datasets rows have name =
system, image = the Lenstool id, sigma = ``sigposArcsec`` (or the square root of ``sigpos``, a
variance in arcsec^2, as Lenstool's r_image reads it; or ``position_sigma``). Each system's source row
has galaxy = name = system and x, y = the mean of its images, which the importer replaces by the
source-plane position of the built model (:mod:`.sources`); its redshift comes from the catalogue or
from ``z_m_limit``. A free ``z_m_limit`` redshift (Lenstool samples D_LS/D_S of the system) takes the
redshift whose D_LS/D_S in the model cosmology is the ``dlsds`` of a result file's ``#ID z:Z dlsds:D``
header line (:func:`redshift_of_dlsds`), and a prior. ``forme`` (Lenstool's statistic: < 0 image
plane, >= 0 source plane) becomes [fit] ``likelihood = "lenstool"`` and ``forme`` -2, -1 or 0
(:func:`fit_settings`).
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from .catalogues import Catalogue, catalogue_in_par_folder, image_system, read_catalogue
from .parfile import Block, Entry, LenstoolError
from .reading import ParReader


def read_images(reader: ParReader, lens_names: set[str], images_path: Path | None, position_sigma: float | None,
                z_lens: float | None, dlsds: dict[str, float] | None = None):
    """(source_point rows, point_datasets rows) of the multiple-image catalogue ``images_path``, else of the
    ``image multfile``; ([], []) without one. A system named like a lens galaxy gets ``source_<system>``.
    ``dlsds``: z_m_limit name -> optimised D_LS/D_S (default: the ``.par`` header's); ``z_lens``: the
    lens redshift they refer to."""
    block = reader.par.single("image")
    path = images_path
    if path is None and block is not None:
        entry = block.last("multfile")
        if entry is not None:
            path = catalogue_in_par_folder(reader.path, entry.word(1, "the catalogue file", reader.path),
                                           reader.where(entry.line))
    if path is None:
        return [], []
    catalogue = read_catalogue(path, "multiple-image catalogue")
    reader.note_digits(catalogue.digits)
    x, y = catalogue.relative_to(reader.reference.ra, reader.reference.dec)
    sigma = image_sigma(reader, block, position_sigma)
    systems: dict[str, list[int]] = {}
    for k, image in enumerate(catalogue.ids):
        systems.setdefault(image_system(image), []).append(k)
    best = header_dlsds(reader.par.header) if dlsds is None else dlsds
    redshifts = system_redshifts(reader, block, catalogue, systems, best, z_lens)
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


def fit_settings(reader: ParReader) -> dict | None:
    """The [fit] table of an imported model: likelihood "lenstool" with the image block's ``forme``
    (Lenstool's default 1, a source-plane chi2, when the block has none). A result file without an image
    block (best.par) names its statistic in its header: ``#Image plane optimization`` is forme -2,
    ``#Source plane optimization`` forme 0; None when nothing says."""
    block = reader.par.single("image")
    if block is None:
        texts = {text.strip("# ").lower() for text, _ in reader.par.header}
        if "image plane optimization" in texts:
            return {"likelihood": "lenstool", "forme": -2}
        if "source plane optimization" in texts:
            return {"likelihood": "lenstool", "forme": 0}
        return None
    entry = block.last("forme")
    forme = 1 if entry is None else entry.integer(0, "the statistic number", reader.path)
    if forme in (-2, -1, 0):
        return {"likelihood": "lenstool", "forme": forme}
    kept = 0 if forme > 0 else -2
    where = f"line {entry.line}" if entry is not None else f"line {block.line}: image block without 'forme':"
    reader.warn(f"{where} forme {forme} ({'source' if forme > 0 else 'image'}-plane chi2) is recorded as the "
                f"closest statistic clusterlens has: forme {kept}")
    return {"likelihood": "lenstool", "forme": kept}


def image_sigma(reader: ParReader, block: Block | None, position_sigma: float | None) -> float:
    """The images' positional error [arcsec]: ``position_sigma``, else the fixed ``sigposArcsec``, else
    the square root of ``sigpos`` [arcsec^2] (the later of the two lines, as in Lenstool)."""
    if position_sigma is not None:
        if not position_sigma > 0:
            raise LenstoolError(f"position_sigma must be > 0 [arcsec], got {position_sigma!r}")
        return float(position_sigma)
    entry = block.last("sigposArcsec", "sigpos") if block is not None else None
    if entry is None:
        raise LenstoolError(f"{reader.path}: no 'sigposArcsec' in an 'image' block: give the images' positional "
                            "error [arcsec] (position_sigma, CLI --position-sigma)")
    if entry.keyword == "sigpos":
        variance = entry.number(0, "the positional variance [arcsec^2]", reader.path)
        if not variance > 0:
            raise LenstoolError(f"{reader.where(entry.line)}: sigpos {variance!r} must be > 0 [arcsec^2]")
        return float(np.sqrt(variance))
    if len(entry.values) >= 3:
        flag = entry.integer(0, "the prior flag", reader.path)
        value = entry.number(1, "the value", reader.path)
        if flag != 0:
            reader.warn(f"line {entry.line}: a free 'sigposArcsec' is not supported: the fixed value {value!r} is used")
        return value
    return entry.number(0, "the positional error", reader.path)


def header_dlsds(header: list[tuple[str, int]]) -> dict[str, float]:
    """z_m_limit name -> D_LS/D_S of a result file's ``#ID z:Z dlsds:D`` header lines."""
    found = {}
    for text, _ in header:
        match = re.match(r"#(\S+)\s+z:\s*[-+0-9.eE]+\s+dlsds:\s*([-+0-9.eE]+)", text)
        if match:
            found[match.group(1)] = float(match.group(2))
    return found


def redshift_of_dlsds(cosmology, z_lens: float, dlsds: float) -> float:
    """The source redshift whose D_LS/D_S behind a lens at ``z_lens`` is ``dlsds`` in ``cosmology``
    (D_LS/D_S grows with the source redshift; sources up to z = 20)."""
    from scipy.optimize import brentq

    def ratio(z):
        return float(cosmology.angular_diameter_distance(z_lens, z) / cosmology.angular_diameter_distance(z))

    low, high = z_lens * (1.0 + 1e-9) + 1e-9, 20.0
    if not 0.0 < dlsds < ratio(high):
        raise ValueError(f"dlsds {dlsds!r} is not the D_LS/D_S of a source between z = {z_lens!r} and 20 "
                         f"(0 to {ratio(high):.6f})")
    return float(brentq(lambda z: ratio(z) - dlsds, low, high, xtol=1e-14, rtol=1e-15))


def z_m_limit_names(reader: ParReader, entry: Entry) -> tuple[list[str], int]:
    """The system names of a ``z_m_limit`` line and the index of its prior flag: Lenstool's r_image takes
    the words after the on/off flag as names until one that starts with an integer (``4.1 4.2`` are not
    two names: ``4.2`` is read as the flag 4); a name may also list ids joined by commas."""
    names = [entry.word(1, "the image id", reader.path)]
    index = 2
    while index < len(entry.values) and not re.match(r"[+-]?\d", entry.values[index]):
        names.append(entry.values[index])
        index += 1
    return [part for name in names for part in name.split(",")], index


def system_redshifts(reader: ParReader, block: Block | None, catalogue: Catalogue, systems: dict[str, list[int]],
                     dlsds: dict[str, float], z_lens: float | None):
    """System -> redshift: a ``z_m_limit`` (fixed value, or from its ``dlsds`` / the catalogue / the prior's
    centre when free, with a prior), else the catalogue's one redshift."""
    limits: dict[str, tuple] = {}
    for entry in (block.entries if block is not None else []):
        if entry.keyword != "z_m_limit":
            continue
        if entry.integer(0, "the on/off flag", reader.path) == 0:
            continue
        ids, at = z_m_limit_names(reader, entry)
        flag = entry.integer(at, "the prior flag", reader.path)
        v1, v2 = entry.number(at + 1, "the first value", reader.path), entry.number(at + 2, "the second value",
                                                                                    reader.path)
        names = [system_of(reader, part, systems, entry) for part in ids]
        if flag != 0 and len(set(names)) > 1:
            raise LenstoolError(f"{reader.where(entry.line)}: a free redshift shared by systems {', '.join(names)} "
                                "is not supported: expected one system per free z_m_limit")
        best = next((dlsds[i] for i in ids if i in dlsds), None)
        for name in names:
            limits[name] = (flag, v1, v2, entry, best)
    redshifts = {}
    for system, rows in systems.items():
        values = {float(catalogue.col7[k]) for k in rows}
        if system in limits:
            flag, v1, v2, entry, best = limits[system]
            if flag == 0:
                redshifts[system] = v1
                continue
            z: float | None
            if best is not None and z_lens is not None:
                try:
                    z = redshift_of_dlsds(reader.cosmology, z_lens, best)
                except ValueError as err:
                    raise LenstoolError(f"{reader.where(entry.line)}: system {system!r}: {err}") from None
            else:
                z = values.pop() if len(values) == 1 else None
                if z is None or z <= 0 or not (flag == 3 or min(v1, v2) <= z <= max(v1, v2)):
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
