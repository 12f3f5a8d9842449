"""``dataset.toml``: the reference point, the cosmology and the simulation settings of a dataset.

Example::

    name = "example_cluster"
    [reference]          # RA, Dec (degrees, ICRS) of x = y = 0
    ra = 3.5875
    dec = -30.3972
    [cosmology]          # a named astropy realisation, or H0 [km/s/Mpc] and Om0 (flat unless Ode0 given)
    name = "Planck18"
    [imaging]            # simulator settings (defaults shown by `clusterlens show`)
    shape = [200, 200]
    pixel_scale = 0.2
    [points]
    position_sigma = 0.04
    [fit]                # optional: the statistic a fit of this folder uses by default
    likelihood = "lenstool"
    forme = -2
"""
from __future__ import annotations

import codecs
import html
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, NoReturn

import tomli_w
from pydantic import Field, ValidationError, model_validator

from .columns import Row
from .errors import ModelError, Problem


class Reference(Row):
    ra: Annotated[float, Field(ge=0, lt=360, description="right ascension of x = y = 0 [deg]")]
    dec: Annotated[float, Field(ge=-90, le=90, description="declination of x = y = 0 [deg]")]


class CosmologySpec(Row):
    """A named astropy realisation (``name``) or ``H0`` [km/s/Mpc], ``Om0`` (+ ``Ode0`` for non-flat,
    ``Tcmb0`` [K], ``Ob0``); ``sigma8`` and ``ns`` (with either) feed the mass-concentration relations."""

    name: Literal["Planck18", "Planck15", "Planck13", "WMAP9", "WMAP7", "WMAP5"] | None = None
    H0: Annotated[float | None, Field(None, gt=20, lt=200)]
    Om0: Annotated[float | None, Field(None, gt=0, lt=2)]
    Ode0: Annotated[float | None, Field(None, ge=0, lt=2)]
    Tcmb0: Annotated[float | None, Field(None, ge=0, lt=10)]
    Ob0: Annotated[float | None, Field(None, ge=0, lt=1, description="baryon density (parametric only)")]
    sigma8: Annotated[float | None, Field(None, gt=0, lt=2, description="for mass-concentration relations")]
    ns: Annotated[float | None, Field(None, gt=0, lt=2, description="for mass-concentration relations")]

    @model_validator(mode="after")
    def _named_or_parametric(self):
        parametric = (self.H0, self.Om0)
        if self.name is not None and any(v is not None for v in (*parametric, self.Ode0, self.Tcmb0, self.Ob0)):
            raise ValueError("give either name or H0/Om0 (/Ode0/Tcmb0/Ob0), not both")
        if self.name is None and any(v is None for v in parametric):
            raise ValueError("give a name (e.g. 'Planck18') or both H0 and Om0")
        if self.Ob0 is not None and self.Om0 is not None and self.Ob0 > self.Om0:
            raise ValueError(f"Ob0 ({self.Ob0!r}) cannot exceed Om0 ({self.Om0!r}): baryons are part of the matter")
        return self


class Imaging(Row):
    """Imaging simulator settings: a square-pixel image centred on (center_x, center_y)."""

    shape: tuple[Annotated[int, Field(gt=0, le=8192)], Annotated[int, Field(gt=0, le=8192)]] = (200, 200)
    pixel_scale: Annotated[float, Field(gt=0, description="[arcsec/pixel]")] = 0.2
    center_x: float = 0.0
    center_y: float = 0.0
    psf_fwhm: Annotated[float, Field(gt=0, description="Gaussian PSF FWHM [arcsec]")] = 0.15
    psf_size: Annotated[int, Field(ge=3, le=255, description="PSF stamp side, odd [pixels]")] = 21
    exposure_time: Annotated[float, Field(gt=0, description="[s]")] = 3000.0
    background: Annotated[float, Field(ge=0, description="sky level [electrons/s/pixel]")] = 0.5
    read_noise: Annotated[float, Field(ge=0, description="[electrons/pixel]")] = 4.0
    oversampling: Annotated[int, Field(ge=1, le=16, description="sub-pixels per side")] = 4

    @model_validator(mode="after")
    def _odd_psf(self):
        if self.psf_size % 2 == 0:
            raise ValueError(f"psf_size must be odd, got {self.psf_size}")
        return self


class Points(Row):
    """Point-dataset simulator settings."""

    position_sigma: Annotated[float, Field(gt=0, description="positional error [arcsec]")] = 0.04
    flux_sigma_fraction: Annotated[float, Field(gt=0, description="flux error / flux")] = 0.05
    time_delays: bool = False
    time_delay_sigma: Annotated[float, Field(gt=0, description="[days]")] = 1.0
    min_abs_magnification: Annotated[float, Field(ge=0, description="drop fainter images")] = 0.1


class FitDefaults(Row):
    """What a fit of the folder uses unless told otherwise (an imported Lenstool model records its own).

    likelihood: "source" (source-plane chi2), "image" (image-plane chi2) or "lenstool" (Lenstool's
    image-plane statistic of the multiple images); forme: Lenstool's ``image forme``, the statistic
    "lenstool" computes: -2 the image-plane chi2 with the model source at the |mu|-weighted mean of
    the back-traced observed images, -1 the same with their plain mean, 0 the source-plane chi2.
    """

    likelihood: Annotated[Literal["source", "image", "lenstool"],
                          Field(description="the default likelihood of a fit")] = "source"
    forme: Annotated[Literal[-2, -1, 0], Field(description="Lenstool's image forme for the lenstool likelihood")] = -2


class DatasetConfig(Row):
    # The settings of dataset.toml (no docstring: pydantic would put it in dataset.schema.json).
    # repr is one line, str the TOML text, and a notebook shows that text as an HTML fragment.
    name: str | None = None
    reference: Reference
    cosmology: CosmologySpec
    imaging: Imaging = Imaging()
    points: Points = Points()
    fit: FitDefaults | None = None

    def __repr__(self) -> str:
        cosmology = self.cosmology.name or ", ".join(
            f"{k}={v}" for k, v in self.cosmology.model_dump(exclude_none=True).items())
        ny, nx = self.imaging.shape
        fit = f", fit likelihood {self.fit.likelihood}" if self.fit is not None else ""
        return (f"<DatasetConfig {self.name or '(no name)'}: reference RA {self.reference.ra!r} Dec "
                f"{self.reference.dec!r} deg, cosmology {cosmology}, imaging {nx}x{ny} pixels of "
                f"{self.imaging.pixel_scale!r} arcsec{fit}>")

    def __str__(self) -> str:
        return dataset_text(self)

    def _repr_html_(self) -> str:
        return f'<div class="clusterlens"><pre>{html.escape(dataset_text(self))}</pre></div>'


FILENAME = "dataset.toml"


def read_dataset(path: str | Path) -> DatasetConfig:
    """Read and validate ``dataset.toml``; raise ModelError naming the line of each bad key."""
    path = Path(path)
    data = path.read_bytes().removeprefix(codecs.BOM_UTF8)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        _raise([Problem(str(path), f"bytes {data[err.start:err.start + 4]!r} are not UTF-8: save the file as UTF-8",
                        line=line)])
    try:
        values = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        _raise([Problem(str(path), f"not valid TOML: {err}", line=getattr(err, "lineno", None))])
    return validate_dataset(values, str(path), text)


def validate_dataset(data: Mapping[str, Any], source: str, text: str = "") -> DatasetConfig:
    """``data`` (dataset.toml as a dict) validated; raise ModelError naming each bad key, with its line
    in ``text`` (the TOML it was read from, if any); ``source`` names the input in messages."""
    try:
        return DatasetConfig.model_validate(data)
    except ValidationError as err:
        problems = []
        for e in err.errors():
            key = ".".join(str(p) for p in e["loc"])
            leaf = str(e["loc"][-1]) if e["loc"] else None
            problems.append(Problem(source, e["msg"].removeprefix("Value error, "),
                                    line=_line_of(text, leaf), column=key or None,
                                    value=None if e["type"] == "missing" else str(e.get("input"))))
        _raise(problems)


def _raise(problems: list[Problem]) -> NoReturn:
    raise ModelError(problems)


def _line_of(text: str, key: str | None) -> int | None:
    if key is None:
        return None
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith(f"{key} ") or stripped.startswith(f"{key}=") or stripped == f"[{key}]":
            return number
    return None


def dataset_text(config: DatasetConfig) -> str:
    """TOML text of ``config`` (unset optional keys omitted); stable for byte-identical round trips."""
    return tomli_w.dumps(config.model_dump(exclude_none=True, mode="json"))
