"""Figures of the products: magnification map with critical curves, the data image with observed and
predicted images and critical curves, the enclosed-mass profile.

Built on :func:`clusterlens.plot.new_figure` (Agg canvas, no pyplot state) and saved by
:func:`clusterlens.plot.png_bytes` (deterministic bytes). Axes follow the model convention, x [arcsec]
positive to the West to the right and y North up (the sky seen North up, East left). Legends sit
outside the axes, colour bars carry units, and no text is smaller than 8 pt.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from ..plot import asinh_stretch, new_figure

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

LABEL_PT, TICK_PT = 9, 8
CURVE_COLOURS = ("#d62728", "#ff7f0e", "#1f77b4", "#2ca02c", "#9467bd", "#8c564b")


def _box(extent: Sequence[float]) -> tuple[float, float, float, float]:
    return float(extent[0]), float(extent[1]), float(extent[2]), float(extent[3])


def _style(ax: Axes, title: str) -> None:
    ax.set_xlabel("x [arcsec] (West to the right)", fontsize=LABEL_PT)
    ax.set_ylabel("y [arcsec] (North up)", fontsize=LABEL_PT)
    ax.tick_params(labelsize=TICK_PT)
    ax.set_title(title, fontsize=LABEL_PT + 1)


def _curves(ax: Axes, curves: Mapping[float, Sequence[np.ndarray]], width: float = 1.0,
            colours: Sequence[str] = CURVE_COLOURS) -> None:
    for colour, (z, lines) in zip(list(colours) * 4, sorted(curves.items()), strict=False):
        for i, line in enumerate(lines):
            ax.plot(line[:, 0], line[:, 1], color=colour, lw=width, label=f"critical z = {z:g}" if i == 0 else None)


def _legend_below(ax: Axes) -> None:
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=min(4, len(handles)), fontsize=TICK_PT,
                  frameon=False)


def magnification_figure(magnification: np.ndarray, extent: Sequence[float], z: float,
                         curves: Mapping[float, Sequence[np.ndarray]], title: str = "") -> Figure:
    """log10 |mu| at source redshift ``z`` (image (ny, nx), row 0 at the bottom, pixel-edge ``extent``
    (xmin, xmax, ymin, ymax) [arcsec]) with the critical curves ``{z: [(N, 2) x, y arrays]}``."""
    figure = new_figure(6.4, 6.0)
    ax = figure.add_subplot()
    with np.errstate(divide="ignore"):
        shown = np.log10(np.abs(magnification))
    image = ax.imshow(np.clip(shown, -1.0, 2.0), origin="lower", extent=_box(extent), cmap="magma",
                      vmin=-1.0, vmax=2.0, interpolation="nearest")
    _curves(ax, curves, 0.9, ("#00e5ff", "#7fff00", "#ffffff"))
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    bar = figure.colorbar(image, ax=ax, fraction=0.046, pad=0.03)
    bar.set_label(f"log10 |magnification|, source at z = {z:g} (clipped to [-1, 2])", fontsize=LABEL_PT)
    bar.ax.tick_params(labelsize=TICK_PT)
    _style(ax, title or f"Magnification for z = {z:g}")
    _legend_below(ax)
    figure.tight_layout()
    return figure


def data_figure(data: np.ndarray, extent: Sequence[float], softening: float,
                curves: Mapping[float, Sequence[np.ndarray]], observed: pd.DataFrame | None,
                predicted: pd.DataFrame | None, title: str = "") -> Figure:
    """The data image (asinh stretch, ``softening`` in image units) with critical curves, observed images
    (``name``, ``image``, ``x``, ``y`` [arcsec]; circles) and predicted images (same columns; crosses)."""
    figure = new_figure(6.6, 6.6)
    ax = figure.add_subplot()
    stretched, vmin, vmax = asinh_stretch(data, softening)
    image = ax.imshow(stretched, origin="lower", extent=_box(extent), cmap="gray_r", vmin=vmin, vmax=vmax,
                      interpolation="nearest")
    _curves(ax, curves, 0.9)
    if observed is not None and len(observed):
        ax.plot(observed["x"], observed["y"], "o", ms=7, mfc="none", mec="#2ca02c", mew=1.2, label="observed image")
        for name, label, x, y in observed[["name", "image", "x", "y"]].itertuples(index=False):
            ax.annotate(f"{name}.{label}", (x, y), xytext=(4, 4), textcoords="offset points", fontsize=TICK_PT,
                        color="#1b6e1b")
    if predicted is not None and len(predicted):
        ax.plot(predicted["x"], predicted["y"], "x", ms=6, color="#9467bd", mew=1.3, label="predicted image")
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    bar = figure.colorbar(image, ax=ax, fraction=0.046, pad=0.03)
    bar.set_label(f"asinh(data / {softening:.3g}) [data in electron/s]", fontsize=LABEL_PT)
    bar.ax.tick_params(labelsize=TICK_PT)
    _style(ax, title or "Data with critical curves and images")
    _legend_below(ax)
    figure.tight_layout()
    return figure


def mass_profile_figure(table: pd.DataFrame, einstein: pd.DataFrame | None = None, title: str = "") -> Figure:
    """M(<R) [Msun] against R [arcsec] (log-log) from :func:`.mass_profile.mass_profile`, with the 68 %
    band when it has posterior columns and the effective Einstein radii (``z``, ``theta_e``) marked."""
    figure = new_figure(7.6, 4.8)
    ax = figure.add_subplot()
    r = table["radius"].to_numpy(float)
    if "mass_median" in table:
        ax.fill_between(r, table["mass_p16"], table["mass_p84"], color="#1f77b4", alpha=0.3, lw=0,
                        label=f"68 % interval ({int(table['n_samples'].iloc[0])} samples)")
        ax.plot(r, table["mass_median"], color="#1f77b4", lw=1.5, label="posterior median")
        ax.plot(r, table["mass"], color="k", lw=1.0, ls="--", label="maximum likelihood")
    else:
        ax.plot(r, table["mass"], color="#1f77b4", lw=1.5, label="model")
    if einstein is not None:
        column = "theta_e_median" if "theta_e_median" in einstein else "theta_e"
        for colour, (z, theta) in zip(CURVE_COLOURS * 4, einstein[["z", column]].itertuples(index=False),
                                      strict=False):
            if np.isfinite(theta):
                ax.axvline(theta, color=colour, lw=0.9, ls=":", label=f"Einstein radius z = {z:g}: {theta:.2f}\"")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("R [arcsec] from the centre", fontsize=LABEL_PT)
    ax.set_ylabel("projected mass M(<R) [Msun]", fontsize=LABEL_PT)
    ax.tick_params(labelsize=TICK_PT)
    ax.grid(True, which="major", lw=0.4, alpha=0.5)
    kpc = float(table["radius_kpc"].iloc[0]) / float(table["radius"].iloc[0])

    def to_kpc(arcsec: ArrayLike) -> np.ndarray:
        return np.asarray(arcsec, float) * kpc

    def to_arcsec(length: ArrayLike) -> np.ndarray:
        return np.asarray(length, float) / kpc

    top = ax.secondary_xaxis("top", functions=(to_kpc, to_arcsec))
    top.set_xlabel("R [kpc]", fontsize=LABEL_PT)
    top.tick_params(labelsize=TICK_PT)
    ax.set_title(title or "Enclosed projected mass", fontsize=LABEL_PT + 1)
    ax.legend(loc="center left", bbox_to_anchor=(1.02, 0.5), fontsize=TICK_PT, frameon=False)
    figure.tight_layout()
    return figure
