"""Plot helpers (matplotlib, Agg backend, no pyplot state): the simulated-dataset preview.

Figures are built on :class:`matplotlib.figure.Figure` with an Agg canvas, so nothing depends on
an interactive backend, and :func:`png_bytes` writes PNGs without a software/version tag: the same
figure gives the same bytes. Axes follow the model convention: x (arcsec, positive to the West)
increases to the right and y (North) upwards, the usual North-up East-left view of the sky.
"""
from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def new_figure(width: float = 7.0, height: float = 6.0) -> Figure:
    """A figure with an Agg canvas (inches); matplotlib is imported here, when a plot is made."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height))
    FigureCanvasAgg(figure)
    return figure


def png_bytes(figure: Figure, dpi: int = 110) -> bytes:
    """The figure as PNG bytes, deterministic (no Software metadata, fixed dpi)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    return buffer.getvalue()


def asinh_stretch(image: np.ndarray, softening: float) -> tuple[np.ndarray, float, float]:
    """asinh(image / softening) and display limits (vmin, vmax).

    ``softening`` (same unit as the image, e.g. the typical 1-sigma noise) sets where the stretch
    turns from linear to logarithmic. vmin shows -2 softenings; vmax is the 99.9th percentile
    (at least 5 softenings), so a few bright pixels do not wash out the arcs.
    """
    if not softening > 0:
        raise ValueError(f"softening must be > 0 (image units), got {softening!r}")
    stretched = np.arcsinh(np.asarray(image, dtype=float) / softening)
    finite = stretched[np.isfinite(stretched)]
    vmax = float(np.percentile(finite, 99.9)) if finite.size else 1.0
    return stretched, float(np.arcsinh(-2.0)), max(vmax, float(np.arcsinh(5.0)))


def preview_figure(
    data: np.ndarray,
    extent: Sequence[float],
    softening: float,
    critical_curves: Mapping[str, Sequence[np.ndarray]],
    images,
    title: str = "",
    view: Sequence[float] | None = None,
) -> Figure:
    """The simulated image with critical curves and labelled observed image positions.

    data: image (ny, nx), row 0 at the bottom; extent: (xmin, xmax, ymin, ymax) of the pixel edges
    [arcsec]; softening: asinh softening (image units); critical_curves: legend label -> list of
    (N, 2) polylines (x, y) [arcsec]; images: a table with columns name, image, x, y [arcsec]
    (e.g. the rows of point_datasets.csv), each point labelled ``name`` + ``image``; view: the
    axes limits (xmin, xmax, ymin, ymax) [arcsec], by default ``extent``.
    """
    figure = new_figure(8.2, 6.4)
    ax = figure.add_subplot()
    stretched, vmin, vmax = asinh_stretch(data, softening)
    xmin, xmax, ymin, ymax = extent
    shown = ax.imshow(stretched, origin="lower", extent=(xmin, xmax, ymin, ymax), cmap="gray", vmin=vmin, vmax=vmax,
                      interpolation="nearest")
    bar = figure.colorbar(shown, ax=ax, fraction=0.046, pad=0.02)
    bar.set_label(f"asinh(data / {softening:.3g})", fontsize=9)
    bar.ax.tick_params(labelsize=8)
    colours = palette(len(critical_curves))
    for colour, (label, curves) in zip(colours, critical_curves.items(), strict=True):
        for i, curve in enumerate(curves):
            curve = np.asarray(curve, dtype=float)
            ax.plot(curve[:, 0], curve[:, 1], color=colour, lw=0.8, label=label if i == 0 else None)
    names = list(dict.fromkeys(images["name"])) if len(images) else []
    marker_colours = dict(zip(names, palette(len(names), "tab10"), strict=True))
    for name, label, x, y in zip(images["name"], images["image"], images["x"], images["y"], strict=True):
        ax.plot(x, y, "o", ms=5, mfc="none", mec=marker_colours[name], mew=1.0)
        ax.annotate(f"{name}{label}", (x, y), xytext=(3, 3), textcoords="offset points", fontsize=8,
                    color=marker_colours[name])
    view = extent if view is None else view
    ax.set_xlim(view[0], view[1])
    ax.set_ylim(view[2], view[3])
    ax.set_xlabel("x [arcsec] (West to the right)")
    ax.set_ylabel("y [arcsec] (North up)")
    if title:
        ax.set_title(title, fontsize=10)
    if critical_curves:  # beside the colour bar, off the data
        ax.legend(loc="upper left", bbox_to_anchor=(1.25, 1.0), fontsize=8, title="critical curves",
                  title_fontsize=8, frameon=False)
    figure.tight_layout()
    return figure


def legend_redshifts(redshifts: Sequence[float], most: int = 5) -> list[float]:
    """At most ``most`` of the sorted ``redshifts`` (the lowest, the highest and evenly spaced ones between):
    the source redshifts whose critical curves a plot draws, so that a catalogue of 29 redshifts gives a
    readable legend."""
    ordered = sorted(set(redshifts))
    if len(ordered) <= most:
        return ordered
    picks = np.unique(np.round(np.linspace(0, len(ordered) - 1, most)).astype(int))
    return [ordered[i] for i in picks]


def palette(count: int, name: str = "plasma") -> list:
    """``count`` colours of the matplotlib colour map ``name`` (tab10 repeats after ten)."""
    from matplotlib import colormaps

    cmap = colormaps[name]
    if name == "tab10":
        return [cmap(i % 10) for i in range(count)]
    return [cmap(v) for v in np.linspace(0.15, 0.85, count)] if count else []
