"""The lens at the observed images, split into a cached fixed part and recomputed free parts.

The likelihood's fast path: lens groups whose rows hold no free cell are evaluated once at the
observed images; a row whose only free cell is its profile's amplitude (the registry's
:class:`~clusterlens.registry.Amplitude`: dPIE ``sigma``, SIE ``theta_e``, shear ``gamma``) and a tier
whose only free cell is ``sigma_ref`` are evaluated once and rescaled exactly ((sigma/sigma_0)^2: b0
is proportional to sigma^2 for a dPIE and for every member of a tier; theta_e and gamma linearly);
a tier whose free cells are ``r_cut_ref`` and maybe ``sigma_ref`` is (sigma_ref / sigma_0)^2 F(r_cut_ref),
F tabulated once over the prior's range (:mod:`clusterlens.fit.chebyshev_table`, checked to 1e-12 of each
quantity's scale) and evaluated exactly outside it; only groups with other free cells are recomputed per
call. Quantities at D_LS/D_S = 1: deflections in arcsec, Hessian dimensionless, potential in arcsec^2.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InvalidParameters
from ..families import MASS_FAMILIES
from ..lens import Lens, joined_groups
from ..lens_builder import mass_groups, member_arrays, tier_group, tier_group_from_arrays
from ..model import ClusterModel, Tier
from ..registry import MASS_PROFILES
from .chebyshev_table import ChebyshevTable, build_table
from .parameters import Parameters, prior_range


@dataclass(frozen=True)
class AmplitudePart:
    """A row (or tier) whose only free cell is its amplitude: its cached lens quantities ``part`` at
    ``column = base`` and the power that rescales them, part x (value / base) ** power."""

    family: str
    index: int
    column: str
    base: float
    power: float
    part: np.ndarray


@dataclass(frozen=True)
class TableTier:
    """A tier whose free cells are ``r_cut_ref`` (and maybe ``sigma_ref``): its part at the points is
    (sigma_ref / sigma_0)^2 ``table``(r_cut_ref) inside the table's range. ``r_core`` and ``cut_factor``
    (members' r_cut / r_cut_ref) give the members' validity, r_core < r_cut."""

    index: int
    sigma_0: float
    table: ChebyshevTable
    r_core: np.ndarray
    cut_factor: np.ndarray

    def check(self, relation) -> None:
        """InvalidParameters unless every member has r_core < r_cut for ``relation``."""
        bad = ~(self.r_core < relation.r_cut_ref * self.cut_factor)
        if np.any(bad):
            raise InvalidParameters(f"tier {self.index}: {int(bad.sum())} member(s) with r_core >= r_cut, e.g. "
                                    f"r_core {self.r_core[bad][0]!r}, r_cut "
                                    f"{relation.r_cut_ref * self.cut_factor[bad][0]!r}")


class LensAtImages:
    """The lens at fixed image-plane points, split into cached fixed parts and recomputed free parts.

    ``cache=False`` treats every group as free (the reference the fast path is tested against);
    ``threads``: threads of every :class:`~clusterlens.lens.Lens` built (None: its default)."""

    def __init__(self, model: ClusterModel, parameters: Parameters, x: np.ndarray, y: np.ndarray,
                 cache: bool = True, with_potential: bool = False, threads: int | None = None):
        self.model, self.parameters, self.x, self.y = model, parameters, x, y
        self.with_potential = with_potential
        self.threads = threads
        affected = parameters.affected_rows() if cache else None
        free_columns: dict[tuple[str, int], set[str]] = {}
        for p in parameters.free:
            free_columns.setdefault((p.family, p.index), set()).add(p.column)
        #: rows and tiers whose only free cell is their amplitude: cached, rescaled exactly
        self.amplitudes: list[AmplitudePart] = []
        self.free_rows: dict[str, list[int]] = {}
        fixed_groups = []
        for family in MASS_FAMILIES:
            rows = self.model.mass_rows(family)
            free = set(range(len(rows))) if affected is None else affected.get(family, set())
            self.free_rows[family] = []
            for i in sorted(free):
                # a row whose only free cell is its profile's amplitude (registry) is rescaled exactly
                amplitude = MASS_PROFILES[rows[i].profile].amplitude
                column, power = (amplitude.column, amplitude.power) if amplitude else (None, 0.0)
                base = getattr(rows[i], column) if column else 0.0
                if column is not None and affected is not None and free_columns[(family, i)] == {column} and base > 0:
                    part = self._evaluate(_groups(self.model, family, [rows[i]]))
                    self.amplitudes.append(AmplitudePart(family, i, column, base, power, part))
                else:
                    self.free_rows[family].append(i)
            fixed_groups += _groups(self.model, family, [r for i, r in enumerate(rows) if i not in free])
        free_members = set() if affected is None else affected.get("scaling_galaxies", set())
        member_index = {id(m): i for i, m in enumerate(self.model.rows("scaling_galaxies"))}
        self.tier_modes = []
        #: tiers with a free r_cut_ref tabulated (mode "table")
        self.tables: dict[int, TableTier] = {}
        self._tier_members: dict[int, list[int]] = {}
        self._tier_arrays: dict[int, dict] = {}
        for t, tier in enumerate(self.model.tiers):
            if not tier.members:
                continue
            indices = [member_index[id(m)] for m in tier.members]
            touched_members = any(i in free_members for i in indices)
            columns = free_columns.get(("scaling_relations", t), set())
            arrays = None if touched_members else member_arrays(tier)
            table = None
            if affected is not None and arrays is not None and "r_cut_ref" in columns and \
                    columns <= {"sigma_ref", "r_cut_ref"}:
                prior = next(p for p in parameters.free if p.family == "scaling_relations" and p.index == t
                             and p.column == "r_cut_ref").prior
                table = self._table_tier(t, tier.relation, arrays, prior)
            if table is not None and arrays is not None:  # a table is built from the arrays only
                mode = "table"
                self.tables[t] = table
                self._tier_arrays[t] = arrays
            elif affected is None or touched_members or (columns and columns != {"sigma_ref"}):
                mode = "recompute"
                self._tier_members[t] = indices
                if arrays is not None:
                    self._tier_arrays[t] = arrays
            elif columns == {"sigma_ref"}:
                mode = "amplitude"
                part = self._evaluate([tier_group(tier)])
                self.amplitudes.append(AmplitudePart("scaling_relations", t, "sigma_ref", tier.relation.sigma_ref, 2.0,
                                                     part))
            else:
                mode = "fixed"
                fixed_groups.append(tier_group(tier))
            self.tier_modes.append((t, mode))
        self.fixed_groups = fixed_groups
        #: the fixed groups as one lens, their compiled member tables built once (:meth:`full_lens`)
        self._fixed_lens = Lens(fixed_groups, threads=threads) if fixed_groups else None
        self._fixed = self._evaluate(fixed_groups)
        self._amplitude_parts = np.array([a.part for a in self.amplitudes]).reshape(len(self.amplitudes),
                                                                                    *self._fixed.shape)

    def _table_tier(self, t: int, relation, arrays: dict, prior) -> TableTier | None:
        """The table of tier ``t``'s part (its relation, its members' ``member_arrays``) over its r_cut_ref prior's
        range (where every member is valid), or None where no table meets the tolerance (the tier is then
        recomputed per call)."""
        reference = tier_group_from_arrays(relation, arrays, "")
        r_core = reference.params["r_core"]
        cut_factor = reference.params["r_cut"] / relation.r_cut_ref
        lower, upper = prior_range(prior)
        valid_from = max(relation.r_core_ref, float(np.max(r_core / cut_factor)))
        lower = max(lower, valid_from * (1.0 + 1e-9))

        def part(r_values: np.ndarray) -> np.ndarray:
            return np.array([self._evaluate([tier_group_from_arrays(relation.model_copy(update={"r_cut_ref": r}),
                                                                    arrays, "")]) for r in r_values])

        table = build_table(part, lower, upper) if lower < upper else None
        return None if table is None else TableTier(t, relation.sigma_ref, table, r_core, cut_factor)

    def _table_part(self, tier: TableTier, relation) -> np.ndarray:
        """Tier ``tier``'s part at the points for ``relation``: the table inside its range, exact outside."""
        tier.check(relation)
        r = np.array([relation.r_cut_ref])
        if tier.table.covers(r)[0]:
            return (relation.sigma_ref / tier.sigma_0) ** 2 * tier.table(r)[0]
        return self._evaluate([tier_group_from_arrays(relation, self._tier_arrays[tier.index], "")])

    def _evaluate(self, groups) -> np.ndarray:
        """(5 or 6, N) array: ax, ay, hxx, hxy, hyy (, psi) at D_LS/D_S = 1."""
        out = np.zeros((6 if self.with_potential else 5, self.x.size))
        if groups:
            lens = Lens(groups, threads=self.threads)
            out[:5] = lens.deflection_and_hessian(self.x, self.y)
            if self.with_potential:
                out[5] = lens.potential(self.x, self.y)
        return out

    def free_groups(self, updated: dict) -> list:
        """Groups holding free cells, built from the updated rows (``Parameters.updated_rows``)."""
        groups = []
        for family in MASS_FAMILIES:
            base = self.model.mass_rows(family)
            changed = updated.get(family, {})
            groups += _groups(self.model, family, [changed.get(i, base[i]) for i in self.free_rows[family]])
        members = self.model.rows("scaling_galaxies")
        changed_members = updated.get("scaling_galaxies", {})
        for t, mode in self.tier_modes:
            if mode != "recompute":
                continue
            tier = self.model.tiers[t]
            relation = updated.get("scaling_relations", {}).get(t, tier.relation)
            arrays = self._tier_arrays.get(t)
            if arrays is None:
                new_members = tuple(changed_members.get(i, members[i]) for i in self._tier_members[t])
                arrays = member_arrays(Tier(relation, new_members))
            groups.append(_valid_members(tier_group_from_arrays(relation, arrays, f"tier:{tier.name}")))
        return groups

    def _amplitude_row(self, updated: dict, family: str, index: int):
        if family == "scaling_relations":
            return updated.get(family, {}).get(index, self.model.tiers[index].relation)
        return updated.get(family, {}).get(index, self.model.rows(family)[index])

    def evaluate(self, updated: dict) -> np.ndarray:
        """Lens quantities at the points for the updated rows: the cached part, the exactly rescaled
        amplitude parts and the recomputed free part."""
        total = self._fixed + self._evaluate(self.free_groups(updated))
        for t, tier in self.tables.items():
            total += self._table_part(tier, updated.get("scaling_relations", {}).get(t, self.model.tiers[t].relation))
        if self.amplitudes:
            factors = np.array([(getattr(self._amplitude_row(updated, a.family, a.index), a.column) / a.base) ** a.power
                                for a in self.amplitudes])
            total += np.tensordot(factors, self._amplitude_parts, axes=1)
        return total

    def full_lens(self, updated: dict) -> Lens | LensSum:
        """The whole lens for the updated rows (for evaluations away from the cached points): the fixed groups'
        lens built once plus a lens of the groups with free cells built for ``updated`` (its rows)."""
        groups = self.free_groups(updated)
        for t, tier in self.tables.items():
            relation = updated.get("scaling_relations", {}).get(t, self.model.tiers[t].relation)
            tier.check(relation)
            groups.append(tier_group_from_arrays(relation, self._tier_arrays[t], f"tier:{self.model.tiers[t].name}"))
        for a in self.amplitudes:
            row = self._amplitude_row(updated, a.family, a.index)
            if a.family == "scaling_relations":
                groups.append(tier_group(Tier(row, self.model.tiers[a.index].members)))
            else:
                groups += _groups(self.model, a.family, [row])
        free = Lens(joined_groups(groups), threads=self.threads)  # one kernel call per profile
        return free if self._fixed_lens is None else LensSum(self._fixed_lens, free)


class LensSum:
    """The sum of two single-plane lenses on one plane (a fixed lens and a free one): the quantities of
    :class:`~clusterlens.lens.Lens` that the image search uses, each the sum of the two lenses' (equal to one
    lens of all their groups to rounding, ~1e-16 relative). Deflections in arcsec, Hessian dimensionless,
    potential in arcsec^2, all times ``scale`` (= D_LS/D_S)."""

    def __init__(self, fixed: Lens, free: Lens):
        self.fixed, self.free = fixed, free
        self.groups = fixed.groups + free.groups
        self.threads = free.threads

    def deflection(self, x, y, scale: float = 1.0):
        """(alpha_x, alpha_y) [arcsec]."""
        return _added(self.fixed.deflection(x, y, scale), self.free.deflection(x, y, scale))

    def hessian(self, x, y, scale: float = 1.0):
        """(psi_xx, psi_xy, psi_yy)."""
        return _added(self.fixed.hessian(x, y, scale), self.free.hessian(x, y, scale))

    def deflection_and_hessian(self, x, y, scale: float = 1.0):
        """(alpha_x, alpha_y, psi_xx, psi_xy, psi_yy)."""
        return _added(self.fixed.deflection_and_hessian(x, y, scale), self.free.deflection_and_hessian(x, y, scale))

    def potential(self, x, y, scale: float = 1.0) -> np.ndarray:
        """psi [arcsec^2]."""
        return self.fixed.potential(x, y, scale) + self.free.potential(x, y, scale)

    def convergence(self, x, y, scale: float = 1.0) -> np.ndarray:
        """kappa."""
        return self.fixed.convergence(x, y, scale) + self.free.convergence(x, y, scale)

    def magnification(self, x, y, scale: float = 1.0) -> np.ndarray:
        """Signed magnification 1 / det(A), A = 1 - scale * Hessian."""
        hxx, hxy, hyy = self.hessian(x, y, scale)
        with np.errstate(divide="ignore"):
            return 1.0 / ((1.0 - hxx) * (1.0 - hyy) - hxy * hxy)


def _added(a: tuple, b: tuple) -> tuple:
    return tuple(u + v for u, v in zip(a, b, strict=True))


def _valid_members(group):
    """``group`` (a tier's members) unless the parameters give a member r_core >= r_cut (InvalidParameters)."""
    bad = ~(group.params["r_core"] < group.params["r_cut"])
    if np.any(bad):
        raise InvalidParameters(f"{group.label}: {int(bad.sum())} member(s) with r_core >= r_cut, e.g. r_core "
                                f"{group.params['r_core'][bad][0]!r}, r_cut {group.params['r_cut'][bad][0]!r}")
    return group


def _groups(model: ClusterModel, family: str, rows: list) -> list:
    return mass_groups(rows, family, model.cosmology, model.z_lens)
