"""Sersic and core-Sersic source light: the CSV rows and :mod:`clusterlens.profiles.sersic`."""
from __future__ import annotations

from typing import Annotated, Literal

from ..columns import (
    Angle,
    AxisRatio,
    Galaxy,
    PositiveRadius,
    Redshift,
    Row,
    X,
    Y,
    column,
)
from ..profiles import sersic
from . import LightProfile, columns_as_arrays

Intensity = Annotated[float, column("flux/arcsec^2", "surface brightness at the effective radius", ge=0, le=1e20)]
SersicIndex = Annotated[float, column("", "Sersic index", ge=0.3, le=10)]


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
    inner_slope: Annotated[float, column("", "inner power-law slope gamma", ge=0, le=3)]
    transition: Annotated[float, column("", "sharpness alpha of the break", gt=0, le=100)]


def _mapping(parameters: tuple[str, ...]) -> dict[str, str]:
    """Function parameter -> CSV column: the centre is (x, y), every other name is its column."""
    return {p: {"center_x": "x", "center_y": "y"}.get(p, p) for p in parameters}


def sersic_parameters(rows):
    """center_x, center_y [arcsec], intensity, effective_radius [arcsec], sersic_index, q, angle [deg]."""
    return columns_as_arrays(rows, _mapping(sersic.PARAMETERS))


def core_sersic_parameters(rows):
    """The Sersic parameters plus radius_break [arcsec], inner_slope and transition."""
    return columns_as_arrays(rows, _mapping(sersic.CORE_PARAMETERS))


PROFILES = (
    LightProfile("Sersic", SersicLight, sersic.PARAMETERS, sersic.surface_brightness, sersic_parameters),
    LightProfile("SersicCore", SersicCoreLight, sersic.CORE_PARAMETERS, sersic.core_sersic_surface_brightness,
                 core_sersic_parameters),
)
