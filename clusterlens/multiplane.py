"""Multi-plane lensing: lens planes at their own redshifts, ray-traced to one source redshift.

A multi-plane lens is a list of planes sorted by redshift z_1 < ... < z_N, each a
:class:`~clusterlens.lens.Lens` whose amplitudes hold for D_LS/D_S = 1 *of its own plane* (Lenstool's
convention): its deflection ``alpha_i`` at D_LS/D_S = 1 is the physical deflection angle of a ray
crossing plane i. A ray seen at angle theta crosses plane j at the angle (Schneider, Ehlers & Falco
1992, ch. 9, eq. 9.7; Petters, Levine & Wambsganss 2001, eq. 6.39; McCully et al. 2014, eq. 3)

    theta_1 = theta,   theta_j = theta - sum_{i<j} (D_ij / D_j) alpha_i(theta_i),

the source being plane N + 1 (theta_{N+1} = beta); D_ij is the angular-diameter distance from z_i to
z_j and D_j the one from the observer to z_j. ``D_ij / D_j`` is the D_LS/D_S of plane i toward
plane j, so one plane gives today's single-plane equation beta = theta - (D_LS/D_S) alpha.

The Jacobian A_j = d theta_j / d theta follows by the chain rule (SEF eq. 9.9; McCully et al. 2014,
eq. 5), with H_i the Hessian of plane i's potential at theta_i (at D_LS/D_S = 1):

    A_1 = I,   A_j = I - sum_{i<j} (D_ij / D_j) H_i A_i,

analytic, not symmetric in general (A_12 != A_21). The arrival time of the ray (SEF eq. 9.22;
Petters et al. 2001, eq. 6.41; McCully et al. 2014, eq. 9) is, in days,

    T(theta) = K sum_{i=1}^{N} [ D_dt(z_i, z_{i+1}) |theta_i - theta_{i+1}|^2 / 2 - (1 + z_i) D_i psi_i(theta_i) ]

with D_dt(z_i, z_j) = (1 + z_i) D_i D_j / D_ij [Mpc], psi_i [arcsec^2] at D_LS/D_S = 1 and
K = :data:`clusterlens.units.DAYS_PER_MPC_ARCSEC2`; for one plane it is D_dt / c times the Fermat
potential |theta - beta|^2 / 2 - (D_LS/D_S) psi. Differences of T between images of one source are
their time delays.

Angles in arcsec throughout. Sources that are also lenses are not modelled: a source is lensed by
every plane in front of it and lenses nothing.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .cosmology import distance_ratio, time_delay_distance
from .lens import Lens, MassComponents
from .units import DAYS_PER_MPC_ARCSEC2

if TYPE_CHECKING:
    from astropy.cosmology import FLRW


@dataclass(frozen=True)
class PlaneFactors:
    """Distance factors of N planes toward one source (module docstring).

    redshifts: (N,) increasing plane redshifts; z_source: the source redshift (> every plane);
    beta: (N + 1, N), beta[j, i] = D_ij / D_j for i < j (row N is the source), 0 elsewhere;
    geometric: (N,) D_dt(z_i, z_{i+1}) in Mpc (z_{N+1} = z_source); gravitational: (N,)
    (1 + z_i) D_i in Mpc.
    """

    redshifts: np.ndarray
    z_source: float
    beta: np.ndarray
    geometric: np.ndarray
    gravitational: np.ndarray


def plane_factors(cosmology: FLRW, redshifts: Sequence[float], z_source: float) -> PlaneFactors:
    """:class:`PlaneFactors` of planes at ``redshifts`` (strictly increasing) toward ``z_source``.

    Raises ValueError for redshifts that do not increase or a source not behind the last plane."""
    z = np.asarray(redshifts, dtype=float)
    if z.ndim != 1 or z.size == 0 or np.any(np.diff(z) <= 0):
        raise ValueError(f"plane redshifts must be a non-empty strictly increasing list, got {z.tolist()}")
    z_source = float(z_source)
    if not z_source > z[-1]:
        raise ValueError(f"z_source must exceed every lens-plane redshift (the last is {z[-1]}), got {z_source}: "
                         "a source at or in front of a plane is not lensed by it (sources are not lenses)")
    ends = [*z.tolist(), z_source]
    n = z.size
    beta = np.zeros((n + 1, n))
    for j in range(1, n + 1):
        for i in range(j):
            beta[j, i] = distance_ratio(cosmology, ends[i], ends[j])
    geometric = np.array([time_delay_distance(cosmology, ends[i], ends[i + 1]) for i in range(n)])
    # (1 + z_i) D_i = D_dt(z_i, z_s) * D_is / D_s
    gravitational = np.array([time_delay_distance(cosmology, ends[i], z_source) * beta[n, i] for i in range(n)])
    return PlaneFactors(z, z_source, beta, geometric, gravitational)


@dataclass(frozen=True)
class Traced:
    """One ray trace: source-plane angles (beta_x, beta_y) [arcsec]; the Jacobian entries
    (a11, a12, a21, a22) of d beta / d theta (None unless asked); the arrival time [days] (None unless
    asked)."""

    beta_x: np.ndarray
    beta_y: np.ndarray
    jacobian: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None
    arrival_time: np.ndarray | None


@dataclass(frozen=True)
class PlaneValues:
    """A plane already evaluated where the rays cross it (a likelihood's fixed planes): deflection
    (ax, ay) [arcsec], Hessian (hxx, hxy, hyy) or None, potential psi [arcsec^2] or None, all at
    D_LS/D_S = 1 of the plane."""

    ax: np.ndarray
    ay: np.ndarray
    hessian: tuple[np.ndarray, np.ndarray, np.ndarray] | None
    psi: np.ndarray | None


def evaluate_plane(lens: Lens, x, y, *, hessian: bool, potential: bool) -> PlaneValues:
    """:class:`PlaneValues` of ``lens`` at x, y [arcsec] (one array evaluation per quantity)."""
    if hessian:
        ax, ay, hxx, hxy, hyy = lens.deflection_and_hessian(x, y)
        h: tuple[np.ndarray, np.ndarray, np.ndarray] | None = (hxx, hxy, hyy)
    else:
        ax, ay = lens.deflection(x, y)
        h = None
    return PlaneValues(ax, ay, h, lens.potential(x, y) if potential else None)


def ray_trace(planes: Sequence[Lens | PlaneValues], factors: PlaneFactors, x, y, *, jacobian: bool = False,
              arrival_time: bool = False) -> Traced:
    """Trace rays seen at x, y [arcsec, any common shape] through ``planes`` (one
    :class:`~clusterlens.lens.Lens` per redshift of ``factors``, amplitudes at D_LS/D_S = 1 of each
    plane, or its :class:`PlaneValues` where these rays cross it) to the source: the recursive lens
    equation, the chain-rule Jacobian and the arrival time of the module docstring. The loop runs over
    planes (a handful), each plane one array evaluation."""
    if len(planes) != factors.redshifts.size:
        raise ValueError(f"{len(planes)} planes for {factors.redshifts.size} plane redshifts")
    x, y = np.broadcast_arrays(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
    n = len(planes)
    beta = factors.beta
    alphas: list[tuple[np.ndarray, np.ndarray]] = []
    products: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []   # H_i A_i
    positions: list[tuple[np.ndarray, np.ndarray]] = []
    time = np.zeros(x.shape) if arrival_time else None
    for j in range(n + 1):
        tx, ty = x.copy(), y.copy()
        for i in range(j):
            tx -= beta[j, i] * alphas[i][0]
            ty -= beta[j, i] * alphas[i][1]
        a = None
        if jacobian:
            a11, a12, a21, a22 = np.ones(x.shape), np.zeros(x.shape), np.zeros(x.shape), np.ones(x.shape)
            for i in range(j):
                b11, b12, b21, b22 = products[i]
                a11 -= beta[j, i] * b11
                a12 -= beta[j, i] * b12
                a21 -= beta[j, i] * b21
                a22 -= beta[j, i] * b22
            a = (a11, a12, a21, a22)
        if time is not None and j > 0:
            px, py = positions[j - 1]
            time += factors.geometric[j - 1] * 0.5 * ((px - tx) ** 2 + (py - ty) ** 2)
        if j == n:
            if time is not None:
                time *= DAYS_PER_MPC_ARCSEC2
            return Traced(tx, ty, a, time)
        positions.append((tx, ty))
        plane = planes[j]
        values = plane if isinstance(plane, PlaneValues) else evaluate_plane(plane, tx, ty, hessian=jacobian,
                                                                              potential=arrival_time)
        if a is not None:
            assert values.hessian is not None, "a PlaneValues without its Hessian cannot give the Jacobian"
            hxx, hxy, hyy = values.hessian
            a11, a12, a21, a22 = a
            products.append((hxx * a11 + hxy * a21, hxx * a12 + hxy * a22,
                             hxy * a11 + hyy * a21, hxy * a12 + hyy * a22))
        alphas.append((values.ax, values.ay))
        if time is not None:
            assert values.psi is not None, "a PlaneValues without its potential cannot give the arrival time"
            time -= factors.gravitational[j] * values.psi
    raise AssertionError("unreachable: the loop returns at the source plane")


class TracedLens:
    """A multi-plane lens seen from one source redshift, through the single-plane interface.

    The solver, maps and likelihoods call ``deflection``, ``hessian``, ``potential`` with a ``scale``;
    here the mapping to the source is fixed, so ``scale`` must be 1 (ValueError otherwise) and the
    quantities are the effective ones: deflection theta - beta(theta); ``jacobian`` the 4 entries of
    A = d beta / d theta; ``hessian`` the symmetric part of I - A (effective convergence
    1 - (a11 + a22)/2 and shear); ``potential`` the effective potential
    psi_eff = |theta - beta|^2 / 2 - T(theta) / (K D_dt) whose Fermat potential
    |theta - beta|^2 / 2 - psi_eff times D_dt / c is the arrival time T, D_dt =
    :attr:`time_delay_distance` (of the first plane toward the source). ``groups`` lists every
    plane's groups (their centres seed the image search).
    """

    def __init__(self, planes: Sequence[Lens], factors: PlaneFactors):
        self.planes = tuple(planes)
        self.factors = factors
        self.groups: tuple[MassComponents, ...] = tuple(g for lens in self.planes for g in lens.groups)
        self.time_delay_distance = _first_plane_ddt(factors)

    def __repr__(self) -> str:
        zs = ", ".join(f"{z:g}" for z in self.factors.redshifts)
        return f"TracedLens(planes at z = {zs}; z_source = {self.factors.z_source:g})"

    def trace(self, x, y, *, jacobian: bool = False, arrival_time: bool = False) -> Traced:
        """:func:`ray_trace` of these planes."""
        return ray_trace(self.planes, self.factors, x, y, jacobian=jacobian, arrival_time=arrival_time)

    def deflection(self, x, y, scale=1.0):
        """Effective deflection theta - beta [arcsec]."""
        _unit_scale(scale)
        x, y = np.broadcast_arrays(np.asarray(x, float), np.asarray(y, float))
        t = self.trace(x, y)
        return x - t.beta_x, y - t.beta_y

    def deflection_and_jacobian(self, x, y, scale=1.0):
        """(alpha_x, alpha_y, a11, a12, a21, a22): effective deflection [arcsec] and A in one trace."""
        _unit_scale(scale)
        x, y = np.broadcast_arrays(np.asarray(x, float), np.asarray(y, float))
        t = self.trace(x, y, jacobian=True)
        assert t.jacobian is not None
        return (x - t.beta_x, y - t.beta_y, *t.jacobian)

    def jacobian(self, x, y, scale=1.0):
        """(a11, a12, a21, a22) of A = d beta / d theta (dimensionless)."""
        return self.deflection_and_jacobian(x, y, scale)[2:]

    def hessian(self, x, y, scale=1.0):
        """Symmetric part of I - A: (1 - a11, -(a12 + a21)/2, 1 - a22)."""
        a11, a12, a21, a22 = self.jacobian(x, y, scale)
        return 1.0 - a11, -0.5 * (a12 + a21), 1.0 - a22

    def deflection_and_hessian(self, x, y, scale=1.0):
        """(alpha_x, alpha_y) and :meth:`hessian` from one trace."""
        ax, ay, a11, a12, a21, a22 = self.deflection_and_jacobian(x, y, scale)
        return ax, ay, 1.0 - a11, -0.5 * (a12 + a21), 1.0 - a22

    def convergence(self, x, y, scale=1.0):
        """Effective convergence 1 - (a11 + a22)/2."""
        a11, _, _, a22 = self.jacobian(x, y, scale)
        return 1.0 - 0.5 * (a11 + a22)

    def shear(self, x, y, scale=1.0):
        """Effective shear (gamma_1, gamma_2) = ((a22 - a11)/2, -(a12 + a21)/2)."""
        a11, a12, a21, a22 = self.jacobian(x, y, scale)
        return 0.5 * (a22 - a11), -0.5 * (a12 + a21)

    def determinant(self, x, y, scale=1.0):
        """det A = a11 a22 - a12 a21."""
        a11, a12, a21, a22 = self.jacobian(x, y, scale)
        return a11 * a22 - a12 * a21

    def magnification(self, x, y, scale=1.0):
        """Signed magnification 1 / det A."""
        with np.errstate(divide="ignore"):
            return 1.0 / self.determinant(x, y, scale)

    def arrival_time(self, x, y):
        """Arrival time T(theta) [days] (module docstring; differences between images are delays)."""
        t = self.trace(x, y, arrival_time=True)
        assert t.arrival_time is not None
        return t.arrival_time

    def potential(self, x, y, scale=1.0):
        """Effective potential psi_eff [arcsec^2] (class docstring)."""
        _unit_scale(scale)
        x, y = np.broadcast_arrays(np.asarray(x, float), np.asarray(y, float))
        t = self.trace(x, y, arrival_time=True)
        assert t.arrival_time is not None
        geometric = 0.5 * ((x - t.beta_x) ** 2 + (y - t.beta_y) ** 2)
        return geometric - t.arrival_time / (DAYS_PER_MPC_ARCSEC2 * self.time_delay_distance)


def traced_lens(planes: Sequence[tuple[float, Lens]], cosmology: FLRW, z_source: float) -> TracedLens:
    """The :class:`TracedLens` of ``planes`` ((z, Lens), z increasing) toward ``z_source``, through the
    planes in front of the source (ValueError when there is none)."""
    front = [(z, lens) for z, lens in planes if z < z_source]
    if not front:
        raise ValueError(f"z_source must exceed the nearest lens plane's redshift {planes[0][0] if planes else None}, "
                         f"got {z_source}: a source in front of every plane is not lensed")
    return TracedLens([lens for _, lens in front], plane_factors(cosmology, [z for z, _ in front], z_source))


def _first_plane_ddt(factors: PlaneFactors) -> float:
    """D_dt(z_1, z_source) = (1 + z_1) D_1 D_s / D_1s [Mpc], from the factors."""
    return float(factors.gravitational[0] / factors.beta[-1, 0])


def _unit_scale(scale) -> None:
    if not np.all(np.asarray(scale) == 1.0):
        raise ValueError("a multi-plane lens is traced to one source redshift: scale must be 1 "
                         f"(ask the model for the lens toward another redshift), got {scale}")


PlaneGroups = list[tuple[float, list[MassComponents]]]
"""Groups by lens plane: [(redshift, groups on that plane)], redshifts increasing."""


def merge_planes(redshifts: Sequence[float], groups: Sequence[MassComponents]) -> PlaneGroups:
    """Groups (one redshift each) gathered into planes: [(z, groups at z)], z increasing, each plane's
    groups in their given order."""
    if len(redshifts) != len(groups):
        raise ValueError(f"{len(redshifts)} redshifts for {len(groups)} groups")
    planes: dict[float, list[MassComponents]] = {}
    for z, group in zip(redshifts, groups, strict=True):
        planes.setdefault(float(z), []).append(group)
    return sorted(planes.items())
