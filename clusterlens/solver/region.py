"""Search region of the image finder (step 1 of the algorithm in :mod:`clusterlens.solver`).

Images of a source at beta lie at ``|theta - beta| = |alpha(theta)|``, so the box spanned by the
component centres (half-size R), widened by max(1.2 a, 2.2 a - R) with ``a`` the largest
deflection found on a coarse grid (iterated until the box stops growing), holds the images of the
sources that can be multiply imaged (:func:`default_region`).  The *source coverage*
(:func:`source_coverage`) is the region shrunk by the largest deflection sampled on the region
border (and on the border of the doubled region): for a source inside it an image outside the
region would need a deflection larger than anywhere on the border.

Also here: the checks of ``scale`` (D_LS/D_S), of a region and of positive lengths shared by the
mesh and the finder.  Angles in arcsec throughout.
"""

from __future__ import annotations

import numpy as np


def check_scale(scale: float) -> float:
    """``scale`` (D_LS/D_S, dimensionless) as a float; ValueError unless finite and > 0."""
    scale = float(scale)
    if not (np.isfinite(scale) and scale > 0):
        raise ValueError(f"scale (D_LS/D_S) must be a finite positive number, got {scale!r}")
    return scale


def check_region(region) -> tuple[float, float, float, float]:
    """``region`` as (xmin, xmax, ymin, ymax) floats (arcsec); ValueError unless finite and
    xmin < xmax, ymin < ymax."""
    try:
        xmin, xmax, ymin, ymax = (float(v) for v in region)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"region must be (xmin, xmax, ymin, ymax) in arcsec, got {region!r}") from exc
    if not all(np.isfinite([xmin, xmax, ymin, ymax])) or xmin >= xmax or ymin >= ymax:
        raise ValueError(
            f"region must be finite (xmin, xmax, ymin, ymax) with xmin < xmax and ymin < ymax, got {region!r}"
        )
    return xmin, xmax, ymin, ymax


def check_positive(name: str, value: float) -> float:
    """``value`` (a length in arcsec, called ``name`` in the error) as a float; ValueError
    unless finite and > 0."""
    value = float(value)
    if not (np.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a finite positive number (arcsec), got {value!r}")
    return value


def component_centres(lens) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Centres (arcsec) and core radii (arcsec, 0 where the profile has none) of every
    component of ``lens.groups`` that has a centre (external shear has none)."""
    cx, cy, rc = [], [], []
    for group in getattr(lens, "groups", ()):
        params = group.params
        if "center_x" not in params:
            continue
        x = np.asarray(params["center_x"], dtype=float).ravel()
        y = np.asarray(params["center_y"], dtype=float).ravel()
        core = np.broadcast_to(np.asarray(params.get("r_core", 0.0), dtype=float), x.shape)
        cx.append(x)
        cy.append(y)
        rc.append(core.ravel())
    if not cx:
        return np.zeros(0), np.zeros(0), np.zeros(0)
    return np.concatenate(cx), np.concatenate(cy), np.concatenate(rc)


def _max_deflection(lens, scale, box, n=48) -> float:
    xmin, xmax, ymin, ymax = box
    gx, gy = np.meshgrid(np.linspace(xmin, xmax, n), np.linspace(ymin, ymax, n))
    ax, ay = lens.deflection(gx, gy, scale=scale)
    amp = np.hypot(ax, ay)
    return float(np.max(amp[np.isfinite(amp)], initial=0.0))


def _border_points(box, n=256) -> tuple[np.ndarray, np.ndarray]:
    xmin, xmax, ymin, ymax = box
    t = np.linspace(0.0, 1.0, n, endpoint=False)
    x = np.concatenate([xmin + t * (xmax - xmin), np.full(n, xmax), xmax - t * (xmax - xmin), np.full(n, xmin)])
    y = np.concatenate([np.full(n, ymin), ymin + t * (ymax - ymin), np.full(n, ymax), ymax - t * (ymax - ymin)])
    return x, y


def _grow(box, margin):
    xmin, xmax, ymin, ymax = box
    return (xmin - margin, xmax + margin, ymin - margin, ymax + margin)


def default_region(lens, scale: float) -> tuple[float, float, float, float]:
    """Search box (xmin, xmax, ymin, ymax) in arcsec for every image of the sources that can be
    multiply imaged: the box of the component centres (half-size R) widened by
    max(1.2 a, 2.2 a - R) + 0.02 max(2R, a), with ``a`` the largest deflection (arcsec, at this
    ``scale``) on a 48x48 grid over the widened box, iterated until the box stops growing.

    An isolated lens (R = 0) then reaches 2.2 Einstein radii: a singular isothermal sphere
    multiply images sources out to one Einstein radius, whose images lie out to two.
    """
    scale = check_scale(scale)
    cx, cy, _ = component_centres(lens)
    if cx.size == 0:
        raise ValueError("the lens has no component with a centre; give region=(xmin, xmax, ymin, ymax)")
    centres = (cx.min(), cx.max(), cy.min(), cy.max())
    half = max(centres[1] - centres[0], centres[3] - centres[2]) / 2
    margin = max(2 * half, 1.0)
    for _ in range(6):
        amax = _max_deflection(lens, scale, _grow(centres, margin))
        new_margin = max(1.2 * amax, 2.2 * amax - half) + 0.02 * max(2 * half, amax)
        grew = new_margin > margin
        margin = new_margin
        if not grew:
            break
    if not margin > 0:
        raise ValueError("the lens deflects nothing around its centres; give region=(xmin, xmax, ymin, ymax)")
    return _grow(centres, margin)


def source_coverage(lens, scale: float, region) -> tuple[float, float, float, float] | None:
    """Source-plane box (arcsec) whose sources have all their images inside ``region``: the
    region shrunk by the largest deflection on its border and on the border of the region
    doubled about its centre.  None when that shrinks the box to nothing."""
    xmin, xmax, ymin, ymax = check_region(region)
    half_w, half_h = (xmax - xmin) / 2, (ymax - ymin) / 2
    bx1, by1 = _border_points(region)
    bx2, by2 = _border_points((xmin - half_w, xmax + half_w, ymin - half_h, ymax + half_h))
    ax, ay = lens.deflection(np.concatenate([bx1, bx2]), np.concatenate([by1, by2]), scale=scale)
    amax = float(np.max(np.hypot(ax, ay)))
    if 2 * amax >= min(xmax - xmin, ymax - ymin):
        return None
    return _grow(region, -amax)

