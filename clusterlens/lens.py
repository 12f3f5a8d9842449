"""A single-plane lens: groups of mass components evaluated as whole arrays.

A :class:`MassComponents` group holds M components of one profile (parameters as
1-D arrays); :class:`Lens` sums its groups. Each group is one broadcast operation,
points (N, 1) against parameters (1, M), summed over members and split over points
so that at most ``max_pairs_per_chunk`` member-point pairs exist at once. dPIE
groups whose registry declaration has compiled kernels (dPIE: :mod:`clusterlens.profiles.dpie_numba`,
vectorised numba kernels plus numpy's SIMD arctan/log1p, single-threaded, ~1 MB of buffers; the potential
kernels compute arctan, arctanh and log1p inline, :mod:`clusterlens.profiles.vector_math`) use them
for deflections, Hessians and potentials when numba is importable (``backend="auto"``); the numpy path is
the reference and gives the same numbers to rounding (~1e-15 relative).
:meth:`Lens.deflection_hessian_and_potential` gives all six in one pass (maps).

Large evaluations (at least ``THREAD_MIN_PAIRS`` member-point pairs) split their points into
contiguous slices evaluated on ``threads`` threads (the numba kernels and numpy's ufuncs release the
GIL). Each point's sum over members runs in the same order whatever the slicing, so the result does
not depend on the number of threads, bit for bit.

Amplitudes are given at D_LS/D_S = 1; ``scale`` (= D_LS/D_S of the source) multiplies
deflection, Hessian, convergence and potential. Positions in arcsec (x West, y North),
deflections in arcsec, potential in arcsec^2.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import pairwise

import numpy as np

from .registry import MASS_PROFILES, mass_profile

DEFAULT_MAX_PAIRS = 32_768
"""Default bound on member x point pairs per numpy chunk: cache-sized chunks run ~1.5-2x faster
than 2e6-pair chunks (numpy's SIMD transcendentals stay in cache) and hold ~5 MB."""
BACKENDS = ("auto", "numpy", "numba")
THREAD_MIN_PAIRS = 1_000_000
"""Evaluations with fewer member x point pairs run on the calling thread (threads cost ~50 us)."""


def default_threads() -> int:
    """Threads for large evaluations: the user's ``CLUSTERLENS_THREADS`` if set (clusterlens never sets
    it; pass ``threads`` to :class:`Lens` to choose per lens), else the usable cores."""
    if "CLUSTERLENS_THREADS" in os.environ:
        return max(1, int(os.environ["CLUSTERLENS_THREADS"]))
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


@dataclass(frozen=True, eq=False)
class MassComponents:
    """M components of one mass profile.

    profile: a registered mass profile name (:data:`clusterlens.registry.MASS_PROFILES`); params: its
    functions' keyword parameters (``MassProfile.functions.parameters``) as 1-D arrays of equal
    length M; label: where they come from, e.g. "host_halo", "tier:bright". ``check=False``
    skips the parameter checks for values already validated (the CSV row schemas), which a
    likelihood call builds many times per second.
    """

    profile: str
    params: dict[str, np.ndarray]
    label: str = ""
    size: int = field(init=False)
    check: bool = field(default=True, repr=False, compare=False)

    def __post_init__(self):
        if not self.check:
            arrays = {name: np.atleast_1d(np.asarray(value, dtype=float)) for name, value in self.params.items()}
            object.__setattr__(self, "params", arrays)
            object.__setattr__(self, "size", next(iter(arrays.values())).size)
            return
        functions = mass_profile(self.profile).functions
        expected = set(functions.parameters)
        given = set(self.params)
        if given != expected:
            raise ValueError(
                f"{self.profile} group {self.label!r}: parameters {sorted(given)} do not match the expected "
                f"{sorted(expected)} (missing {sorted(expected - given)}, unknown {sorted(given - expected)})"
            )
        arrays = {name: np.atleast_1d(np.asarray(value, dtype=float)) for name, value in self.params.items()}
        sizes = {name: a.shape for name, a in arrays.items()}
        if any(a.ndim != 1 for a in arrays.values()) or len({a.size for a in arrays.values()}) != 1:
            raise ValueError(f"{self.profile} group {self.label!r}: parameters must be 1-D of one length, got {sizes}")
        bad = sorted(name for name, a in arrays.items() if not np.all(np.isfinite(a)))
        if bad:
            raise ValueError(f"{self.profile} group {self.label!r}: non-finite values in {bad}")
        object.__setattr__(self, "params", arrays)
        object.__setattr__(self, "size", next(iter(arrays.values())).size)
        # one evaluation at a far point runs the profile's own range checks now rather than mid-fit
        functions.convergence(np.array([1e6]), np.array([1e6]), **arrays)


def joined_groups(groups: Sequence[MassComponents]) -> list[MassComponents]:
    """``groups`` with those of one profile joined into one group (profiles in order of first appearance, the
    members of a profile in the given order; labels joined by "+"): one kernel call per profile and
    evaluation instead of one per group. The sums run over the same members in a different grouping, so a
    :class:`Lens` of the joined groups equals one of ``groups`` to rounding (~1e-16 relative)."""
    by_profile: dict[str, list[MassComponents]] = {}
    for group in groups:
        by_profile.setdefault(group.profile, []).append(group)
    joined = []
    for profile, parts in by_profile.items():
        if len(parts) == 1:
            joined.append(parts[0])
            continue
        params = {name: np.concatenate([part.params[name] for part in parts]) for name in parts[0].params}
        joined.append(MassComponents(profile, params, "+".join(part.label for part in parts), check=False))
    return joined


class Lens:
    """Sum of mass-component groups on one lens plane.

    groups: the groups; max_pairs_per_chunk: bound on member x point pairs held at once
    by the numpy path (its peak memory is about 160 bytes per pair, whatever the number
    of points); backend: "auto" (compiled kernels for the deflection, Hessian and potential of the groups whose
    profile has them, when numba is available), "numpy" or "numba"; threads: threads for evaluations of at
    least ``THREAD_MIN_PAIRS`` pairs (default :func:`default_threads`).
    """

    def __init__(
        self,
        groups: Sequence[MassComponents],
        max_pairs_per_chunk: int = DEFAULT_MAX_PAIRS,
        backend: str = "auto",
        threads: int | None = None,
    ):
        self.groups = tuple(groups)
        self.threads = default_threads() if threads is None else int(threads)
        if self.threads < 1:
            raise ValueError(f"threads must be >= 1, got {threads}")
        for group in self.groups:
            if not isinstance(group, MassComponents):
                raise ValueError(f"Lens groups must be MassComponents, got {type(group).__name__}")
        if int(max_pairs_per_chunk) < 1:
            raise ValueError(f"max_pairs_per_chunk must be >= 1, got {max_pairs_per_chunk}")
        self.max_pairs_per_chunk = int(max_pairs_per_chunk)
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
        compiled_available = any(p.compiled is not None for p in MASS_PROFILES.values())
        if backend == "numba" and not compiled_available:
            raise ValueError("backend 'numba' needs the numba package, which is not installed")
        self.backend = ("numba" if compiled_available else "numpy") if backend == "auto" else backend
        #: group index -> the member table of its compiled kernels (the kernels: the registry's, by profile
        #: name, so that a Lens pickles for a process pool)
        self._tables = {}
        if self.backend == "numba":
            for index, group in enumerate(self.groups):
                compiled = MASS_PROFILES[group.profile].compiled
                if compiled is not None:
                    self._tables[index] = compiled.member_table(**group.params)

    def __repr__(self) -> str:
        parts = ", ".join(f"{g.label or g.profile}: {g.size} {g.profile}" for g in self.groups)
        return f"Lens({parts}; backend={self.backend})"

    # ------------------------------------------------------------------ evaluation core
    def _numpy_sum(self, group: MassComponents, name: str, x: np.ndarray, y: np.ndarray, outputs: list) -> None:
        """Add group's profile function ``name`` at 1-D points to ``outputs`` (list of arrays), chunked."""
        if group.size == 0:
            return
        function = getattr(MASS_PROFILES[group.profile].functions, name)
        # points (chunk, 1) against members (1, M): each point's sum over its members runs along the
        # contiguous axis in the same order whatever the chunk size, so chunking changes no bit
        params = {key: value[None, :] for key, value in group.params.items()}
        chunk = max(1, self.max_pairs_per_chunk // group.size)
        for start in range(0, x.size, chunk):
            stop = start + chunk
            result = function(x[start:stop, None], y[start:stop, None], **params)
            result = result if isinstance(result, tuple) else (result,)
            for out, part in zip(outputs, result, strict=True):
                out[start:stop] += np.sum(part, axis=1)

    def _slices(self, n_points: int) -> list[slice]:
        """Contiguous point slices, one per thread for large evaluations, else one."""
        pairs = n_points * sum(g.size for g in self.groups)
        parts = min(self.threads, n_points) if pairs >= THREAD_MIN_PAIRS else 1
        if parts == 1:
            return [slice(0, n_points)]
        edges = np.linspace(0, n_points, parts + 1).astype(int)
        return [slice(a, b) for a, b in pairwise(edges)]

    def _run_sliced(self, work, n_points: int) -> None:
        """Call ``work(slice)`` for every point slice, on threads when there are several."""
        slices = self._slices(n_points)
        if len(slices) == 1:
            work(slices[0])
            return
        with ThreadPoolExecutor(len(slices)) as pool:
            for future in [pool.submit(work, part) for part in slices]:
                future.result()

    def _evaluate(self, x, y, deflection: bool, hessian: bool, potential: bool = False) -> tuple[tuple, np.ndarray]:
        """(shape, buffer): the requested sums as the rows of one (k, points) array, the deflection's two, the
        Hessian's three and the potential, as requested; ``potential`` needs both ``deflection`` and ``hessian``
        (compiled groups: one pass for all three)."""
        x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        if x.shape != y.shape:
            x, y = np.broadcast_arrays(x, y)
        shape = x.shape
        fx, fy = np.ascontiguousarray(x.ravel()), np.ascontiguousarray(y.ravel())
        # one buffer, rows: the deflection's two, the Hessian's three, the potential (as requested)
        buffer = np.zeros((2 * deflection + 3 * hessian + potential, fx.size))
        rows = iter(buffer)
        alpha = [next(rows), next(rows)] if deflection else None
        hess = [next(rows), next(rows), next(rows)] if hessian else None
        psi = next(rows) if potential else None

        def work(part: slice) -> None:
            px, py = fx[part], fy[part]
            a = [out[part] for out in alpha] if alpha is not None else None
            h = [out[part] for out in hess] if hess is not None else None
            for index, group in enumerate(self.groups):
                table = self._tables.get(index)
                kernels = MASS_PROFILES[group.profile].compiled
                if table is not None and kernels is not None and psi is not None:
                    kernels.add_potential(px, py, table, psi[part], a, h)
                    continue
                if table is not None and kernels is not None:
                    kernels.add(px, py, table, a, h)
                    continue
                if psi is not None:
                    self._numpy_sum(group, "potential", px, py, [psi[part]])
                if a is not None and h is not None and MASS_PROFILES[group.profile].functions.deflection_and_hessian:
                    self._numpy_sum(group, "deflection_and_hessian", px, py, a + h)
                    continue
                if a is not None:
                    self._numpy_sum(group, "deflection", px, py, a)
                if h is not None:
                    self._numpy_sum(group, "hessian", px, py, h)

        self._run_sliced(work, fx.size)
        return shape, buffer

    @staticmethod
    def _scaled(shape, buffer: np.ndarray, scale) -> tuple:
        """The buffer's rows times ``scale`` (a scalar or one value per point), each in the points' shape."""
        scaled = buffer * np.ravel(scale) if np.ndim(scale) else buffer * scale
        return tuple(scaled) if len(shape) == 1 else tuple(row.reshape(shape) for row in scaled)

    def _single(self, name: str, x, y, scale: float) -> np.ndarray:
        """One scalar quantity ("convergence" or "potential"): compiled potentials where a group has them."""
        x, y = np.broadcast_arrays(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
        fx, fy = np.ascontiguousarray(x.ravel()), np.ascontiguousarray(y.ravel())
        out = np.zeros(fx.size)
        tables = self._tables if name == "potential" else {}

        def work(part: slice) -> None:
            for index, group in enumerate(self.groups):
                table = tables.get(index)
                kernels = MASS_PROFILES[group.profile].compiled
                if table is not None and kernels is not None:
                    kernels.add_potential(fx[part], fy[part], table, out[part])
                else:
                    self._numpy_sum(group, name, fx[part], fy[part], [out[part]])

        self._run_sliced(work, fx.size)
        return (scale * out).reshape(x.shape)

    # ------------------------------------------------------------------ public quantities
    def deflection(self, x, y, scale: float = 1.0):
        """(alpha_x, alpha_y) in arcsec at points of any (common) shape, times ``scale``."""
        return self._scaled(*self._evaluate(x, y, True, False), scale)

    def hessian(self, x, y, scale: float = 1.0):
        """(psi_xx, psi_xy, psi_yy), dimensionless, times ``scale``."""
        return self._scaled(*self._evaluate(x, y, False, True), scale)

    def deflection_and_hessian(self, x, y, scale: float = 1.0):
        """(alpha_x, alpha_y, psi_xx, psi_xy, psi_yy) in one pass (cheaper than two calls)."""
        return self._scaled(*self._evaluate(x, y, True, True), scale)

    def deflection_hessian_and_potential(self, x, y, scale: float = 1.0):
        """(alpha_x, alpha_y, psi_xx, psi_xy, psi_yy, psi) in one pass, psi in arcsec^2 (for maps: compiled
        dPIE groups evaluate arctan and arctanh once for all six; psi equals :meth:`potential`'s bit for
        bit, the others those of :meth:`deflection_and_hessian` to ~1e-15 relative)."""
        return self._scaled(*self._evaluate(x, y, True, True, True), scale)

    def convergence(self, x, y, scale: float = 1.0) -> np.ndarray:
        """kappa (dimensionless), times ``scale``."""
        return self._single("convergence", x, y, scale)

    def potential(self, x, y, scale: float = 1.0) -> np.ndarray:
        """Lensing potential psi in arcsec^2, times ``scale`` (each profile is 0 at its centre)."""
        return self._single("potential", x, y, scale)

    def shear(self, x, y, scale: float = 1.0):
        """(gamma_1, gamma_2) = ((psi_xx - psi_yy)/2, psi_xy), times ``scale``."""
        hxx, hxy, hyy = self.hessian(x, y, scale)
        return 0.5 * (hxx - hyy), hxy

    def magnification(self, x, y, scale: float = 1.0) -> np.ndarray:
        """Signed magnification 1 / det(A), A = 1 - scale * Hessian."""
        hxx, hxy, hyy = self.hessian(x, y, scale)
        with np.errstate(divide="ignore"):
            return 1.0 / ((1.0 - hxx) * (1.0 - hyy) - hxy * hxy)
