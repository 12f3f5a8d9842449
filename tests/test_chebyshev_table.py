"""Piecewise Chebyshev tables (clusterlens.fit.chebyshev_table): accurate to their tolerance on smooth
functions, halved where needed, refused where the function is not smooth or not finite."""
import numpy as np

from clusterlens.fit.chebyshev_table import build_table


def _smooth(r):
    """(n, 2, 3): analytic in r > 0, with structure on scales 0.3 to 30."""
    r = np.asarray(r)[:, None]
    scales = np.array([0.3, 3.0, 30.0])
    return np.stack([scales / np.hypot(r, scales), np.log1p(r / scales) * np.sin(r / (3 * scales))], axis=1)


def test_a_smooth_function_is_tabulated_to_the_tolerance():
    table = build_table(_smooth, 0.1, 200.0, tolerance=1e-12)
    assert table is not None and table.coefficients.shape[0] > 1  # the range needed several pieces
    r = np.exp(np.random.default_rng(0).uniform(np.log(0.1), np.log(200.0), 500))
    exact = _smooth(r)
    scale = np.abs(exact).max(axis=(0, 2))[None, :, None]
    assert np.all(np.abs(table(r) - exact) <= 1e-11 * scale)
    assert np.allclose(table(np.array([0.1, 200.0])), _smooth(np.array([0.1, 200.0])), rtol=0, atol=1e-11)
    assert table.covers(np.array([0.1, 200.0, 0.0999, 200.1])).tolist() == [True, True, False, False]


def test_a_batch_equals_its_rows_bit_for_bit():
    table = build_table(_smooth, 0.5, 50.0)
    r = np.linspace(0.5, 50.0, 37)
    assert np.array_equal(table(r), np.concatenate([table(r[i:i + 1]) for i in range(r.size)]))


def test_a_kink_or_a_pole_gives_no_table():
    assert build_table(lambda r: np.abs(r - 1.7)[:, None, None], 0.5, 5.0, max_pieces=16) is None
    assert build_table(lambda r: (1.0 / (r - 2.0))[:, None, None], 1.0, 3.0) is None  # a node hits no pole:
    # the function is finite at the nodes but cannot be approximated
    assert build_table(lambda r: np.full((r.size, 1, 1), np.nan), 1.0, 2.0) is None
    assert build_table(_smooth, 2.0, 1.0) is None and build_table(_smooth, 0.0, 1.0) is None
