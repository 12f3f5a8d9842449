"""Rows -> physics: turn a model's lens rows into :class:`~clusterlens.lens.MassComponents` groups.

CSV units become the profiles' angular units at D_LS/D_S = 1 through each profile's registry
declaration (:mod:`clusterlens.registry`: dPIE ``sigma`` [km/s] -> b0 [arcsec], NFW ``m200`` [Msun] +
concentration -> (kappa_s, r_s [arcsec]), ...); scaling-relation members -> sigma, r_core, r_cut in
one vectorised step per tier.
Rows of one profile in one family form one group, evaluated as one array operation. The rows
were validated by their schemas, so the groups skip MassComponents' own checks.
Every row belongs to the lens plane of its redshift (a member's blank redshift: the model's
``z_lens``); :func:`plane_groups` gathers the groups by plane for multi-plane models
(:mod:`clusterlens.multiplane`).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from itertools import groupby
from typing import TYPE_CHECKING

import numpy as np

from .families import MASS_FAMILIES
from .lens import Lens, MassComponents
from .multiplane import merge_planes
from .registry import column_array, mass_profile
from .rows import MassRow, ScalingGalaxy, ScalingRelation
from .scaling import member_parameters
from .units import b0_from_sigma

if TYPE_CHECKING:
    from astropy.cosmology import FLRW

    from .model import ClusterModel, Tier
    from .multiplane import PlaneGroups


def mass_group(rows: Sequence[MassRow], label: str, cosmology: FLRW, z_lens: float) -> MassComponents:
    """One group from rows of a single profile (host_halo or main_lens_mass rows), converted by the
    profile's registry declaration."""
    profile = mass_profile(rows[0].profile)
    return MassComponents(profile.name, profile.to_parameters(rows, cosmology, z_lens), label, check=False)


def member_arrays(tier: Tier) -> dict[str, np.ndarray]:
    """A tier's member columns as arrays: x, y, q (blank = 1), angle (blank = 0), and each member's
    brightness as ``mag`` (NaN where the row gives ``luminosity``) and ``log_luminosity``
    (log10 L/L_ref, NaN where the row gives ``mag``): a luminosity member keeps its L/L_ref when
    ``mag_ref`` changes, a magnitude member keeps its magnitude."""
    members = tier.members
    mag = np.array([np.nan if m.mag is None else m.mag for m in members], dtype=float)
    log_lum = np.array([np.nan if m.luminosity is None else np.log10(m.luminosity) for m in members], dtype=float)
    return {"x": column_array(members, "x"), "y": column_array(members, "y"), "q": column_array(members, "q", 1.0),
            "angle": column_array(members, "angle", 0.0), "mag": mag, "log_luminosity": log_lum}


def tier_group_from_arrays(relation: ScalingRelation, arrays: dict[str, np.ndarray], label: str) -> MassComponents:
    """Members (``member_arrays``) as one dPIE group, parameters from the scaling relation
    (docs/conventions.md#scaling-relations)."""
    mag = np.where(np.isnan(arrays["mag"]), relation.mag_ref - 2.5 * arrays["log_luminosity"], arrays["mag"])
    sigma, r_core, r_cut = member_parameters(mag, relation.mag_ref, relation.sigma_ref,
                                             relation.r_core_ref, relation.r_cut_ref, relation.sigma_slope,
                                             relation.r_core_slope, relation.r_cut_slope)
    params = {"center_x": arrays["x"], "center_y": arrays["y"], "b0": b0_from_sigma(sigma),
              "r_core": np.asarray(r_core, float), "r_cut": np.asarray(r_cut, float),
              "q": arrays["q"], "angle": arrays["angle"]}
    return MassComponents("dPIE", params, label, check=False)


def tier_group(tier: Tier) -> MassComponents:
    """A tier's members as one dPIE group, parameters from the tier's scaling relation
    (docs/conventions.md#scaling-relations)."""
    return tier_group_from_arrays(tier.relation, member_arrays(tier), f"tier:{tier.name}")


def mass_groups(rows: Sequence[MassRow], label: str, cosmology: FLRW, z_lens: float | None) -> list[MassComponents]:
    """One group per profile of ``rows`` (host_halo or main_lens_mass rows), in profile-name order;
    ``z_lens`` is None only for a model without lens rows, whose ``rows`` are empty."""
    if not rows:
        return []
    assert z_lens is not None, "mass rows give their model its lens redshift"
    ordered = sorted(rows, key=lambda r: r.profile)
    return [mass_group(list(same), label, cosmology, z_lens) for _, same in groupby(ordered, key=lambda r: r.profile)]


def lens_groups(model: ClusterModel) -> list[MassComponents]:
    """Every group of the model's lens: its mass families' rows, then its tiers with members."""
    groups = []
    for family in MASS_FAMILIES:
        groups += mass_groups(model.mass_rows(family), family, model.cosmology, model.z_lens)
    groups += [tier_group(t) for t in model.tiers if t.members]
    return groups


def build_lens(model: ClusterModel) -> Lens:
    """The model's whole lens (every group, amplitudes at D_LS/D_S = 1)."""
    return Lens(lens_groups(model))


def member_redshift(member: ScalingGalaxy, z_lens: float | None) -> float | None:
    """A member's lens-plane redshift: its ``redshift`` cell, blank meaning the model's ``z_lens``."""
    return z_lens if member.redshift is None else member.redshift


def plane_groups(model: ClusterModel) -> PlaneGroups:
    """The model's groups by lens plane, [(z, groups)] with z increasing (:func:`groups_by_plane`). A
    single-plane model gives one plane holding exactly :func:`lens_groups` (same groups, same order)."""
    rows = {family: model.mass_rows(family) for family in MASS_FAMILIES}
    return groups_by_plane(rows, model.tiers, model.cosmology, model.z_lens)


def groups_by_plane(mass_rows: Mapping[str, Sequence[MassRow]], tiers: Sequence[Tier], cosmology: FLRW,
                    z_lens: float | None, z_min: float = -np.inf) -> PlaneGroups:
    """Groups by lens plane, [(z, groups)] with z increasing, of the planes at z >= ``z_min``: each mass
    family's rows of one redshift converted at that redshift (an NFW's m200 uses its own plane's
    critical density and distance), each tier split into one group per member redshift (blank: ``z_lens``)."""
    redshifts: list[float] = []
    groups: list[MassComponents] = []
    for family, rows in mass_rows.items():
        for z in sorted({r.redshift for r in rows if r.redshift >= z_min}):
            found = mass_groups([r for r in rows if r.redshift == z], family, cosmology, z)
            redshifts += [z] * len(found)
            groups += found
    for tier in tiers:
        planes = [member_redshift(m, z_lens) for m in tier.members]
        for z in sorted({p for p in planes if p is not None and p >= z_min}):
            members = tuple(m for m, p in zip(tier.members, planes, strict=True) if p == z)
            redshifts.append(z)
            groups.append(tier_group_from_arrays(tier.relation, member_arrays(replace(tier, members=members)),
                                                 f"tier:{tier.name}"))
    return merge_planes(redshifts, groups)
