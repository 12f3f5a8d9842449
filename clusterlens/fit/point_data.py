"""The point likelihood's data and results: the observed images as arrays, one evaluation's terms, and the
choice of likelihood kind for a dataset (:mod:`clusterlens.fit.point_likelihood` computes them).

Angles in arcsec, time delays in days, fluxes in the dataset's units."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ..dataset import DatasetConfig
from ..model import ClusterModel
from ..sampling_methods import LIKELIHOODS


@dataclass(frozen=True)
class ObservedImages:
    """point_datasets.csv as arrays; ``system`` indexes ``names`` (one entry per source_point name)."""

    names: tuple[str, ...]
    labels: tuple[str, ...]
    system: np.ndarray
    x: np.ndarray
    y: np.ndarray
    sigma: np.ndarray
    flux: np.ndarray
    flux_sigma: np.ndarray
    time_delay: np.ndarray
    time_delay_sigma: np.ndarray

    @classmethod
    def from_model(cls, model: ClusterModel) -> ObservedImages:
        rows = model.point_datasets
        if not rows:
            where = model.folder / "point_datasets.csv" if model.folder is not None else "the dataset"
            raise ValueError(f"{where}: no rows (only a header, or no file): no observed images to fit")
        names = tuple(dict.fromkeys(r.name for r in rows))
        code = {n: i for i, n in enumerate(names)}

        def col(name):
            return np.array([np.nan if getattr(r, name) is None else getattr(r, name) for r in rows], float)

        return cls(names, tuple(r.image for r in rows), np.array([code[r.name] for r in rows]),
                   col("x"), col("y"), col("sigma"), col("flux"), col("flux_sigma"), col("time_delay"),
                   col("time_delay_sigma"))

    @property
    def n_systems(self) -> int:
        return len(self.names)


def sum_by(system: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Sum of ``values`` over each of the ``n`` systems (``system``: index per image), in input order."""
    return np.bincount(system, weights=values, minlength=n)


@dataclass(frozen=True)
class Evaluation:
    """Every term of the likelihood at one parameter vector (:meth:`PointLikelihood.evaluate`).

    Per system: source_x, source_y [arcsec] (the solved best source). Per observed image:
    magnification (signed), chi2_images (its positional chi2 term), x_pred, y_pred [arcsec] (its
    predicted position), matched (False for a missing image of the image-plane likelihood or an
    unmatched one of Lenstool's), beta_x, beta_y [arcsec] (its back-traced source position). Totals:
    chi2_pos, chi2_flux, chi2_td and chi2 = their sum; chi2_missing: the penalty of the lenstool kind's
    unmatched images, which log L adds to chi2 (0 for the other kinds, whose chi2 includes theirs).
    """

    source_x: np.ndarray
    source_y: np.ndarray
    magnification: np.ndarray
    chi2_images: np.ndarray
    x_pred: np.ndarray
    y_pred: np.ndarray
    matched: np.ndarray
    chi2_pos: float
    chi2_flux: float
    chi2_td: float
    chi2: float
    beta_x: np.ndarray
    beta_y: np.ndarray
    chi2_missing: float = 0.0


def likelihood_choice(config: DatasetConfig, likelihood: str | None, options: Mapping) -> tuple[str, dict]:
    """The likelihood kind and ``make_likelihood`` options of a fit of a dataset (``config``: its
    dataset.toml): ``likelihood`` if given, else ``[fit] likelihood``, else "source"; the lenstool kind
    gets ``forme`` from ``options``, else from ``[fit]``, else -2."""
    defaults = config.fit
    kind = likelihood if likelihood is not None else defaults.likelihood if defaults is not None else "source"
    if kind not in LIKELIHOODS:
        raise ValueError(f"likelihood must be one of {', '.join(LIKELIHOODS)}, got {kind!r}")
    options = dict(options)
    if kind == "lenstool":
        options.setdefault("forme", defaults.forme if defaults is not None else -2)
    return kind, options
