"""Plots of a fit: the posterior corner plot and the observed vs predicted multiple images.

Figures are built without pyplot state (:func:`clusterlens.plot.new_figure`) and written with
:func:`clusterlens.plot.png_bytes` (no software or date stamp: the same data give the same bytes)
through :func:`clusterlens.atomic.write_bytes`. Axes are arcsec from the dataset reference point, x positive
to the West (to the right: North up, East left), computed from ``dataset.toml``'s ``[imaging]``
grid rather than from the FITS WCS.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from . import atomic
from .plot import asinh_stretch, new_figure, png_bytes


def save_png(figure, path: str | Path) -> Path:
    """Write ``figure`` as a deterministic PNG, atomically."""
    return atomic.write_bytes(path, png_bytes(figure))


def parameter_labels(summary: pd.DataFrame) -> list[str]:
    """Axis labels ``key column [unit]`` of the summary's parameters."""
    return [f"{r.galaxy} {r.parameter}" + (f" [{r.unit}]" if isinstance(r.unit, str) and r.unit else "")
            for r in summary.itertuples(index=False)]


def corner_plot(samples: pd.DataFrame, summary: pd.DataFrame, path: str | Path) -> Path:
    """Corner plot of the equal-weight ``samples`` (columns = summary labels), truths marked when known.

    Contours at the 1, 2 and 3 sigma levels of a 2-D Gaussian; 16/50/84% quantiles on the diagonal."""
    import corner

    labels = list(summary["label"])
    data = samples[labels].to_numpy(float)
    truth = summary["truth"].to_numpy(float)
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
    fig = corner.corner(data, fig=new_figure(side, side), labels=parameter_labels(summary), range=spans, truths=truths,
                        truth_color="tab:red", quantiles=[0.16, 0.5, 0.84], show_titles=True, title_fmt=".3g",
                        levels=1.0 - np.exp(-0.5 * np.array([1.0, 2.0, 3.0]) ** 2), plot_datapoints=False,
                        fill_contours=True, label_kwargs={"fontsize": 9}, title_kwargs={"fontsize": 8})
    return save_png(fig, path)


def images_plot(predicted: pd.DataFrame, path: str | Path, image: np.ndarray | None = None,
                extent: tuple[float, float, float, float] | None = None, softening: float = 1.0,
                title: str = "") -> Path:
    """Observed (circles) vs predicted (crosses) multiple images over ``image``, and the offsets in sigma.

    predicted: ``L.predicted_images(values)`` (name, image, x_obs, y_obs, x_pred, y_pred, sigma,
    matched); image: the observed image (row = y, column = x, origin lower left) with ``extent`` =
    (xmin, xmax, ymin, ymax) arcsec of its pixel edges, shown with an asinh stretch of ``softening``
    (image units, e.g. the median noise). Images the fit could not match (image-plane likelihood) are
    marked by red squares in the offsets panel."""
    from matplotlib import colormaps
    from matplotlib.patches import Circle

    fig = new_figure(12, 5.6)
    sky, offsets = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.25, 1]})
    if image is not None:
        stretched, vmin, vmax = asinh_stretch(image, softening)
        sky.imshow(stretched, origin="lower", extent=extent, cmap="gray", vmin=vmin, vmax=vmax,
                   interpolation="nearest")
    names = list(dict.fromkeys(predicted["name"]))
    colours = colormaps["tab10" if len(names) <= 10 else "tab20"]
    for k, name in enumerate(names):
        rows = predicted[predicted["name"] == name]
        colour = colours(k % colours.N)
        sky.scatter(rows["x_obs"], rows["y_obs"], s=60, facecolors="none", edgecolors=[colour], linewidths=1.4,
                    label=name)
        sky.scatter(rows["x_pred"], rows["y_pred"], s=40, marker="x", color=[colour], linewidths=1.4)
        for r in rows.itertuples(index=False):
            sky.annotate(r.image, (r.x_obs, r.y_obs), xytext=(4, 4), textcoords="offset points", fontsize=7,
                         color=colour)
        dx = (rows["x_pred"] - rows["x_obs"]) / rows["sigma"]
        dy = (rows["y_pred"] - rows["y_obs"]) / rows["sigma"]
        matched = rows["matched"].to_numpy(bool)
        offsets.scatter(dx[matched], dy[matched], s=30, color=[colour], label=name)
        offsets.scatter(dx[~matched], dy[~matched], s=50, marker="s", facecolors="none", edgecolors="red")
    if extent is not None:
        sky.set_xlim(extent[0], extent[1])
        sky.set_ylim(extent[2], extent[3])
    sky.set_aspect("equal")
    sky.set_xlabel("x [arcsec] (West)")
    sky.set_ylabel("y [arcsec] (North)")
    sky.set_title(title or "observed (o) and predicted (x) images")
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
    offsets.legend(fontsize=7, loc="upper left", ncols=2 if len(names) > 6 else 1, framealpha=0.7)
    fig.tight_layout()
    return save_png(fig, path)
