"""Training sets at scale: many labelled realisations of a cluster drawn from distributions.

- :mod:`.distributions`: population.csv, the distribution of each drawn cell;
- :mod:`.generators`: member counts, magnitudes (Schechter) and positions, background source redshifts;
- :mod:`.realise`: the seeds, rows and labels of realisation i (:func:`load_population`, :func:`realise`);
- :mod:`.simulate_one` and :mod:`.derived`: one realisation's arrays, point catalogue and derived labels;
- :mod:`.store`, :mod:`.workers`, :mod:`.dask_workers`, :mod:`.run`: ``simulate-many`` (Zarr + Parquet,
  resumable, local processes or Dask);
- :mod:`.loader`: (image, labels) pairs for training code.

    population = clusterlens.population.load_population("my_cluster")
    labels = clusterlens.population.sample(population, n=1000)     # draws only, no images
"""
from __future__ import annotations

import os

import pandas as pd

from .loader import TrainingSet, open_training_set
from .realise import Population, draw_records, load_population, make_population, realise, simulation_seed
from .run import simulate_many
from .simulate_one import Realisation, realisation_files, simulate_realisation


def sample(population: Population | str | os.PathLike, n: int | None = None, start: int = 0) -> pd.DataFrame:
    """The drawn labels of realisations start ... start+n-1 (default n: the population's), one row each,
    without simulating images: the same values ``simulate-many`` labels them with."""
    if not isinstance(population, Population):
        population = load_population(population)
    count = population.settings.n if n is None else int(n)
    rows = [{"realisation": i, **draw_records(population, i)[1]} for i in range(start, start + count)]
    return pd.DataFrame(rows)


__all__ = ["Population", "Realisation", "TrainingSet", "draw_records", "load_population", "make_population",
           "open_training_set", "realisation_files", "realise", "sample", "simulate_many", "simulate_realisation",
           "simulation_seed"]
