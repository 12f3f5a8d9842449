"""Point datasets: labels, and the observed images are the true images plus noise of the configured
size, each noise from its own stream; the end-to-end check against an independent image-finder run is
in test_simulate_folder.py."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from clusterlens.dataset import Points
from clusterlens.simulation.points import TRUE_COLUMNS, image_labels, observe_point_images


def test_image_labels_run_like_spreadsheet_columns():
    labels = image_labels(60)
    assert labels[:3] == ["a", "b", "c"]
    assert labels[25:28] == ["z", "aa", "ab"]
    assert labels[51:53] == ["az", "ba"]
    assert len(set(labels)) == 60


def true_table(n_sources=800, per_source=5, seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = n_sources * per_source
    mu = rng.uniform(0.5, 20.0, n) * rng.choice([-1.0, 1.0], n)
    delay = np.sort(rng.uniform(1.0, 400.0, (n_sources, per_source)), axis=1)
    delay[:, 0] = 0.0
    return pd.DataFrame({
        "name": np.repeat([f"s{i}" for i in range(n_sources)], per_source),
        "image": np.tile(image_labels(per_source), n_sources),
        "galaxy": "g", "redshift": 2.0,
        "x": rng.uniform(-30, 30, n), "y": rng.uniform(-30, 30, n),
        "magnification": mu, "parity": np.sign(mu).astype(int), "time_delay": delay.ravel(),
        "source_flux": np.repeat(rng.uniform(10.0, 100.0, n_sources), per_source),
    })[TRUE_COLUMNS]


def frame(rows) -> pd.DataFrame:
    return pd.DataFrame([r.model_dump() for r in rows])


def test_observed_images_are_truth_plus_configured_noise():
    truth = true_table()
    settings = Points(position_sigma=0.05, flux_sigma_fraction=0.1, time_delays=True, time_delay_sigma=2.0)
    observed = frame(observe_point_images(truth, settings, np.random.SeedSequence(11)))
    n = len(truth)
    assert (observed[["name", "image"]].to_numpy() == truth[["name", "image"]].to_numpy()).all()
    assert (observed["sigma"] == 0.05).all()
    residual = np.concatenate([observed["x"] - truth["x"], observed["y"] - truth["y"]])
    assert abs(residual.mean()) < 4 * 0.05 / np.sqrt(residual.size)
    assert residual.std() == pytest.approx(0.05, rel=4 / np.sqrt(2 * residual.size))

    true_flux = np.abs(truth["magnification"]) * truth["source_flux"]
    np.testing.assert_allclose(observed["flux_sigma"], 0.1 * true_flux)
    pull = (observed["flux"] - true_flux) / observed["flux_sigma"]
    assert abs(pull.mean()) < 4 / np.sqrt(n) and pull.std() == pytest.approx(1.0, rel=4 / np.sqrt(2 * n))

    first = truth["image"] == "a"
    assert (observed.loc[first, "time_delay"] == 0.0).all()
    delay_pull = (observed.loc[~first, "time_delay"] - truth.loc[~first, "time_delay"]) / 2.0
    assert abs(delay_pull.mean()) < 4 / np.sqrt(delay_pull.size)
    assert delay_pull.std() == pytest.approx(1.0, rel=4 / np.sqrt(2 * delay_pull.size))
    assert (observed["time_delay_sigma"] == 2.0).all()


def test_streams_are_independent_and_seeded():
    truth = true_table(n_sources=20)
    with_delays = frame(observe_point_images(truth, Points(time_delays=True), np.random.SeedSequence(5)))
    without = frame(observe_point_images(truth, Points(time_delays=False), np.random.SeedSequence(5)))
    pd.testing.assert_frame_equal(with_delays[["x", "y", "flux"]], without[["x", "y", "flux"]])
    assert without["time_delay"].isna().all() and without["time_delay_sigma"].isna().all()
    other = frame(observe_point_images(truth, Points(time_delays=False), np.random.SeedSequence(6)))
    assert not np.allclose(other["x"], without["x"])


def test_sources_without_flux_get_blank_flux():
    truth = true_table(n_sources=3)
    truth["source_flux"] = np.nan
    observed = frame(observe_point_images(truth, Points(), np.random.SeedSequence(0)))
    assert observed["flux"].isna().all() and observed["flux_sigma"].isna().all()
