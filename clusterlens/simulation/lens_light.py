"""The light of the lens: main_lens_light.csv rows and member light from scaling_galaxies magnitudes.

Lens light is not lensed (it lies in the lens plane); it is integrated over the same sub-pixels,
convolved with the same PSF and observed with the same noise as the lensed sources.

Members (when dataset.toml has ``[lens_light]``, :class:`clusterlens.dataset.LensLight`) are Sersic
profiles (Sersic 1968) of index n = member_sersic_index, of total flux F = 10^(-0.4 (m - zero_point))
electrons/s for magnitude m and of effective radius R_e = member_effective_radius (L/L_ref)^slope
[arcsec], with L/L_ref = 10^(0.4 (mag_ref - m)) of their tier (docs/conventions.md#scaling-relations);
the intensity at R_e follows from the Sersic total flux F = 2 pi n R_e^2 e^(b_n) b_n^(-2n) Gamma(2n) I_e
(Graham & Driver 2005, eq. 4 with q folded into the elliptical radius).
"""
from __future__ import annotations

import numpy as np

from ..dataset import LensLight
from ..profiles import sersic
from ..registry import LIGHT_PROFILES, column_array
from . import imaging

MEMBER_PROFILE = "Sersic"


def member_light_parameters(mag, mag_ref, q, angle, x, y, settings: LensLight) -> dict[str, np.ndarray]:
    """Sersic parameters of members: mag [mag], mag_ref (their tier's) [mag], q, angle [deg], x, y [arcsec].

    Returns the keyword parameters of :func:`clusterlens.profiles.sersic.surface_brightness`, with
    ``intensity`` in electrons/s/arcsec^2 (module docstring); arrays broadcast to one length.
    """
    mag, mag_ref, q, angle, x, y = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in
                                                         (mag, mag_ref, q, angle, x, y)))
    flux = 10.0 ** (-0.4 * (mag - settings.zero_point))
    luminosity = 10.0 ** (0.4 * (mag_ref - mag))
    radius = settings.member_effective_radius * luminosity**settings.member_radius_slope
    index = np.full(mag.shape, settings.member_sersic_index)
    intensity = flux / sersic.total_flux(1.0, radius, index)
    return {"center_x": x, "center_y": y, "intensity": intensity, "effective_radius": radius,
            "sersic_index": index, "q": q, "angle": angle}


def _member_group(model) -> imaging.LightGroup | None:
    settings = model.dataset.lens_light
    tiers = [t for t in model.tiers if t.members]
    if settings is None or not tiers:
        return None
    columns: dict[str, list[np.ndarray]] = {k: [] for k in ("mag", "mag_ref", "q", "angle", "x", "y")}
    for tier in tiers:  # one pass per tier, vectorised over its members
        ref = tier.relation.mag_ref
        mag = column_array(tier.members, "mag")
        given_by_luminosity = ref - 2.5 * np.log10(column_array(tier.members, "luminosity", 1.0))
        columns["mag"].append(np.where(np.isnan(mag), given_by_luminosity, mag))
        columns["mag_ref"].append(np.full(mag.shape, ref))
        columns["q"].append(column_array(tier.members, "q", 1.0))
        columns["angle"].append(column_array(tier.members, "angle", 0.0))
        columns["x"].append(column_array(tier.members, "x"))
        columns["y"].append(column_array(tier.members, "y"))
    params = member_light_parameters(**{k: np.concatenate(v) for k, v in columns.items()}, settings=settings)
    return imaging.LightGroup(MEMBER_PROFILE, params, np.zeros(params["center_x"].size))


def lens_light_groups(model) -> list[imaging.LightGroup]:
    """The lens light of ``model``: one group per profile of main_lens_light.csv, then the members."""
    groups = []
    for profile in LIGHT_PROFILES.values():
        rows = [r for r in model.main_lens_light if r.profile == profile.name]
        if rows:
            groups.append(imaging.LightGroup(profile.name, profile.to_parameters(rows), np.zeros(len(rows))))
    members = _member_group(model)
    return groups + ([members] if members is not None else [])


def _no_deflection(x, y):
    return np.zeros_like(x), np.zeros_like(y)


def render_lens_light(groups, settings) -> np.ndarray:
    """Noise-free lens light [electrons/s per pixel] before the PSF, on the [imaging] grid ``settings``:
    the sources' sub-pixel integration (:func:`.imaging.render_sources`) without deflection."""
    return imaging.render_sources(_no_deflection, groups, settings.shape, settings.pixel_scale,
                                  settings.oversampling, settings.center_x, settings.center_y)
