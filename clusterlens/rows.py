"""Typed rows of every CSV family (pydantic v2).

One row is one profile of one galaxy (docs/conventions.md). Families with a ``profile`` column hold
discriminated unions of the rows that the profile registry (:mod:`clusterlens.registry`) declares:
each profile declares exactly its parameters, so a filled cell that the profile does not use is an
error instead of being silently ignored. The other families' rows are declared here. Units are in
each field's description and in ``json_schema_extra["unit"]`` (used by the printed tables and the
JSON Schemas).
"""
from __future__ import annotations

from typing import Annotated, Any, Literal, Protocol, Union

from pydantic import Field, model_validator

from .columns import Galaxy, Name, PositiveRadius, Radius, Redshift, Row, X, Y, check_core_below_cut, column
from .registry import LIGHT_PROFILES, MASS_PROFILES


def _union(rows: tuple[type[Row], ...]) -> Any:
    """The pydantic discriminated union (on ``profile``) of the registry's row classes."""
    return Annotated[Union[rows], Field(discriminator="profile")]  # noqa: UP007 - a runtime tuple of classes


#: A row of main_lens_mass.csv or host_halo.csv: one registered mass profile.
LensMassRow = _union(tuple(p.row for p in MASS_PROFILES.values()))
#: A row of source_light.csv: one registered light profile.
SourceLightRow = _union(tuple(p.row for p in LIGHT_PROFILES.values()))


# ---------------------------------------------------------------- what code reads from the union rows
class GalaxyRow(Protocol):
    """A row of a lens or source family (host_halo, main_lens_mass, scaling_galaxies, source_light,
    source_point): the galaxy it belongs to and its redshift (None where a member leaves it blank)."""

    @property
    def galaxy(self) -> str: ...

    @property
    def redshift(self) -> float | None: ...


class MassRow(GalaxyRow, Protocol):
    """A host_halo.csv / main_lens_mass.csv row: the row of any registered mass profile
    (:data:`LensMassRow`); the other columns depend on ``profile``."""

    @property
    def profile(self) -> str: ...

    @property
    def redshift(self) -> float: ...


class LightRow(GalaxyRow, Protocol):
    """A source_light.csv or main_lens_light.csv row: the row of any registered light profile
    (:data:`SourceLightRow`); the other columns depend on ``profile``."""

    @property
    def profile(self) -> str: ...

    @property
    def x(self) -> float: ...

    @property
    def y(self) -> float: ...

    @property
    def redshift(self) -> float: ...


# ---------------------------------------------------------------- scaling relations and members
class ScalingRelation(Row):
    """A member tier: X = X_ref (L/L_ref)^X_slope with L/L_ref = 10^(0.4 (mag_ref - mag))."""

    tier: Name
    profile: Literal["dPIE"]
    mag_ref: Annotated[float, column("mag", "reference magnitude of L_ref", ge=-10, le=40)]
    sigma_ref: Annotated[float, column("km/s", "sigma of an L_ref member", gt=0, le=5000)]
    r_core_ref: Radius
    r_cut_ref: PositiveRadius
    sigma_slope: Annotated[float, column("", "sigma ~ L^sigma_slope (Lenstool 1/vdslope)", ge=-5, le=5)]
    r_core_slope: Annotated[float, column("", "r_core ~ L^r_core_slope (Lenstool 1/2)", ge=-5, le=5)]
    r_cut_slope: Annotated[float, column("", "r_cut ~ L^r_cut_slope (Lenstool 2/slope)", ge=-5, le=5)]

    @model_validator(mode="after")
    def _core_below_cut(self):
        check_core_below_cut(self.r_core_ref, self.r_cut_ref, "r_core_ref", "r_cut_ref")
        return self


class ScalingGalaxy(Row):
    """A member galaxy whose mass follows its tier's scaling relation; blank q = 1, blank angle = 0."""

    galaxy: Galaxy
    tier: Name | None = None
    x: X
    y: Y
    mag: Annotated[float | None, column("mag", "apparent magnitude", None, ge=-10, le=40)]
    luminosity: Annotated[float | None, column("L_ref", "luminosity relative to the tier's L_ref", None, gt=0, le=1e6)]
    q: Annotated[float | None, column("", "axis ratio b/a (blank = 1)", None, ge=1e-3, le=1)]
    angle: Annotated[float | None, column("deg", "position angle (blank = 0)", None, ge=-360, le=360)]
    redshift: Annotated[float | None, column("", "redshift (blank = the lens redshift)", None, gt=0, le=20)]

    @model_validator(mode="after")
    def _one_brightness(self):
        if (self.mag is None) == (self.luminosity is None):
            raise ValueError("fill exactly one of mag or luminosity")
        return self


# ---------------------------------------------------------------- sources
class SourcePoint(Row):
    """A point source; ``name`` joins the multiple images in point_datasets.csv."""

    galaxy: Galaxy
    name: Name
    x: X
    y: Y
    redshift: Redshift
    flux: Annotated[float | None, column("flux", "intrinsic (unlensed) flux", None, ge=0, le=1e20)]


class PointImage(Row):
    """One observed multiple image of the point source ``name``."""

    name: Name
    image: Name
    x: X
    y: Y
    sigma: Annotated[float, column("arcsec", "positional error", gt=0, le=1e3)]
    flux: Annotated[float | None, column("flux", "observed flux", None, ge=-1e20, le=1e20)]
    flux_sigma: Annotated[float | None, column("flux", "flux error", None, gt=0, le=1e20)]
    time_delay: Annotated[float | None, column("days", "time delay relative to the first image", None,
                                               ge=-1e6, le=1e6)]
    time_delay_sigma: Annotated[float | None, column("days", "time-delay error", None, gt=0, le=1e6)]

    @model_validator(mode="after")
    def _errors_with_values(self):
        for value, error in (("flux", "flux_sigma"), ("time_delay", "time_delay_sigma")):
            if (getattr(self, value) is None) != (getattr(self, error) is None):
                raise ValueError(f"{value} and {error} go together: fill both or neither")
        return self


# ---------------------------------------------------------------- priors
class Prior(Row):
    """Makes one CSV cell (or a column, with galaxy '*') a free parameter of a fit."""

    family: Name
    galaxy: Name
    parameter: Name
    prior: Literal["uniform", "normal", "loguniform", "truncnormal"]
    lower: float | None = None
    upper: float | None = None
    mean: float | None = None
    sigma: Annotated[float | None, Field(None, gt=0)]

    @model_validator(mode="after")
    def _complete(self):
        needs = {
            "uniform": ("lower", "upper"),
            "loguniform": ("lower", "upper"),
            "normal": ("mean", "sigma"),
            "truncnormal": ("lower", "upper", "mean", "sigma"),
        }[self.prior]
        missing = [name for name in needs if getattr(self, name) is None]
        if missing:
            raise ValueError(f"a {self.prior} prior needs {', '.join(needs)}; blank: {', '.join(missing)}")
        unused = [n for n in ("lower", "upper", "mean", "sigma") if n not in needs and getattr(self, n) is not None]
        if unused:
            raise ValueError(f"a {self.prior} prior does not use {', '.join(unused)}: leave blank")
        # past the two checks above, lower and upper are filled exactly when the prior needs them
        if self.lower is not None and self.upper is not None and self.lower >= self.upper:
            raise ValueError(f"lower ({self.lower!r}) must be smaller than upper ({self.upper!r})")
        if self.prior == "loguniform" and self.lower is not None and self.lower <= 0:
            raise ValueError(f"a loguniform prior needs lower > 0, got {self.lower!r}")
        return self

    @property
    def bounds(self) -> tuple[float, float]:
        """(lower, upper) of a uniform, loguniform or truncnormal prior (ValueError for a normal prior)."""
        if self.lower is None or self.upper is None:
            raise ValueError(f"a {self.prior} prior has no lower and upper bounds")
        return self.lower, self.upper

    @property
    def mean_sigma(self) -> tuple[float, float]:
        """(mean, sigma) of a normal or truncnormal prior (ValueError for the other priors)."""
        if self.mean is None or self.sigma is None:
            raise ValueError(f"a {self.prior} prior has no mean and sigma")
        return self.mean, self.sigma
