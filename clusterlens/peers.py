"""A clusterlens :class:`~clusterlens.lens.Lens` as lenstronomy lens models, for cross-checks.

lenstronomy (Birrer & Amara 2018, Physics of the Dark Universe 22, 189) is an independent lens code
that the tests and benchmarks use as a peer; it is not a dependency of clusterlens (install the
``test`` or ``bench`` extra). :func:`to_lenstronomy` needs no lenstronomy; :func:`lenstronomy_model`
imports it.

Parameter maps (each one checked against the clusterlens profile by the profile's test module,
``tests/test_profiles_<name>.py``, and the whole map by ``tests/test_lens.py``); positions in arcsec,
the same axes (x West, y North) in both codes, ``scale`` = D_LS/D_S multiplying every amplitude:

- ellipticity of every elliptical profile: e1 + i e2 = (1-q)/(1+q) exp(2 i angle), with q = 1
  written as 1 - 1e-12 (lenstronomy's NIE replaces q ~ 1 by 1 - 1e-8 anyway);
- SIE (theta_e, r_core, q, angle) -> ``NIE`` (theta_E = scale theta_e, s_scale = r_core): both have
  kappa = theta_E / (2 sqrt(s_scale^2 + q x'^2 + y'^2/q));
- dPIE (b0, r_core, r_cut, q, angle) -> ``NIE`` (theta, s_scale = f r_core) + ``NIE`` (-theta,
  s_scale = f r_cut) with f = 2 sqrt(q)/(1+q) and theta = scale b0 r_cut/(r_cut - r_core) f
  (the dPIE is a difference of two cored isothermal ellipsoids, :mod:`clusterlens.profiles.dpie`);
- cores below ``profiles.sie.CORE_FLOOR`` (including 0) are raised to it, as clusterlens evaluates
  them;
- NFW (kappa_s, r_s) -> ``NFW`` (Rs = r_s, alpha_Rs = scale 4 kappa_s r_s (1 - ln 2)), the deflection
  at r_s (:mod:`clusterlens.profiles.nfw`);
- PseudoEllipticalNFW (kappa_s, r_s, epsilon, angle) -> ``NFW_ELLIPSE_POTENTIAL`` (Rs, alpha_Rs as NFW,
  e1 + i e2 = c exp(2 i angle) with c = epsilon / (1 + sqrt(1 - epsilon^2)), since lenstronomy's potential
  ellipticity is 2c/(1 + c^2); :mod:`clusterlens.profiles.enfw`);
- ExternalShear (gamma, angle) -> ``SHEAR`` (gamma1 = scale gamma cos 2 angle, gamma2 = scale
  gamma sin 2 angle), centred on the reference point.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .lens import Lens
from .profiles.sie import CORE_FLOOR

if TYPE_CHECKING:
    from lenstronomy.LensModel.lens_model import LensModel

#: q = 1 is written as this axis ratio (lenstronomy's ellipticity has no orientation at q = 1).
ROUND_Q = 1.0 - 1e-12

Models = list[tuple[str, dict[str, float]]]


def _ellipticity(q: float, angle: float) -> tuple[float, float]:
    """lenstronomy's (e1, e2) of axis ratio ``q`` at ``angle`` degrees counter-clockwise from +x."""
    q = min(q, ROUND_Q)
    eps = (1 - q) / (1 + q)
    phi = 2 * np.deg2rad(angle)
    return float(eps * np.cos(phi)), float(eps * np.sin(phi))


def _centre(p: dict[str, float]) -> dict[str, float]:
    return {"center_x": p["center_x"], "center_y": p["center_y"]}


def _dpie(p: dict[str, float], scale: float) -> Models:
    q = min(p["q"], ROUND_Q)
    f = 2 * np.sqrt(q) / (1 + q)
    rc, rt = max(p["r_core"], CORE_FLOOR), p["r_cut"]
    theta = float(scale * p["b0"] * rt / (rt - rc) * f)
    e1, e2 = _ellipticity(q, p["angle"])
    return [("NIE", {"theta_E": theta, "s_scale": float(f * rc), "e1": e1, "e2": e2, **_centre(p)}),
            ("NIE", {"theta_E": -theta, "s_scale": float(f * rt), "e1": e1, "e2": e2, **_centre(p)})]


def _sie(p: dict[str, float], scale: float) -> Models:
    e1, e2 = _ellipticity(p["q"], p["angle"])
    return [("NIE", {"theta_E": float(scale * p["theta_e"]), "s_scale": max(p["r_core"], CORE_FLOOR),
                     "e1": e1, "e2": e2, **_centre(p)})]


def _nfw_normalisation(p: dict[str, float], scale: float) -> dict[str, float]:
    return {"Rs": p["r_s"], "alpha_Rs": float(scale * 4 * p["kappa_s"] * p["r_s"] * (1 - np.log(2))), **_centre(p)}


def _nfw(p: dict[str, float], scale: float) -> Models:
    return [("NFW", _nfw_normalisation(p, scale))]


def _pseudo_elliptical_nfw(p: dict[str, float], scale: float) -> Models:
    c = p["epsilon"] / (1 + np.sqrt(1 - p["epsilon"] ** 2))
    phi = 2 * np.deg2rad(p["angle"])
    return [("NFW_ELLIPSE_POTENTIAL", {**_nfw_normalisation(p, scale), "e1": float(c * np.cos(phi)),
                                       "e2": float(c * np.sin(phi))})]


def _shear(p: dict[str, float], scale: float) -> Models:
    phi = 2 * np.deg2rad(p["angle"])
    return [("SHEAR", {"gamma1": float(scale * p["gamma"] * np.cos(phi)),
                       "gamma2": float(scale * p["gamma"] * np.sin(phi))})]


#: lenstronomy model(s) of one component of each clusterlens mass profile (module docstring).
COUNTERPARTS = {"dPIE": _dpie, "SIE": _sie, "NFW": _nfw, "PseudoEllipticalNFW": _pseudo_elliptical_nfw,
                "ExternalShear": _shear}


def to_lenstronomy(lens: Lens, scale: float = 1.0) -> tuple[list[str], list[dict[str, float]]]:
    """(lens_model_list, kwargs_list) of lenstronomy for ``lens`` at D_LS/D_S = ``scale`` (module docstring).

    Every component of every group becomes one lenstronomy model (two for a dPIE), in group order.
    Raises ValueError for a profile without a lenstronomy counterpart."""
    names: list[str] = []
    kwargs: list[dict[str, float]] = []
    for group in lens.groups:
        convert = COUNTERPARTS.get(group.profile)
        if convert is None:
            raise ValueError(f"no lenstronomy counterpart for profile {group.profile!r} (group {group.label!r}): "
                             f"expected one of {', '.join(COUNTERPARTS)}")
        columns = {key: value.tolist() for key, value in group.params.items()}
        for i in range(group.size):
            for name, model in convert({key: values[i] for key, values in columns.items()}, scale):
                names.append(name)
                kwargs.append(model)
    return names, kwargs


def lenstronomy_model(lens: Lens, scale: float = 1.0) -> tuple[LensModel, list[dict[str, float]]]:
    """(lenstronomy ``LensModel``, kwargs_list) for ``lens`` at D_LS/D_S = ``scale`` (:func:`to_lenstronomy`).

    Raises ImportError, saying how to install it, when lenstronomy is missing."""
    try:
        from lenstronomy.LensModel.lens_model import LensModel
    except ImportError as err:
        raise ImportError("the lenstronomy peer needs the lenstronomy package, a test and benchmark dependency: "
                          'pip install -e ".[test]" (or ".[bench]")') from err
    names, kwargs = to_lenstronomy(lens, scale)
    return LensModel(names), kwargs
