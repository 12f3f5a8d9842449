"""Predicted multiple images of a source, or the counter-images of an observed image.

``predict_images(model, ra, dec, z)`` finds every image (:func:`clusterlens.solver.find_images`) of a
point source at sky position (ra, dec) [deg] and redshift z; with ``given="image"`` the position is an
image, mapped to its source through the lens equation beta = theta - (D_LS/D_S) alpha(theta) first
(the image itself is then one of the predictions). Columns: ``image`` (1, 2, ... in arrival order),
``x``, ``y`` [arcsec], ``ra``, ``dec`` [deg], ``magnification`` (signed 1/det A), ``parity`` (+1/-1),
``time_delay`` [days after the first image]. Images fainter than ``min_abs_magnification`` (default:
the dataset's [points] setting, which the simulator uses) are left out.

``predict_posterior`` does the same for posterior draws and matches each draw's images to the
reference model's images by position (one-to-one, same parity, nearest first: a linear assignment on
the distances, pairs farther than ``match_radius`` arcsec left unmatched). For each reference image
it gives the median and the 16th/84th percentiles over the draws that matched it of x, y,
magnification and time delay (the delay of each draw from its match of reference image 1), with
RA, Dec of the median position and ``matched`` = the number of draws that have the image.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

from ..model import ClusterModel
from ..solver import find_images
from .sky import from_sky, to_sky

COLUMNS = ["image", "x", "y", "ra", "dec", "magnification", "parity", "time_delay"]
SUMMARISED = ("x", "y", "magnification", "time_delay")
DEFAULT_MATCH_RADIUS = 3.0  # arcsec
GIVEN = ("source", "image")


def source_position(model: ClusterModel, ra: float, dec: float, z: float, given: str) -> tuple[float, float]:
    """Source-plane (x, y) [arcsec] of a source at (ra, dec) [deg], or of the source of an image there."""
    if given not in GIVEN:
        raise ValueError(f"given must be one of {GIVEN}, got {given!r}")
    x, y = (float(v) for v in from_sky(ra, dec, reference=model.reference))
    if given == "source":
        return x, y
    ax, ay = model.deflections(x, y, z)
    return x - float(ax), y - float(ay)


def predict_images(model: ClusterModel, ra: float, dec: float, z: float, given: str = "source",
                   min_abs_magnification: float | None = None) -> pd.DataFrame:
    """Every image of the source (module docstring); ``min_abs_magnification`` None: the dataset's."""
    if model.z_lens is None or not float(z) > model.z_lens:
        raise ValueError(f"the source redshift must exceed the lens redshift {model.z_lens}, got {z}")
    xs, ys = source_position(model, ra, dec, z, given)
    cut = model.dataset.points.min_abs_magnification if min_abs_magnification is None else min_abs_magnification
    found = find_images(model, xs, ys, float(z), min_abs_magnification=cut)
    ra_out, dec_out = to_sky(found["x"].to_numpy(float), found["y"].to_numpy(float), model.reference,
                             skycoord=False)
    table = found.assign(image=np.arange(1, len(found) + 1), ra=ra_out, dec=dec_out)
    return table[COLUMNS].reset_index(drop=True)


def match_to_reference(reference: pd.DataFrame, images: pd.DataFrame, radius: float) -> np.ndarray:
    """For each reference image, the row of ``images`` matched to it (module docstring), or -1."""
    out = np.full(len(reference), -1)
    if not len(reference) or not len(images):
        return out
    distance = np.hypot(reference["x"].to_numpy(float)[:, None] - images["x"].to_numpy(float)[None, :],
                        reference["y"].to_numpy(float)[:, None] - images["y"].to_numpy(float)[None, :])
    same = reference["parity"].to_numpy()[:, None] == images["parity"].to_numpy()[None, :]
    cost = np.where(same & (distance <= radius), distance, 1e6 + distance)
    rows, cols = linear_sum_assignment(cost)
    good = cost[rows, cols] < 1e6
    out[rows[good]] = cols[good]
    return out


def predict_posterior(reference_model: ClusterModel, models, ra: float, dec: float, z: float, given: str = "source",
                      min_abs_magnification: float | None = None,
                      match_radius: float = DEFAULT_MATCH_RADIUS) -> pd.DataFrame:
    """Posterior summary of the images of the source (module docstring) over the ``models`` (draws)."""
    reference = predict_images(reference_model, ra, dec, z, given, min_abs_magnification)
    per_draw: dict[str, list[np.ndarray]] = {name: [] for name in SUMMARISED}
    n = 0
    for model in models:
        n += 1
        images = predict_images(model, ra, dec, z, given, min_abs_magnification)
        match = match_to_reference(reference, images, match_radius)
        for name in SUMMARISED:
            values = images[name].to_numpy(float)
            per_draw[name].append(np.where(match >= 0, values[np.maximum(match, 0)], np.nan) if len(values)
                                  else np.full(len(reference), np.nan))
    if n == 0:
        raise ValueError("no posterior draws")
    stacks = {name: np.array(rows).reshape(n, len(reference)) for name, rows in per_draw.items()}
    stacks["time_delay"] = stacks["time_delay"] - stacks["time_delay"][:, :1]
    out = pd.DataFrame({"image": reference["image"], "parity": reference["parity"]})
    matched = np.sum(np.isfinite(stacks["x"]), axis=0)
    for name, stack in stacks.items():
        with np.errstate(all="ignore"):
            ok = np.isfinite(stack).any(axis=0)
            q = np.full((3, len(reference)), np.nan)
            if ok.any():
                q[:, ok] = np.nanquantile(stack[:, ok], [0.5, 0.16, 0.84], axis=0)
        out[name], out[f"{name}_p16"], out[f"{name}_p84"] = q
    out["ra"], out["dec"] = to_sky(out["x"].to_numpy(float), out["y"].to_numpy(float), reference_model.reference,
                                   skycoord=False)
    out["matched"] = matched
    out["n_samples"] = n
    order = ["image", "x", "x_p16", "x_p84", "y", "y_p16", "y_p84", "ra", "dec", "magnification",
             "magnification_p16", "magnification_p84", "parity", "time_delay", "time_delay_p16", "time_delay_p84",
             "matched", "n_samples"]
    return out[order]


def _cell(row, name: str, digits: str) -> str:
    value = f"{row[name]:{digits}}"
    if f"{name}_p16" in row:
        value += f" [{row[f'{name}_p16']:{digits}}, {row[f'{name}_p84']:{digits}}]"
    return value


def predictions_renderable(table: pd.DataFrame, title: str):
    """A rich table of :func:`predict_images` or :func:`predict_posterior` rows (intervals in brackets)."""
    from rich import box
    from rich.table import Table

    posterior = "n_samples" in table
    shown = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, header_style="bold cyan",
                  caption=f"median [16 %, 84 %] (+/-: half the larger 68 % width of x, y) over "
                          f"{int(table['n_samples'].iloc[0])} posterior samples"
                  if posterior and len(table) else None, caption_justify="left")
    columns = ["image", "RA [deg]", "Dec [deg]", "x [\"]", "y [\"]", *(["+/- [\"]"] if posterior else []), "mu",
               "parity", "delay [days]", *(["matched"] if posterior else [])]
    for name in columns:
        shown.add_column(name, justify="right")
    for row in table.to_dict("records"):
        spread = [f"{max(row['x_p84'] - row['x_p16'], row['y_p84'] - row['y_p16']) / 2:.2g}"] if posterior else []
        cells = [str(row["image"]), f"{row['ra']:.6f}", f"{row['dec']:.6f}", f"{row['x']:.3f}", f"{row['y']:.3f}",
                 *spread, _cell(row, "magnification", ".3g"), f"{int(row['parity']):+d}",
                 _cell(row, "time_delay", ".4g")]
        shown.add_row(*cells, *([str(row["matched"])] if posterior else []))
    return shown
