"""The source-plane likelihood's lens for many parameter vectors at once: index arrays, no row objects.

A fit's free cells change a few lens rows; :class:`~clusterlens.fit.lens_at_images.LensAtImages` caches
the rest at the observed images. :class:`BatchLens` takes its split and evaluates B parameter vectors in
a few array operations and compiled kernel calls, Python overhead paid once per batch:

- each vector's free cells go into per-group parameter arrays through precomputed index arrays (no
  validated row objects): the free dPIE rows of host_halo and main_lens_mass form one (B, M) member set
  (:func:`clusterlens.profiles.dpie_numba.add_batch`); free rows of other profiles (NFW, shear, ...) are
  converted by their registry declaration, each profile's rows of every vector evaluated as one array
  operation (or one compiled call), and validated by their schema per vector only where it could reject
  cells within their bounds (:func:`revalidated`);
- rows whose only free cell is the profile's amplitude keep their cached part, rescaled exactly;
- a tier whose free cells are among ``sigma_ref`` and ``r_cut_ref``: every member is bq [K(s1) - K(s2)]
  (:mod:`clusterlens.profiles.dpie`) with its core term K(s1) fixed, so K(s1) is cached at the images and
  only bq and the cut term K(s2) are evaluated (:func:`clusterlens.profiles.dpie_numba.add_cut_batch`), or,
  where the lens tabulated the tier over its r_cut_ref prior (``LensAtImages.tables``), the table is
  evaluated and rescaled by (sigma_ref / sigma_0)^2 (the kernels only for a value outside the table);
- the validity the row schemas check (each free column's bounds and finiteness, r_core < r_cut of the
  touched dPIE rows, r_core_ref < r_cut_ref, every member's r_core < r_cut) is checked per vector,
  vectorised; an invalid vector is evaluated at the model's own values and flagged.

:meth:`BatchLens.build` returns None for models outside this (free member rows, other free relation
cells, potentials for time delays): their likelihood keeps
the row-by-row path. Quantities at D_LS/D_S = 1: deflections in arcsec, Hessian dimensionless.
"""
from __future__ import annotations

from types import SimpleNamespace

import annotated_types as at
import numpy as np
from pydantic import ValidationError

from ..columns import Row
from ..families import MASS_FAMILIES
from ..lens_builder import member_arrays
from ..model import ClusterModel
from ..profiles import dpie_numba
from ..profiles.sie import CORE_FLOOR, hessian_to_sky, keeton_deflection, keeton_hessian, vector_to_sky
from ..registry import MASS_PROFILES
from ..units import b0_from_sigma
from .lens_at_images import LensAtImages
from .parameters import Parameters

#: dPIE columns a recomputed row may free, and the kernel parameter each one sets
DPIE_COLUMNS = {"x": "center_x", "y": "center_y", "sigma": "b0", "r_core": "r_core", "r_cut": "r_cut", "q": "q",
                "angle": "angle"}
KERNEL_ORDER = ("center_x", "center_y", "b0", "r_core", "r_cut", "q", "angle")
CUT_TIER_COLUMNS = frozenset({"sigma_ref", "r_cut_ref"})


def column_bounds(row_type, column: str) -> tuple[float, float, bool, bool]:
    """(lower, upper, lower inclusive, upper inclusive) of a row schema's numeric column (its pydantic
    constraints; -inf/inf without one)."""
    lower, upper, lower_in, upper_in = -np.inf, np.inf, True, True
    for item in row_type.model_fields[column].metadata:
        if isinstance(item, at.Gt | at.Ge):
            lower, lower_in = _number(item.gt if isinstance(item, at.Gt) else item.ge), isinstance(item, at.Ge)
        elif isinstance(item, at.Lt | at.Le):
            upper, upper_in = _number(item.lt if isinstance(item, at.Lt) else item.le), isinstance(item, at.Le)
    return lower, upper, lower_in, upper_in


def revalidated(row_type: type[Row], columns: set[str]) -> bool:
    """Whether a row whose free ``columns`` are within their bounds could still be rejected by its schema: it
    has a field validator on one of them, or model validators that may compare their values
    (:attr:`clusterlens.columns.Row.value_checks`)."""
    decorators = row_type.__pydantic_decorators__
    if any(columns & set(d.info.fields) for d in decorators.field_validators.values()):
        return True
    checks = row_type.value_checks
    return bool(decorators.model_validators) and (checks is None or bool(columns & checks))


def _number(bound: object) -> float:
    assert isinstance(bound, int | float), f"a numeric column bound, got {bound!r}"
    return float(bound)


class BatchLens:
    """Lens quantities at the observed images for B parameter vectors (see the module docstring)."""

    @classmethod
    def build(cls, model: ClusterModel, parameters: Parameters, lens: LensAtImages) -> BatchLens | None:
        """The batch lens of ``lens`` (a cached :class:`LensAtImages`), or None where it does not apply."""
        if lens.with_potential or lens.parameters is not parameters:
            return None
        families = {p.family for p in parameters.free}
        if not families <= {*MASS_FAMILIES, "scaling_relations", "source_point"}:
            return None
        for p in parameters.free:
            if p.family == "source_point" and p.column != "redshift":
                return None
            if p.family in MASS_FAMILIES and p.index in lens.free_rows[p.family]:
                row = model.mass_rows(p.family)[p.index]
                if row.profile == "dPIE" and p.column not in DPIE_COLUMNS:
                    return None
        for t, mode in lens.tier_modes:
            columns = {p.column for p in parameters.free if p.family == "scaling_relations" and p.index == t}
            if mode == "recompute" and (t not in lens._tier_arrays or not columns <= CUT_TIER_COLUMNS):
                return None
        return cls(model, parameters, lens)

    def __init__(self, model: ClusterModel, parameters: Parameters, lens: LensAtImages):
        self.x, self.y = np.ascontiguousarray(lens.x, float), np.ascontiguousarray(lens.y, float)
        self.n_parameters = len(parameters)
        self.base = parameters.values(model)
        self.fixed = lens._fixed[:5]
        # bounds of every free cell (its row schema's constraints)
        bounds = [column_bounds(type(model.rows(p.family)[p.index]), p.column) for p in parameters.free]
        self.lower, self.upper = (np.array([b[k] for b in bounds], float) for k in (0, 1))
        self.lower_in, self.upper_in = (np.array([b[k] for b in bounds], bool) for k in (2, 3))
        position = {(p.family, p.index, p.column): k for k, p in enumerate(parameters.free)}
        # amplitude-only rows and tiers: cached part x (value / base) ** power
        self.amplitude_positions = np.array([position[(a.family, a.index, a.column)] for a in lens.amplitudes], int)
        self.amplitude_bases = np.array([a.base for a in lens.amplitudes], float)
        self.amplitude_powers = np.array([a.power for a in lens.amplitudes], float)
        self.amplitude_parts = lens._amplitude_parts[:, :5]
        self._init_rows(model, position, lens)
        self._init_other_rows(model, position, lens)
        self._init_tiers(model, position, lens)

    def _init_rows(self, model: ClusterModel, position: dict, lens: LensAtImages) -> None:
        """The free dPIE rows as one member set: base cells (7, M) and (parameter, cell) index arrays."""
        rows = [(family, i, model.rows(family)[i]) for family in MASS_FAMILIES for i in lens.free_rows[family]
                if model.mass_rows(family)[i].profile == "dPIE"]
        self.row_base = np.array([[getattr(r, c) for _, _, r in rows] for c in ("x", "y", "sigma", "r_core", "r_cut",
                                                                               "q", "angle")], float).reshape(7, -1)
        cells = [(k, m, position[(family, i, column)]) for m, (family, i, _) in enumerate(rows)
                 for k, column in enumerate(("x", "y", "sigma", "r_core", "r_cut", "q", "angle"))
                 if (family, i, column) in position]
        self.row_kernel, self.row_member, self.row_position = (np.array([c[k] for c in cells], int) for k in range(3))

    def _init_other_rows(self, model: ClusterModel, position: dict, lens: LensAtImages) -> None:
        """Free rows of other profiles, by profile: (row type, current cells, ((column, position), ...)) per row.
        A row whose schema could reject a vector whose free cells are within their bounds (:func:`revalidated`)
        is validated per vector (:meth:`valid`); each profile's rows of every vector are converted by its
        registry declaration as one array operation (:meth:`evaluate`)."""
        assert model.z_lens is not None  # a model with free lens rows has a lens redshift
        self.cosmology, self.z_lens = model.cosmology, model.z_lens
        self.other_rows: dict[str, list[tuple[type[Row], dict, tuple[tuple[str, int], ...]]]] = {}
        self.revalidated: list[tuple[type[Row], dict, tuple[tuple[str, int], ...]]] = []
        for family in MASS_FAMILIES:
            for i in lens.free_rows[family]:
                row, profile = model.rows(family)[i], model.mass_rows(family)[i].profile
                if profile == "dPIE":
                    continue
                cells = tuple((column, k) for (f, index, column), k in position.items() if (f, index) == (family, i))
                entry = (type(row), row.model_dump(exclude_none=True), cells)
                self.other_rows.setdefault(profile, []).append(entry)
                if revalidated(type(row), {c for c, _ in cells}):
                    self.revalidated.append(entry)

    def _other_rows_valid(self, values: np.ndarray) -> np.ndarray:
        """(B,) bool: the vectors whose free rows of other profiles their schemas accept (the rows of
        :attr:`revalidated`, one vector at a time; the others' cells are within their bounds, :meth:`valid`)."""
        ok = np.ones(values.shape[0], bool)
        for row_type, cells, columns in self.revalidated:
            for b in range(values.shape[0]):
                try:
                    row_type.model_validate({**cells, **{c: float(values[b, k]) for c, k in columns}})
                except ValidationError:
                    ok[b] = False
        return ok

    def _add_other_rows(self, values: np.ndarray, out: np.ndarray) -> None:
        """Add the free rows of other profiles for valid vectors ``values`` (B, P) to ``out`` (B, 5, N): each
        profile's B x R rows converted at once by its registry declaration (which reads the cells as
        attributes; :meth:`valid` has validated the rows); the profile's compiled sums (all vectors in one call
        where it has ``add_groups``, else one vector at a time), else its functions with the rows as (B, 1, R)
        against the points (1, N, 1), summed over R in row order."""
        n = values.shape[0]
        for name, rows in self.other_rows.items():
            cells = [SimpleNamespace(**{**base, **{c: float(values[b, k]) for c, k in columns}})
                     for b in range(n) for _, base, columns in rows]
            profile = MASS_PROFILES[name]
            converted = profile.to_parameters(cells, self.cosmology, self.z_lens)
            r = len(rows)
            if profile.compiled is not None:
                add_groups = getattr(profile.compiled, "add_groups", None)  # optional: one table, one call
                if add_groups is not None:
                    add_groups(self.x, self.y, profile.compiled.member_table(**converted), n, out)
                    continue
                for b in range(n):
                    table = profile.compiled.member_table(**{key: value[b * r:(b + 1) * r]
                                                             for key, value in converted.items()})
                    profile.compiled.add(self.x, self.y, table, (out[b, 0], out[b, 1]),
                                         (out[b, 2], out[b, 3], out[b, 4]))
                continue
            params = {key: np.asarray(value, float).reshape(n, 1, r) for key, value in converted.items()}
            functions = profile.functions
            x, y = self.x[None, :, None], self.y[None, :, None]
            if functions.deflection_and_hessian is not None:
                parts = functions.deflection_and_hessian(x, y, **params)
            else:
                parts = (*functions.deflection(x, y, **params), *functions.hessian(x, y, **params))
            for k, part in enumerate(parts):
                part = np.asarray(part)  # (B, N or 1, R): a shear's Hessian is constant over the points
                if part.ndim < 3:
                    part = np.broadcast_to(part, (n, 1, r))
                out[:, k] += part[..., 0] if part.shape[2] == 1 else np.sum(part, axis=2)

    def _init_tiers(self, model: ClusterModel, position: dict, lens: LensAtImages) -> None:
        """Per cut tier: its members' fixed arrays, the cached core term, and where sigma_ref, r_cut_ref are."""
        self.tiers = []
        for t, mode in lens.tier_modes:
            if mode not in ("recompute", "table"):
                continue
            tier = model.tiers[t]
            relation, arrays = tier.relation, member_arrays(tier)
            mag = np.where(np.isnan(arrays["mag"]), relation.mag_ref - 2.5 * arrays["log_luminosity"], arrays["mag"])
            # docs/conventions.md#scaling-relations, as clusterlens.scaling.member_parameters
            log_l = 0.4 * np.log(10.0) * (relation.mag_ref - mag)
            r_core = relation.r_core_ref * np.exp(relation.r_core_slope * log_l)
            q = arrays["q"]
            xp, yp, cos, sin = _frames(self.x, self.y, arrays["x"], arrays["y"], arrays["angle"])
            core = _unit_core_term(xp, yp, cos, sin, r_core, q)
            self.tiers.append({
                "sigma": (position.get(("scaling_relations", t, "sigma_ref")), relation.sigma_ref),
                "r_cut": (position.get(("scaling_relations", t, "r_cut_ref")), relation.r_cut_ref),
                "r_core_ref": relation.r_core_ref, "log_l": log_l, "slopes": (relation.sigma_slope,
                                                                               relation.r_cut_slope),
                "r_core": r_core, "q": q, "constants": dpie_numba.cut_constants(arrays["x"], arrays["y"], q,
                                                                                arrays["angle"]),
                "core": core, "table": lens.tables.get(t)})

    # ------------------------------------------------------------------ evaluation
    def valid(self, values: np.ndarray) -> np.ndarray:
        """(B,) bool: the vectors whose rows the schemas accept and whose members have r_core < r_cut."""
        ok = np.isfinite(values).all(axis=1)
        ok &= np.where(self.lower_in, values >= self.lower, values > self.lower).all(axis=1)
        ok &= np.where(self.upper_in, values <= self.upper, values < self.upper).all(axis=1)
        if self.row_position.size:
            cells = self._row_cells(values)
            ok &= (cells[:, 3] < cells[:, 4]).all(axis=1)
        if self.revalidated:
            ok &= self._other_rows_valid(values)
        for tier in self.tiers:
            r_cut_ref = self._tier_value(values, tier["r_cut"])
            ok &= tier["r_core_ref"] < r_cut_ref
            ok &= (tier["r_core"] < self._member_cuts(tier, r_cut_ref)).all(axis=1)
        return ok

    def _row_cells(self, values: np.ndarray) -> np.ndarray:
        """(B, 7, M) cells x, y, sigma, r_core, r_cut, q, angle of the free dPIE rows."""
        cells = np.repeat(self.row_base[None], values.shape[0], axis=0)
        cells[:, self.row_kernel, self.row_member] = values[:, self.row_position]
        return cells

    @staticmethod
    def _tier_value(values: np.ndarray, where: tuple) -> np.ndarray:
        position, base = where
        return np.full(values.shape[0], base) if position is None else values[:, position]

    @staticmethod
    def _member_cuts(tier: dict, r_cut_ref: np.ndarray) -> np.ndarray:
        return r_cut_ref[:, None] * np.exp(tier["slopes"][1] * tier["log_l"])

    def evaluate(self, values: np.ndarray) -> np.ndarray:
        """(B, 5, N) ax, ay, hxx, hxy, hyy at the images for valid vectors (:meth:`valid`) of shape (B, P)."""
        n = values.shape[0]
        out = np.repeat(self.fixed[None], n, axis=0)
        if self.row_position.size:
            cells = self._row_cells(values)
            cells[:, 2] = b0_from_sigma(cells[:, 2])
            x, y, b0, r_core, r_cut, q, angle = (cells[:, k] for k in range(7))
            constants = dpie_numba.batch_constants(x, y, b0, r_core, r_cut, q, angle, check=False)  # valid() checked
            dpie_numba.add_batch(self.x, self.y, constants, out)
        if self.other_rows:
            self._add_other_rows(values, out)
        for tier in self.tiers:
            sigma_ref, r_cut_ref = self._tier_value(values, tier["sigma"]), self._tier_value(values, tier["r_cut"])
            table = tier["table"]
            exact = np.ones(n, bool) if table is None else ~table.table.covers(r_cut_ref)
            if table is not None and not exact.all():
                inside = ~exact
                factor = ((sigma_ref[inside] / table.sigma_0) ** 2)[:, None, None]
                out[inside] += factor * table.table(r_cut_ref[inside])[:, :5]
            if exact.all():
                self._add_cut_terms(tier, sigma_ref, r_cut_ref, out)
            elif exact.any():
                part = out[exact]
                self._add_cut_terms(tier, sigma_ref[exact], r_cut_ref[exact], part)
                out[exact] = part
        if self.amplitude_positions.size:
            factors = (values[:, self.amplitude_positions] / self.amplitude_bases) ** self.amplitude_powers
            for a in range(factors.shape[1]):
                out += factors[:, a, None, None] * self.amplitude_parts[a]
        return out


    def _add_cut_terms(self, tier: dict, sigma_ref: np.ndarray, r_cut_ref: np.ndarray, out: np.ndarray) -> None:
        """Add a tier's members for (B,) sigma_ref, r_cut_ref to ``out`` (B, 5, N): bq [K(s1) - K(s2)] with the
        cached core term K(s1) and the cut term evaluated."""
        sigma = sigma_ref[:, None] * np.exp(tier["slopes"][0] * tier["log_l"])
        r_cut = self._member_cuts(tier, r_cut_ref)
        q = tier["q"]
        r_core = np.maximum(tier["r_core"], CORE_FLOOR)
        bq = 2.0 * b0_from_sigma(sigma) * q * r_cut / ((r_cut - r_core) * (1.0 + q))  # dpie.keeton_parameters
        s_cut = np.ascontiguousarray(2.0 * r_cut / (1.0 + q))
        dpie_numba.add_cut_batch(self.x, self.y, tier["constants"], tier["core"], np.ascontiguousarray(bq), s_cut, out)


def _frames(x, y, center_x, center_y, angle):
    """Profile-frame coordinates (N, M) of points x, y (N) for members (M), and the members' cos, sin."""
    phi = np.deg2rad(angle)
    cos, sin = np.cos(phi), np.sin(phi)
    dx, dy = x[:, None] - center_x, y[:, None] - center_y
    return cos * dx + sin * dy, cos * dy - sin * dx, cos, sin


def _unit_core_term(xp, yp, cos, sin, r_core, q) -> np.ndarray:
    """K(s1) of members at unit amplitude (bq = 1), s1 = 2 r_core / (1 + q) (``dpie.keeton_parameters``, core
    floored), at profile-frame points (N, M): (5, M, N) sky-frame ax, ay [arcsec per unit bq], hxx, hxy, hyy."""
    s_core = 2.0 * np.maximum(r_core, CORE_FLOOR) / (1.0 + q)
    ax_p, ay_p = keeton_deflection(xp, yp, 1.0, s_core, q)
    ax, ay = vector_to_sky(ax_p, ay_p, cos, sin)
    hxx_p, hxy_p, hyy_p = keeton_hessian(xp, yp, 1.0, s_core, q)
    hxx, hxy, hyy = hessian_to_sky(hxx_p, hxy_p, hyy_p, cos, sin)
    return np.ascontiguousarray(np.stack([ax, ay, hxx, hxy, hyy]).transpose(0, 2, 1))
