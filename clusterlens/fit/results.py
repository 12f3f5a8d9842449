"""A finished fit as files: posterior samples, parameter summary, run summary and best-fit model folders.

``write_results(folder, ...)`` writes every file into a temporary folder first, then moves them into
``folder`` together (:func:`clusterlens.outputs.publish`: the previous results are put back if a move
fails), replacing only the files it wrote before (recorded in ``outputs.json``); other files in
``folder``, e.g. a user's notes in ``median/``, stay:

- ``samples.csv``: equal-weight posterior samples (systematic resampling of dynesty's weighted
  samples, seeded), one column per free parameter label ``family.key.column`` plus ``log_likelihood``;
- ``summary.csv``: per parameter ``label, family, galaxy`` (the row key; the tier for
  scaling_relations), ``parameter`` (the column), ``unit``, the weighted posterior ``median, p16, p84,
  p2.5, p97.5``, ``max_likelihood`` and ``truth`` (the dataset's CSV value when the dataset is a
  simulation, i.e. has ``manifest.json``; blank otherwise);
- ``chires.csv``: the maximum-likelihood model image by image (:mod:`clusterlens.fit.chi2_report`:
  observed and predicted positions, magnification, chi2, matched), as Lenstool's chires.dat;
- ``summary.json``: log-evidence and its error, sampler settings, run time, likelihood calls,
  iterations, the maximum-likelihood values of ``max_likelihood/`` and the chi2 there, seed, versions;
- ``max_likelihood/`` and ``median/``: the dataset's model with the free cells set to the
  maximum-likelihood sample or to the posterior medians, each rounded to the decimal place its
  posterior width justifies (:func:`fitted_values`: it moves by less than 1e-3 sigma, and the files
  carry no binary noise; ``summary.csv`` keeps the unrounded values), and the point sources at the positions the
  likelihood solves for (:func:`fitted_model`), in the family CSV format with
  ``dataset.toml`` and ``priors.csv`` and without ``point_datasets.csv`` (``load_model`` reads them
  and the simulator re-simulates them; the median model is skipped when the medians make a row
  invalid, e.g. r_core >= r_cut).

``read_results(folder)`` loads them back as a :class:`FitResult`.
"""
from __future__ import annotations

import html
import json
import os
import tempfile
import textwrap
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from .. import atomic, csvio, outputs, table_view
from ..cell_text import round_to_width
from ..families import FAMILIES
from ..model import ClusterModel, load_model, model_files
from ..plain_json import json_ready
from .chi2_report import chi2_report, chires_bytes

SAMPLES = "samples.csv"
SUMMARY = "summary.csv"
SUMMARY_JSON = "summary.json"
CHIRES = "chires.csv"
MAX_LIKELIHOOD = "max_likelihood"
MEDIAN = "median"
SUMMARY_COLUMNS = ["label", "family", "galaxy", "parameter", "unit", "median", "p16", "p84", "p2.5", "p97.5",
                   "max_likelihood", "truth"]
#: The files and folders of a results folder that :func:`write_results` writes (and replaces).
RESULTS = (SAMPLES, SUMMARY, SUMMARY_JSON, CHIRES, MAX_LIKELIHOOD, MEDIAN)
QUANTILES = {"p2.5": 0.025, "p16": 0.16, "median": 0.5, "p84": 0.84, "p97.5": 0.975}


# ---------------------------------------------------------------- posterior statistics
def posterior_weights(results) -> np.ndarray:
    """Normalised importance weights of dynesty's samples (sum to 1)."""
    logwt = np.asarray(results.logwt, float)
    weights = np.exp(logwt - logwt.max())
    return weights / weights.sum()


def equal_weight_samples(results, labels: list[str], seed: int) -> pd.DataFrame:
    """Equal-weight posterior samples (dynesty's systematic resampling, ``default_rng(seed)``)."""
    from dynesty.utils import resample_equal

    weights = posterior_weights(results)
    index = resample_equal(np.arange(len(weights)), weights, rstate=np.random.default_rng(seed))
    frame = pd.DataFrame(np.asarray(results.samples, float)[index], columns=labels)
    frame["log_likelihood"] = np.asarray(results.logl, float)[index]
    return frame


def max_likelihood_index(results) -> int:
    return int(np.argmax(np.asarray(results.logl, float)))


def parameter_summary(results, parameters, truth: np.ndarray | None = None) -> pd.DataFrame:
    """One row per free parameter (columns ``SUMMARY_COLUMNS``); ``truth`` None leaves that column blank."""
    from dynesty.utils import quantile

    samples = np.asarray(results.samples, float)
    weights = posterior_weights(results)
    best = samples[max_likelihood_index(results)]
    rows = []
    for i, p in enumerate(parameters.free):
        q = dict(zip(QUANTILES, quantile(samples[:, i], list(QUANTILES.values()), weights=weights), strict=True))
        rows.append({"label": p.label, "family": p.family, "galaxy": p.key, "parameter": p.column,
                     "unit": FAMILIES[p.family].unit(p.column), **q, "max_likelihood": best[i],
                     "truth": None if truth is None else float(truth[i])})
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


# ---------------------------------------------------------------- files
def json_bytes(data: dict) -> bytes:
    return (json.dumps(json_ready(data), indent=2) + "\n").encode("utf-8")


def fitted_values(values: np.ndarray, width: np.ndarray) -> np.ndarray:
    """Free-parameter ``values`` rounded for the model folders: each to the decimal place its posterior
    half-width (p84 - p16) / 2, same unit, justifies (:func:`clusterlens.cell_text.round_to_width`)."""
    return np.array([round_to_width(float(v), float(w)) for v, w in zip(values, width, strict=True)])


def model_without_data(model: ClusterModel) -> ClusterModel:
    """``model`` without ``point_datasets.csv`` (a fitted model is re-simulated, not re-observed)."""
    tables = {name: table for name, table in model.tables.items() if name != "point_datasets"}
    return replace(model, tables=tables, folder=None)


def fitted_model(likelihood, values: np.ndarray) -> ClusterModel:
    """The dataset model with the free cells set to ``values`` and each fitted point source moved to the
    source position the likelihood solves for (``source_x, source_y``); the source_light rows of the
    same galaxy move with it, so a re-simulation of the model puts its images where the fit does."""
    model = likelihood.parameters.apply(likelihood.model, values)
    solved = likelihood.evaluate(values)
    position = dict(zip(likelihood.images.names, zip(solved.source_x, solved.source_y, strict=True), strict=True))
    shift: dict[str, tuple[float, float]] = {}
    points = list(model.rows("source_point"))
    for i, row in enumerate(points):
        if row.name in position:
            x, y = (float(v) for v in position[row.name])
            shift.setdefault(row.galaxy, (x - row.x, y - row.y))
            points[i] = type(row).model_validate({**row.model_dump(exclude_none=True), "x": x, "y": y})
    light = [type(r).model_validate({**r.model_dump(exclude_none=True), "x": r.x + shift[r.galaxy][0],
                                     "y": r.y + shift[r.galaxy][1]}) if r.galaxy in shift else r
             for r in model.rows("source_light")]
    model = model.with_rows("source_point", points)
    return model.with_rows("source_light", light) if "source_light" in model.tables else model


def write_model_folder(model: ClusterModel, folder: Path) -> Path:
    """Save ``model``'s files into ``folder`` (each atomically; other files of ``folder`` stay)."""
    atomic.write_files(folder, model_files(model))
    return Path(folder)


def write_results(folder: Path, results, likelihood, info: dict, truth: np.ndarray | None, seed: int) -> FitResult:
    """Write samples, summaries and the best-fit model folders of ``results`` (module docstring).

    ``likelihood`` is the fitted likelihood (its ``parameters``, ``model`` and ``chi2``); ``info`` the
    run's description for summary.json (settings, run time, ...); ``truth`` the simulated values of
    the free parameters (or None)."""
    folder = Path(folder)
    parameters = likelihood.parameters
    labels = parameters.labels
    samples = equal_weight_samples(results, labels, seed)
    summary = parameter_summary(results, parameters, truth)
    width = (summary["p84"].to_numpy(float) - summary["p16"].to_numpy(float)) / 2
    best = fitted_values(np.asarray(results.samples, float)[max_likelihood_index(results)], width)
    logz = np.asarray(results.logz, float)
    logzerr = np.asarray(results.logzerr, float)
    weights = posterior_weights(results)
    info = {
        **info,
        "labels": labels,
        "log_evidence": logz[-1],
        "log_evidence_error": logzerr[-1],
        "information_nats": np.asarray(results.information, float)[-1],
        "niter": int(results.niter),
        "n_samples": len(weights),
        "n_effective": 1.0 / np.sum(weights ** 2),
        "likelihood_calls": int(np.sum(results.ncall)),
        "efficiency_percent": float(results.eff),
        "max_likelihood": {"log_likelihood": float(np.max(results.logl)),
                           "values": dict(zip(labels, best, strict=True)), "chi2": likelihood.chi2(best)},
        "seed": seed,
    }
    outputs.check_real_folder(folder)
    folder.mkdir(parents=True, exist_ok=True)
    previous = [f for f in outputs.read_record(folder) or [] if f.split("/")[0] in RESULTS]
    with tempfile.TemporaryDirectory(dir=folder, prefix=".results-") as tmp:
        staging = Path(tmp)
        atomic.write_files(staging, {SAMPLES: csvio.frame_text(samples).encode(),
                                     SUMMARY: csvio.frame_text(summary).encode(), SUMMARY_JSON: json_bytes(info),
                                     CHIRES: chires_bytes(chi2_report(likelihood, best))})
        write_model_folder(model_without_data(fitted_model(likelihood, best)), staging / MAX_LIKELIHOOD)
        try:
            median = fitted_model(likelihood, fitted_values(summary["median"].to_numpy(float), width))
        except ValueError as err:
            info["median_model"] = f"not written: {err}"
            atomic.write_bytes(staging / SUMMARY_JSON, json_bytes(info))
        else:
            write_model_folder(model_without_data(median), staging / MEDIAN)
        written = outputs.publish(staging, folder, previous)
    recorded = outputs.read_record(folder) or []
    atomic.write_bytes(folder / outputs.RECORD,
                       outputs.record_bytes([f for f in recorded if f not in previous] + written))
    return FitResult(folder, samples, summary, json.loads(json_bytes(info)))


# ---------------------------------------------------------------- reading back
@dataclass(frozen=True, repr=False)
class FitResult:
    """A fit's results folder: ``samples`` (equal weight), ``summary`` (per parameter), ``info`` (summary.json)."""

    folder: Path
    samples: pd.DataFrame
    summary: pd.DataFrame
    info: dict

    @property
    def log_evidence(self) -> float:
        return self.info["log_evidence"]

    @property
    def log_evidence_error(self) -> float:
        return self.info["log_evidence_error"]

    @property
    def labels(self) -> list[str]:
        return list(self.summary["label"])

    @property
    def max_likelihood_values(self) -> np.ndarray:
        """The maximum-likelihood sample, in ``labels`` order."""
        values = self.info["max_likelihood"]["values"]
        return np.array([values[label] for label in self.labels], float)

    def max_likelihood_model(self) -> ClusterModel:
        """The maximum-likelihood model (``max_likelihood/``), loaded and validated."""
        return load_model(self.folder / MAX_LIKELIHOOD)

    def median_model(self) -> ClusterModel:
        """The posterior-median model (``median/``), loaded and validated."""
        return load_model(self.folder / MEDIAN)

    def __repr__(self) -> str:
        """One screen: the folder, free parameters, samples, log-evidence, chi2 (``str`` has the table)."""
        return result_summary(self)

    def __str__(self) -> str:
        """The posterior table as plain text (returned, not printed)."""
        return table_view.plain_text(summary_table(self))

    def __rich__(self):
        return summary_table(self)

    def _repr_html_(self) -> str:
        """An HTML fragment of the posterior table: what a notebook shows for a result."""
        return table_view.html_block(html.escape(_title(self)), [table_view.html_table(summary_view(self))],
                                     [html.escape(_caption(self))] if _caption(self) else [])

    def show(self, console=None) -> None:
        """Print the posterior table (to ``console``, default stdout)."""
        table_view.print_renderable(summary_table(self), console)


def read_results(folder: str | os.PathLike) -> FitResult:
    """Load a results folder written by :func:`write_results`."""
    folder = Path(folder)
    missing = [n for n in (SAMPLES, SUMMARY, SUMMARY_JSON) if not (folder / n).exists()]
    if missing:
        raise FileNotFoundError(f"{folder}: not a finished fit (missing {', '.join(missing)})")
    summary = pd.read_csv(folder / SUMMARY, dtype={"galaxy": str, "unit": str}, keep_default_na=False,
                          na_values={c: [""] for c in SUMMARY_COLUMNS[5:]})
    return FitResult(folder, pd.read_csv(folder / SAMPLES), summary, json.loads((folder / SUMMARY_JSON).read_text()))


# ---------------------------------------------------------------- terminal display
def _number(value) -> str:
    return "" if value is None or not np.isfinite(value) else f"{value:.4g}"


def _title(result: FitResult) -> str:
    info = result.info
    return (f"{result.folder}: log Z = {info['log_evidence']:.2f} +/- {info['log_evidence_error']:.2f}, "
            f"{info['niter']} iterations, {info['likelihood_calls']} likelihood calls")


def _caption(result: FitResult) -> str:
    chi2 = result.info.get("max_likelihood", {}).get("chi2") or {}
    text = ", ".join(f"{k} {_number(v)}" for k, v in chi2.items() if isinstance(v, (int, float)))
    return f"at max likelihood: {text}" if text else ""


def result_summary(result: FitResult) -> str:
    """A few lines: folder, likelihood and sampler, free parameters, samples, log-evidence, chi2."""
    info = result.info
    sampler = info.get("sampler", {})
    sampler_name = sampler.get("name", "dynesty") if isinstance(sampler, dict) else ""
    effective = info.get("n_effective")
    lines = [f"<FitResult {result.folder}>",
             f"  {info.get('likelihood', '?')} likelihood{', ' + sampler_name if sampler_name else ''}; "
             f"{len(result.labels)} free parameters: {', '.join(result.labels)}",
             f"  {len(result.samples)} equal-weight samples"
             + (f" ({effective:.0f} effective)" if isinstance(effective, (int, float)) else "")
             + f", log Z = {info['log_evidence']:.2f} +/- {info['log_evidence_error']:.2f}, "
               f"{info['niter']} iterations, {info['likelihood_calls']} likelihood calls"]
    if _caption(result):
        lines.append(f"  {_caption(result)}")
    return "\n".join(textwrap.fill(line, 110, subsequent_indent="    ") for line in lines)


def summary_view(result: FitResult) -> table_view.TableView:
    """The posterior table (median, 68% and 95% intervals, max likelihood, truth) as a :class:`TableView`."""
    has_truth = result.summary["truth"].notna().any()
    columns = ("parameter", "median", "68% interval", "95% interval", "max like.", *(("truth",) if has_truth else ()))
    rows = []
    for r in result.summary.to_dict("records"):
        unit = f" [{r['unit']}]" if isinstance(r["unit"], str) and r["unit"] else ""
        cells = [f"{r['galaxy']} {r['parameter']}{unit}", _number(r["median"]),
                 f"{_number(r['p16'])} .. {_number(r['p84'])}", f"{_number(r['p2.5'])} .. {_number(r['p97.5'])}",
                 _number(r["max_likelihood"]), *((_number(r["truth"]),) if has_truth else ())]
        rows.append(tuple(table_view.Cell(c) for c in cells))
    return table_view.TableView(_title(result), tuple((c, "") for c in columns), tuple(rows), _caption(result) or None,
                                frozenset(columns[1:]))


def summary_table(result: FitResult):
    """A rich table of the posterior: median, 68% and 95% intervals, maximum likelihood, truth.

    A truth outside the 95% interval is shown in red."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    info = result.info
    title = (f"{result.folder}: log Z = {info['log_evidence']:.2f} +/- {info['log_evidence_error']:.2f}, "
             f"{info['niter']} iterations, {info['likelihood_calls']} likelihood calls")
    chi2 = info.get("max_likelihood", {}).get("chi2") or {}
    caption = ", ".join(f"{k} {_number(v)}" for k, v in chi2.items() if isinstance(v, (int, float)))
    table = Table(title=Text(title), title_justify="left", header_style="bold cyan", box=box.SIMPLE_HEAD,
                  caption=Text(f"at max likelihood: {caption}") if caption else None, caption_justify="left")
    has_truth = result.summary["truth"].notna().any()
    columns = ("parameter", "median", "68% interval", "95% interval", "max like.", *(("truth",) if has_truth else ()))
    for name in columns:
        table.add_column(name, justify="left" if name == "parameter" else "right")
    for r in result.summary.to_dict("records"):
        unit = f" [{r['unit']}]" if isinstance(r["unit"], str) and r["unit"] else ""
        cells = [Text(t) for t in (f"{r['galaxy']} {r['parameter']}{unit}", _number(r["median"]),
                                   f"{_number(r['p16'])} .. {_number(r['p84'])}",
                                   f"{_number(r['p2.5'])} .. {_number(r['p97.5'])}", _number(r["max_likelihood"]))]
        if has_truth:
            inside = r["p2.5"] <= r["truth"] <= r["p97.5"]
            cells.append(Text(_number(r["truth"]), style="" if inside else "bold red"))
        table.add_row(*cells)
    return table
