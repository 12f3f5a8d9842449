"""Lenstool catalogues (multiple images, potfile members) and their ``#REFERENCE`` coordinates.

Both catalogue kinds are whitespace-separated tables of ``id x y a b theta c7 c8`` (images: c7 = z,
c8 = mag; members: c7 = mag, c8 = lum). Lines starting with ``#`` are comments, except
``#REFERENCE code ra dec``, which says how to read x and y on the following lines (Lenstool
``getRADEC``/``convertXY``):

- code 0 (or no header): x, y are absolute RA, Dec in degrees;
- code 3: x, y are arcsec from (ra, dec) in degrees, x positive to the West;
- code 1: as 3 with the reference written ``hh:mm:ss dd:mm:ss``;
- code 2 (pixel offsets) is not supported.

Lenstool converts every position to absolute RA/Dec and then to arcsec from the ``runmode``
reference (RA0, Dec0): x = -(RA - RA0) cos(Dec0) 3600, y = (Dec - Dec0) 3600, with RA - RA0
wrapped into [-180, 180) (:func:`clusterlens.units.sky_offsets`), vectorised over a catalogue.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..cell_text import significant_digits
from ..input_files import MAX_CSV_BYTES, UnreadableInput, read_limited
from ..units import sky_offsets, sky_positions
from .parfile import LenstoolError


@dataclass(frozen=True)
class Reference:
    """A ``#REFERENCE`` (or ``runmode reference``) code with its RA, Dec in degrees."""

    code: int
    ra: float
    dec: float


def parse_reference(words: list[str] | tuple[str, ...], where: str) -> Reference:
    """``code ra dec`` words (decimal degrees for code 2/3, ``hh:mm:ss dd:mm:ss`` for code 1)."""
    if not words:
        raise LenstoolError(f"{where}: reference needs a code (0, 1 or 3) and RA, Dec")
    try:
        code = int(words[0])
    except ValueError:
        raise LenstoolError(f"{where}: reference code must be an integer (0, 1 or 3), got {words[0]!r}") from None
    if code == 0:
        return Reference(0, 0.0, 0.0)
    if code == 2:
        raise LenstoolError(f"{where}: reference code 2 (pixel coordinates) is not supported: expected 0, 1 or 3")
    if code not in (1, 3):
        raise LenstoolError(f"{where}: unknown reference code {code}: expected 0, 1 or 3")
    if len(words) < 3:
        raise LenstoolError(f"{where}: reference code {code} needs RA and Dec after the code")
    try:
        if code == 1:
            return Reference(1, _sexagesimal(words[1], 15.0), _sexagesimal(words[2], 1.0))
        return Reference(3, float(words[1]), float(words[2]))
    except ValueError:
        raise LenstoolError(f"{where}: cannot read RA, Dec {words[1]!r} {words[2]!r} "
                            f"({'hh:mm:ss dd:mm:ss' if code == 1 else 'decimal degrees'} expected)") from None


def _sexagesimal(text: str, scale: float) -> float:
    parts = text.split(":")
    if len(parts) != 3:
        raise ValueError(text)
    head = float(parts[0])
    magnitude = abs(head) + float(parts[1]) / 60.0 + float(parts[2]) / 3600.0
    sign = -1.0 if parts[0].strip().startswith("-") else 1.0
    return sign * magnitude * scale


def to_absolute(x, y, reference: Reference) -> tuple[np.ndarray, np.ndarray]:
    """Catalogue x, y read under ``reference`` -> absolute RA, Dec [deg] (Lenstool convertXY)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    if reference.code == 0:
        return x, y
    return sky_positions(x, y, reference.ra, reference.dec)


@dataclass(frozen=True)
class Catalogue:
    """An 8-column Lenstool catalogue: ids, positions in the file's frame, and the numeric columns."""

    path: Path
    ids: tuple[str, ...]
    lines: tuple[int, ...]
    x: np.ndarray
    y: np.ndarray
    a: np.ndarray
    b: np.ndarray
    theta: np.ndarray
    col7: np.ndarray
    col8: np.ndarray
    references: tuple[Reference, ...]  # the #REFERENCE in force on each row's line
    digits: int = 0  # the most significant digits of a number in columns 2-8

    def relative_to(self, ra0: float, dec0: float, no_header_is_relative: bool = False):
        """Row positions as x, y [arcsec] from (ra0, dec0).

        ``no_header_is_relative``: Lenstool reads a potfile of type 1 whose rows follow no
        ``#REFERENCE`` line (or ``#REFERENCE 0``) as arcsec from the runmode reference.
        """
        x, y = np.empty(len(self.ids)), np.empty(len(self.ids))
        for ref in set(self.references):
            rows = np.array([r == ref for r in self.references])
            same_frame = ref.code in (1, 3) and (ref.ra, ref.dec) == (ra0, dec0)
            if same_frame or (ref.code == 0 and no_header_is_relative):
                # already arcsec from (ra0, dec0): skip the detour through RA/Dec (exact, no rounding)
                x[rows], y[rows] = self.x[rows], self.y[rows]
                continue
            ra, dec = to_absolute(self.x[rows], self.y[rows], ref)
            x[rows], y[rows] = sky_offsets(ra, dec, ra0, dec0)
        return x, y


def catalogue_in_par_folder(par_path: Path, name: str, where: str) -> Path:
    """The catalogue ``name`` a ``.par`` names, which must lie inside the ``.par``'s folder (after links
    are followed): a ``.par`` from elsewhere cannot make the importer read ``../`` or absolute paths.
    ``where`` (file:line) locates the entry in messages; pass a catalogue elsewhere explicitly (``--images``)."""
    folder = par_path.parent.resolve()
    path = par_path.parent / name
    if folder not in path.resolve().parents:
        raise LenstoolError(f"{where}: catalogue {name[:80]!r} is outside the .par's folder {folder}: the importer "
                            "reads only catalogues beside the .par (copy it there, or pass --images for the "
                            "multiple-image catalogue)")
    return path


def read_catalogue(path: str | Path, what: str) -> Catalogue:
    """Read an ``id x y a b theta c7 c8`` catalogue; a row with another number of columns is an error.

    ``what`` names the catalogue in messages (e.g. "multiple-image catalogue").
    """
    path = Path(path)
    if not os.path.lexists(path):
        raise LenstoolError(f"{path}: cannot read the {what} (No such file or directory)")
    try:
        text = read_limited(path, MAX_CSV_BYTES).decode("latin-1")
    except UnreadableInput as err:
        raise LenstoolError(f"{path}: the {what} {err}") from None
    reference = Reference(0, 0.0, 0.0)
    ids, lines, refs, values = [], [], [], []
    digits = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if "#REFERENCE" in stripped:
            words = stripped.split()
            reference = parse_reference(words[1:], f"{path}:{number}")
            continue
        if not stripped or stripped.startswith("#"):
            continue
        words = stripped.split()
        if len(words) != 8:
            raise LenstoolError(f"{path}:{number}: {what} row has {len(words)} columns: expected 8 "
                                "(id x y a b theta and two more)")
        try:
            values.append([float(w) for w in words[1:]])
        except ValueError:
            raise LenstoolError(f"{path}:{number}: {what} row {words[0][:20]!r}: columns 2-8 must be numbers") from None
        digits = max(digits, *(significant_digits(w) for w in words[1:]))
        ids.append(words[0])
        lines.append(number)
        refs.append(reference)
    table = np.array(values, dtype=float).reshape(-1, 7)
    x, y, a, b, theta, col7, col8 = (table[:, k].copy() for k in range(7))
    return Catalogue(path, tuple(ids), tuple(lines), x, y, a, b, theta, col7, col8, tuple(refs), digits)


def image_system(image_id: str) -> str:
    """The multiple-image system of a Lenstool image id.

    Lenstool groups images whose ids agree except for the last character (``indexCmp``): ``1.1``
    and ``1.2`` are one system, ``1a`` and ``1b`` another. The system name is that common root
    without a trailing ``.``: ``"1.1" -> "1"``, ``"105.2" -> "105"``, ``"3a" -> "3"``.
    """
    if len(image_id) < 2:
        raise LenstoolError(f"image id {image_id!r} is too short: Lenstool ids are the system name plus one "
                            "character (e.g. 1.1, 1.2 or 3a, 3b)")
    root = image_id[:-1]
    return root[:-1] if root.endswith(".") and len(root) > 1 else root


def format_catalogue(rows: list[tuple], reference: Reference | None) -> str:
    """Text of an 8-column catalogue; floats with ``repr`` so that reading it back is exact."""
    out = []
    if reference is not None:
        out.append(f"#REFERENCE {reference.code} {reference.ra!r} {reference.dec!r}")
    for row in rows:
        out.append(" ".join([str(row[0]), *(repr(float(v)) for v in row[1:])]))
    return "\n".join(out) + "\n"
