"""The compiled NFW sums (clusterlens.profiles.nfw_numba) against the numpy functions of
clusterlens.profiles.nfw, on points that visit every branch (x < 1, |1 - x^2| < 0.1, x > 1, the centre)."""
import numpy as np
import pytest

from clusterlens.lens import Lens, MassComponents
from clusterlens.profiles import nfw, nfw_numba


@pytest.fixture(scope="module")
def halos_and_points():
    rng = np.random.default_rng(4)
    halos = (rng.uniform(-5, 5, 4), rng.uniform(-5, 5, 4), rng.uniform(0.05, 0.6, 4), rng.uniform(5.0, 60.0, 4))
    r = np.concatenate([np.geomspace(1e-6, 300.0, 300), halos[3][0] * rng.uniform(0.9, 1.1, 60)])
    phi = rng.uniform(0, 2 * np.pi, r.size)
    x, y = halos[0][0] + r * np.cos(phi), halos[1][0] + r * np.sin(phi)
    x[0], y[0] = halos[0][0], halos[1][0]  # a halo's centre
    return halos, np.ascontiguousarray(x), np.ascontiguousarray(y)


def _numpy(name, x, y, halos):
    out = getattr(nfw, name)(x[:, None], y[:, None], *(h[None, :] for h in halos))
    return np.array([part.sum(axis=1) for part in (out if isinstance(out, tuple) else (out,))])


def test_deflection_hessian_and_potential_equal_the_numpy_functions(halos_and_points):
    halos, x, y = halos_and_points
    table = nfw_numba.member_table(*halos)
    expected = np.concatenate([_numpy("deflection_and_hessian", x, y, halos), _numpy("potential", x, y, halos)])
    out = np.zeros((6, x.size))
    nfw_numba.add_potential(x, y, table, out[5], (out[0], out[1]), (out[2], out[3], out[4]))
    alone = np.zeros((6, x.size))
    nfw_numba.add(x, y, table, (alone[0], alone[1]), None)
    nfw_numba.add(x, y, table, None, (alone[2], alone[3], alone[4]))
    nfw_numba.add_potential(x, y, table, alone[5])
    for got in (out, alone):
        scale = np.abs(expected).max(axis=1, keepdims=True)
        assert np.all(np.abs(got - expected) <= 1e-14 * scale + 1e-14 * np.abs(expected))
    assert np.array_equal(out[5], alone[5])


def test_the_lens_uses_the_kernels_and_agrees_with_its_numpy_backend(halos_and_points):
    halos, x, y = halos_and_points
    group = MassComponents("NFW", dict(zip(nfw.PARAMETERS, halos, strict=True)), "halos")
    compiled, plain = Lens([group]), Lens([group], backend="numpy")
    assert compiled._tables and not plain._tables
    np.testing.assert_allclose(compiled.deflection_hessian_and_potential(x, y),
                               plain.deflection_hessian_and_potential(x, y), rtol=1e-13, atol=1e-13)


def test_the_table_refuses_what_the_profile_refuses():
    with pytest.raises(ValueError, match="r_s"):
        nfw_numba.member_table([0.0], [0.0], [0.1], [0.0])
    with pytest.raises(ValueError, match="kappa_s"):
        nfw_numba.member_table([0.0], [0.0], [-0.1], [10.0])


def test_groups_of_a_batch_equal_each_group_alone_bit_for_bit(halos_and_points):
    """add_groups (a likelihood batch: one table for every vector's halos) gives group b in out[b] exactly
    what add gives that group's own table."""
    halos, x, y = halos_and_points
    table = nfw_numba.member_table(*halos)
    out = np.zeros((2, 5, x.size))
    nfw_numba.add_groups(x, y, table, 2, out)
    for b in range(2):
        alone = np.zeros((5, x.size))
        own = nfw_numba.member_table(*(h[2 * b:2 * b + 2] for h in halos))
        nfw_numba.add(x, y, own, (alone[0], alone[1]), (alone[2], alone[3], alone[4]))
        assert np.array_equal(out[b], alone)
