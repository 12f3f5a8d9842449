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

#: lenstronomy model(s) of each clusterlens mass profile (module docstring).
COUNTERPARTS = {"dPIE": "NIE - NIE", "SIE": "NIE", "NFW": "NFW", "ExternalShear": "SHEAR"}
#: q = 1 is written as this axis ratio (lenstronomy's ellipticity has no orientation at q = 1).
ROUND_Q = 1.0 - 1e-12


def _ellipticity(q: float, angle: float) -> tuple[float, float]:
    """lenstronomy's (e1, e2) of axis ratio ``q`` at ``angle`` degrees counter-clockwise from +x."""
    q = min(q, ROUND_Q)
    eps = (1 - q) / (1 + q)
    phi = 2 * np.deg2rad(angle)
    return float(eps * np.cos(phi)), float(eps * np.sin(phi))


def to_lenstronomy(lens: Lens, scale: float = 1.0) -> tuple[list[str], list[dict[str, float]]]:
    """(lens_model_list, kwargs_list) of lenstronomy for ``lens`` at D_LS/D_S = ``scale`` (module docstring).

    Every component of every group becomes one lenstronomy model (two for a dPIE), in group order.
    Raises ValueError for a profile without a lenstronomy counterpart."""
    names: list[str] = []
    kwargs: list[dict[str, float]] = []
    for group in lens.groups:
        if group.profile not in COUNTERPARTS:
            raise ValueError(f"no lenstronomy counterpart for profile {group.profile!r} (group {group.label!r}): "
                             f"expected one of {', '.join(COUNTERPARTS)}")
        p = {key: value.tolist() for key, value in group.params.items()}
        for i in range(group.size):
            if group.profile == "ExternalShear":
                phi = 2 * np.deg2rad(p["angle"][i])
                names.append("SHEAR")
                kwargs.append({"gamma1": float(scale * p["gamma"][i] * np.cos(phi)),
                               "gamma2": float(scale * p["gamma"][i] * np.sin(phi))})
                continue
            centre = {"center_x": p["center_x"][i], "center_y": p["center_y"][i]}
            if group.profile == "dPIE":
                q = min(p["q"][i], ROUND_Q)
                f = 2 * np.sqrt(q) / (1 + q)
                rc, rt = max(p["r_core"][i], CORE_FLOOR), p["r_cut"][i]
                theta = float(scale * p["b0"][i] * rt / (rt - rc) * f)
                e1, e2 = _ellipticity(q, p["angle"][i])
                names += ["NIE", "NIE"]
                kwargs += [{"theta_E": theta, "s_scale": float(f * rc), "e1": e1, "e2": e2, **centre},
                           {"theta_E": -theta, "s_scale": float(f * rt), "e1": e1, "e2": e2, **centre}]
            elif group.profile == "SIE":
                e1, e2 = _ellipticity(p["q"][i], p["angle"][i])
                names.append("NIE")
                kwargs.append({"theta_E": float(scale * p["theta_e"][i]), "s_scale": max(p["r_core"][i], CORE_FLOOR),
                               "e1": e1, "e2": e2, **centre})
            else:  # NFW
                names.append("NFW")
                kwargs.append({"Rs": p["r_s"][i],
                               "alpha_Rs": float(scale * 4 * p["kappa_s"][i] * p["r_s"][i] * (1 - np.log(2))),
                               **centre})
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
