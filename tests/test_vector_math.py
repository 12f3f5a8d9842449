"""The kernels' vectorisable arctan, arctanh and log1p equal numpy's to ~2 ulp over many decades and at the edges
of their range reductions."""
import math

import numpy as np

from clusterlens.profiles import vector_math


def _relative(a, b):
    return np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300))


def test_arctan_equals_numpy():
    rng = np.random.default_rng(1)
    edges = [0.0, 1.0, vector_math.TAN_PI_8, vector_math.TAN_3PI_8, math.nextafter(vector_math.TAN_PI_8, 1.0), 1e300]
    x = np.concatenate([rng.uniform(-3, 3, 20000), 10 ** rng.uniform(-300, 300, 20000), edges])
    x = np.concatenate([x, -x])
    out = np.empty_like(x)
    vector_math.arctan_array(x, out)
    assert _relative(out, np.arctan(x)) < 5e-16
    assert out[x == 0.0].tolist() == [0.0, 0.0]


def test_arctanh_equals_numpy():
    rng = np.random.default_rng(2)
    edges = [0.0, vector_math.ATANH_SERIES_MAX, math.nextafter(vector_math.ATANH_SERIES_MAX, 1.0), 0.5,
             1.0 - 2.0**-52]
    x = np.concatenate([rng.uniform(-1, 1, 20000), 1.0 - 10 ** rng.uniform(-15, 0, 20000),
                        10 ** rng.uniform(-300, 0, 20000), edges])
    x = np.concatenate([x[np.abs(x) < 1.0], -x[np.abs(x) < 1.0]])
    out = np.empty_like(x)
    vector_math.arctanh_array(x, out)
    assert _relative(out, np.arctanh(x)) < 5e-16


def test_log1p_equals_numpy():
    rng = np.random.default_rng(3)
    edges = [0.0, 5e-324, 1e-300, vector_math.LOG1P_SERIES_MAX, math.nextafter(vector_math.LOG1P_SERIES_MAX, 1.0),
             1.0, math.sqrt(2.0) - 1.0, 2.0**512 - 1.0, 2.0**512, 1.7e308]
    x = np.concatenate([rng.uniform(0, 3, 20000), 10 ** rng.uniform(-300, 308, 40000), edges])
    out = np.empty_like(x)
    vector_math.log1p_array(x, out)
    assert _relative(out, np.log1p(x)) < 5e-16
    assert out[x == 0.0].tolist() == [0.0]
