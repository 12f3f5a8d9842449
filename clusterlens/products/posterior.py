"""What a product is made from: a model folder, or a fit's results folder and its posterior draws.

:func:`open_input` reads either. A results folder (``samples.csv``, ``summary.json``,
``max_likelihood/``) gives the maximum-likelihood model as the reference and posterior draws: N rows
of the equal-weight ``samples.csv`` chosen without replacement by ``numpy.random.default_rng(seed)``,
each applied to the maximum-likelihood model's free cells (its ``priors.csv`` names them, in the
order of the sample columns), one model (one lens build) per draw. The dataset folder (``data.fits``,
``point_datasets.csv``) is the one ``summary.json`` names, when it still exists.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..fit.parameters import Parameters
from ..fit.results import MAX_LIKELIHOOD, SAMPLES, FitResult, read_results
from ..model import ClusterModel, load_model

DEFAULT_SAMPLES = 100


@dataclass(frozen=True)
class ProductInput:
    """The model products are made from: ``model`` (a folder's model, or a fit's maximum-likelihood
    model), ``results`` (the fit, or None), ``dataset`` (folder with data.fits / point_datasets.csv, or None)."""

    model: ClusterModel
    results: FitResult | None
    dataset: Path | None
    source: Path

    @property
    def is_posterior(self) -> bool:
        return self.results is not None

    def draw_indices(self, n: int, seed: int) -> np.ndarray:
        """Rows of samples.csv drawn: ``min(n, rows)`` of them without replacement, sorted (seeded)."""
        if self.results is None:
            raise ValueError(f"{self.source} is a model folder, not a fit's results folder: it has no posterior")
        if int(n) < 1:
            raise ValueError(f"number of posterior samples must be >= 1, got {n}")
        rows = len(self.results.samples)
        rng = np.random.default_rng(int(seed))
        return np.sort(rng.choice(rows, size=min(int(n), rows), replace=False))

    def draws(self, n: int, seed: int) -> Iterator[ClusterModel]:
        """``n`` posterior models (module docstring); each is built when the iterator reaches it."""
        assert self.results is not None  # draw_indices raises for a model folder
        index = self.draw_indices(n, seed)
        parameters = Parameters.from_model(self.model)
        labels = [c for c in self.results.samples.columns if c != "log_likelihood"]
        if labels != parameters.labels:
            raise ValueError(f"{self.source / SAMPLES}: columns {labels} do not match the free parameters "
                             f"{parameters.labels} of {self.source / MAX_LIKELIHOOD}/priors.csv")
        values = self.results.samples[labels].to_numpy(float)[index]
        for row in values:
            yield parameters.apply(self.model, row)


def open_input(path: str | os.PathLike) -> ProductInput:
    """A model folder (dataset.toml + CSVs) or a fit's results folder (module docstring)."""
    path = Path(path)
    if (path / SAMPLES).exists():
        results = read_results(path)
        model = results.max_likelihood_model()
        named = results.info.get("dataset")
        dataset = Path(named) if named and Path(named).is_dir() else None
        return ProductInput(model, results, dataset, path)
    model = load_model(path)
    has_data = (path / "data.fits").exists() or (path / "point_datasets.csv").exists()
    return ProductInput(model, None, path if has_data else None, path)
