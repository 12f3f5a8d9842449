"""What every block reader of the Lenstool import shares: the file, its reference and cosmology,
warnings and error locations, and the priors collected so far (``priors.csv`` records).

A Lenstool ``flag v1 v2`` becomes a prior: flag 1 uniform on [v1, v2], flag 3 normal with mean v1
and sigma v2 (flag 0, fixed, is no prior). A prior on a quantity u whose CSV column is a non-linear
function c = forward(u) (an ellipticity for q, a slope for its inverse, ...) keeps the exact bounds
(uniform) or is linearised at the mean (normal), with a :class:`LenstoolWarning`.
"""
from __future__ import annotations

import warnings
from collections.abc import Callable

from ..cell_text import significant_digits
from ..cosmology import make_cosmology
from ..units import kpc_per_arcsec
from .parfile import Entry, LenstoolError, LenstoolWarning, ParFile
from .reference import read_cosmology, read_reference


class ParReader:
    """One ``.par`` being imported: ``reference``, ``cosmology_spec`` (dataset [cosmology]) and
    ``cosmology`` (astropy), :meth:`kpc_per_arcsec` per redshift, the ``priors`` list, and
    ``source_digits``: the most significant digits of a number in the file's entries and the catalogues
    read so far (:meth:`note_digits`), which imported values are rounded by (:mod:`clusterlens.cell_text`)."""

    def __init__(self, par: ParFile):
        self.par = par
        self.path = par.path
        self.reference = read_reference(par)
        self.cosmology_spec = read_cosmology(par, self.warn)
        self.cosmology = make_cosmology(self.cosmology_spec)
        self.priors: list[dict] = []
        self._kpc_per_arcsec: dict[float, float] = {}
        self.source_digits = max((significant_digits(word) for block in par.blocks for entry in block.entries
                                  for word in entry.values), default=0)

    def note_digits(self, digits: int) -> None:
        """Count a catalogue whose numbers have at most ``digits`` significant digits among the sources."""
        self.source_digits = max(self.source_digits, digits)

    def warn(self, message: str) -> None:
        warnings.warn(f"{self.path}: {message}", LenstoolWarning, stacklevel=4)

    def where(self, line: int) -> str:
        """``path:line`` for messages."""
        return f"{self.path}:{line}"

    def kpc_per_arcsec(self, z: float) -> float:
        """Proper kpc per arcsec at redshift ``z`` in the model cosmology (computed once per z)."""
        if z not in self._kpc_per_arcsec:
            self._kpc_per_arcsec[z] = kpc_per_arcsec(self.cosmology, z)
        return self._kpc_per_arcsec[z]

    def add_prior(self, family: str, galaxy: str, parameter: str, flag: int, v1: float, v2: float,
                  entry: Entry, owner: object = None) -> None:
        """Record the prior ``flag v1 v2`` of ``entry`` on column ``parameter``; ``owner`` tags it for renaming."""
        if flag == 1:
            lower, upper = sorted((v1, v2))
            prior = {"family": family, "galaxy": galaxy, "parameter": parameter, "prior": "uniform",
                     "lower": lower, "upper": upper}
        elif flag == 3:
            prior = {"family": family, "galaxy": galaxy, "parameter": parameter, "prior": "normal",
                     "mean": v1, "sigma": v2}
        else:
            raise LenstoolError(f"{self.where(entry.line)}: '{entry.keyword}' prior flag {flag}: expected 0 (fixed), "
                                "1 (uniform between the two values) or 3 (normal: mean, sigma)")
        if owner is not None:
            prior["_owner"] = owner
        self.priors.append(prior)

    def add_transformed_prior(self, family: str, galaxy: str, parameter: str, flag: int, v1: float, v2: float,
                              entry: Entry, forward: Callable[[float], float], derivative: Callable[[float], float],
                              owner: object = None) -> None:
        """A prior on Lenstool's quantity u given to column c = forward(u) (monotonic on the prior's range)."""
        if flag == 1:
            a, b = forward(v1), forward(v2)
            self.add_prior(family, galaxy, parameter, 1, a, b, entry, owner)
            self.warn(f"line {entry.line}: uniform prior on '{entry.keyword}' [{v1!r}, {v2!r}] written as a uniform "
                      f"prior on {parameter} [{min(a, b)!r}, {max(a, b)!r}]: same bounds, different density")
        elif flag == 3:
            mean, sigma = forward(v1), abs(derivative(v1)) * v2
            self.add_prior(family, galaxy, parameter, 3, mean, sigma, entry, owner)
            self.warn(f"line {entry.line}: normal prior on '{entry.keyword}' (mean {v1!r}, sigma {v2!r}) written as a "
                      f"normal prior on {parameter} (mean {mean!r}, sigma {sigma!r}), linearised at the mean")
        else:
            self.add_prior(family, galaxy, parameter, flag, v1, v2, entry, owner)
