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
from typing import Annotated, Any, Literal, NoReturn, get_args

import tomli_w
from pydantic import Field, ValidationError, model_validator

from .columns import MAX_OFFSET, Name, Row, Text
from .errors import ModelError, Problem
from .input_files import MAX_TOML_BYTES, UnreadableInput, read_limited


class Reference(Row):
    ra: Annotated[float, Field(ge=0, lt=360, description="right ascension of x = y = 0 [deg]")]
    dec: Annotated[float, Field(ge=-90, le=90, description="declination of x = y = 0 [deg]")]


def _bounce_redshift(om0: float, ode0: float) -> float | None:
    """The redshift where E(z)^2 = Om0 (1+z)^3 + Ok (1+z)^2 + Ode0 (Ok = 1 - Om0 - Ode0, radiation
    neglected: it only adds) is lowest, when it is <= 0 there (no big bang), else None."""
    ok = 1.0 - om0 - ode0
    x = -2.0 * ok / (3.0 * om0)  # d(E^2)/dx = 0 at x = 1 + z
    if x <= 1.0:
        return None
    return x - 1.0 if om0 * x ** 3 + ok * x ** 2 + ode0 <= 0 else None


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
        if self.Om0 is not None and self.Ode0 is not None and (z := _bounce_redshift(self.Om0, self.Ode0)):
            raise ValueError(f"Om0 {self.Om0!r} with Ode0 {self.Ode0!r} has no big bang (H(z)^2 < 0 near "
                             f"z = {z:.3g}, a bounce): lower Ode0 or raise Om0")
        if self.Ob0 is not None and self.Om0 is not None and self.Ob0 > self.Om0:
            raise ValueError(f"Ob0 ({self.Ob0!r}) cannot exceed Om0 ({self.Om0!r}): baryons are part of the matter")
        return self


#: The most sub-pixels (shape x oversampling^2) an image may have: the simulator holds ~10 float64 arrays of it.
MAX_SUBPIXELS = 10 ** 8


class Imaging(Row):
    """Imaging simulator settings: a square-pixel image centred on (center_x, center_y)."""

    shape: tuple[Annotated[int, Field(gt=0, le=8192)], Annotated[int, Field(gt=0, le=8192)]] = (200, 200)
    pixel_scale: Annotated[float, Field(ge=1e-4, le=100, description="[arcsec/pixel]")] = 0.2
    center_x: Annotated[float, Field(ge=-MAX_OFFSET, le=MAX_OFFSET, description="[arcsec]")] = 0.0
    center_y: Annotated[float, Field(ge=-MAX_OFFSET, le=MAX_OFFSET, description="[arcsec]")] = 0.0
    psf_fwhm: Annotated[float, Field(gt=0, le=100, description="Gaussian PSF FWHM [arcsec]")] = 0.15
    psf_size: Annotated[int, Field(ge=3, le=255, description="PSF stamp side, odd [pixels]")] = 21
    exposure_time: Annotated[float, Field(gt=0, le=1e8, description="[s]")] = 3000.0
    background: Annotated[float, Field(ge=0, le=1e10, description="sky level [electrons/s/pixel]")] = 0.5
    read_noise: Annotated[float, Field(ge=0, le=1e6, description="[electrons/pixel]")] = 4.0
    oversampling: Annotated[int, Field(ge=1, le=16, description="sub-pixels per side")] = 4

    @model_validator(mode="after")
    def _odd_psf(self):
        if self.psf_size % 2 == 0:
            raise ValueError(f"psf_size must be odd, got {self.psf_size}")
        subpixels = self.shape[0] * self.shape[1] * self.oversampling ** 2
        if subpixels > MAX_SUBPIXELS:
            raise ValueError(f"shape {list(self.shape)} x oversampling {self.oversampling}^2 = {subpixels:.3g} "
                             f"sub-pixels, more than the {MAX_SUBPIXELS:.0e} the simulator allows (~8 GB of "
                             "arrays): lower the oversampling or the shape")
        return self


class Points(Row):
    """Point-dataset simulator settings."""

    position_sigma: Annotated[float, Field(gt=0, le=100, description="positional error [arcsec]")] = 0.04
    flux_sigma_fraction: Annotated[float, Field(gt=0, le=100, description="flux error / flux")] = 0.05
    time_delays: bool = False
    time_delay_sigma: Annotated[float, Field(gt=0, le=1e6, description="[days]")] = 1.0
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


class LensLight(Row):
    """How the simulator renders the light of the lens (``[lens_light]``; absent: no member light).

    zero_point: magnitude of a galaxy giving 1 electron/s, so a member of magnitude m gives
    10^(-0.4 (m - zero_point)) electrons/s. Members are Sersic profiles of index ``member_sersic_index``
    (4: de Vaucouleurs) with effective radius R_e = member_effective_radius (L/L_ref)^member_radius_slope
    [arcsec], L/L_ref from their tier's mag_ref, and their q and angle. main_lens_light.csv rows are
    rendered whether or not this section is present (intensities in electrons/s/arcsec^2).
    """

    zero_point: Annotated[float, Field(ge=-10, le=50, description="magnitude of 1 electron/s")]
    member_sersic_index: Annotated[float, Field(ge=0.3, le=10, description="Sersic index of members")] = 4.0
    member_effective_radius: Annotated[float, Field(gt=0, description="R_e of an L_ref member [arcsec]")] = 1.0
    member_radius_slope: Annotated[float, Field(ge=-5, le=5, description="R_e ~ (L/L_ref)^slope")] = 0.5


#: What ``simulate-many`` can store for each realisation (``[population] outputs``).
PopulationOutput = Literal["images", "noise_maps", "kappa", "magnification", "points"]
POPULATION_OUTPUTS: tuple[str, ...] = get_args(PopulationOutput)


class MemberPopulation(Row):
    """Members drawn for every realisation, replacing their tier's rows of scaling_galaxies.csv.

    Their number is Poisson with mean ``richness``; magnitudes follow a Schechter (1976) luminosity
    function of slope ``alpha`` and characteristic magnitude ``mag_star`` between mag_min and mag_max;
    positions follow a cored isothermal surface density Sigma ~ (R^2 + core_radius^2)^(-1/2) out to
    max_radius [arcsec] around (center_x, center_y); q uniform in [q_min, 1], angle uniform in [-90, 90).
    """

    tier: Name | None = None
    richness: Annotated[float, Field(gt=0, le=100000, description="mean number of members")]
    mag_star: Annotated[float, Field(ge=-10, le=40, description="Schechter m* [mag]")]
    alpha: Annotated[float, Field(gt=-3, lt=3, description="Schechter faint-end slope")] = -1.1
    mag_min: Annotated[float, Field(ge=-10, le=40, description="brightest magnitude [mag]")]
    mag_max: Annotated[float, Field(ge=-10, le=40, description="faintest magnitude [mag]")]
    core_radius: Annotated[float, Field(gt=0, description="[arcsec]")] = 25.0
    max_radius: Annotated[float, Field(gt=0, description="[arcsec]")] = 90.0
    center_x: float = 0.0
    center_y: float = 0.0
    q_min: Annotated[float, Field(gt=0, le=1)] = 0.5

    @model_validator(mode="after")
    def _ordered(self):
        if self.mag_min >= self.mag_max:
            raise ValueError(f"mag_min ({self.mag_min!r}) must be brighter (smaller) than mag_max ({self.mag_max!r})")
        return self


class SourcePopulation(Row):
    """``n`` sources drawn behind the cluster for every realisation (galaxies ``pop_src1`` ...).

    Redshifts follow n(z) ~ z^2 exp(-(z/z0)^1.5) (Smail et al. 1994) between z_min and z_max; positions
    are uniform in the disc of ``radius`` [arcsec] around (center_x, center_y). Each gets a Sersic
    source_light row (intensity [electrons/s/arcsec^2], effective_radius [arcsec], sersic_index; q
    uniform in [q_min, 1], angle uniform in [-90, 90)) and, when ``point_flux`` is set, a source_point
    row of that flux. population.csv rows with galaxy ``*`` vary these cells like any other.
    """

    n: Annotated[int, Field(ge=1, le=1000)]
    z_min: Annotated[float, Field(gt=0, le=20)]
    z_max: Annotated[float, Field(gt=0, le=20)]
    z0: Annotated[float, Field(gt=0, le=20, description="Smail n(z) scale")] = 1.0
    radius: Annotated[float, Field(gt=0, description="[arcsec]")] = 5.0
    center_x: float = 0.0
    center_y: float = 0.0
    intensity: Annotated[float, Field(ge=0)] = 2.0
    effective_radius: Annotated[float, Field(gt=0)] = 0.25
    sersic_index: Annotated[float, Field(ge=0.3, le=10)] = 1.5
    q_min: Annotated[float, Field(gt=0, le=1)] = 0.5
    point_flux: Annotated[float | None, Field(None, ge=0)]

    @model_validator(mode="after")
    def _ordered(self):
        if self.z_min >= self.z_max:
            raise ValueError(f"z_min ({self.z_min!r}) must be smaller than z_max ({self.z_max!r})")
        return self


class PopulationSettings(Row):
    """``[population]``: what ``clusterlens simulate-many`` makes (realisations, base seed, outputs).

    reference_redshift: the source redshift of the Einstein radius label and of the kappa and
    magnification maps.
    """

    n: Annotated[int, Field(ge=1, le=100_000_000, description="number of realisations")] = 100
    seed: Annotated[int, Field(ge=0, le=2**63 - 1, description="base seed")] = 0
    outputs: tuple[PopulationOutput, ...] = ("images", "noise_maps", "points")
    reference_redshift: Annotated[float, Field(gt=0, le=20)] = 2.0
    members: MemberPopulation | None = None
    sources: SourcePopulation | None = None


class DatasetConfig(Row):
    # The settings of dataset.toml (no docstring: pydantic would put it in dataset.schema.json).
    # repr is one line, str the TOML text, and a notebook shows that text as an HTML fragment.
    name: Text | None = None
    reference: Reference
    cosmology: CosmologySpec
    imaging: Imaging = Imaging()
    points: Points = Points()
    fit: FitDefaults | None = None
    lens_light: LensLight | None = None
    population: PopulationSettings | None = None

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
    try:
        data = read_limited(path, MAX_TOML_BYTES).removeprefix(codecs.BOM_UTF8)
    except UnreadableInput as err:
        _raise([Problem(str(path), str(err))])
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
