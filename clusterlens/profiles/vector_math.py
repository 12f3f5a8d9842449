"""arctan, arctanh and log1p as branch-free numba functions that LLVM vectorises (SIMD) inside a kernel's loop.

numpy's arctan and log1p run one value at a time on CPUs without AVX-512 (~8 ns each); the compiled
dPIE kernels of a likelihood batch call these instead (~1-2 ns), to within ~2 ulp of the correctly
rounded value (tests/test_vector_math.py: <= 5e-16 relative over many decades). Standard reductions
and the Taylor series, coefficients 1/(2k+1) (e.g. Abramowitz & Stegun, chapter 4: arctan, arctanh, ln):

- arctan |x|: x <= tan(pi/8): the series in t = x; tan(pi/8) < x <= tan(3pi/8): pi/4 + arctan((x-1)/(x+1));
  x > tan(3pi/8): pi/2 - arctan(1/x); so |t| <= tan(pi/8) and t^2 <= 0.172, where 21 terms reach 1e-17;
- arctanh |x| (< 1): the series for x <= 1/4 (14 terms); else ln((1+x)/(1-x)) / 2 with
  ln w = e ln 2 + 2 arctanh((m-1)/(m+1)), w = m 2^e, m in [sqrt(1/2), sqrt(2)] (found by exact scalings by
  powers of two; 12 terms of the series in s^2 <= 0.0295);
- log1p x (x >= 0): 2 arctanh(x/(2+x)) by the arctanh series for x <= 2/3 (then x/(2+x) <= 1/4); else ln(1+x)
  by the same reduction of w = 1 + x, over the whole double range (w < 2^1024).

Compiled without fastmath (no reassociation, no contraction), so the numbers do not depend on the CPU's
vector width. Arguments and results are dimensionless (radians for arctan).
"""
from __future__ import annotations

import math

import numba
import numpy as np


def _padded(coefficients: list[float]) -> np.ndarray:
    """Series coefficients, zero-padded to a multiple of 4 terms (for :func:`_horner`)."""
    return np.array(coefficients + [0.0] * (-len(coefficients) % 4))


ATAN_SERIES = _padded([(-1.0) ** k / (2 * k + 1) for k in range(21)])
"""arctan t = t sum_k (-1)^k t^(2k) / (2k+1), |t| <= tan(pi/8)."""
ATANH_SERIES = _padded([1.0 / (2 * k + 1) for k in range(14)])
"""arctanh t = t sum_k t^(2k) / (2k+1), |t| <= 1/4."""
LOG_SERIES = _padded([1.0 / (2 * k + 1) for k in range(12)])
"""ln m = 2 s sum_k s^(2k) / (2k+1), s = (m-1)/(m+1), m in [sqrt(1/2), sqrt(2)]."""
TAN_PI_8 = math.tan(math.pi / 8)
TAN_3PI_8 = math.tan(3 * math.pi / 8)
SQRT2 = math.sqrt(2.0)
LN2 = math.log(2.0)
ATANH_SERIES_MAX = 0.25
LOG1P_SERIES_MAX = 2.0 / 3.0


@numba.njit(inline="always")
def _horner(coefficients, z):
    """sum_k coefficients[k] z^k, as four interleaved Horner chains in z^4 (short dependency chains keep
    the vector units busy); ``coefficients``' length is a multiple of 4."""
    z2 = z * z
    z4 = z2 * z2
    top = coefficients.size - 4
    p0, p1, p2, p3 = coefficients[top], coefficients[top + 1], coefficients[top + 2], coefficients[top + 3]
    for k in range(top - 4, -1, -4):
        p0 = p0 * z4 + coefficients[k]
        p1 = p1 * z4 + coefficients[k + 1]
        p2 = p2 * z4 + coefficients[k + 2]
        p3 = p3 * z4 + coefficients[k + 3]
    return (p0 + z * p1) + z2 * (p2 + z * p3)


@numba.njit(inline="always")
def arctan(x):
    """arctan(x) in radians for any finite x (see the module docstring)."""
    a = abs(x)
    mid = a > TAN_PI_8
    big = a > TAN_3PI_8
    num = -1.0 if big else (a - 1.0 if mid else a)
    den = a if big else (a + 1.0 if mid else 1.0)
    offset = 0.5 * math.pi if big else (0.25 * math.pi if mid else 0.0)
    t = num / den
    r = offset + t * _horner(ATAN_SERIES, t * t)
    return r if x >= 0.0 else -r


@numba.njit(inline="always")
def arctanh(x):
    """arctanh(x) for |x| < 1 (see the module docstring)."""
    a = abs(x)
    series = a * _horner(ATANH_SERIES, a * a)
    w = (1.0 + a) / (1.0 - a)
    e = 0.0
    for j in (32, 16, 8, 4, 2, 1):
        big = w >= 2.0**j
        w = w * 2.0**-j if big else w
        e = e + j if big else e
    high = w > SQRT2
    w = 0.5 * w if high else w
    e = e + 1.0 if high else e
    s = (w - 1.0) / (w + 1.0)
    log_w = e * LN2 + 2.0 * s * _horner(LOG_SERIES, s * s)
    r = series if a <= ATANH_SERIES_MAX else 0.5 * log_w
    return r if x >= 0.0 else -r


@numba.njit(inline="always")
def _halve(w, e, j):
    """(w 2^-j, e + j) where w >= 2^j, else (w, e): one exact scaling step (j a literal power of two)."""
    big = w >= 2.0**j
    return (w * 2.0**-j if big else w), (e + j if big else e)


@numba.njit(inline="always")
def _log_reduced(w):
    """ln w for 1 <= w < 2^1024: w scaled by exact powers of two into [sqrt(1/2), sqrt(2)], written out
    step by step (a loop over the steps would keep pow calls that stop LLVM vectorising)."""
    w, e = _halve(w, 0.0, 512)
    w, e = _halve(w, e, 256)
    w, e = _halve(w, e, 128)
    w, e = _halve(w, e, 64)
    w, e = _halve(w, e, 32)
    w, e = _halve(w, e, 16)
    w, e = _halve(w, e, 8)
    w, e = _halve(w, e, 4)
    w, e = _halve(w, e, 2)
    w, e = _halve(w, e, 1)
    high = w > SQRT2
    w = 0.5 * w if high else w
    e = e + 1.0 if high else e
    s = (w - 1.0) / (w + 1.0)
    return e * LN2 + 2.0 * s * _horner(LOG_SERIES, s * s)


@numba.njit(inline="always")
def log1p(x):
    """ln(1 + x) for finite x >= 0 (see the module docstring)."""
    t = x / (2.0 + x)
    series = 2.0 * t * _horner(ATANH_SERIES, t * t)
    log_w = _log_reduced(1.0 + x)
    return series if x <= LOG1P_SERIES_MAX else log_w


@numba.njit(nogil=True, cache=True, error_model="numpy")
def arctan_array(x, out):
    """``out[i] = arctan(x[i])`` for 1-D float64 arrays (tests and benchmarks)."""
    for i in range(x.size):
        out[i] = arctan(x[i])


@numba.njit(nogil=True, cache=True, error_model="numpy")
def arctanh_array(x, out):
    """``out[i] = arctanh(x[i])`` for 1-D float64 arrays, |x| < 1 (tests and benchmarks)."""
    for i in range(x.size):
        out[i] = arctanh(x[i])


@numba.njit(nogil=True, cache=True, error_model="numpy")
def log1p_array(x, out):
    """``out[i] = log1p(x[i])`` for 1-D float64 arrays, x >= 0 (tests and benchmarks)."""
    for i in range(x.size):
        out[i] = log1p(x[i])
