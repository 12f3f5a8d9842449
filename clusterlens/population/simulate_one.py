"""Simulate one realisation: its images, maps, point catalogue and labels, or its dataset folder files.

The imaging and point noise come from ``SeedSequence(simulation_seed).spawn(2)`` exactly as
``clusterlens simulate --seed simulation_seed`` draws them, so the arrays of realisation i equal the
data.fits / noise_map.fits of its ``--folders`` folder.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..model import model_files
from ..simulation import imaging
from ..simulation.dataset_folder import check_simulable, dataset_files, simulate_image, simulate_points
from . import derived
from .realise import Population, realise, simulation_seed

#: Columns of the point catalogue table (one row per observed image).
POINT_COLUMNS = ("realisation", "name", "image", "galaxy", "redshift", "x", "y", "x_true", "y_true",
                 "magnification", "parity", "flux", "time_delay")


@dataclass(frozen=True)
class Realisation:
    """One simulated realisation: ``labels`` ({name: value}), ``arrays`` ({output: (ny, nx) float32
    array}: images and noise_maps [electrons/s per pixel], kappa and magnification at the reference
    redshift) and ``points`` (the point catalogue, :data:`POINT_COLUMNS`)."""

    index: int
    labels: dict[str, float | int]
    arrays: dict[str, np.ndarray]
    points: pd.DataFrame


def _point_table(index: int, true_images: pd.DataFrame, observed: list) -> pd.DataFrame:
    frame = pd.DataFrame({
        "realisation": np.full(len(observed), index, dtype=np.int64),
        "name": true_images["name"].astype(str).to_numpy(), "image": true_images["image"].astype(str).to_numpy(),
        "galaxy": true_images["galaxy"].astype(str).to_numpy(),
        "redshift": true_images["redshift"].to_numpy(float),
        "x": np.array([r.x for r in observed], dtype=float), "y": np.array([r.y for r in observed], dtype=float),
        "x_true": true_images["x"].to_numpy(float), "y_true": true_images["y"].to_numpy(float),
        "magnification": true_images["magnification"].to_numpy(float),
        "parity": true_images["parity"].to_numpy(float),
        "flux": np.array([np.nan if r.flux is None else r.flux for r in observed], dtype=float),
        "time_delay": np.array([np.nan if r.time_delay is None else r.time_delay for r in observed], dtype=float),
    })
    return frame[list(POINT_COLUMNS)]


def simulate_realisation(population: Population, index: int, outputs=None) -> Realisation:
    """Realisation ``index``: draws (:func:`.realise.realise`), simulation and derived labels.

    outputs: the arrays to keep (default: the population's ``outputs``); the labels always hold the
    drawn values, ``realisation``, ``seed`` (the simulation seed), ``einstein_radius`` [arcsec] at the
    reference redshift (:func:`.derived.einstein_radius`) and ``n_images.<name>`` of each point source.
    """
    settings = population.settings
    outputs = tuple(settings.outputs if outputs is None else outputs)
    model, drawn = realise(population, index)
    check_simulable(model)
    seed = simulation_seed(settings.seed, index)
    imaging_seed, points_seed = np.random.SeedSequence(seed).spawn(2)
    grid = model.dataset.imaging
    x, y = imaging.pixel_centres(grid.shape, grid.pixel_scale, grid.center_x, grid.center_y)
    kappa = model.convergence(x, y, settings.reference_redshift)
    arrays: dict[str, np.ndarray] = {}
    if "images" in outputs or "noise_maps" in outputs:
        image = simulate_image(model, imaging_seed)
        arrays.update({"images": image.data, "noise_maps": image.noise_map})
    if "kappa" in outputs:
        arrays["kappa"] = kappa
    if "magnification" in outputs:
        arrays["magnification"] = model.magnification(x, y, settings.reference_redshift)
    true_images, observed = simulate_points(model, points_seed)
    labels = {"realisation": index, "seed": seed, **drawn,
              "einstein_radius": derived.einstein_radius(kappa, x, y, *derived.lens_centre(model)),
              **derived.images_per_source(true_images, [p.name for p in model.source_points])}
    kept = {k: np.asarray(v, dtype=np.float32) for k, v in arrays.items() if k in outputs}
    return Realisation(index, labels, kept, _point_table(index, true_images, observed))


def realisation_files(population: Population, index: int) -> dict[str, bytes]:
    """Every file of realisation ``index`` as an ordinary dataset folder (what ``clusterlens simulate``
    writes), which ``clusterlens validate`` and ``clusterlens fit`` read."""
    model, _ = realise(population, index)
    return dataset_files(model, model_files(model), simulation_seed(population.settings.seed, index))
