"""Typed rows of every CSV family (pydantic v2).

One row is one profile of one galaxy (DESIGN.md). Rows with a ``profile`` column are discriminated
unions: each profile declares exactly its parameters, so a filled cell that the profile does not use
is an error instead of being silently ignored. Units are in each field's description and in
``json_schema_extra["unit"]`` (used by the printed tables and the JSON Schemas).

Conventions: x, y in arcsec from the dataset reference point, x positive to the West; ``angle`` in
degrees counter-clockwise from +x; ``q`` = b/a of the surface-density (or brightness) contours.
"""
from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Row(BaseModel):
    """Base of every row: unknown fields are errors, values are finite, rows are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, str_strip_whitespace=True)


def _field(unit: str, description: str, default=..., **constraints):
    return Field(default, description=f"{description} [{unit}]", json_schema_extra={"unit": unit}, **constraints)


Name = Annotated[str, Field(min_length=1, pattern=r"^[^,;\s][^,;]*$")]
Galaxy = Annotated[Name, Field(description="galaxy name; joins the families")]
X = Annotated[float, _field("arcsec", "x offset from the reference point, positive to the West")]
Y = Annotated[float, _field("arcsec", "y offset from the reference point, positive to the North")]
Redshift = Annotated[float, _field("", "redshift", gt=0, le=20)]
AxisRatio = Annotated[float, _field("", "axis ratio b/a of the contours", gt=0, le=1)]
Angle = Annotated[float, _field("deg", "position angle, counter-clockwise from +x", ge=-360, le=360)]
Radius = Annotated[float, _field("arcsec", "radius", ge=0)]
PositiveRadius = Annotated[float, _field("arcsec", "radius", gt=0)]


def _check_core_below_cut(core: float, cut: float, core_name: str, cut_name: str) -> None:
    if core >= cut:
        raise ValueError(f"{core_name} ({core!r}) must be smaller than {cut_name} ({cut!r})")


# ---------------------------------------------------------------- lens mass (main_lens_mass, host_halo)
class DPIEMass(Row):
    """dPIE (Lenstool profile 81): b0 = 6 pi (sigma/c)^2 at D_LS/D_S = 1."""

    galaxy: Galaxy
    profile: Literal["dPIE"]
    x: X
    y: Y
    redshift: Redshift
    q: AxisRatio
    angle: Angle
    sigma: Annotated[float, _field("km/s", "Lenstool fiducial velocity dispersion", gt=0, le=5000)]
    r_core: Radius
    r_cut: PositiveRadius

    @model_validator(mode="after")
    def _core_below_cut(self):
        _check_core_below_cut(self.r_core, self.r_cut, "r_core", "r_cut")
        return self


class SIEMass(Row):
    """Cored isothermal ellipsoid; theta_e is the intermediate-axis Einstein radius at D_LS/D_S = 1."""

    galaxy: Galaxy
    profile: Literal["SIE"]
    x: X
    y: Y
    redshift: Redshift
    q: AxisRatio
    angle: Angle
    theta_e: Annotated[float, _field("arcsec", "Einstein radius (intermediate axis)", gt=0)]
    r_core: Radius


class NFWMass(Row):
    """Spherical NFW from m200 (200 x critical density at the lens) and a concentration or a named relation."""

    galaxy: Galaxy
    profile: Literal["NFW"]
    x: X
    y: Y
    redshift: Redshift
    q: Annotated[float | None, _field("", "axis ratio; NFW is spherical, so blank or 1", None, ge=1, le=1)]
    angle: Annotated[float | None, _field("deg", "position angle (unused by a spherical NFW)", None, ge=-360, le=360)]
    m200: Annotated[float, _field("Msun", "mass inside r200 (200 x critical density)", gt=0)]
    concentration: Annotated[float | None, _field("", "concentration r200/r_s", None, gt=0, le=100)]
    mc_relation: Annotated[
        Literal["duffy08", "ludlow16", "diemer19", "child18", "bullock01", "prada12", "klypin16_m"] | None,
        Field(None, description="colossus mass-concentration relation name (instead of concentration)"),
    ]

    @model_validator(mode="after")
    def _one_concentration(self):
        if (self.concentration is None) == (self.mc_relation is None):
            raise ValueError("fill exactly one of concentration or mc_relation")
        return self


class ExternalShearMass(Row):
    """External shear centred on the reference point; gamma is the value at D_LS/D_S = 1."""

    galaxy: Galaxy
    profile: Literal["ExternalShear"]
    redshift: Redshift
    gamma: Annotated[float, _field("", "shear strength", ge=0, lt=1)]
    angle: Angle


LensMassRow = Annotated[Union[DPIEMass, SIEMass, NFWMass, ExternalShearMass], Field(discriminator="profile")]


# ---------------------------------------------------------------- scaling relations and members
class ScalingRelation(Row):
    """A member tier: X = X_ref (L/L_ref)^X_slope with L/L_ref = 10^(0.4 (mag_ref - mag))."""

    tier: Name
    profile: Literal["dPIE"]
    mag_ref: Annotated[float, _field("mag", "reference magnitude of L_ref")]
    sigma_ref: Annotated[float, _field("km/s", "sigma of an L_ref member", gt=0, le=5000)]
    r_core_ref: Radius
    r_cut_ref: PositiveRadius
    sigma_slope: Annotated[float, _field("", "sigma ~ L^sigma_slope (Lenstool 1/vdslope)", ge=-5, le=5)]
    r_core_slope: Annotated[float, _field("", "r_core ~ L^r_core_slope (Lenstool 1/2)", ge=-5, le=5)]
    r_cut_slope: Annotated[float, _field("", "r_cut ~ L^r_cut_slope (Lenstool 2/slope)", ge=-5, le=5)]

    @model_validator(mode="after")
    def _core_below_cut(self):
        _check_core_below_cut(self.r_core_ref, self.r_cut_ref, "r_core_ref", "r_cut_ref")
        return self


class ScalingGalaxy(Row):
    """A member galaxy whose mass follows its tier's scaling relation; blank q = 1, blank angle = 0."""

    galaxy: Galaxy
    tier: Name | None = None
    x: X
    y: Y
    mag: Annotated[float | None, _field("mag", "apparent magnitude", None, ge=-10, le=40)]
    luminosity: Annotated[float | None, _field("L_ref", "luminosity relative to the tier's L_ref", None, gt=0)]
    q: Annotated[float | None, _field("", "axis ratio b/a (blank = 1)", None, gt=0, le=1)]
    angle: Annotated[float | None, _field("deg", "position angle (blank = 0)", None, ge=-360, le=360)]
    redshift: Annotated[float | None, _field("", "redshift (blank = the lens redshift)", None, gt=0, le=20)]

    @model_validator(mode="after")
    def _one_brightness(self):
        if (self.mag is None) == (self.luminosity is None):
            raise ValueError("fill exactly one of mag or luminosity")
        return self


# ---------------------------------------------------------------- sources
Intensity = Annotated[float, _field("flux/arcsec^2", "surface brightness at the effective radius", ge=0)]
SersicIndex = Annotated[float, _field("", "Sersic index", ge=0.3, le=10)]


class SersicLight(Row):
    """Elliptical Sersic: I = intensity exp(-b_n [(r/effective_radius)^(1/n) - 1]), r = sqrt(q x'^2 + y'^2/q)."""

    galaxy: Galaxy
    profile: Literal["Sersic"]
    x: X
    y: Y
    redshift: Redshift
    q: AxisRatio
    angle: Angle
    intensity: Intensity
    effective_radius: PositiveRadius
    sersic_index: SersicIndex


class SersicCoreLight(Row):
    """Core-Sersic (Graham et al. 2003): inner power law of slope inner_slope inside radius_break."""

    galaxy: Galaxy
    profile: Literal["SersicCore"]
    x: X
    y: Y
    redshift: Redshift
    q: AxisRatio
    angle: Angle
    intensity: Intensity
    effective_radius: PositiveRadius
    sersic_index: SersicIndex
    radius_break: PositiveRadius
    inner_slope: Annotated[float, _field("", "inner power-law slope gamma", ge=0, le=3)]
    transition: Annotated[float, _field("", "sharpness alpha of the break", gt=0, le=100)]


SourceLightRow = Annotated[Union[SersicLight, SersicCoreLight], Field(discriminator="profile")]


class SourcePoint(Row):
    """A point source; ``name`` joins the multiple images in point_datasets.csv."""

    galaxy: Galaxy
    name: Name
    x: X
    y: Y
    redshift: Redshift
    flux: Annotated[float | None, _field("flux", "intrinsic (unlensed) flux", None, ge=0)]


class PointImage(Row):
    """One observed multiple image of the point source ``name``."""

    name: Name
    image: Name
    x: X
    y: Y
    sigma: Annotated[float, _field("arcsec", "positional error", gt=0)]
    flux: Annotated[float | None, _field("flux", "observed flux", None)]
    flux_sigma: Annotated[float | None, _field("flux", "flux error", None, gt=0)]
    time_delay: Annotated[float | None, _field("days", "time delay relative to the first image", None)]
    time_delay_sigma: Annotated[float | None, _field("days", "time-delay error", None, gt=0)]

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
        if "lower" in needs and self.lower >= self.upper:
            raise ValueError(f"lower ({self.lower!r}) must be smaller than upper ({self.upper!r})")
        if self.prior == "loguniform" and self.lower <= 0:
            raise ValueError(f"a loguniform prior needs lower > 0, got {self.lower!r}")
        return self
