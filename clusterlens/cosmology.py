"""Cosmology: astropy models, cached distance ratios and lens-unit conversions.

One cosmology per dataset (docs/conventions.md#cosmology). Distances are angular-diameter distances
in Mpc. Lensing amplitudes are quoted at D_LS/D_S = 1 ("at infinity"); a source at
z_s multiplies every deflection by ``distance_ratio(cosmo, z_lens, z_s)``.
"""

from __future__ import annotations

import functools
import math
import warnings
from dataclasses import dataclass

import astropy.units as u
import numpy as np
from astropy.cosmology import FLRW, FlatLambdaCDM, LambdaCDM, realizations

from .units import ARCSEC, DAYS_PER_MPC_ARCSEC2, G_OVER_C2, arcsec_from_length, r200_from_m200

_SPEC_KEYS = {"name", "H0", "Om0", "Ode0", "Ob0", "Tcmb0", "sigma8", "ns"}

# Power-spectrum parameters for colossus when the astropy cosmology carries none
# (Planck 2018, TT,TE,EE+lowE+lensing+BAO, as in astropy's Planck18 meta).
DEFAULT_SIGMA8 = 0.8102
DEFAULT_NS = 0.9665
DEFAULT_OB0 = 0.04897


def make_cosmology(spec: dict) -> FLRW:
    """Astropy cosmology from a dataset spec.

    ``{"name": "Planck18"}`` (any astropy realisation: Planck13/15/18, WMAP1-9), or
    ``{"H0": 70, "Om0": 0.3}`` (FlatLambdaCDM; add ``Ode0`` for a non-flat LambdaCDM,
    optional ``Ob0``, ``Tcmb0`` in K). Optional ``sigma8`` and ``ns`` are stored in
    the cosmology's meta for the colossus concentration relations.
    """
    unknown = set(spec) - _SPEC_KEYS
    if unknown:
        raise ValueError(f"unknown cosmology keys {sorted(unknown)}; expected some of {sorted(_SPEC_KEYS)}")
    meta = {key: float(spec[key]) for key in ("sigma8", "ns") if key in spec}
    if "name" in spec:
        extra = set(spec) - {"name", "sigma8", "ns"}
        if extra:
            raise ValueError(f"a named cosmology takes no parameters, got {sorted(extra)}")
        name = spec["name"]
        if name not in realizations.available:
            raise ValueError(f"unknown cosmology name {name!r}; expected one of {list(realizations.available)}")
        cosmo = getattr(realizations, name)
        return cosmo.clone(meta=meta) if meta else cosmo
    if "H0" not in spec or "Om0" not in spec:
        raise ValueError("a cosmology spec needs 'name', or 'H0' and 'Om0'")
    h0, om0 = float(spec["H0"]), float(spec["Om0"])
    if not (h0 > 0 and om0 > 0):
        raise ValueError(f"need H0 > 0 and Om0 > 0, got H0={h0}, Om0={om0}")
    kwargs = dict(H0=h0, Om0=om0, Tcmb0=float(spec.get("Tcmb0", 0.0)), Ob0=float(spec.get("Ob0", 0.0)), meta=meta)
    if "Ode0" in spec:
        return LambdaCDM(Ode0=float(spec["Ode0"]), **kwargs)
    return FlatLambdaCDM(**kwargs)


@dataclass(frozen=True)
class _CosmologyKey:
    """Hashable stand-in for an astropy cosmology (astropy >= 7 cosmologies are unhashable)."""

    cosmo: FLRW
    key: tuple

    def __hash__(self):
        return hash(self.key)

    def __eq__(self, other):
        return isinstance(other, _CosmologyKey) and self.key == other.key


def _exact(value):
    if value is None:
        return None
    if isinstance(value, u.Quantity):
        return (str(value.unit), np.asarray(value.value, dtype=float).tobytes())
    return np.asarray(value, dtype=float).tobytes()


_KEYS_BY_ID: dict[int, tuple[FLRW, _CosmologyKey]] = {}


def _key(cosmo: FLRW) -> _CosmologyKey:
    """The cache key of ``cosmo`` (remembered per object: astropy cosmologies are immutable)."""
    known = _KEYS_BY_ID.get(id(cosmo))
    if known is not None and known[0] is cosmo:
        return known[1]
    if not isinstance(cosmo, FLRW):
        raise ValueError(f"expected an astropy FLRW cosmology, got {type(cosmo).__name__}")
    parameters = tuple((name, _exact(value)) for name, value in cosmo.parameters.items())
    meta = tuple(sorted((k, v) for k, v in cosmo.meta.items() if k in ("sigma8", "n", "ns")))
    key = _CosmologyKey(cosmo, (type(cosmo).__qualname__, parameters, meta))
    _KEYS_BY_ID[id(cosmo)] = (cosmo, key)
    return key


@functools.lru_cache(maxsize=1024)
def _critical_density(key: _CosmologyKey, z: float) -> float:
    """rho_crit(z) in Msun/Mpc^3."""
    return float(key.cosmo.critical_density(z).to_value(u.Msun / u.Mpc**3))


def distance_between(cosmo: FLRW, z1: float, z2: float) -> float:
    """Angular-diameter distance from z1 to z2 in Mpc (astropy >= 7 API, older as fallback)."""
    try:
        distance = cosmo.angular_diameter_distance(z1, z2)
    except TypeError:
        distance = cosmo.angular_diameter_distance_z1z2(z1, z2)
    return float(distance.to_value(u.Mpc))


@functools.lru_cache(maxsize=4096)
def _distance_ratio(key: _CosmologyKey, z_lens: float, z_source: float) -> float:
    d_ls = distance_between(key.cosmo, z_lens, z_source)
    return d_ls / float(key.cosmo.angular_diameter_distance(z_source).to_value(u.Mpc))


@functools.lru_cache(maxsize=4096)
def _distances(key: _CosmologyKey, z_lens: float, z_source: float) -> tuple[float, float, float]:
    cosmo = key.cosmo
    return (
        float(cosmo.angular_diameter_distance(z_lens).to_value(u.Mpc)),
        float(cosmo.angular_diameter_distance(z_source).to_value(u.Mpc)),
        distance_between(cosmo, z_lens, z_source),
    )


def _redshift(name: str, value) -> float:
    value = float(value)
    if not (np.isfinite(value) and value >= 0.0):
        raise ValueError(f"{name} must be a finite redshift >= 0, got {value}")
    return value


def distance_ratio(cosmo: FLRW, z_lens: float, z_source):
    """D_LS / D_S (dimensionless, cached) of a source behind the lens; ValueError for z_source <= z_lens
    (a source at or in front of the lens is not lensed by it).

    ``z_source`` may be a scalar or an array (elementwise, each value cached).
    """
    key = _key(cosmo)
    z_lens = _redshift("z_lens", z_lens)
    redshifts = [_redshift("z_source", z) for z in np.ravel(z_source)]
    in_front = [z for z in redshifts if z <= z_lens]
    if in_front:
        raise ValueError(f"z_source must exceed the lens redshift {z_lens}, got {in_front[:5]}: "
                         "a source at or in front of the lens is not lensed by it")
    if np.ndim(z_source) == 0:
        return _distance_ratio(key, z_lens, redshifts[0])
    return np.reshape([_distance_ratio(key, z_lens, z) for z in redshifts], np.shape(z_source))


#: Gauss-Legendre order of :func:`distance_ratios` (in t = (1+z)^-1/2 the integrand is analytic and
#: smooth for z <= 20; 48 nodes agree with astropy's distances to ~1e-14 relative, tests/test_cosmology.py)
RATIO_NODES = 48
_GL_T, _GL_W = np.polynomial.legendre.leggauss(RATIO_NODES)


@functools.lru_cache(maxsize=64)
def _matter_curvature_lambda(key: _CosmologyKey) -> tuple[float, float, float] | None:
    """(Om0, Ok0, Ode0) of a (Flat)LambdaCDM without radiation, else None (astropy's E(z) is then used)."""
    cosmo = key.cosmo
    if isinstance(cosmo, LambdaCDM | FlatLambdaCDM) and not float(cosmo.Ogamma0) + float(cosmo.Onu0) > 0:
        return float(cosmo.Om0), float(cosmo.Ok0), float(cosmo.Ode0)
    return None


def _comoving_hubble(key: _CosmologyKey, z1, z2: np.ndarray) -> np.ndarray:
    """Line-of-sight comoving distance from z1 (a scalar or z2's shape) to z2 in units of c/H0: the integral of
    dz / E(z) written in t = (1+z)^-1/2, dz = -2 t^-3 dt, by Gauss-Legendre quadrature (E from ``cosmo.inv_efunc``
    where the cosmology has radiation or neutrinos, so they count as in astropy)."""
    t1, t2 = 1.0 / np.sqrt(1.0 + np.asarray(z1, dtype=float)), 1.0 / np.sqrt(1.0 + z2)
    mid, half = 0.5 * (t1 + t2), 0.5 * (t1 - t2)
    t = mid[..., None] + half[..., None] * _GL_T
    tt = t * t
    densities = _matter_curvature_lambda(key)
    if densities is not None:
        # no radiation: E^2 = Om0 (1+z)^3 + Ok0 (1+z)^2 + Ode0, so 2 t^-3 / E = 2 / sqrt(Om0 + Ok0 t^2 + Ode0 t^6)
        om0, ok0, ode0 = densities
        integrand = 2.0 / np.sqrt(om0 + ok0 * tt + ode0 * (tt * tt * tt))
    else:
        integrand = 2.0 * np.asarray(key.cosmo.inv_efunc(1.0 / tt - 1.0), dtype=float) / (tt * t)
    return half * np.sum(integrand * _GL_W, axis=-1)  # per row in a fixed order, whatever the shape


@functools.lru_cache(maxsize=64)
def _lens_distance(key: _CosmologyKey, z_lens: float) -> float:
    """Comoving distance to the lens in c/H0 (:func:`_comoving_hubble`), once per cosmology and lens."""
    return float(_comoving_hubble(key, 0.0, np.full(1, z_lens))[0])


@functools.lru_cache(maxsize=64)
def _curvature(key: _CosmologyKey) -> float:
    return float(key.cosmo.Ok0)


def _transverse(ok0: float, chi: np.ndarray) -> np.ndarray:
    """Comoving transverse distance (units of c/H0) of a comoving distance ``chi`` for curvature density ``ok0``
    (Hogg 1999, eq. 16)."""
    if ok0 > 0:
        return np.sinh(math.sqrt(ok0) * chi) / math.sqrt(ok0)
    if ok0 < 0:
        return np.sin(math.sqrt(-ok0) * chi) / math.sqrt(-ok0)
    return chi


def distance_ratios(cosmo: FLRW, z_lens: float, z_sources) -> np.ndarray:
    """D_LS / D_S (dimensionless) of many sources at once, one vectorised evaluation (no cache; for the
    redshifts a fit varies). D_LS / D_S = D_M(z_lens, z_s) / D_M(0, z_s), the transverse comoving distances
    (Hogg 1999, eqs. 16 and 19; the (1 + z_s) factors cancel), from :func:`_comoving_hubble`. Equals
    :func:`distance_ratio` (astropy's distances) to ~1e-14 relative, not bit for bit; each value does not
    depend on the others or on the shape. ``z_sources``: any shape, every value > z_lens (ValueError
    otherwise) and <= 20."""
    key = _key(cosmo)
    z_lens = _redshift("z_lens", z_lens)
    z = np.asarray(z_sources, dtype=float)
    if not np.all(np.isfinite(z) & (z > z_lens)):
        raise ValueError(f"z_source must exceed the lens redshift {z_lens}, got {z[~(z > z_lens)].ravel()[:5]}: "
                         "a source at or in front of the lens is not lensed by it")
    chi_ls = _comoving_hubble(key, z_lens, z)
    ok0 = _curvature(key)
    return _transverse(ok0, chi_ls) / _transverse(ok0, chi_ls + _lens_distance(key, z_lens))


def time_delay_distance(cosmo: FLRW, z_lens: float, z_source: float) -> float:
    """D_dt = (1 + z_lens) D_L D_S / D_LS in Mpc (e.g. Suyu et al. 2010, eq. 2)."""
    z_lens, z_source = _redshift("z_lens", z_lens), _redshift("z_source", z_source)
    if z_source <= z_lens:
        raise ValueError(f"time delays need z_source > z_lens, got z_source={z_source}, z_lens={z_lens}")
    d_l, d_s, d_ls = _distances(_key(cosmo), z_lens, z_source)
    return (1.0 + z_lens) * d_l * d_s / d_ls


def time_delay_days(cosmo: FLRW, z_lens: float, z_source: float, fermat_difference):
    """Time delay in days, D_dt / c * delta_phi, for a Fermat-potential difference in arcsec^2.

    phi = |theta - beta|^2 / 2 - psi(theta) with psi at the source's D_LS/D_S; a larger
    phi arrives later.
    """
    d_dt = time_delay_distance(cosmo, z_lens, z_source)
    return d_dt * DAYS_PER_MPC_ARCSEC2 * np.asarray(fermat_difference, dtype=float)


def sigma_crit_inf(cosmo: FLRW, z_lens: float) -> float:
    """Sigma_crit at D_LS/D_S = 1, c^2 / (4 pi G D_L), in Msun per arcsec^2.

    Sigma_crit(z_lens, z_source) = sigma_crit_inf / distance_ratio(z_lens, z_source).
    """
    z_lens = _redshift("z_lens", z_lens)
    d_l = _distances(_key(cosmo), z_lens, z_lens)[0]
    per_mpc2 = 1.0 / (4.0 * math.pi * G_OVER_C2 * d_l)
    return per_mpc2 * (d_l * ARCSEC) ** 2


def nfw_lensing_parameters(cosmo: FLRW, z_lens: float, m200, concentration):
    """(kappa_s, r_s in arcsec) of an NFW halo at D_LS/D_S = 1.

    m200 in Msun inside r200, where the mean density is 200 rho_crit(z_lens);
    concentration c = r200 / r_s. rho_s = (200/3) rho_crit c^3 / (ln(1+c) - c/(1+c)),
    kappa_s = rho_s r_s / Sigma_crit_inf (Navarro, Frenk & White 1997; Wright &
    Brainerd 2000 eqs. 1-2). Vectorised over m200 and concentration.
    """
    z_lens = _redshift("z_lens", z_lens)
    m200 = np.asarray(m200, dtype=float)
    c = np.asarray(concentration, dtype=float)
    if np.any(~(np.isfinite(m200) & (m200 > 0))):
        raise ValueError(f"m200 must be finite and > 0 Msun, got {m200}")
    if np.any(~(np.isfinite(c) & (c > 0))):
        raise ValueError(f"concentration must be finite and > 0, got {c}")
    key = _key(cosmo)
    rho_crit = _critical_density(key, z_lens)
    r_s = r200_from_m200(m200, rho_crit) / c
    rho_s = (200.0 / 3.0) * rho_crit * c**3 / (np.log1p(c) - c / (1.0 + c))
    d_l = _distances(key, z_lens, z_lens)[0]
    sigma_crit_mpc2 = 1.0 / (4.0 * math.pi * G_OVER_C2 * d_l)
    return rho_s * r_s / sigma_crit_mpc2, arcsec_from_length(r_s, d_l)


@functools.lru_cache(maxsize=32)
def _colossus_cosmology(key: _CosmologyKey):
    from colossus.cosmology import cosmology as colossus_cosmology

    cosmo = key.cosmo
    tcmb0 = float(cosmo.Tcmb0.to_value(u.K))
    return colossus_cosmology.Cosmology(
        name=f"clusterlens-{abs(hash(key))}",
        flat=bool(abs(cosmo.Ok0) < 1e-12),
        H0=float(cosmo.H0.to_value(u.km / u.s / u.Mpc)),
        Om0=float(cosmo.Om0),
        Ode0=float(cosmo.Ode0),
        Ob0=float(cosmo.Ob0) if cosmo.Ob0 else DEFAULT_OB0,
        sigma8=float(cosmo.meta.get("sigma8", DEFAULT_SIGMA8)),
        ns=float(cosmo.meta.get("ns", cosmo.meta.get("n", DEFAULT_NS))),
        relspecies=tcmb0 > 0,
        Tcmb0=tcmb0 if tcmb0 > 0 else 2.7255,
        Neff=float(cosmo.Neff),
        persistence="",
        print_warnings=False,
    )


def concentration_from_relation(cosmo: FLRW, z_lens: float, m200, relation_name: str):
    """Concentration c200c of halos of mass m200 (Msun) at z_lens from a colossus relation.

    ``relation_name`` is a colossus model, e.g. 'duffy08', 'ludlow16', 'diemer19'
    (median relation, mass definition 200c); outside a relation's calibrated range
    its extrapolation is returned with a warning. The colossus cosmology is built from the
    astropy one (no network or disk cache); sigma8 and ns come from the cosmology's
    meta ('sigma8', 'n' or 'ns'), else Planck 2018 values; a cosmology without
    baryons uses Ob0 = 0.04897 for the power spectrum; massive neutrinos are ignored.
    """
    from colossus.cosmology import cosmology as colossus_cosmology
    from colossus.halo import concentration as colossus_concentration

    if relation_name not in colossus_concentration.models:
        raise ValueError(
            f"unknown concentration relation {relation_name!r}; expected one of "
            f"{sorted(colossus_concentration.models)}"
        )
    z_lens = _redshift("z_lens", z_lens)
    m200 = np.asarray(m200, dtype=float)
    if np.any(~(np.isfinite(m200) & (m200 > 0))):
        raise ValueError(f"m200 must be finite and > 0 Msun, got {m200}")
    h = cosmo.H0.to_value(u.km / u.s / u.Mpc) / 100.0
    previous = colossus_cosmology.current_cosmo  # colossus reads a global cosmology: restore the caller's
    colossus_cosmology.setCurrent(_colossus_cosmology(_key(cosmo)))
    try:
        c, valid = colossus_concentration.concentration(
            m200 * h, "200c", z_lens, model=relation_name, range_return=True, range_warning=False
        )
    finally:
        colossus_cosmology.setCurrent(previous)
    if not np.all(valid):
        warnings.warn(
            f"m200 = {m200} Msun at z = {z_lens} is (partly) outside the calibrated range of the "
            f"concentration relation {relation_name!r}; its extrapolation is used",
            stacklevel=2,
        )
    return c
