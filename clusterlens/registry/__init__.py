"""The profile registry: every mass and light profile declared once.

A declaration (one module in this package per profile family, e.g. :mod:`.dpie`) names everything
that interprets a CSV ``profile`` value: its CSV name, its pydantic row (the columns of
``main_lens_mass.csv`` / ``host_halo.csv`` or ``source_light.csv`` for that profile), its pure
functions in :mod:`clusterlens.profiles`, the conversion of a row's CSV units into the functions'
parameters (at D_LS/D_S = 1), the column that scales the whole profile (the likelihood's exact
rescaling fast path) and its Lenstool codec (:class:`LenstoolCodec`: the ``profil`` numbers it reads,
the fields, ``limit`` keywords and host rule; the Lenstool conventions it converts with are in
:mod:`.lenstool_rules`). The rows' discriminated unions (:mod:`clusterlens.rows`),
the lens builder, the likelihood, the JSON schemas, the printed tables and the Lenstool import and
export all read this registry; none of them names a profile.

Adding a mass profile: its pure functions in ``clusterlens/profiles/<name>.py``, its declaration in
``clusterlens/registry/<name>.py`` (a ``PROFILES`` tuple; the elliptical NFW, :mod:`.enfw`, is the
worked example), its module name appended to :data:`DECLARATIONS` (the order fixes the canonical CSV
column order), and its tests (docs/architecture.md#the-profile-registry).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import import_module
from types import ModuleType
from typing import Any

import numpy as np

from ..columns import Row

#: Declaration modules, in the order that fixes the canonical column order of the CSV families.
DECLARATIONS = ("dpie", "sie", "nfw", "shear", "enfw", "sersic")


@dataclass(frozen=True)
class MassFunctions:
    """A mass profile's pure functions, each ``f(x, y, **parameters)`` with x, y in arcsec.

    parameters: the keyword names, in order; deflection -> (alpha_x, alpha_y) [arcsec];
    hessian -> (psi_xx, psi_xy, psi_yy); convergence -> kappa; potential -> psi [arcsec^2];
    deflection_and_hessian (optional) -> the five in one pass; check (optional) raises ValueError for
    parameters out of the profile's range.
    """

    parameters: tuple[str, ...]
    deflection: Callable[..., Any]
    hessian: Callable[..., Any]
    convergence: Callable[..., Any]
    potential: Callable[..., Any]
    deflection_and_hessian: Callable[..., Any] | None = None

    @classmethod
    def of(cls, module: ModuleType) -> MassFunctions:
        """The functions of a :mod:`clusterlens.profiles` module (``PARAMETERS``, ``deflection``, ...)."""
        return cls(tuple(module.PARAMETERS), module.deflection, module.hessian, module.convergence,
                   module.potential, getattr(module, "deflection_and_hessian", None))


@dataclass(frozen=True)
class Amplitude:
    """Every lensing quantity of the profile is proportional to ``column ** power`` (others fixed)."""

    column: str
    power: float


@dataclass(frozen=True)
class LenstoolContext:
    """What the Lenstool importer knows about one ``potentiel`` block when a codec reads it.

    fields: Lenstool field -> value (the names of :data:`clusterlens.lenstool.keywords.POTENTIAL_FIELDS`:
    ``sigma`` [km/s], ``rc``/``rcut`` [arcsec], ``rckpc``/``rcutkpc`` [kpc], ``emass``, ``theta`` [deg], ...);
    redshift: the lens redshift (> 0); kpc_per_arcsec: proper kpc per arcsec there in ``cosmology``
    (an astropy cosmology). centre() -> (x, y) [arcsec from the reference], the later of
    ``x_centre``/``x_centre_wcs`` winning; emass() -> the mass ellipticity (a^2-b^2)/(a^2+b^2) from
    ``ellipticite`` or ``ellip_pot``, checked to be in [0, 1); radius(arcsec_field, kpc_field, default) ->
    a length [arcsec] from either form, as Lenstool chooses; error(message, field=None) -> the
    LenstoolError to raise, naming the file, the line of ``field`` (else of the block) and the potential;
    warn(message) issues a LenstoolWarning.
    """

    name: str
    fields: Mapping[str, Any]
    redshift: float
    kpc_per_arcsec: float
    cosmology: Any
    centre: Callable[[], tuple[float, float]]
    emass: Callable[[], float]
    radius: Callable[[str, str, Any], Any]
    error: Callable[..., Exception]
    warn: Callable[[str], None]


@dataclass(frozen=True)
class LenstoolLimit:
    """How a Lenstool ``limit`` keyword (``flag v1 v2``) becomes a prior on the CSV column ``column``.

    Plain: the values are the column's. kpc: the values are lengths in kpc, divided by the potential's
    kpc per arcsec. forward/derivative: the column is forward(u) of the Lenstool quantity u, so a uniform
    prior keeps its bounds mapped and a normal one is linearised at its mean (both announced); inverse:
    u from a column value, for writing the prior back (:func:`.lenstool_rules.preimage` makes it exact).
    check(keyword, flag, v1, v2) -> the values the conversion takes, raising ValueError (the reason) for
    values outside the quantity's range.
    """

    column: str
    kpc: bool = False
    forward: Callable[[float], float] | None = None
    derivative: Callable[[float], float] | None = None
    inverse: Callable[[float], float] | None = None
    check: Callable[[str, int, float, float], tuple[float, float]] | None = None


@dataclass(frozen=True)
class LenstoolCodec:
    """A mass profile's Lenstool form: what it reads from and writes to ``potentiel`` and ``limit`` blocks.

    profils: the Lenstool ``profil`` numbers the profile is read from -> the Lenstool fields it uses
    there (another field with a non-zero value is ignored with a warning). takes(fields): for a number
    two profiles share, whether this one takes the block (None: it is the only one). read(context) ->
    the row's columns other than galaxy, profile and redshift. write(row, cosmology, z_lens) ->
    {Lenstool field: value} of the ``potentiel`` block, ``type`` (the profil number) first, in the
    order written; ``keywords``: the keyword a field is written with where it is not the one of
    :data:`clusterlens.lenstool.keywords.WRITTEN_WITH`. limits: ``limit`` keyword -> its rule;
    limit_keywords: column -> the keyword its prior is written with (a rule of ``limits`` with that
    keyword, plain or with an inverse); limits_for(fields, row): the rules for one potential where they
    depend on its Lenstool fields or imported row (None: ``limits`` for every potential). host(row):
    whether the imported row (a dict) is a cluster- or group-scale halo, written to host_halo.csv rather
    than main_lens_mass.csv.
    """

    profils: Mapping[int, frozenset[str]]
    read: Callable[[LenstoolContext], dict[str, Any]]
    write: Callable[[Any, Any, float], dict[str, Any]]
    host: Callable[[Mapping[str, Any]], bool]
    limits: Mapping[str, LenstoolLimit] = field(default_factory=dict)
    limit_keywords: Mapping[str, str] = field(default_factory=dict)
    limits_for: Callable[[Mapping[str, Any], Mapping[str, Any]], Mapping[str, LenstoolLimit]] | None = None
    takes: Callable[[Mapping[str, Any]], bool] | None = None
    keywords: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class MassProfile:
    """One mass profile: CSV name, row, functions, unit conversion, amplitude, Lenstool codec.

    to_parameters(rows, cosmology, z_lens): the functions' parameters (1-D arrays, one entry per
    row) from validated rows of this profile; lengths in arcsec, amplitudes at D_LS/D_S = 1.
    compiled: optional accelerated sums over many components (``member_table(**parameters)`` and
    ``add(x, y, table, deflection, hessian)``, ``add_potential(x, y, table, out)``, as
    :mod:`clusterlens.profiles.dpie_numba`; optionally ``add_groups(x, y, table, count, out)``, the sums of
    ``count`` equal consecutive groups of rows into ``out[b]``, as :mod:`clusterlens.profiles.nfw_numba`, for
    batches).
    lenstool: how the profile reads from and writes to Lenstool ``potentiel`` and ``limit`` blocks (None: no
    Lenstool equivalent).
    """

    name: str
    row: type[Row]
    functions: MassFunctions
    to_parameters: Callable[[Sequence[Any], Any, float], dict[str, np.ndarray]]
    amplitude: Amplitude | None = None
    compiled: ModuleType | None = None
    lenstool: LenstoolCodec | None = None


@dataclass(frozen=True)
class LightProfile:
    """One light profile: CSV name, row, surface-brightness function and its parameters.

    to_parameters(rows): the function's parameters (1-D arrays, one entry per row; lengths in arcsec,
    ``intensity`` in the row's unit).
    """

    name: str
    row: type[Row]
    parameters: tuple[str, ...]
    surface_brightness: Callable[..., np.ndarray]
    to_parameters: Callable[[Sequence[Any]], dict[str, np.ndarray]]


def column_array(rows: Sequence[Any], name: str, default: float | None = None) -> np.ndarray:
    """Column ``name`` of ``rows`` as a float array, blank cells (None) as ``default``."""
    return np.array([default if getattr(r, name) is None else getattr(r, name) for r in rows], dtype=float)


def columns_as_arrays(rows: Sequence[Any], mapping: Mapping[str, str]) -> dict[str, np.ndarray]:
    """{parameter: column_array(rows, column)} for a parameter -> CSV column mapping."""
    return {parameter: column_array(rows, name) for parameter, name in mapping.items()}


def _collect() -> tuple[dict[str, MassProfile], dict[str, LightProfile]]:
    mass: dict[str, MassProfile] = {}
    light: dict[str, LightProfile] = {}
    for module_name in DECLARATIONS:
        for profile in import_module(f"{__name__}.{module_name}").PROFILES:
            table: dict[str, Any] = mass if isinstance(profile, MassProfile) else light
            if profile.name in mass or profile.name in light:
                raise RuntimeError(f"profile {profile.name!r} is declared twice (module {module_name})")
            table[profile.name] = profile
    return mass, light


MASS_PROFILES, LIGHT_PROFILES = _collect()


def mass_profile(name: str) -> MassProfile:
    """The declaration of mass profile ``name``; a ValueError lists the known names otherwise."""
    try:
        return MASS_PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown mass profile {name!r}; expected one of {', '.join(MASS_PROFILES)}") from None


def light_profile(name: str) -> LightProfile:
    """The declaration of light profile ``name``; a ValueError lists the known names otherwise."""
    try:
        return LIGHT_PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown light profile {name!r}; expected one of {', '.join(LIGHT_PROFILES)}") from None
