"""Inputs of the products tests: the tiny simulated cluster of tests/fit_cluster.py and a fake fit's
results folder made from it without sampling (a handful of perturbed parameter vectors as samples.csv)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

import clusterlens
from clusterlens import csvio
from clusterlens.fit.parameters import Parameters
from clusterlens.fit.results import SUMMARY_COLUMNS, model_without_data, write_model_folder
from fit_cluster import TRUTH, write_model


def simulated_dataset(root: Path) -> Path:
    """The tiny cluster simulated (seed 0) into root/dataset."""
    return clusterlens.simulate(write_model(root / "model"), root / "dataset", seed=0)


def fake_results(dataset: Path, folder: Path, n: int = 12, seed: int = 5) -> Path:
    """A results folder of ``n`` samples scattered by 2 % around the truth, as write_results lays it out."""
    model = clusterlens.load_model(dataset)
    labels = Parameters.from_model(model).labels
    truth = np.array([TRUTH[label] for label in labels])
    rng = np.random.default_rng(seed)
    values = truth * (1.0 + 0.02 * rng.standard_normal((n, len(labels))))
    samples = pd.DataFrame(values, columns=labels).assign(log_likelihood=-rng.uniform(1, 5, n))
    summary = pd.DataFrame([{"label": lab, "family": lab.split(".")[0], "galaxy": lab.split(".")[1],
                             "parameter": lab.split(".")[2], "unit": "", "median": float(np.median(values[:, i])),
                             "p16": np.nan, "p84": np.nan, "p2.5": np.nan, "p97.5": np.nan,
                             "max_likelihood": float(truth[i]), "truth": float(truth[i])}
                            for i, lab in enumerate(labels)], columns=SUMMARY_COLUMNS)
    folder.mkdir(parents=True)
    (folder / "samples.csv").write_text(csvio.frame_text(samples))
    (folder / "summary.csv").write_text(csvio.frame_text(summary))
    (folder / "summary.json").write_text(json.dumps({"dataset": str(dataset), "max_likelihood": {
        "values": dict(zip(labels, truth.tolist(), strict=True))}}))
    write_model_folder(model_without_data(model), folder / "max_likelihood")
    return folder
