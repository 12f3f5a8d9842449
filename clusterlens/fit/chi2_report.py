"""A model's chi2 without fitting, image by image (what Lenstool users read in ``chires.dat``).

:func:`chi2_report` evaluates a likelihood at parameter values; :func:`score_folder` scores a model
folder (``clusterlens chi2``). The per-image table (:data:`IMAGE_COLUMNS`): ``name``, ``image``,
``x_obs``, ``y_obs``, ``x_model``, ``y_model`` [arcsec] (the predicted image; for an unmatched image of
Lenstool's statistic its observed position), ``mu`` (signed magnification at the observed image),
``chi2`` (its positional term) and ``matched``. Per system: ``chi2``, ``rms_image`` = sqrt(mean
|theta_model - theta_obs|^2) over its matched images and ``rms_source`` = sqrt(mean |beta_i - beta_k|^2)
(beta_i back-traced images, beta_k the model source), both in arcsec, as Lenstool's rmsi and rmss.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..csvio import frame_text, read_family
from ..model import ClusterModel, load_model
from ..plain_json import json_ready
from .point_likelihood import PointLikelihood, likelihood_choice, make_likelihood

IMAGE_COLUMNS = ["name", "image", "x_obs", "y_obs", "x_model", "y_model", "mu", "chi2", "matched"]


@dataclass(frozen=True)
class Chi2Report:
    """Totals (``chi2``: positions + fluxes + delays; ``dof``; ``chi2_pos``, ``chi2_flux``, ``chi2_td``),
    the per-system table ``systems`` (name, n_images, chi2, rms_image, rms_source) and the per-image
    table ``images`` (:data:`IMAGE_COLUMNS`) of one likelihood (``likelihood``: its kind, ``forme``)."""

    likelihood: str
    forme: int | None
    chi2: float
    dof: int
    chi2_pos: float
    chi2_flux: float
    chi2_td: float
    systems: pd.DataFrame
    images: pd.DataFrame

    @property
    def n_unmatched(self) -> int:
        return int((~self.images["matched"]).sum())

    def as_json(self) -> dict:
        """One JSON-ready dict: chi2, dof, systems (name -> chi2, rms_image, rms_source), images (rows)."""
        systems = {r["name"]: {"chi2": r["chi2"], "rms_image": r["rms_image"], "rms_source": r["rms_source"]}
                   for r in self.systems.to_dict("records")}
        return json_ready({"likelihood": self.likelihood, "forme": self.forme, "chi2": self.chi2, "dof": self.dof,
                           "chi2_pos": self.chi2_pos, "chi2_flux": self.chi2_flux, "chi2_td": self.chi2_td,
                           "n_unmatched": self.n_unmatched, "systems": systems,
                           "images": self.images.to_dict("records")})

    def __rich__(self):
        from rich.console import Group
        from rich.table import Table
        from rich.text import Text

        def number(value) -> str:
            return "" if value is None or not np.isfinite(value) else f"{value:.3f}"

        kind = self.likelihood + (f" (forme {self.forme})" if self.forme is not None else "")
        systems = Table(title=Text(f"{kind} likelihood: chi2 = {self.chi2:.2f}, dof {self.dof}, "
                                   f"{len(self.images)} images, {self.n_unmatched} unmatched"),
                        title_justify="left", header_style="bold cyan")
        for column in ("system", "images", "chi2", "rms image [\"]", "rms source [\"]"):
            systems.add_column(column, justify="left" if column == "system" else "right")
        for r in self.systems.to_dict("records"):
            systems.add_row(str(r["name"]), str(r["n_images"]), number(r["chi2"]), number(r["rms_image"]),
                            number(r["rms_source"]))
        images = Table(header_style="bold cyan")
        for column in ("image", "x obs", "y obs", "x model", "y model", "mu", "chi2", "matched"):
            images.add_column(column, justify="left" if column == "image" else "right")
        for r in self.images.to_dict("records"):
            images.add_row(str(r["image"]), *(number(r[c]) for c in ("x_obs", "y_obs", "x_model", "y_model", "mu",
                                                                       "chi2")),
                           Text("yes") if r["matched"] else Text("no", style="bold red"))
        return Group(systems, images)


def chi2_report(likelihood: PointLikelihood, values) -> Chi2Report:
    """The report of ``likelihood`` (a :class:`~clusterlens.fit.point_likelihood.PointLikelihood`) at ``values``."""
    out = likelihood.evaluate(values)
    totals = likelihood.chi2(values)
    im = likelihood.images
    n = im.n_systems
    images = pd.DataFrame({"name": [im.names[k] for k in im.system], "image": list(im.labels), "x_obs": im.x,
                           "y_obs": im.y, "x_model": out.x_pred, "y_model": out.y_pred, "mu": out.magnification,
                           "chi2": out.chi2_images, "matched": out.matched}, columns=IMAGE_COLUMNS)
    offset2 = np.where(out.matched, (out.x_pred - im.x) ** 2 + (out.y_pred - im.y) ** 2, 0.0)
    n_matched = np.bincount(im.system, out.matched.astype(float), minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        rms_image = np.sqrt(np.bincount(im.system, offset2, minlength=n) / n_matched)
    source2 = (out.beta_x - out.source_x[im.system]) ** 2 + (out.beta_y - out.source_y[im.system]) ** 2
    count = np.bincount(im.system, minlength=n)
    systems = pd.DataFrame({"name": list(im.names), "n_images": count,
                            "chi2": np.bincount(im.system, out.chi2_images, minlength=n), "rms_image": rms_image,
                            "rms_source": np.sqrt(np.bincount(im.system, source2, minlength=n) / count)})
    return Chi2Report(likelihood.kind, likelihood.forme if likelihood.kind == "lenstool" else None,
                      float(totals["chi2"]), int(totals["dof"]), float(totals["chi2_pos"]), float(totals["chi2_flux"]),
                      float(totals["chi2_td"]), systems, images)


def chires_bytes(report: Chi2Report) -> bytes:
    """The per-image table as the CSV ``chires.csv`` (the one clusterlens CSV writer)."""
    return frame_text(report.images).encode()


def score_folder(folder: str | os.PathLike, likelihood: str | None = None) -> Chi2Report:
    """The report of a model folder at its CSV values (no fit).

    ``folder``: a dataset folder (model + point_datasets.csv) or a fit's ``max_likelihood``/``median``
    folder, whose observed images are read from the fitted dataset named in the results folder's
    summary.json. ``likelihood``: "source", "image" or "lenstool" (None: dataset.toml's ``[fit]``
    likelihood, else "source"); the lenstool forme comes from ``[fit]`` (default -2)."""
    model = _model_with_images(Path(folder))
    kind, options = likelihood_choice(model.dataset, likelihood, {})
    if kind == "lenstool":
        options["image_search"] = "finder"  # a report looks for every image; a fit keeps to Lenstool's search
    L = make_likelihood(model, kind, **options)
    return chi2_report(L, L.parameters.values(model))


def _model_with_images(folder: Path) -> ClusterModel:
    model = load_model(folder)
    if model.point_datasets:
        return model
    summary = folder.parent / "summary.json"
    try:
        dataset = Path(json.loads(summary.read_text())["dataset"])
    except (OSError, ValueError, KeyError):
        raise ValueError(f"{folder} has no point_datasets.csv (and is not a fit's result folder whose summary.json "
                         "names its dataset): nothing to score") from None
    images = read_family(dataset / "point_datasets.csv")
    return model.with_rows("point_datasets", images.rows)
