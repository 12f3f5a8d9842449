"""A multi-plane lens at the observed images: the point likelihood's lens for models with several planes.

:class:`MultiPlaneAtImages` has the interface of :class:`~clusterlens.fit.lens_at_images.LensAtImages`
(``evaluate(updated)``, ``full_lens(updated)``). A multi-plane model's quantities toward a source are
not a single lens times D_LS/D_S, so each source redshift z_k gets a *reference scale*
s_k = D_LS/D_S(z_1, z_k) (z_1 the nearest plane; it grows with z_k, so it names the redshift), which
``PointLikelihood`` uses as the system's scale, and ``evaluate`` returns per image the rows
(ax, ay, hxx, hxy, hyy[, psi]) / s_k, so that s_k times them are the *effective* quantities toward the
image's own source (:mod:`clusterlens.multiplane`): (ax, ay) = theta - beta(theta) of the ray traced
through every plane in front of the source; the Hessian rows give the symmetric matrix S = I - H with
S S = A A^T and det S = det A, A = d beta / d theta (not symmetric in general), namely
S = sign (A A^T + det A I) / sqrt((a11 + a22)^2 + (a12 - a21)^2), the sign making tr(A^T S) > 0 (S = A
when A is symmetric): the source-plane weights (A A^T)^-1 / sigma^2, the magnification and the parity are
exact; only the linearised predicted positions of the source-plane kind rotate by the small rotation of
A. psi is the effective potential whose Fermat potential |theta - beta|^2 / 2 - psi times D_dt(z_lens, z_k)
/ c is the multi-plane arrival time. ``full_lens`` gives a :class:`SourceKeyedLens`: the image-plane and
Lenstool kinds' image matching calls it with the systems' scales s_k, and it traces each point toward the
redshift its scale names.

Fast path: a ray's position on a plane does not depend on its source, so each plane is evaluated once
for all images; the planes in front of the first plane holding a free row are evaluated once at
construction (they do not depend on the parameters), the planes from the first free one on are rebuilt
from the updated rows and evaluated per call. Source redshifts are fixed.
"""
from __future__ import annotations

import numpy as np

from ..cosmology import distance_ratio, time_delay_distance
from ..errors import InvalidParameters
from ..families import MASS_FAMILIES
from ..lens import Lens
from ..lens_builder import groups_by_plane, member_redshift
from ..model import ClusterModel, Tier
from ..multiplane import PlaneFactors, PlaneValues, TracedLens, evaluate_plane, plane_factors, ray_trace
from ..units import DAYS_PER_MPC_ARCSEC2
from .parameters import Parameters


class MultiPlaneAtImages:
    """The multi-plane lens of ``model`` at the observed images (x, y) [arcsec], each image toward its
    source redshift ``image_redshifts`` (module docstring)."""

    def __init__(self, model: ClusterModel, parameters: Parameters, x: np.ndarray, y: np.ndarray,
                 image_redshifts: np.ndarray, with_potential: bool = False, threads: int | None = None):
        for p in parameters.free:
            if p.family == "source_point" and p.column == "redshift":
                raise ValueError(f"prior on {p.label}: a multi-plane model's source redshifts are fixed")
        self.model, self.parameters, self.x, self.y = model, parameters, x, y
        self.with_potential, self.threads = with_potential, threads
        self.image_redshifts = np.asarray(image_redshifts, dtype=float)
        self.redshifts = model.lens_redshifts
        self.first_free = min((self.redshifts.index(z) for z in _free_plane_redshifts(model, parameters)),
                              default=len(self.redshifts))
        self._fixed = self._fixed_planes()
        index = {id(m): i for i, m in enumerate(model.scaling_galaxies)}
        self._tier_members = [[index[id(m)] for m in tier.members] for tier in model.tiers]
        z_lens = model.z_lens
        assert z_lens is not None  # a multi-plane model has lens rows
        self._factors: dict[float, tuple[PlaneFactors, float]] = {}
        #: source redshift -> its reference scale D_LS/D_S(z_1, z)
        self.reference_scales: dict[float, float] = {}
        for z in np.unique(self.image_redshifts):
            front = [p for p in self.redshifts if p < z]
            if not front or not z > z_lens:
                raise ValueError(f"source redshift {z} is not behind the lens plane at z_lens = {z_lens}")
            self._factors[float(z)] = (plane_factors(model.cosmology, front, float(z)),
                                       time_delay_distance(model.cosmology, z_lens, float(z)))
            self.reference_scales[float(z)] = distance_ratio(model.cosmology, self.redshifts[0], float(z))

    def scales(self, redshifts: np.ndarray) -> np.ndarray:
        """The reference scale of each of ``redshifts`` (source redshifts of the observed images)."""
        return np.array([self.reference_scales[float(z)] for z in redshifts])

    def _fixed_planes(self) -> list[PlaneValues]:
        """The planes in front of the first free one, evaluated where the rays from the images cross them."""
        return self._planes_from([], [lens for _, lens in self.model.planes[:self.first_free]])

    def _planes_from(self, values: list[PlaneValues], lenses: list[Lens]) -> list[PlaneValues]:
        """``values`` (the first planes, evaluated) followed by ``lenses`` evaluated where the rays from
        the images cross them: a ray's position on a plane does not depend on its source, so each plane
        is evaluated once for every image."""
        values = list(values)
        redshifts = self.redshifts
        for lens in lenses:
            j = len(values)
            tx, ty = self.x.copy(), self.y.copy()
            for i in range(j):
                ratio = distance_ratio(self.model.cosmology, redshifts[i], redshifts[j])
                tx -= ratio * values[i].ax
                ty -= ratio * values[i].ay
            values.append(evaluate_plane(lens, tx, ty, hessian=True, potential=self.with_potential))
        return values

    def _free_planes(self, updated: dict) -> list[Lens]:
        """The planes from the first free one on, rebuilt from the updated rows."""
        model = self.model
        if self.first_free == len(self.redshifts):
            return []
        rows = {family: [updated.get(family, {}).get(i, row) for i, row in enumerate(model.mass_rows(family))]
                for family in MASS_FAMILIES}
        members = [updated.get("scaling_galaxies", {}).get(i, m) for i, m in enumerate(model.scaling_galaxies)]
        relations = updated.get("scaling_relations", {})
        tiers = [Tier(relations.get(t, tier.relation), tuple(members[i] for i in self._tier_members[t]))
                 for t, tier in enumerate(model.tiers)]
        planes = groups_by_plane(rows, tiers, model.cosmology, model.z_lens, z_min=self.redshifts[self.first_free])
        for _, groups in planes:
            for group in groups:
                if group.label.startswith("tier:"):
                    _check_members(group)
        return [Lens(groups, threads=self.threads) for _, groups in planes]

    def evaluate(self, updated: dict) -> np.ndarray:
        """(5 or 6, N) effective quantities at the images for the updated rows (module docstring)."""
        values = self._planes_from(self._fixed, self._free_planes(updated))
        out = np.zeros((6 if self.with_potential else 5, self.x.size))
        for z, (factors, d_dt) in self._factors.items():
            idx = np.flatnonzero(self.image_redshifts == z)
            planes: list[Lens | PlaneValues] = [_take(v, idx) for v in values[:factors.redshifts.size]]
            x, y = self.x[idx], self.y[idx]
            t = ray_trace(planes, factors, x, y, jacobian=True, arrival_time=self.with_potential)
            assert t.jacobian is not None
            s11, s12, s22 = symmetric_factor(*t.jacobian)
            out[:5, idx] = x - t.beta_x, y - t.beta_y, 1.0 - s11, -s12, 1.0 - s22
            if t.arrival_time is not None:
                geometric = 0.5 * ((x - t.beta_x) ** 2 + (y - t.beta_y) ** 2)
                out[5, idx] = geometric - t.arrival_time / (DAYS_PER_MPC_ARCSEC2 * d_dt)
            out[:, idx] /= self.reference_scales[z]
        return out

    def full_lens(self, updated: dict) -> SourceKeyedLens:
        """The whole multi-plane lens for the updated rows, toward every source redshift of the images,
        keyed by the reference scales (:class:`SourceKeyedLens`)."""
        lenses = [lens for _, lens in self.model.planes[:self.first_free]] + self._free_planes(updated)
        return SourceKeyedLens({self.reference_scales[z]: TracedLens(lenses[:factors.redshifts.size], factors)
                                for z, (factors, _) in self._factors.items()})


class SourceKeyedLens:
    """Multi-plane lenses toward several source redshifts behind the single-plane interface: the ``scale``
    of a call names the source (its reference scale, module docstring), per point; each method returns the
    effective quantity of :class:`~clusterlens.multiplane.TracedLens` toward that source."""

    def __init__(self, traced: dict[float, TracedLens]):
        self.traced = traced
        self.groups = max(traced.values(), key=lambda t: len(t.planes)).groups

    def _split(self, method: str, n_out: int, x, y, scale) -> tuple[np.ndarray, ...]:
        x, y, scale = np.broadcast_arrays(np.asarray(x, float), np.asarray(y, float), np.asarray(scale, float))
        outputs = tuple(np.empty(x.shape) for _ in range(n_out))
        for key in np.unique(scale):
            if float(key) not in self.traced:
                raise ValueError(f"scale {key!r} names none of the sources of this lens "
                                 f"({', '.join(map(repr, self.traced))})")
            idx = scale == key
            parts = getattr(self.traced[float(key)], method)(x[idx], y[idx])
            for out, part in zip(outputs, parts if n_out > 1 else (parts,), strict=True):
                out[idx] = part
        return outputs

    def deflection(self, x, y, scale):
        """Effective deflection theta - beta [arcsec] toward the source ``scale`` names."""
        return self._split("deflection", 2, x, y, scale)

    def deflection_and_jacobian(self, x, y, scale):
        """(alpha_x, alpha_y, a11, a12, a21, a22) toward the source ``scale`` names."""
        return self._split("deflection_and_jacobian", 6, x, y, scale)

    def hessian(self, x, y, scale):
        """Symmetric part of I - A toward the source ``scale`` names."""
        return self._split("hessian", 3, x, y, scale)

    def determinant(self, x, y, scale):
        """det A toward the source ``scale`` names."""
        return self._split("determinant", 1, x, y, scale)[0]

    def potential(self, x, y, scale):
        """Effective potential [arcsec^2] toward the source ``scale`` names."""
        return self._split("potential", 1, x, y, scale)[0]


def symmetric_factor(a11, a12, a21, a22):
    """(s11, s12, s22) of the symmetric S with S S = A A^T and det S = det A, closest in sign to A
    (module docstring): S = (P + d I) / sqrt(tr P + 2 d), P = A A^T, d = det A, since
    det(P + d I) = d^2 + d tr P + d^2 and tr P + 2 d = (a11 + a22)^2 + (a12 - a21)^2."""
    d = a11 * a22 - a12 * a21
    p11, p12, p22 = a11 * a11 + a12 * a12, a11 * a21 + a12 * a22, a21 * a21 + a22 * a22
    norm = np.sqrt((a11 + a22) ** 2 + (a12 - a21) ** 2)
    s11, s12, s22 = (p11 + d) / norm, p12 / norm, (p22 + d) / norm
    sign = np.where(a11 * s11 + (a12 + a21) * s12 + a22 * s22 < 0, -1.0, 1.0)
    return sign * s11, sign * s12, sign * s22


def _take(values: PlaneValues, idx: np.ndarray) -> PlaneValues:
    hessian = None if values.hessian is None else tuple(h[idx] for h in values.hessian)
    return PlaneValues(values.ax[idx], values.ay[idx], hessian,
                       None if values.psi is None else values.psi[idx])


def _free_plane_redshifts(model: ClusterModel, parameters: Parameters) -> set[float]:
    """Redshifts of the planes holding a row (or a tier's member) that a free parameter changes."""
    redshifts: set[float] = set()
    members = model.scaling_galaxies
    for p in parameters.free:
        if p.family in ("host_halo", "main_lens_mass"):
            redshifts.add(model.mass_rows(p.family)[p.index].redshift)
        elif p.family == "scaling_galaxies":
            z = member_redshift(members[p.index], model.z_lens)
            redshifts |= set() if z is None else {z}
        elif p.family == "scaling_relations":
            zs = {member_redshift(m, model.z_lens) for m in model.tiers[p.index].members}
            redshifts |= {z for z in zs if z is not None}
    return redshifts


def _check_members(group) -> None:
    """InvalidParameters where the parameters give a tier member r_core >= r_cut."""
    bad = ~(group.params["r_core"] < group.params["r_cut"])
    if np.any(bad):
        raise InvalidParameters(f"{group.label}: {int(bad.sum())} member(s) with r_core >= r_cut")


def multiplane_at_images(model: ClusterModel, x: np.ndarray, y: np.ndarray,
                         image_redshifts: np.ndarray) -> tuple[MultiPlaneAtImages, np.ndarray]:
    """The multi-plane ``model`` at image-plane points (x, y) [arcsec], each toward its own source
    redshift, for the code that reads a single-plane lens times a scale: (the lens, with every row
    fixed; the reference scale of each point). ``lens.evaluate({})`` times the scales are the effective
    (ax, ay, hxx, hxy, hyy) (module docstring); ``lens.full_lens({})`` the whole lens keyed by them."""
    lens = MultiPlaneAtImages(model, Parameters(()), x, y, image_redshifts)
    return lens, lens.scales(image_redshifts)
