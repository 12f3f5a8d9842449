"""Reading a training set back: (image, labels) pairs for training code, and the labels table.

    data = clusterlens.population.open_training_set("train/")
    for image, labels in data:        # image: (ny, nx) float32 numpy array, labels: {name: value}
        ...
    data.labels                       # the labels table (pandas DataFrame, one row per realisation)
    data.array("kappa")               # a Zarr array (n, ny, nx): slice it, or wrap it with dask.array.from_zarr

Needs the ``ml`` extra (zarr, pyarrow).
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .store import ARRAYS, LABELS, POINTS, _zarr, read_parquet


class TrainingSet:
    """A finished ``simulate-many`` store (:mod:`.store`): pairs of ``key`` arrays (default images) and labels."""

    def __init__(self, folder: str | os.PathLike, key: str = "images"):
        self.folder = Path(folder)
        if not (self.folder / LABELS).is_file():
            raise FileNotFoundError(f"{self.folder} has no {LABELS}: not a finished simulate-many store "
                                    "(run the same command again to finish it)")
        self.key = key
        self.array(key)  # a clear error now for an output the run did not keep

    @cached_property
    def labels(self) -> pd.DataFrame:
        """One row per realisation: every drawn parameter and derived label."""
        return read_parquet(self.folder / LABELS)

    @cached_property
    def points(self) -> pd.DataFrame:
        """The point catalogue of every realisation (column ``realisation``)."""
        return read_parquet(self.folder / POINTS)

    def array(self, name: str) -> Any:
        """The Zarr array ``name`` (images, noise_maps, kappa or magnification), shape (n, ny, nx)."""
        group = _zarr().open_group(str(self.folder / ARRAYS), mode="r")
        if name not in group:
            raise KeyError(f"{self.folder} holds no {name!r} array; it has {', '.join(sorted(group.array_keys()))}")
        return group[name]

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[np.ndarray, dict[str, Any]]:
        row = self.labels.iloc[[index]].to_dict("records")[0]  # one-row frame: each column keeps its type
        return np.asarray(self.array(self.key)[index]), {str(k): v for k, v in row.items()}

    def __iter__(self) -> Iterator[tuple[np.ndarray, dict[str, Any]]]:
        array = self.array(self.key)
        for index, row in enumerate(self.labels.to_dict("records")):
            yield np.asarray(array[index]), {str(k): v for k, v in row.items()}


def open_training_set(folder: str | os.PathLike, key: str = "images") -> TrainingSet:
    """The training set in ``folder`` yielding (``key`` array, labels) pairs (:class:`TrainingSet`)."""
    return TrainingSet(folder, key)
