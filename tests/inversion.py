"""Reference inversion of the lens equation, independent of the image finder (tests and benchmarks).

Ray-shoot a regular grid, start from every local minimum of |beta - beta_s| within 20 grid steps,
polish with Newton iterations whose Jacobian comes from finite differences of the deflection (not
the analytic Hessian), keep roots with |residual| < 1e-9 arcsec and merge roots closer than
``tolerance``. Slow and simple on purpose: it shares no code with clusterlens.solver.
"""
import numpy as np


def fd_newton(lens, x, y, xs, ys, scale, iterations=40, step=1e-6):
    """Newton on beta(theta) = (xs, ys) with a finite-difference Jacobian, vectorised over starts.
    Returns (x, y, |residual|) in arcsec."""
    def beta(px, py):
        ax, ay = lens.deflection(px, py, scale=scale)
        return px - ax - xs, py - ay - ys
    for _ in range(iterations):
        rx, ry = beta(x, y)
        pxx, pxy = beta(x + step, y)
        pyx, pyy = beta(x, y + step)
        a11, a21, a12, a22 = (pxx - rx) / step, (pxy - ry) / step, (pyx - rx) / step, (pyy - ry) / step
        det = a11 * a22 - a12 * a21
        with np.errstate(divide="ignore", invalid="ignore"):
            dx, dy = (a22 * rx - a12 * ry) / det, (a11 * ry - a21 * rx) / det
        length = np.hypot(dx, dy)
        shrink = np.where(length > 0.5, 0.5 / np.where(length > 0, length, 1.0), 1.0)
        x, y = x - np.nan_to_num(dx * shrink), y - np.nan_to_num(dy * shrink)
    rx, ry = beta(x, y)
    return x, y, np.hypot(rx, ry)


def brute_force_images(lens, xs, ys, scale, region, spacing, tolerance=1e-6):
    """Images of the sources (xs, ys) [arcsec] inside ``region`` = (xmin, xmax, ymin, ymax): a list of
    (n, 2) arrays, one per source. The grid is ray-traced in row chunks (bounded memory)."""
    xs, ys = np.atleast_1d(np.asarray(xs, float)), np.atleast_1d(np.asarray(ys, float))
    xmin, xmax, ymin, ymax = region
    gxs, gys = np.arange(xmin, xmax, spacing), np.arange(ymin, ymax, spacing)
    bx = np.empty((gys.size, gxs.size))
    by = np.empty_like(bx)
    rows = max(1, 2_000_000 // gxs.size)
    for start in range(0, gys.size, rows):
        gx, gy = np.meshgrid(gxs, gys[start:start + rows])
        ax, ay = lens.deflection(gx, gy, scale=scale)
        bx[start:start + rows], by[start:start + rows] = gx - ax, gy - ay
    ny, nx = bx.shape
    owners, sx0, sy0 = [], [], []
    for k, (sx, sy) in enumerate(zip(xs, ys, strict=True)):
        dist = np.hypot(bx - sx, by - sy)
        flat = np.flatnonzero(dist.ravel() < 20 * spacing)
        i, j = np.divmod(flat, nx)
        local = np.ones(flat.size, dtype=bool)
        d0 = dist[i, j]
        for di in (-1, 0, 1):
            for dj in (-1, 0, 1):
                if di or dj:
                    local &= d0 <= dist[np.clip(i + di, 0, ny - 1), np.clip(j + dj, 0, nx - 1)]
        owners.append(np.full(local.sum(), k))
        sx0.append(gxs[j[local]])
        sy0.append(gys[i[local]])
    owner = np.concatenate(owners)
    x, y, res = fd_newton(lens, np.concatenate(sx0), np.concatenate(sy0), xs[owner], ys[owner], scale)
    out = []
    for k in range(xs.size):
        found = []
        sel = (owner == k) & (res < 1e-9)
        for px, py in zip(x[sel], y[sel], strict=True):
            if not any(np.hypot(px - f[0], py - f[1]) < tolerance for f in found):
                found.append((px, py))
        out.append(np.array(found).reshape(-1, 2))
    return out


def matched(ours: np.ndarray, theirs: np.ndarray, tolerance: float = 1e-6) -> np.ndarray:
    """For each of ``theirs`` ((n, 2) arcsec), whether one of ``ours`` lies within ``tolerance``."""
    if len(theirs) == 0:
        return np.zeros(0, dtype=bool)
    if len(ours) == 0:
        return np.zeros(len(theirs), dtype=bool)
    d = np.hypot(ours[:, None, 0] - theirs[None, :, 0], ours[:, None, 1] - theirs[None, :, 1])
    return d.min(axis=0) < tolerance
