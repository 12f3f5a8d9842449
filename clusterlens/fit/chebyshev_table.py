"""A smooth vector-valued function of one positive scalar, tabulated once as piecewise Chebyshev series.

The likelihood uses it for a tier whose only non-amplitude free cell is ``r_cut_ref``
(:mod:`clusterlens.fit.lens_at_images`): at the fixed observed images the tier's deflections and
Hessian are (sigma_ref / sigma_0)^2 F(r_cut_ref), every member's other parameters being fixed, so F
((Q, N) values: Q quantities at N points) depends on one number and is smooth in it (each member's
term is analytic in its cut radius for r_cut > r_core). Computing F exactly costs one evaluation of
every member at every image; the table costs one small matrix product.

Construction (Trefethen 2019, *Approximation Theory and Approximation Practice*, ch. 3 and 8): in
u = ln r, [ln lower, ln upper] is cut into pieces; on each, F is sampled at the ``degree + 1``
Chebyshev points of the first kind t_j = cos(pi (j + 1/2) / n) and its Chebyshev coefficients are
c_k = (2 / n) sum_j F(t_j) cos(k pi (j + 1/2) / n) (c_0 halved), so the series interpolates F at the
nodes. Each piece is then checked against F itself at the ``degree`` midpoints between its nodes
(where an interpolant's error peaks): where some quantity's error exceeds ``tolerance`` x the largest
absolute value of that quantity on the piece, the piece is halved. Past ``max_pieces`` pieces no
table is built (:func:`build_table` returns None) and the caller keeps the exact evaluation.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numba
import numpy as np

DEGREE = 24  #: polynomial degree on each piece
TOLERANCE = 1e-12  #: largest error allowed at the check points, relative to each quantity's largest |value|
MAX_PIECES = 64  #: most pieces before giving up on a table


@dataclass(frozen=True)
class ChebyshevTable:
    """F(r) for ``lower <= r <= upper`` (:func:`build_table`): ``edges`` (P + 1,) piece edges in ln r,
    ``coefficients`` (P, degree + 1, Q * N), ``shape`` (Q, N) of one value."""

    lower: float
    upper: float
    edges: np.ndarray
    coefficients: np.ndarray
    shape: tuple[int, ...]

    def covers(self, r: np.ndarray) -> np.ndarray:
        """Bool array: where ``r`` lies inside the table's range [lower, upper]."""
        return (r >= self.lower) & (r <= self.upper)

    def __call__(self, r: np.ndarray) -> np.ndarray:
        """F at ``r`` (B,) inside the range (:meth:`covers`): (B, *shape)."""
        u = np.log(np.asarray(r, dtype=float))
        n_pieces = self.coefficients.shape[0]
        piece = np.clip(np.searchsorted(self.edges, u, side="right") - 1, 0, n_pieces - 1)
        a, b = self.edges[piece], self.edges[piece + 1]
        basis = _basis(np.clip((2.0 * u - a - b) / (b - a), -1.0, 1.0), self.coefficients.shape[1])
        return _series(basis, piece, self.coefficients).reshape(u.size, *self.shape)


@numba.jit(nopython=True, nogil=True, cache=True, fastmath=False)
def _series(basis: np.ndarray, piece: np.ndarray, coefficients: np.ndarray) -> np.ndarray:
    """(B, K): sum_k basis[b, k] coefficients[piece[b], k, :], each row summed in the same order whatever B
    (a batch equals its rows' single calls bit for bit, which a BLAS product does not promise)."""
    n_rows, n_terms = basis.shape
    out = np.zeros((n_rows, coefficients.shape[2]))
    for b in range(n_rows):
        table = coefficients[piece[b]]
        for k in range(n_terms):
            weight = basis[b, k]
            for m in range(table.shape[1]):
                out[b, m] += weight * table[k, m]
    return out


def _basis(t: np.ndarray, n: int) -> np.ndarray:
    """(B, n): T_k(t_b) = cos(k arccos t_b), k = 0 .. n - 1."""
    return np.cos(np.arccos(t)[:, None] * np.arange(n))


def build_table(function: Callable[[np.ndarray], np.ndarray], lower: float, upper: float, degree: int = DEGREE,
                tolerance: float = TOLERANCE, max_pieces: int = MAX_PIECES) -> ChebyshevTable | None:
    """The table of ``function`` (r (n,) -> (n, Q, N) values) on [lower, upper] (0 < lower < upper), checked
    to ``tolerance`` (module docstring), or None if that takes more than ``max_pieces`` pieces or the
    function is not finite there."""
    if not (0.0 < lower < upper < np.inf):
        return None
    n = degree + 1
    angles = np.pi * (np.arange(n) + 0.5) / n
    nodes = np.cos(angles)
    transform = (2.0 / n) * np.cos(np.outer(np.arange(n), angles))
    transform[0] /= 2.0
    mids = np.cos(0.5 * (angles[:-1] + angles[1:]))
    mid_basis = _basis(mids, n)
    pending = [(np.log(lower), np.log(upper))]
    done: list[tuple[float, float, np.ndarray]] = []
    shape: tuple[int, ...] = ()
    while pending:
        a, b = pending.pop()
        half, centre = 0.5 * (b - a), 0.5 * (a + b)
        at_nodes = np.asarray(function(np.exp(centre + half * nodes)), dtype=float)
        at_mids = np.asarray(function(np.exp(centre + half * mids)), dtype=float)
        if not (np.isfinite(at_nodes).all() and np.isfinite(at_mids).all()):
            return None
        shape = at_nodes.shape[1:]
        flat_nodes, flat_mids = at_nodes.reshape(n, -1), at_mids.reshape(n - 1, -1)
        coefficients = transform @ flat_nodes
        error = np.abs(mid_basis @ coefficients - flat_mids).reshape(n - 1, shape[0], -1).max(axis=(0, 2))
        scale = np.maximum(np.abs(at_nodes).max(axis=(0, 2)), np.abs(at_mids).max(axis=(0, 2)))
        if np.all(error <= tolerance * scale):
            done.append((a, b, coefficients))
        elif len(done) + len(pending) + 2 > max_pieces:
            return None
        else:
            pending += [(centre, b), (a, centre)]
    done.sort(key=lambda piece: piece[0])
    edges = np.array([piece[0] for piece in done] + [done[-1][1]])
    return ChebyshevTable(lower, upper, edges, np.array([piece[2] for piece in done]), shape)
