"""Point-source datasets: the multiple images of every ``source_point`` row, with measurement noise.

The images come from :class:`clusterlens.solver.ImageFinder`, one finder (one image-plane mesh) per
source redshift, at the deflection scale D_LS/D_S of that redshift. Observed quantities
(``point_datasets.csv``):

- position: the true image position plus Normal(0, position_sigma) in x and in y [arcsec];
- flux: |mu| F plus Normal(0, flux_sigma_fraction |mu| F) for a source with flux F > 0 (the
  observed flux of an image is positive whatever its parity); blank for a source without flux;
- time delay (when enabled): the delay after the first-arriving kept image [days] plus
  Normal(0, time_delay_sigma); the first image is the reference, so its delay is exactly 0.

Images are labelled a, b, c, ... (then aa, ab, ...) in arrival order.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..cosmology import distance_ratio, time_delay_distance
from ..families import FAMILIES
from ..solver import ImageFinder

TRUE_COLUMNS = ["name", "image", "galaxy", "redshift", "x", "y", "magnification", "parity", "time_delay", "source_flux"]


def image_labels(count: int) -> list[str]:
    """Labels of ``count`` images in order: a ... z, aa ... az, ba ... (spreadsheet-column style)."""
    labels = []
    for number in range(1, count + 1):
        text = ""
        while number:
            number, rest = divmod(number - 1, 26)
            text = chr(ord("a") + rest) + text
        labels.append(text)
    return labels


def find_point_images(model, min_abs_magnification: float) -> pd.DataFrame:
    """Noise-free images of every ``source_point`` row of ``model`` (columns ``TRUE_COLUMNS``).

    x, y [arcsec]; magnification signed (1/det A); parity +1/-1; time_delay [days] after the first
    kept image of the same source (NaN when the model has no lens redshift to compute it);
    source_flux: the row's intrinsic flux (NaN when blank). Rows follow source_point.csv order, then
    arrival order. Images with |mu| < min_abs_magnification are dropped.
    """
    points = model.source_points
    if not points:
        return pd.DataFrame({c: [] for c in TRUE_COLUMNS})
    redshift = np.array([p.redshift for p in points])
    xs = np.array([p.x for p in points])
    ys = np.array([p.y for p in points])
    tables = []
    for z in np.unique(redshift):
        which = np.flatnonzero(redshift == z)
        if model.is_multiplane:   # clusterlens.multiplane: ray-traced through every plane in front of z
            lens, scale = model.lens_toward(float(z))
            finder, distance = ImageFinder(lens, scale), lens.time_delay_distance
        else:
            scale = distance_ratio(model.cosmology, model.z_lens, float(z))
            finder = ImageFinder(model.lens, scale)
            distance = float(time_delay_distance(model.cosmology, model.z_lens, float(z)))
        found = finder.find_many(xs[which], ys[which], min_abs_magnification=min_abs_magnification,
                                 time_delay_distance=distance)
        found["row"] = which[found.pop("source").to_numpy()]
        tables.append(found)
    images = pd.concat(tables, ignore_index=True)
    images = images.sort_values(["row", "time_delay"], kind="stable").reset_index(drop=True)
    rows = images["row"].to_numpy()
    first = images.groupby("row")["time_delay"].transform("min").to_numpy()
    images["time_delay"] = images["time_delay"].to_numpy() - first
    counts = images.groupby("row", sort=False).size()
    images["image"] = [label for n in counts.to_numpy() for label in image_labels(int(n))]
    images["name"] = [points[r].name for r in rows]
    images["galaxy"] = [points[r].galaxy for r in rows]
    images["redshift"] = redshift[rows]
    images["source_flux"] = [np.nan if points[r].flux is None else points[r].flux for r in rows]
    return images[TRUE_COLUMNS]


def observe_point_images(images: pd.DataFrame, settings, seed_sequence: np.random.SeedSequence) -> list:
    """Validated ``point_datasets`` rows: ``images`` (from :func:`find_point_images`) plus noise.

    settings: the dataset's [points] table (position_sigma [arcsec], flux_sigma_fraction,
    time_delays, time_delay_sigma [days]). ``seed_sequence`` spawns three independent streams
    (positions, fluxes, time delays), so switching time delays on or off leaves the position and
    flux noise unchanged. Every stream draws one value per image (and axis) whether used or not.
    """
    n = len(images)
    position_rng, flux_rng, delay_rng = (np.random.default_rng(s) for s in seed_sequence.spawn(3))
    sigma = float(settings.position_sigma)
    offsets = position_rng.normal(0.0, 1.0, size=(n, 2)) * sigma
    x = images["x"].to_numpy(float) + offsets[:, 0]
    y = images["y"].to_numpy(float) + offsets[:, 1]

    true_flux = np.abs(images["magnification"].to_numpy(float)) * images["source_flux"].to_numpy(float)
    flux_sigma = settings.flux_sigma_fraction * true_flux
    flux = true_flux + flux_rng.normal(0.0, 1.0, size=n) * flux_sigma
    has_flux = np.isfinite(true_flux) & (true_flux > 0)

    delay = images["time_delay"].to_numpy(float)
    reference = images["image"].to_numpy() == "a"
    delay = np.where(reference, 0.0, delay + delay_rng.normal(0.0, 1.0, size=n) * settings.time_delay_sigma)
    has_delay = bool(settings.time_delays) & np.isfinite(delay)

    records = []
    for i in range(n):
        records.append({
            "name": images["name"].iat[i], "image": images["image"].iat[i], "x": float(x[i]), "y": float(y[i]),
            "sigma": sigma,
            "flux": float(flux[i]) if has_flux[i] else None,
            "flux_sigma": float(flux_sigma[i]) if has_flux[i] else None,
            "time_delay": float(delay[i]) if has_delay[i] else None,
            "time_delay_sigma": float(settings.time_delay_sigma) if has_delay[i] else None,
        })
    adapter = FAMILIES["point_datasets"].adapter
    return [adapter.validate_python(r) for r in records]
