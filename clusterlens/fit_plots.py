"""Plots of a fit: the posterior corner plot and the observed vs predicted multiple images.

Figures are built without pyplot state (:func:`clusterlens.plot.new_figure`) and written with
:func:`clusterlens.plot.png_bytes` (no software or date stamp: the same data give the same bytes)
through :func:`clusterlens.atomic.write_bytes`. Axes are arcsec from the dataset reference point, x positive
to the West (to the right: North up, East left), computed from ``dataset.toml``'s ``[imaging]``
grid rather than from the FITS WCS.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from . import atomic
from .maps import PixelGrid, critical_curves
from .model import ClusterModel
from .plot import asinh_stretch, legend_redshifts, new_figure, palette, png_bytes


def save_png(figure, path: str | Path) -> Path:
    """Write ``figure`` as a deterministic PNG, atomically."""
    return atomic.write_bytes(path, png_bytes(figure))


def parameter_labels(summary: pd.DataFrame, scales: Sequence[int] | None = None) -> list[str]:
    """Axis labels ``key column [unit]`` of the summary's parameters; with ``scales`` (powers of ten the
    values are divided by) ``key column [1e15 unit]``."""
    labels = []
    for i, r in enumerate(summary.itertuples(index=False)):
        unit = r.unit if isinstance(r.unit, str) else ""
        power = scales[i] if scales is not None else 0
        scaled = " ".join(t for t in (f"1e{power}" if power else "", unit) if t)
        labels.append(f"{r.galaxy} {r.parameter}" + (f" [{scaled}]" if scaled else ""))
    return labels


def axis_power(values: np.ndarray) -> int:
    """The power of ten a parameter's values are divided by on the corner plot's axes: 0 for values of
    order 1e-3 to 1e4, else that of the largest magnitude (so no axis needs an offset text such as 1e15)."""
    finite = np.abs(values[np.isfinite(values)])
    top = float(finite.max()) if finite.size else 0.0
    if top == 0.0 or 1e-3 <= top < 1e4:
        return 0
    return int(np.floor(np.log10(top)))


def corner_plot(samples: pd.DataFrame, summary: pd.DataFrame, path: str | Path) -> Path:
    """Corner plot of the equal-weight ``samples`` (columns = summary labels), truths marked when known.

    Contours at the 1, 2 and 3 sigma levels of a 2-D Gaussian; 16/50/84% quantiles on the diagonal. A
    parameter of magnitude >= 1e4 or < 1e-3 is drawn in units of a power of ten (:func:`axis_power`,
    named in its label)."""
    import corner
    from matplotlib.ticker import ScalarFormatter

    labels = list(summary["label"])
    data = samples[labels].to_numpy(float)
    truth = summary["truth"].to_numpy(float)
    powers = [axis_power(column) for column in data.T]
    scale = 10.0 ** np.array(powers, float)
    data, truth = data / scale, truth / scale  # axes in units of 1e<power>: no offset text over the labels
    spans = []
    for column in data.T:
        lo, hi = float(column.min()), float(column.max())
        pad = 0.5 * max(abs(lo), 1.0) * 1e-6 if hi <= lo else 0.0
        spans.append((lo - pad, hi + pad))
    for i, t in enumerate(truth):
        if np.isfinite(t):
            lo, hi = spans[i]
            spans[i] = (min(lo, t), max(hi, t))
    side = 1.9 * len(labels) + 0.6
    truths = [float(t) if np.isfinite(t) else None for t in truth] if np.isfinite(truth).any() else None
    fig = corner.corner(data, fig=new_figure(side, side), labels=parameter_labels(summary, powers), range=spans,
                        truths=truths,
                        truth_color="tab:red", quantiles=[0.16, 0.5, 0.84], show_titles=True, title_fmt=".3g",
                        levels=1.0 - np.exp(-0.5 * np.array([1.0, 2.0, 3.0]) ** 2), plot_datapoints=False,
                        fill_contours=True, label_kwargs={"fontsize": 9}, title_kwargs={"fontsize": 8})
    for ax in fig.axes:  # a narrow range of large values would otherwise get an offset text too
        for axis in (ax.xaxis, ax.yaxis):
            if isinstance(axis.get_major_formatter(), ScalarFormatter):
                axis.get_major_formatter().set_useOffset(False)
    return save_png(fig, path)


def images_view(predicted: pd.DataFrame, extent: tuple[float, float, float, float] | None
                ) -> tuple[float, float, float, float]:
    """The sky panel's limits (xmin, xmax, ymin, ymax) [arcsec]: ``extent`` (the image), widened to every
    observed and predicted image with a 5% margin."""
    xs = np.concatenate([predicted["x_obs"].to_numpy(float), predicted["x_pred"].to_numpy(float)])
    ys = np.concatenate([predicted["y_obs"].to_numpy(float), predicted["y_pred"].to_numpy(float)])
    xs, ys = xs[np.isfinite(xs)], ys[np.isfinite(ys)]
    if not len(xs):
        return extent if extent is not None else (-20.0, 20.0, -20.0, 20.0)
    margin = 0.05 * max(np.ptp(xs), np.ptp(ys), 1.0)
    lo_x, hi_x, lo_y, hi_y = xs.min() - margin, xs.max() + margin, ys.min() - margin, ys.max() + margin
    if extent is not None:
        lo_x, hi_x, lo_y, hi_y = min(lo_x, extent[0]), max(hi_x, extent[1]), min(lo_y, extent[2]), max(hi_y, extent[3])
    return float(lo_x), float(hi_x), float(lo_y), float(hi_y)


def best_fit_critical_curves(model: ClusterModel, view: tuple[float, float, float, float],
                             pixels: int = 160) -> dict[str, list[np.ndarray]]:
    """Critical curves of ``model`` (the maximum-likelihood model) over ``view`` [arcsec], traced on a grid
    of at most ``pixels`` per side, for at most five of its source redshifts (label ``z = ...``)."""
    step = max(view[1] - view[0], view[3] - view[2]) / pixels
    grid = PixelGrid.covering(view, step)
    redshifts = legend_redshifts([r.redshift for r in model.source_light] + [r.redshift for r in model.source_points])
    return {f"z = {z:g}": critical_curves(model.lens, grid, model.distance_ratio(z), polish=False)
            for z in redshifts}


def images_plot(predicted: pd.DataFrame, path: str | Path, image: np.ndarray | None = None,
                extent: tuple[float, float, float, float] | None = None, softening: float = 1.0,
                title: str = "", curves: Mapping[str, Sequence[np.ndarray]] | None = None) -> Path:
    """Observed (circles) vs predicted (crosses) multiple images over ``image``, and the offsets in sigma.

    predicted: ``L.predicted_images(values)`` (name, image, x_obs, y_obs, x_pred, y_pred, sigma,
    matched); image: the observed image (row = y, column = x, origin lower left) with ``extent`` =
    (xmin, xmax, ymin, ymax) arcsec of its pixel edges, shown with an asinh stretch of ``softening``
    (image units, e.g. the median noise). Images the fit could not match (image-plane likelihood) are
    marked by red squares in the offsets panel. curves: the best-fit critical curves (label -> (N, 2)
    polylines [arcsec], :func:`best_fit_critical_curves`), drawn as thin lines."""
    from matplotlib import colormaps
    from matplotlib.lines import Line2D
    from matplotlib.patches import Circle

    fig = new_figure(12, 5.6)
    sky, offsets = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.25, 1]})
    if image is not None:
        stretched, vmin, vmax = asinh_stretch(image, softening)
        sky.imshow(stretched, origin="lower", extent=extent, cmap="gray", vmin=vmin, vmax=vmax,
                   interpolation="nearest")
    key = [Line2D([], [], ls="none", marker="o", mfc="none", mec="0.3", label="observed"),
           Line2D([], [], ls="none", marker="x", color="0.3", label="predicted (max likelihood)")]
    for colour, (label, lines) in zip(palette(len(curves or {})), (curves or {}).items(), strict=True):
        for polyline in lines:
            polyline = np.asarray(polyline, float)
            sky.plot(polyline[:, 0], polyline[:, 1], color=colour, lw=0.7, alpha=0.8)
        key.append(Line2D([], [], color=colour, lw=0.9, label=f"critical curve {label}"))
    names = list(dict.fromkeys(predicted["name"]))
    colours = colormaps["tab10" if len(names) <= 10 else "tab20"]
    for k, name in enumerate(names):
        rows = predicted[predicted["name"] == name]
        colour = colours(k % colours.N)
        sky.scatter(rows["x_obs"], rows["y_obs"], s=60, facecolors="none", edgecolors=[colour], linewidths=1.4,
                    label=name)
        sky.scatter(rows["x_pred"], rows["y_pred"], s=40, marker="x", color=[colour], linewidths=1.4)
        for r in rows.itertuples(index=False):
            sky.annotate(r.image, (r.x_obs, r.y_obs), xytext=(4, 4), textcoords="offset points", fontsize=8,
                         color=colour)
        dx = (rows["x_pred"] - rows["x_obs"]) / rows["sigma"]
        dy = (rows["y_pred"] - rows["y_obs"]) / rows["sigma"]
        matched = rows["matched"].to_numpy(bool)
        offsets.scatter(dx[matched], dy[matched], s=30, color=[colour], label=name)
        offsets.scatter(dx[~matched], dy[~matched], s=50, marker="s", facecolors="none", edgecolors="red")
    view = images_view(predicted, extent)
    sky.set_xlim(view[0], view[1])
    sky.set_ylim(view[2], view[3])
    sky.set_aspect("equal")
    sky.legend(handles=key, loc="upper center", bbox_to_anchor=(0.5, -0.1), ncols=2, fontsize=8, frameon=False)
    sky.set_xlabel("x [arcsec] (West)")
    sky.set_ylabel("y [arcsec] (North)")
    sky.set_title(title or "observed and predicted images")
    for radius, style in ((1, "-"), (3, "--")):
        offsets.add_patch(Circle((0, 0), radius, fill=False, linestyle=style, color="0.5"))
    dxy = np.concatenate([((predicted["x_pred"] - predicted["x_obs"]) / predicted["sigma"]).to_numpy(float),
                          ((predicted["y_pred"] - predicted["y_obs"]) / predicted["sigma"]).to_numpy(float)])
    half = max(4.0, float(np.nanmax(np.abs(dxy))) * 1.1) if np.isfinite(dxy).any() else 4.0
    offsets.set_xlim(-half, half)
    offsets.set_ylim(-half, half)
    offsets.set_aspect("equal")
    offsets.axhline(0, color="0.8", lw=0.8)
    offsets.axvline(0, color="0.8", lw=0.8)
    offsets.set_xlabel("(x_pred - x_obs) / sigma")
    offsets.set_ylabel("(y_pred - y_obs) / sigma")
    offsets.set_title("offsets (circles: 1 and 3 sigma)")
    offsets.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0), ncols=2 if len(names) > 12 else 1,
                   frameon=False, title="system", title_fontsize=8)
    fig.tight_layout()
    return save_png(fig, path)
